package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/devproc"
	"github.com/anigo/anigo/loadtest"
)

// Where the machine's services are, and the Redis database the normal
// cases use (never flushed: the bench deletes its own keys by prefix).
const (
	adminDSN  = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	redisAddr = "127.0.0.1:6379"
	redisDB   = 9
)

// pages are the responses compared across servers: the three cached
// pages, each as a full page and as an htmx fragment.
var pages = []page{
	{"/", false}, {"/", true},
	{"/anime?page=2", false}, {"/anime?page=2", true},
	{"/top", false}, {"/top", true},
}

// chartPage is the page of the p99-against-concurrency chart.
var chartPage = page{"/", false}

type bench struct {
	s        settings
	stdout   io.Writer
	self     string // this executable, for the load and server modes
	taskset  string // "" when the bench cannot pin
	stamp    string
	logDir   string
	db       string // the bench's database
	ns       string // AniGo's cache namespace and the peer's key prefix
	cleanups []func()
	res      *results
}

func (b *bench) say(format string, args ...any) {
	fmt.Fprintf(b.stdout, format+"\n", args...)
}

// cleanup registers fn to run when the bench ends, however it ends; the
// last registered runs first.
func (b *bench) cleanup(fn func()) { b.cleanups = append(b.cleanups, fn) }

func benchmark(ctx context.Context, s settings, getenv func(string) string, stdout io.Writer) (err error) {
	b := &bench{s: s, stdout: stdout, stamp: time.Now().UTC().Format("20060102-150405")}
	defer func() {
		if len(b.cleanups) > 0 {
			b.say("cleaning up")
		}
		for _, fn := range slices.Backward(b.cleanups) {
			fn()
		}
	}()
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	if p, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
		b.taskset = p
	}
	b.logDir = filepath.Join(s.out, b.stamp+"-logs")
	if err := os.MkdirAll(b.logDir, 0o755); err != nil {
		return err
	}
	pid := os.Getpid()
	b.db = fmt.Sprintf("anigo_bench_%d", pid)
	b.ns = fmt.Sprintf("anigo_bench_%d", pid)
	b.res = newResults(s, b.taskset != "")
	b.say("bench: %s, %d cores, pinning %v; results in %s", b.res.Machine.CPU, runtime.NumCPU(), b.taskset != "", s.out)

	b.say("building bin/anigo")
	if _, err := os.Stat("static/js/htmx.min.js"); err != nil {
		return errors.New("static/js/htmx.min.js is missing: run `make assets` first (make bench does)")
	}
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", "bin/anigo", "./cmd/anigo").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/anigo: %v\n%s", err, out)
	}
	if err := b.checkRedis(ctx); err != nil {
		return err
	}
	if err := b.createDB(ctx, b.db); err != nil {
		return err
	}
	b.say("importing %s", s.dataset)
	if err := b.importCatalog(ctx, b.db, s.dataset); err != nil {
		return err
	}

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"AniGo with the cache (hits, concurrency sweep, stampede)", b.anigoCached},
		{"upper bound", b.upperBound},
		{"peer: Fiber's cache middleware", b.peer},
		{"AniGo live (REDIS_URL=off)", b.anigoLive},
		{"AniGo with Redis killed and frozen", b.drills},
		{"1,000,000 titles", b.scale},
	}
	for _, st := range steps {
		if st.name == "1,000,000 titles" && s.skipScale {
			b.say("== %s: skipped (-quick or -skip-scale)", st.name)
			continue
		}
		b.say("== %s", st.name)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return b.report()
}

// anigoEnv is the environment of an AniGo server or import on database db.
func (b *bench) anigoEnv(db string, extra ...string) []string {
	return append([]string{
		"DATABASE_URL=" + dsn(db), "PORT=0", "LOG_LEVEL=warn", "ANIGO_CACHE_NAMESPACE=" + b.ns,
	}, extra...)
}

