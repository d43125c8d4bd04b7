package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anigo/anigo/cache/redistest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

var testTTLs = map[string]time.Duration{
	"popular": 60 * time.Second,
	"catalog": 300 * time.Second,
	"count":   600 * time.Second,
	"ranking": 300 * time.Second,
	"anime":   300 * time.Second,
}

const testGrace = 5 * time.Minute

// clock is a settable time source for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// renderer counts its calls and returns "<name> #<call>".
type renderer struct {
	name  string
	calls atomic.Int64
	delay time.Duration
	gate  chan struct{} // when set, renders wait for it to close
	fail  atomic.Bool
}

func (r *renderer) render(ctx context.Context) ([]byte, error) {
	n := r.calls.Add(1)
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	if r.gate != nil {
		<-r.gate
	}
	if r.fail.Load() {
		return nil, errors.New("database down")
	}
	return fmt.Appendf(nil, "<p>%s #%d</p>", r.name, n), nil
}

// newTestCache returns a Cache on the shared Redis under a prefix of the
// test's own, its raw client and its clock. The cache is closed at cleanup.
func newTestCache(t *testing.T) (*Cache, *redis.Client, *clock) {
	t.Helper()
	client, prefix := redistest.Shared(t)
	clk := newClock()
	c := New(Options{Client: client, Prefix: prefix, TTLs: testTTLs, Grace: testGrace, Now: clk.Now, Logger: quietLogger()})
	t.Cleanup(c.Close)
	return c, client, clk
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func get(t *testing.T, c *Cache, name, params string, r *renderer) (string, string) {
	t.Helper()
	html, status, err := c.Get(context.Background(), name, params, r.render)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", name, params, err)
	}
	return string(html), status
}

func wantGet(t *testing.T, c *Cache, name, params string, r *renderer, wantHTML, wantStatus string) {
	t.Helper()
	html, status := get(t, c, name, params, r)
	if html != wantHTML || status != wantStatus {
		t.Fatalf("Get(%s, %q) = %q, %s; want %q, %s", name, params, html, status, wantHTML, wantStatus)
	}
}

func TestTTLWithinFreshPlusGrace(t *testing.T) {
	c, client, _ := newTestCache(t)
	for name, ttl := range testTTLs {
		r := &renderer{name: name}
		wantGet(t, c, name, "page=2", r, "<p>"+name+" #1</p>", StatusMiss)
		got, err := client.PTTL(context.Background(), c.key(name, "page=2")).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", name, err)
		}
		if hi, lo := ttl+testGrace, ttl+testGrace-5*time.Second; got > hi || got < lo {
			t.Errorf("%s: TTL %v, want within [%v, %v]", name, got, lo, hi)
		}
	}
}

func TestHitAfterMiss(t *testing.T) {
	c, _, _ := newTestCache(t)
	r := &renderer{name: "popular"}
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusMiss)
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusHit)
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusHit)
	if got := r.calls.Load(); got != 1 {
		t.Errorf("renders = %d, want 1", got)
	}
}

func TestStaleServedAndRefreshedOnce(t *testing.T) {
	c, _, clk := newTestCache(t)
	wantGet(t, c, "ranking", "type=TV", &renderer{name: "ranking"}, "<p>ranking #1</p>", StatusMiss)
	clk.Add(testTTLs["ranking"] + time.Second)

	// Many requests see the stale value while the one refresh waits.
	r := &renderer{name: "ranking", gate: make(chan struct{})}
	r.calls.Store(1) // its render is the second
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			html, status, err := c.Get(context.Background(), "ranking", "type=TV", r.render)
			if err != nil || string(html) != "<p>ranking #1</p>" || status != StatusStale {
				t.Errorf("stale Get = %q, %s, %v; want <p>ranking #1</p>, STALE, nil", html, status, err)
			}
		})
	}
	wg.Wait()
	close(r.gate)
	waitFor(t, "the refreshed value", func() bool {
		html, status := get(t, c, "ranking", "type=TV", r)
		return status == StatusHit && html == "<p>ranking #2</p>"
	})
	if got := r.calls.Load(); got != 2 {
		t.Errorf("renders = %d, want 2 (first render and one refresh)", got)
	}
}

