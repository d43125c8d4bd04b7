package main

// The harness of the whole-program tests: each test boots the real program
// through run(), on a database of its own and a cache namespace of its own,
// and talks to it over HTTP like a browser would.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/anigo/anigo/postgres/pgtest"
)

// Fixtures of these tests, relative to this package.
const (
	// e2eCatalog has 61 titles: the 11 of import_small.csv (one of them
	// adult, so hidden, and one titled <script>alert(1)</script>) and 50
	// made-up ones, so that the catalog has three pages of 24.
	e2eCatalog = "../../testdata/e2e_catalog.csv"
	// e2eUpdate adds one title, the most popular of all.
	e2eUpdate      = "../../testdata/e2e_update.csv"
	e2eVisible     = 60 // titles of e2eCatalog that the site lists
	e2eUpdateTitle = "Freshly Imported Title"
)

// Bounds of the harness. They are generous: they only turn a hang into a
// failure, they measure nothing.
const (
	startTimeout = 30 * time.Second
	// stopTimeout is above serve's 15 s shutdown timeout, so that a slow
	// shutdown is reported as run's error rather than as a hang.
	stopTimeout   = 25 * time.Second
	importTimeout = 60 * time.Second
)

func TestMain(m *testing.M) {
	// Every server the tests start must be gone, goroutines included,
	// once it is stopped.
	goleak.VerifyTestMain(m, leakIgnores()...)
}

// leakIgnores are goroutines that are not leaks: each library starts them
// once per process, or they end on their own shortly after a shutdown.
func leakIgnores() []goleak.Option {
	return []goleak.Option{
		// fasthttp refreshes its Date header in a goroutine started once.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// fasthttp's worker pool cleaner sees the stop only after its
		// sleep of MaxIdleWorkerDuration (10 s), then returns.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// Fiber's clock, started once per process (the name depends on
		// inlining).
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/internal/memory.New.StartTimeStampUpdater.func1.1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/limiter.FixedWindow.New.StartTimeStampUpdater.func2.1"),
	}
}

// sharedRedisURL is the machine's Redis, where tests keep to a namespace
// of their own.
func sharedRedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// sharedRedis returns a client of the shared Redis, closed when t ends. It
// fails the test when Redis does not answer.
func sharedRedis(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(sharedRedisURL())
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer (%v): start it (redis-server --daemonize yes) or set TEST_REDIS_URL", opts.Addr, err)
	}
	return client
}

// newNamespace returns a cache namespace unique to this test, and deletes
// its keys from the shared Redis (SCAN and UNLINK, never FLUSHALL) when the
// test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	client := sharedRedis(t)
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	ns := "anigotest:" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys := scanKeys(t, client, ns+":*")
		if len(keys) > 0 {
			if err := client.Unlink(ctx, keys...).Err(); err != nil {
				t.Errorf("unlink the keys of %s: %v", ns, err)
			}
		}
	})
	return ns
}

// scanKeys returns the keys matching pattern, found with SCAN.
func scanKeys(t *testing.T, client *redis.Client, pattern string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var keys []string
	iter := client.Scan(ctx, 0, pattern, 500).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan %s: %v", pattern, err)
	}
	return keys
}

// newDatabase returns the URL of a fresh, migrated database that holds the
// fixtures, each imported with `anigo import`. It is dropped when t ends.
func newDatabase(t *testing.T, fixtures ...string) string {
	t.Helper()
	dsn := pgtest.New(t)
	for _, f := range fixtures {
		importFile(t, dsn, f)
	}
	return dsn
}

// importFile runs `anigo import path` on the database at dsn and returns
// what it printed.
func importFile(t *testing.T, dsn, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"DATABASE_URL": dsn, "REDIS_URL": "off"}
	if err := run(ctx, []string{"import", path}, mapEnv(env), &stdout, &stderr); err != nil {
		t.Fatalf("anigo import %s: %v\nstdout:\n%s\nstderr:\n%s", path, err, &stdout, &stderr)
	}
	return stdout.String()
}

func mapEnv(env map[string]string) func(string) string {
	return func(key string) string { return env[key] }
}

// startServer runs `anigo serve` in a goroutine, as main would, and returns
// its base URL once it listens, and stop, which cancels its context and
// checks that run returns nil (a clean, graceful shutdown) within
// stopTimeout. stop is safe to call more than once and from any goroutine;
// t.Cleanup calls it too.
//
// env overrides the defaults: a fresh database holding e2eCatalog
// (DATABASE_URL), PORT=0, the shared Redis (REDIS_URL) under a namespace of
// this test's own (ANIGO_CACHE_NAMESPACE) and LOG_LEVEL=info. Nothing comes
// from the process's environment.
func startServer(t *testing.T, env map[string]string) (baseURL string, stop func()) {
	t.Helper()
	full := map[string]string{"PORT": "0", "LOG_LEVEL": "info"}
	for k, v := range env {
		full[k] = v
	}
	if _, ok := full["DATABASE_URL"]; !ok {
		full["DATABASE_URL"] = newDatabase(t, e2eCatalog)
	}
	if _, ok := full["REDIS_URL"]; !ok {
		if _, ok := full["REDIS_HOST"]; !ok {
			full["REDIS_URL"] = sharedRedisURL()
		}
	}
	if _, ok := full["ANIGO_CACHE_NAMESPACE"]; !ok {
		full["ANIGO_CACHE_NAMESPACE"] = newNamespace(t)
	}

	stdout := newLineWatcher("anigo: listening on ")
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, mapEnv(full), stdout, stderr) }()

	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v after its context was cancelled, want nil (a clean shutdown)\nlog:\n%s", err, stderr)
				}
			case <-time.After(stopTimeout):
				t.Errorf("run did not return within %s of its context being cancelled\nlog:\n%s", stopTimeout, stderr)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("server log:\n%s", stderr)
		}
	})

	select {
	case line := <-stdout.found:
		addr := strings.TrimSpace(strings.TrimPrefix(line, "anigo: listening on "))
		port := addr[strings.LastIndex(addr, ":")+1:]
		base := "http://127.0.0.1:" + port
		if full["REDIS_URL"] == sharedRedisURL() {
			// On a loaded machine the first PING can time out, which opens
			// the breaker for a few hundred milliseconds; tests that count
			// HITs and MISSes start once the cache is in use.
			waitRedisUp(t, base)
		}
		return base, stop
	case err := <-done:
		t.Fatalf("anigo serve stopped before listening: %v\nlog:\n%s", err, stderr)
	case <-time.After(startTimeout):
		t.Fatalf("anigo serve did not print its listening line within %s\nlog:\n%s", startTimeout, stderr)
	}
	panic("unreachable")
}