func sharedRedisEnv() []string {
	host, port, _ := strings.Cut(redisAddr, ":")
	return []string{"REDIS_HOST=" + host, "REDIS_PORT=" + port, fmt.Sprintf("REDIS_DB=%d", redisDB)}
}

func (b *bench) startAniGo(ctx context.Context, name, db string, env ...string) (*proc, error) {
	return b.startServer(ctx, name, b.pinned(serverCore, "bin/anigo", "serve"), b.anigoEnv(db, env...)...)
}

// importCatalog runs `anigo import file` into database db.
func (b *bench) importCatalog(ctx context.Context, db, file string) error {
	t0 := time.Now()
	if err := devproc.Run(ctx, filepath.Join(b.logDir, "import-"+db+".log"), []string{"bin/anigo", "import", file},
		devproc.CleanEnv(b.anigoEnv(db, "REDIS_URL=off")...)); err != nil {
		return err
	}
	b.say("  imported in %v", time.Since(t0).Round(time.Millisecond))
	return nil
}

// target is the load generator's request for page p on server srv.
func target(srv *proc, p page) loadtest.Target {
	t := loadtest.Target{URL: srv.url(p.Path)}
	if p.HX {
		t.Header = http.Header{"Hx-Request": {"true"}}
	}
	return t
}

// measure runs one throughput case against srv and records it.
func (b *bench) measure(ctx context.Context, name string, srv *proc, p page, concurrency int, d time.Duration) (*caseResult, error) {
	devproc.ResetPeakRSS(srv.Pid())
	res, err := b.load(ctx, loadSpec{Warmup: b.s.warmup, Options: loadtest.Options{
		Targets: []loadtest.Target{target(srv, p)}, Concurrency: concurrency, Duration: d, CountHeader: "X-Cache",
	}})
	if err != nil {
		return nil, err
	}
	c := newCase(name, p, concurrency, res, devproc.PeakRSS(srv.Pid()))
	b.say("  %-10s %-22s c=%-3d %8.0f rps  p50 %7s  p99 %7s  max %7s  err %d  rss %s  %s",
		name, p, concurrency, c.RPS, ms(c.P50), ms(c.P99), ms(c.Max), c.ErrorCount, mb(c.PeakRSS), topValues(c.XCache))
	return c, nil
}

// get fetches one page and returns its body and X-Cache header.
func get(ctx context.Context, srv *proc, p page) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url(p.Path), nil)
	if err != nil {
		return nil, "", err
	}
	if p.HX {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", p, resp.Status)
	}
	return body, resp.Header.Get("X-Cache"), err
}

// anigoCached measures cache hits on every page, the p99 against
// concurrency, and a cold-key stampede, and keeps the bodies the upper
// bound will serve.
func (b *bench) anigoCached(ctx context.Context) error {
	srv, err := b.startAniGo(ctx, "anigo-cached", b.db, sharedRedisEnv()...)
	if err != nil {
		return err
	}
	defer srv.stop()
	b.cleanup(func() { b.deleteKeys(context.Background(), b.ns+":*") })

	b.res.Bodies = map[string]int{}
	bodies := map[string][]byte{}
	for _, p := range pages {
		if _, _, err := get(ctx, srv, p); err != nil { // fills the cache
			return err
		}
		body, xc, err := get(ctx, srv, p)
		if err != nil {
			return err
		}
		if strings.Contains(xc, "MISS") || strings.Contains(xc, "BYPASS") {
			b.say("  warning: %s still answers X-Cache %q after a first request", p, xc)
		}
		bodies[bodyKey(p.Path, p.HX)] = body
		b.res.Bodies[p.String()] = len(body)
	}
	if err := writeJSON(filepath.Join(b.logDir, "bodies.json"), bodies); err != nil {
		return err
	}
	for _, p := range pages {
		c, err := b.measure(ctx, "anigo-hit", srv, p, b.s.concurrency, b.s.duration)
		if err != nil {
			return err
		}
		b.res.Cases = append(b.res.Cases, c)
	}
	if err := b.sweep(ctx, "anigo-hit", srv); err != nil {
		return err
	}
	return b.stampede(ctx, srv)
}