func TestSingleFlightColdKey(t *testing.T) {
	c, _, _ := newTestCache(t)
	r := &renderer{name: "catalog", delay: 100 * time.Millisecond}
	const n = 200
	var wg sync.WaitGroup
	var statuses sync.Map
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			html, status, err := c.Get(context.Background(), "catalog", "page=3", r.render)
			if err != nil || string(html) != "<p>catalog #1</p>" {
				t.Errorf("Get = %q, %v; want <p>catalog #1</p>", html, err)
			}
			statuses.Store(status, true)
		})
	}
	close(start)
	wg.Wait()
	if got := r.calls.Load(); got != 1 {
		t.Errorf("%d concurrent Gets rendered %d times, want 1", n, got)
	}
	statuses.Range(func(k, _ any) bool {
		if k != StatusMiss && k != StatusHit {
			t.Errorf("status %v, want MISS (or HIT for a late caller)", k)
		}
		return true
	})
}

func TestTwoInstancesRefreshStaleOnce(t *testing.T) {
	client, prefix := redistest.Shared(t)
	clk := newClock()
	var caches []*Cache
	for range 2 {
		c := New(Options{Client: client, Prefix: prefix, TTLs: testTTLs, Grace: testGrace, Now: clk.Now, Logger: quietLogger()})
		t.Cleanup(c.Close)
		caches = append(caches, c)
	}
	r := &renderer{name: "count", delay: 50 * time.Millisecond}
	wantGet(t, caches[0], "count", "genre=Drama", r, "<p>count #1</p>", StatusMiss)
	wantGet(t, caches[1], "count", "genre=Drama", r, "<p>count #1</p>", StatusHit)
	clk.Add(testTTLs["count"] + time.Second)

	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			_, status, err := caches[i%2].Get(context.Background(), "count", "genre=Drama", r.render)
			if err != nil || (status != StatusStale && status != StatusHit) {
				t.Errorf("Get = %s, %v; want STALE or HIT", status, err)
			}
		})
	}
	wg.Wait()
	for _, c := range caches {
		c.Close() // waits for background refreshes
	}
	if got := r.calls.Load(); got != 2 {
		t.Errorf("renders = %d, want 2 (first render and one refresh between both instances)", got)
	}
}

func TestRenderErrorServesStale(t *testing.T) {
	c, _, clk := newTestCache(t)
	r := &renderer{name: "anime"}
	wantGet(t, c, "anime", "id=5", r, "<p>anime #1</p>", StatusMiss)
	clk.Add(testTTLs["anime"] + time.Second)
	r.fail.Store(true)
	wantGet(t, c, "anime", "id=5", r, "<p>anime #1</p>", StatusStale)
	c.Close() // waits for the failed refresh
	wantGet(t, c, "anime", "id=5", r, "<p>anime #1</p>", StatusStale)
	s := c.Stats(context.Background())
	if f := fragment(t, s, "anime"); f.Errors != 1 {
		t.Errorf("anime errors = %d, want 1 (the failed refresh)", f.Errors)
	}
	if len(s.Errors) == 0 || !strings.Contains(s.Errors[0].Err, "database down") {
		t.Errorf("last errors = %v, want the render failure first", s.Errors)
	}
}

func TestMissRenderErrorIsReturned(t *testing.T) {
	c, client, _ := newTestCache(t)
	r := &renderer{name: "popular"}
	r.fail.Store(true)
	html, status, err := c.Get(context.Background(), "popular", "", r.render)
	if err == nil || html != nil || status != StatusMiss {
		t.Fatalf("Get = %q, %s, %v; want nil, MISS, the render error", html, status, err)
	}
	if n, _ := client.Exists(context.Background(), c.key("popular", "")).Result(); n != 0 {
		t.Errorf("a failed render was stored")
	}
}