// waitRedisUp waits until the server's /readyz reports Redis up.
func waitRedisUp(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			var ready struct{ Redis string }
			err = json.NewDecoder(resp.Body).Decode(&ready)
			resp.Body.Close()
			if err == nil && ready.Redis == "up" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's /readyz did not report Redis up within 5 s (last error: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lineWatcher is the server's stdout: it sends the first line that starts
// with prefix on found.
type lineWatcher struct {
	prefix string
	found  chan string
	mu     sync.Mutex
	buf    bytes.Buffer
	sent   bool
}

func newLineWatcher(prefix string) *lineWatcher {
	return &lineWatcher{prefix: prefix, found: make(chan string, 1)}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.sent {
		return len(p), nil
	}
	for _, line := range strings.SplitAfter(w.buf.String(), "\n") {
		if strings.HasSuffix(line, "\n") && strings.HasPrefix(line, w.prefix) {
			w.found <- strings.TrimSuffix(line, "\n")
			w.sent = true
			break
		}
	}
	return len(p), nil
}

// syncBuffer collects the server's log, written and read concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// client is an HTTP client that does not follow redirects (tests check
// them) and bounds each request. Its idle connections are closed when t
// ends, so that they do not count as leaked goroutines.
type client struct {
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{base: base, http: &http.Client{
		Transport:     tr,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

// get requests path; htmx adds HX-Request: true, as htmx does.
func (c *client) get(t *testing.T, path string, htmx bool) response {
	t.Helper()
	headers := map[string]string{}
	if htmx {
		headers["HX-Request"] = "true"
	}
	r, err := c.try(path, headers)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return r
}

// try is get with headers, returning the error rather than failing, for
// use outside the test's goroutine.
func (c *client) try(path string, headers map[string]string) (response, error) {
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		return response{}, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, errors.Join(errors.New("read body"), err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}, nil
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// detailPath returns the canonical path of the first title that the live
// search finds for q: detail pages are addressed by the catalog's own ids,
// which the import assigns.
func detailPath(t *testing.T, c *client, q string) string {
	t.Helper()
	r := c.get(t, "/search?q="+url.QueryEscape(q), true)
	href, ok := r.doc(t).Find("a.result").First().Attr("href")
	if r.status != 200 || !ok || !strings.HasPrefix(href, "/anime/") {
		t.Fatalf("search %q: status %d, first result %q; want a link to /anime/...", q, r.status, href)
	}
	return href
}

// testIDs counts the elements with data-testid id.
func (r response) testIDs(t *testing.T, id string) int {
	t.Helper()
	return r.doc(t).Find(`[data-testid="` + id + `"]`).Length()
}

// xCacheRE matches an X-Cache header: one status, or name=status pairs.
var xCacheRE = regexp.MustCompile(`^(HIT|STALE|MISS|BYPASS)$|^([a-z]+=(HIT|STALE|MISS|BYPASS))(, [a-z]+=(HIT|STALE|MISS|BYPASS))*$`)

// cacheStatuses parses X-Cache into fragment name → status ("" for the
// name of a single fragment's status), failing on a malformed header.
func cacheStatuses(t *testing.T, header string) map[string]string {
	t.Helper()
	if !xCacheRE.MatchString(header) {
		t.Fatalf("X-Cache = %q, want STATUS or name=STATUS, ...", header)
	}
	m := map[string]string{}
	for _, part := range strings.Split(header, ", ") {
		name, status, ok := strings.Cut(part, "=")
		if !ok {
			name, status = "", part
		}
		m[name] = status
	}
	return m
}

// allStatus reports whether every fragment in the X-Cache header has status.
func allStatus(header, status string) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ", ") {
		_, s, ok := strings.Cut(part, "=")
		if !ok {
			s = part
		}
		if s != status {
			return false
		}
	}
	return true
}

// poll calls f every 25 ms until it returns true or within passes, and
// returns how long that took; it fails the test with what f reported last.
func poll(t *testing.T, within time.Duration, what string, f func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for {
		ok, state := f()
		if ok {
			return time.Since(start)
		}
		last = state
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s; last: %s", what, within, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
