package main

// Faults through the real program: Redis absent, killed, frozen and back
// (a private redis-server of this test's own), and a graceful shutdown with
// a slow request in flight.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/anigo/anigo/cache/redistest"
)

// faultBound is how long a request may take while Redis misbehaves. It is a
// correctness check (no request waits on a dead Redis), not a measurement:
// the cache's own timeouts are a few hundred milliseconds.
const faultBound = time.Second

// recoverBound is how long caching may take to resume after Redis is back
// (issue 4 asks for 2 s; the rest is slack for a loaded machine).
const recoverBound = 5 * time.Second

// TestFaultsRedis is not parallel: it checks that the server leaves no
// goroutine behind, which only holds while no other test runs.
//
// Fragments that a process has read recently are also kept in its memory
// (the cache's near copy), so a warm page may still be a HIT while Redis
// is gone. Each phase therefore also asks for a page that no one asked for
// before, which must go to Redis: BYPASS while Redis is down, MISS and a
// key in Redis once it is back.
func TestFaultsRedis(t *testing.T) {
	leakOpts := append(leakIgnores(), goleak.IgnoreCurrent())

	addr, redisProc := redistest.Server(t)
	redisProc.Kill() // absent at startup
	const ns = "anigotest:faults"
	base, stop := startServer(t, map[string]string{"REDIS_URL": "redis://" + addr + "/0", "ANIGO_CACHE_NAMESPACE": ns})
	c := newClient(t, base)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()

	// coldFilters returns catalog filters not used before in this test:
	// their fragments are in no cache yet.
	types := []string{"TV", "Movie", "OVA", "ONA", "Special"}
	used := 0
	coldFilters := func() string {
		i := used
		used++
		if i >= len(types)*9 {
			t.Fatal("out of cold catalog filters")
		}
		return fmt.Sprintf("/anime?type=%s&min_score=%d", types[i%len(types)], 1+i/len(types))
	}
	check := func(phase, path string, r response) {
		t.Helper()
		if r.status != 200 {
			t.Errorf("%s: GET %s: status %d, want 200", phase, path, r.status)
		}
		if r.took > faultBound {
			t.Errorf("%s: GET %s took %s, want under %s", phase, path, r.took, faultBound)
		}
		switch {
		case path == "/":
			if !strings.Contains(r.body, "Fullmetal Alchemist: Brotherhood") || r.testIDs(t, "card") == 0 {
				t.Errorf("%s: GET /: the popular titles are missing", phase)
			}
		case path == "/top":
			if r.testIDs(t, "ranking") != 1 {
				t.Errorf("%s: GET /top: no ranking", phase)
			}
		default:
			if r.testIDs(t, "catalog-fragment") != 1 || r.testIDs(t, "count") != 1 {
				t.Errorf("%s: GET %s: no catalog or count", phase, path)
			}
		}
	}

	// down checks pages while Redis is absent, dead or frozen.
	down := func(phase string) {
		t.Helper()
		for range 3 {
			for _, path := range []string{"/", "/top"} {
				r := c.get(t, path, false)
				check(phase, path, r)
				if xc := r.header.Get("X-Cache"); !allStatus(xc, "HIT") && !allStatus(xc, "BYPASS") {
					t.Errorf("%s: GET %s: X-Cache = %q, want all HIT (near copies) or all BYPASS", phase, path, xc)
				}
			}
			path := coldFilters()
			r := c.get(t, path, false)
			check(phase, path, r)
			if xc := r.header.Get("X-Cache"); !allStatus(xc, "BYPASS") {
				t.Errorf("%s: GET %s: X-Cache = %q, want every fragment BYPASS", phase, path, xc)
			}
		}
		r := c.get(t, "/readyz", false)
		var ready map[string]string
		if err := json.Unmarshal([]byte(r.body), &ready); err != nil || r.status != 200 || ready["postgres"] != "up" {
			t.Errorf("%s: /readyz: status %d, %s; want 200 with postgres up (Redis is not required)", phase, r.status, r.body)
		}
	}
	// resumes waits until a new page is stored in Redis again, then
	// checks that it is served from the cache. Its pages search for a
	// text no title has, new at each try.
	tries := 0
	resumes := func(phase string) {
		t.Helper()
		var path string
		took := poll(t, recoverBound, phase+": caching resumes", func() (bool, string) {
			tries++
			params := fmt.Sprintf("q=resume%d", tries)
			path = "/anime?" + params
			r := c.get(t, path, false)
			check(phase, path, r)
			xc := r.header.Get("X-Cache")
			if !allStatus(xc, "MISS") {
				return false, path + ": X-Cache " + xc
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			keys, _, err := rdb.Scan(ctx, 0, ns+":catalog:*", 1000).Result()
			if err != nil {
				return false, "scan the private Redis: " + err.Error()
			}
			for _, k := range keys {
				if strings.HasSuffix(k, ":"+params) {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%s: MISS but no key in Redis among %q", path, keys)
		})
		t.Logf("%s: caching resumed after %s", phase, took.Round(time.Millisecond))
		for _, p := range []string{path, "/", "/top"} {
			r := c.get(t, p, false)
			check(phase, p, r)
			if xc := r.header.Get("X-Cache"); p == path && !allStatus(xc, "HIT") {
				t.Errorf("%s: GET %s again: X-Cache = %q, want every fragment HIT", phase, p, xc)
			}
		}
	}

	down("Redis absent at startup")
	redisProc.Restart()
	resumes("Redis started")

	redisProc.Kill()
	down("Redis killed")
	redisProc.Restart()
	resumes("Redis restarted")

	redisProc.Stop()
	down("Redis frozen (SIGSTOP)")
	redisProc.Cont()
	resumes("Redis thawed (SIGCONT)")

	stop()
	c.http.CloseIdleConnections()
	rdb.Close()
	goleak.VerifyNone(t, leakOpts...)
}

// TestGracefulShutdown cancels the server's context while a request waits
// on a table lock: the request still gets its page, new connections are
// refused at once, and run returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dsn := newDatabase(t, e2eCatalog)
	base, stop := startServer(t, map[string]string{"DATABASE_URL": dsn})
	c := newClient(t, base)
	hostPort := strings.TrimPrefix(base, "http://")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) // a no-op once rolled back below
	if _, err := tx.Exec(ctx, "LOCK TABLE anime IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	type result struct {
		r   response
		err error
	}
	resc := make(chan result, 1)
	go func() {
		// A cold page: the catalog must be read from PostgreSQL.
		r, err := c.try("/anime?sort=title", nil)
		resc <- result{r, err}
	}()
	poll(t, 10*time.Second, "the request waits for the lock", func() (bool, string) {
		var waiting int
		err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND c.relname = 'anime' AND NOT l.granted`).Scan(&waiting)
		if err != nil {
			t.Fatalf("read pg_locks: %v", err)
		}
		return waiting > 0, "no lock waiter"
	})

	stopped := make(chan struct{})
	cancelled := time.Now()
	go func() {
		stop() // reports run's error on t
		close(stopped)
	}()
	poll(t, 5*time.Second, "new connections are refused during the shutdown", func() (bool, string) {
		conn, err := net.DialTimeout("tcp", hostPort, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return false, "a new connection was accepted"
		}
		return true, ""
	})
	time.Sleep(300*time.Millisecond - time.Since(cancelled))
	select {
	case <-stopped:
		t.Fatal("run returned while a request was still in flight")
	default:
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("release the lock: %v", err)
	}

	select {
	case res := <-resc:
		if res.err != nil {
			t.Fatalf("the in-flight request failed: %v", res.err)
		}
		if res.r.status != 200 || res.r.testIDs(t, "card") != 24 {
			t.Errorf("the in-flight request got status %d with %d cards, want 200 with 24", res.r.status, res.r.testIDs(t, "card"))
		}
	case <-time.After(stopTimeout):
		t.Fatal("the in-flight request did not finish after the lock was released")
	}
	select {
	case <-stopped:
	case <-time.After(stopTimeout + 5*time.Second):
		t.Fatal("run did not return")
	}
	if conn, err := net.DialTimeout("tcp", hostPort, time.Second); err == nil {
		conn.Close()
		t.Error("a connection was accepted after run returned")
	}
}