func TestCorruptValueRendersAgain(t *testing.T) {
	for name, value := range map[string][]byte{
		"foreign":   []byte("<p>someone else's</p>"),
		"truncated": encode(sampleHTML(24), time.Now().Add(time.Hour))[:100],
		"empty":     []byte{0},
	} {
		t.Run(name, func(t *testing.T) {
			c, client, _ := newTestCache(t)
			key := c.key("catalog", "q=x")
			if err := client.Set(context.Background(), key, value, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			r := &renderer{name: "catalog"}
			wantGet(t, c, "catalog", "q=x", r, "<p>catalog #1</p>", StatusMiss)
			wantGet(t, c, "catalog", "q=x", r, "<p>catalog #1</p>", StatusHit)
		})
	}
}

func TestKeys(t *testing.T) {
	c := New(Options{Prefix: "t:", TTLs: testTTLs})
	long := strings.Repeat("q=x&", 100)
	tests := []struct {
		name, params string
		version      int64
		want         string
	}{
		{"popular", "", 0, "t:anigo:v1:popular:c0:"},
		{"catalog", "page=2&sort=score", 7, "t:anigo:v1:catalog:c7:page=2&sort=score"},
		{"catalog", long, 7, "t:anigo:v1:catalog:c7:#" + hashHex(long)},
	}
	for _, tt := range tests {
		c.SetVersion(tt.version)
		if got := c.key(tt.name, tt.params); got != tt.want {
			t.Errorf("key(%s, %.20q) at version %d = %q, want %q", tt.name, tt.params, tt.version, got, tt.want)
		}
	}
	if a, b := c.key("catalog", long), c.key("catalog", long+"a"); a == b {
		t.Errorf("different long params share key %q", a)
	}
}

func hashHex(s string) string {
	c := New(Options{})
	k := c.key("x", s)
	return k[strings.LastIndex(k, "#")+1:]
}

func TestVersionChangeUsesNewKeys(t *testing.T) {
	c, client, _ := newTestCache(t)
	c.SetVersion(1)
	r := &renderer{name: "popular"}
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusMiss)
	c.SetVersion(2)
	if got := c.Version(); got != 2 {
		t.Fatalf("Version() = %d, want 2", got)
	}
	wantGet(t, c, "popular", "", r, "<p>popular #2</p>", StatusMiss)
	wantGet(t, c, "popular", "", r, "<p>popular #2</p>", StatusHit)
	for _, key := range []string{c.ns + ":popular:c1:", c.ns + ":popular:c2:"} {
		if n, _ := client.Exists(context.Background(), key).Result(); n != 1 {
			t.Errorf("key %s missing", key)
		}
	}
}

func TestClear(t *testing.T) {
	c, client, _ := newTestCache(t)
	ctx := context.Background()
	fill := func() {
		for v := range int64(2) {
			c.SetVersion(v)
			for _, p := range []string{"page=1", "page=2"} {
				get(t, c, "popular", p, &renderer{name: "popular"})
				get(t, c, "catalog", p, &renderer{name: "catalog"})
			}
		}
	}
	fill()
	n, err := c.Clear(ctx, "popular")
	if err != nil || n != 4 {
		t.Fatalf("Clear(popular) = %d, %v; want 4, nil", n, err)
	}
	if keys := scanAll(t, client, c.ns+":*"); len(keys) != 4 || !allHave(keys, c.ns+":catalog:") {
		t.Errorf("after Clear(popular) keys = %v, want the 4 catalog keys", keys)
	}
	if _, err := c.Clear(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "anime, catalog, count, popular, ranking") {
		t.Errorf("Clear(nope) error = %v, want one listing the known fragments", err)
	}
	n, err = c.Clear(ctx, "")
	if err != nil || n != 4 {
		t.Fatalf("Clear(\"\") = %d, %v; want 4, nil", n, err)
	}
	if keys := scanAll(t, client, c.ns+":*"); len(keys) != 0 {
		t.Errorf("after Clear(\"\") keys = %v, want none", keys)
	}
}