// sweep measures the chart page at concurrency 1 to 4.
func (b *bench) sweep(ctx context.Context, name string, srv *proc) error {
	for c := 1; c <= 4; c++ {
		r, err := b.measure(ctx, name, srv, chartPage, c, max(b.s.duration/2, time.Second))
		if err != nil {
			return err
		}
		b.res.Sweep[name] = append(b.res.Sweep[name], r)
	}
	return nil
}

func (b *bench) upperBound(ctx context.Context) error {
	srv, err := b.startServer(ctx, "upper", b.pinned(serverCore, b.self, "-serve-upper", filepath.Join(b.logDir, "bodies.json")))
	if err != nil {
		return err
	}
	defer srv.stop()
	for _, p := range pages {
		c, err := b.measure(ctx, "upper", srv, p, b.s.concurrency, b.s.duration)
		if err != nil {
			return err
		}
		b.res.Cases = append(b.res.Cases, c)
	}
	return b.sweep(ctx, "upper", srv)
}

func (b *bench) peer(ctx context.Context) error {
	env := append(b.anigoEnv(b.db, sharedRedisEnv()...), "BENCH_PEER_PREFIX="+b.ns+"_peer:")
	srv, err := b.startServer(ctx, "peer", b.pinned(serverCore, b.self, "-serve-peer"), env...)
	if err != nil {
		return err
	}
	defer srv.stop()
	b.cleanup(func() { b.deleteKeys(context.Background(), b.ns+"_peer:*") })
	for _, p := range pages {
		c, err := b.measure(ctx, "peer", srv, p, b.s.concurrency, b.s.duration)
		if err != nil {
			return err
		}
		b.res.Cases = append(b.res.Cases, c)
	}
	return nil
}

func (b *bench) anigoLive(ctx context.Context) error {
	srv, err := b.startAniGo(ctx, "anigo-live", b.db, "REDIS_URL=off")
	if err != nil {
		return err
	}
	defer srv.stop()
	for _, p := range pages {
		c, err := b.measure(ctx, "anigo-live", srv, p, b.s.concurrency, b.s.duration)
		if err != nil {
			return err
		}
		b.res.Cases = append(b.res.Cases, c)
	}
	return nil
}

// createDB makes a fresh database and registers its removal.
func (b *bench) createDB(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w (start it, e.g. `service postgresql start`)", adminDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	b.cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			b.say("  could not drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			b.say("  could not drop database %s: %v", name, err)
		}
	})
	return nil
}

// dsn is the URL of database db on the machine's PostgreSQL.
func dsn(db string) string {
	return "postgres://postgres@127.0.0.1:5432/" + db + "?sslmode=disable"
}

// transactions is the number of transactions database db has run, as far
// as PostgreSQL's statistics have been flushed.
func transactions(ctx context.Context, db string) (int64, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", db).Scan(&n)
	return n, err
}

func (b *bench) redisClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: redisAddr, DB: redisDB, DialTimeout: time.Second})
}

func (b *bench) checkRedis(ctx context.Context) error {
	c := b.redisClient()
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("Redis at %s: %w (start it, e.g. `service redis-server start`)", redisAddr, err)
	}
	return nil
}

// deleteKeys removes the shared Redis's keys matching pattern with SCAN
// and UNLINK: the bench's own, never anyone else's.
func (b *bench) deleteKeys(ctx context.Context, pattern string) {
	c := b.redisClient()
	defer c.Close()
	iter := c.Scan(ctx, 0, pattern, 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	for chunk := range slices.Chunk(keys, 500) {
		c.Unlink(ctx, chunk...)
	}
	if err := iter.Err(); err != nil {
		b.say("  could not delete Redis keys %s: %v", pattern, err)
	}
}

// lastPage is the number of the last catalog page of total titles.
func lastPage(total int) int {
	return int(math.Ceil(float64(total) / float64(anigo.DefaultPerPage)))
}
