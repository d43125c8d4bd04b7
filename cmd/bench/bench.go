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
// pages, each as a full page and as an htmx fragment, each asked for by a
// client that takes only plain bytes and by one that accepts gzip, as
// every browser does.
var pages = func() []page {
	var ps []page
	for _, gzip := range []bool{false, true} {
		for _, path := range []string{"/", "/anime?page=2", "/top"} {
			for _, hx := range []bool{false, true} {
				ps = append(ps, page{Path: path, HX: hx, Gzip: gzip})
			}
		}
	}
	return ps
}()

// chartPage is the page of the p99-against-concurrency chart.
var chartPage = page{Path: "/"}

// throughputServers are measured one after another on each page, so that
// a ratio compares measurements seconds apart, not a whole run; the rounds
// repeat that, each in another order, and the ratios are their medians.
var throughputServers = []string{"upper", "anigo-hit", "peer", "anigo-live"}

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
		{"upper bound, AniGo's cache hits, the peer and live rendering, page by page; sweep; stampede", b.throughput},
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
	return loadtest.Target{URL: srv.url(p.Path), Header: p.header()}
}

// measure runs one throughput case against srv and records it.
func (b *bench) measure(ctx context.Context, name string, srv *proc, p page, concurrency int, d time.Duration) (*caseResult, error) {
	return b.measureTargets(ctx, name, srv, p, []loadtest.Target{target(srv, p)}, concurrency, d)
}

// measureTargets runs one throughput case of several requests, taken in
// turn, and records it under label.
func (b *bench) measureTargets(ctx context.Context, name string, srv *proc, label page, targets []loadtest.Target, concurrency int, d time.Duration) (*caseResult, error) {
	devproc.ResetPeakRSS(srv.Pid())
	res, err := b.load(ctx, loadSpec{Warmup: b.s.warmup, Options: loadtest.Options{
		Targets: targets, Concurrency: concurrency, Duration: d, CountHeader: "X-Cache",
	}})
	if err != nil {
		return nil, err
	}
	c := newCase(name, label, concurrency, res, devproc.PeakRSS(srv.Pid()))
	b.say("  %-10s %-30s c=%-3d %8.0f rps  p50 %7s  p99 %7s  max %7s  err %d  rss %s  %s",
		name, label, concurrency, c.RPS, ms(c.P50), ms(c.P99), ms(c.Max), c.ErrorCount, mb(c.PeakRSS), topValues(c.XCache))
	return c, nil
}

// get fetches one page and returns it as sent, and its X-Cache header.
func get(ctx context.Context, srv *proc, p page) (response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url(p.Path), nil)
	if err != nil {
		return response{}, "", err
	}
	req.Header = p.header() // an Accept-Encoding set here is not decoded by the client
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", p, resp.Status)
	}
	return response{Body: body, Encoding: resp.Header.Get("Content-Encoding")}, resp.Header.Get("X-Cache"), err
}

// throughput starts AniGo with the cache, records what it answers for every
// page, starts the upper bound on those bytes, the peer and AniGo without a
// cache, and measures the four page by page. Then it sweeps concurrency on
// the chart page, measures live rendering on the drills' mix of pages, and
// sends AniGo a cold-key stampede.
func (b *bench) throughput(ctx context.Context) error {
	cached, err := b.startAniGo(ctx, "anigo-cached", b.db, sharedRedisEnv()...)
	if err != nil {
		return err
	}
	defer cached.stop()
	b.cleanup(func() { b.deleteKeys(context.Background(), b.ns+":*") })

	b.res.Bodies = map[string]int{}
	bodies := map[string]response{}
	for _, p := range pages {
		if _, _, err := get(ctx, cached, p); err != nil { // fills the cache
			return err
		}
		r, xc, err := get(ctx, cached, p)
		if err != nil {
			return err
		}
		if strings.Contains(xc, "MISS") || strings.Contains(xc, "BYPASS") {
			b.say("  warning: %s still answers X-Cache %q after a first request", p, xc)
		}
		if p.Gzip && r.Encoding != "gzip" {
			b.say("  warning: %s came back without gzip (Content-Encoding %q)", p, r.Encoding)
		}
		bodies[bodyKey(p.Path, p.HX, p.Gzip)] = r
		b.res.Bodies[p.String()] = len(r.Body)
	}
	bodiesFile := filepath.Join(b.logDir, "bodies.json")
	if err := writeJSON(bodiesFile, bodies); err != nil {
		return err
	}

	upper, err := b.startServer(ctx, "upper", b.pinned(serverCore, b.self, "-serve-upper", bodiesFile))
	if err != nil {
		return err
	}
	defer upper.stop()
	peerEnv := append(b.anigoEnv(b.db, sharedRedisEnv()...), "BENCH_PEER_PREFIX="+b.ns+"_peer:")
	peer, err := b.startServer(ctx, "peer", b.pinned(serverCore, b.self, "-serve-peer"), peerEnv...)
	if err != nil {
		return err
	}
	defer peer.stop()
	b.cleanup(func() { b.deleteKeys(context.Background(), b.ns+"_peer:*") })
	live, err := b.startAniGo(ctx, "anigo-live", b.db, "REDIS_URL=off")
	if err != nil {
		return err
	}
	defer live.stop()

	servers := map[string]*proc{"upper": upper, "anigo-hit": cached, "peer": peer, "anigo-live": live}
	for round := 1; round <= b.s.rounds; round++ {
		b.say("  round %d of %d", round, b.s.rounds)
		for _, p := range pages {
			for _, name := range rotate(throughputServers, round-1) {
				c, err := b.measure(ctx, name, servers[name], p, b.s.concurrency, b.s.duration)
				if err != nil {
					return err
				}
				c.Round = round
				b.res.Cases = append(b.res.Cases, c)
			}
		}
	}
	for _, name := range []string{"anigo-hit", "upper"} {
		if err := b.sweep(ctx, name, servers[name]); err != nil {
			return err
		}
	}
	// The mix: pages that each render once per request live (no two
	// requests share a render), and that the cached server must read from
	// Redis, since they are more than it keeps in memory. One pass first
	// stores them all.
	mix := mixTargets(cached)
	if _, err := b.load(ctx, loadSpec{Options: loadtest.Options{Targets: mix, Concurrency: 1, Requests: len(mix)}}); err != nil {
		return err
	}
	mixServers := []string{"anigo-live", "anigo-hit"}
	for round := 1; round <= b.s.rounds; round++ {
		for _, name := range rotate(mixServers, round-1) {
			c, err := b.measureTargets(ctx, name, servers[name], drillMix, mixTargets(servers[name]), b.s.concurrency, b.s.duration)
			if err != nil {
				return err
			}
			c.Round = round
			b.res.Cases = append(b.res.Cases, c)
		}
	}
	return b.stampede(ctx, cached)
}

// rotate returns s turned left by n places, so that each round of a
// comparison measures the servers in another order and none is always
// measured first or last.
func rotate[T any](s []T, n int) []T {
	if len(s) == 0 {
		return nil
	}
	n %= len(s)
	return append(slices.Clone(s[n:]), s[:n]...)
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