func scanAll(t *testing.T, client *redis.Client, pattern string) []string {
	t.Helper()
	var keys []string
	iter := client.Scan(context.Background(), 0, pattern, 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan %s: %v", pattern, err)
	}
	return keys
}

func allHave(keys []string, prefix string) bool {
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
	}
	return true
}

func fragment(t *testing.T, s Stats, name string) FragmentStats {
	t.Helper()
	for _, f := range s.Fragments {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no stats for fragment %s in %+v", name, s.Fragments)
	return FragmentStats{}
}

func TestStatsAndMetrics(t *testing.T) {
	c, _, clk := newTestCache(t)
	r := &renderer{name: "popular"}
	get(t, c, "popular", "", r)
	get(t, c, "popular", "", r)
	get(t, c, "popular", "", r)
	clk.Add(testTTLs["popular"] + time.Second)
	get(t, c, "popular", "", r)
	get(t, c, "catalog", "page=1", &renderer{name: "catalog", delay: 2 * time.Millisecond})

	s := c.Stats(context.Background())
	if s.Breaker != "closed" || s.RedisErr != "" || s.UsedMemory <= 0 || s.Redis == "" {
		t.Errorf("Stats = breaker %q, redis %q, error %q, used memory %d; want closed, an address, no error, > 0",
			s.Breaker, s.Redis, s.RedisErr, s.UsedMemory)
	}
	pop := fragment(t, s, "popular")
	if pop.Hits != 2 || pop.Stale != 1 || pop.Misses != 1 || pop.Bypass != 0 || pop.Errors != 0 || pop.Keys != 1 || pop.Bytes <= 0 {
		t.Errorf("popular = %+v; want 2 hits, 1 stale, 1 miss, 1 key of some bytes", pop)
	}
	if got := pop.HitRatio(); got != 0.75 {
		t.Errorf("popular hit ratio = %v, want 0.75", got)
	}
	cat := fragment(t, s, "catalog")
	if cat.Misses != 1 || cat.Renders != 1 || cat.MeanRender() < 2*time.Millisecond || cat.Keys != 1 {
		t.Errorf("catalog = %+v; want 1 miss, 1 render of >= 2ms, 1 key", cat)
	}

	reg := prometheus.NewRegistry()
	if err := c.Register(reg); err != nil {
		t.Fatal(err)
	}
	got := gather(t, reg)
	for metric, want := range map[string]float64{
		`anigo_cache_requests_total{fragment="popular",status="hit"}`:   2,
		`anigo_cache_requests_total{fragment="popular",status="stale"}`: 1,
		`anigo_cache_requests_total{fragment="popular",status="miss"}`:  1,
		`anigo_cache_requests_total{fragment="count",status="bypass"}`:  0,
		`anigo_cache_errors_total{fragment="popular"}`:                  0,
		`anigo_cache_breaker_open`:                                      0,
		`anigo_cache_render_seconds_count{fragment="catalog"}`:          1,
	} {
		if v, ok := got[metric]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", metric, v, ok, want)
		}
	}
}

// gather flattens a registry into "name{labels}" -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[strings.Replace(name, f.GetName(), f.GetName()+"_count", 1)] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestDisabledBypassesSingleFlighted(t *testing.T) {
	c := New(Options{TTLs: testTTLs, Logger: quietLogger()})
	defer c.Close()
	r := &renderer{name: "popular", delay: 50 * time.Millisecond}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			html, status, err := c.Get(context.Background(), "popular", "", r.render)
			if err != nil || string(html) != "<p>popular #1</p>" || status != StatusBypass {
				t.Errorf("Get = %q, %s, %v; want <p>popular #1</p>, BYPASS, nil", html, status, err)
			}
		})
	}
	wg.Wait()
	if got := r.calls.Load(); got != 1 {
		t.Errorf("renders = %d, want 1", got)
	}
	if _, err := c.Clear(context.Background(), "popular"); !errors.Is(err, ErrDisabled) {
		t.Errorf("Clear error = %v, want ErrDisabled", err)
	}
	if s := c.Stats(context.Background()); s.Breaker != "disabled" || fragment(t, s, "popular").Bypass != 50 {
		t.Errorf("Stats breaker %q, popular bypass %d; want disabled, 50", s.Breaker, fragment(t, s, "popular").Bypass)
	}
}

func TestUnknownFragmentRendersLive(t *testing.T) {
	c, client, _ := newTestCache(t)
	r := &renderer{name: "search"}
	wantGet(t, c, "search", "q=a", r, "<p>search #1</p>", StatusBypass)
	wantGet(t, c, "search", "q=a", r, "<p>search #2</p>", StatusBypass)
	if keys := scanAll(t, client, c.ns+":*"); len(keys) != 0 {
		t.Errorf("keys = %v, want none for an uncached fragment", keys)
	}
}

func TestNewRedisClient(t *testing.T) {
	tests := []struct {
		name     string
		opts     RedisOptions
		wantAddr string
		wantDB   int
		wantTLS  bool
		wantErr  string
	}{
		{"url", RedisOptions{URL: "redis://:pw@cache.example:6380/3"}, "cache.example:6380", 3, false, ""},
		{"tls url", RedisOptions{URL: "rediss://cache.example/1"}, "cache.example:6379", 1, true, ""},
		{"address", RedisOptions{Addr: "10.0.0.1:6379", DB: 2}, "10.0.0.1:6379", 2, false, ""},
		{"bad scheme", RedisOptions{URL: "http://secret@x"}, "", 0, false, "invalid URL scheme"},
		{"bad url hides password", RedisOptions{URL: "redis://u:secret@%zz"}, "", 0, false, "invalid URL escape"},
		{"bad address", RedisOptions{Addr: "nohost"}, "", 0, false, "missing port"},
		{"nothing", RedisOptions{}, "", 0, false, "neither URL nor address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewRedisClient(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "secret") {
					t.Fatalf("error = %v, want one containing %q and no password", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			o := c.Options()
			if o.Addr != tt.wantAddr || o.DB != tt.wantDB || (o.TLSConfig != nil) != tt.wantTLS {
				t.Errorf("addr %s, db %d, tls %v; want %s, %d, %v", o.Addr, o.DB, o.TLSConfig != nil, tt.wantAddr, tt.wantDB, tt.wantTLS)
			}
			if o.ReadTimeout != ioTimeout || o.DialTimeout != dialTimeout || o.MaxRetries != 0 || o.DialerRetries != 1 {
				t.Errorf("timeouts read %v dial %v, retries %d, dial attempts %d; want %v, %v, 0, 1",
					o.ReadTimeout, o.DialTimeout, o.MaxRetries, o.DialerRetries, ioTimeout, dialTimeout)
			}
		})
	}
}

// waitFor polls cond for up to 3 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A panicking render must not end the process: not on the request's
// goroutine (single-flight re-panics there) and not in a background refresh.
func TestRenderPanicBecomesError(t *testing.T) {
	c, _, clk := newTestCache(t)
	boom := func(context.Context) ([]byte, error) { panic("template bug") }

	html, _, err := c.Get(context.Background(), "popular", "panic", boom)
	if err == nil || html != nil || !strings.Contains(err.Error(), "template bug") {
		t.Fatalf("Get = %q, %v; want nil and an error naming the panic", html, err)
	}

	wantGet(t, c, "ranking", "panic", &renderer{name: "ranking"}, "<p>ranking #1</p>", StatusMiss)
	clk.Add(testTTLs["ranking"] + time.Second)
	html, status, err := c.Get(context.Background(), "ranking", "panic", boom)
	if err != nil || string(html) != "<p>ranking #1</p>" || status != StatusStale {
		t.Fatalf("stale Get = %q, %s, %v; want the stale value", html, status, err)
	}
	c.Close() // waits for the background refresh, which panicked into an error
	if got := fragment(t, c.Stats(context.Background()), "ranking").Errors; got != 1 {
		t.Errorf("ranking errors = %d, want 1 (the refresh's panic)", got)
	}
}
