package main

// Faults through the real program: Redis absent, killed, frozen and back
// (a private redis-server of this test's own), and a graceful shutdown with
// a slow request in flight.

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
func TestFaultsRedis(t *testing.T) {
	leakOpts := append(leakIgnores(), goleak.IgnoreCurrent())

	addr, redisProc := redistest.Server(t)
	redisProc.Kill() // absent at startup
	base, stop := startServer(t, map[string]string{"REDIS_URL": "redis://" + addr + "/0"})
	c := newClient(t, base)

	pages := []string{"/", "/anime?page=2", "/top"}
	// requests sends a round of requests to every page and checks that
	// each is whole, correct and quick, with every fragment's status want.
	requests := func(phase, want string) {
		t.Helper()
		for round := range 3 {
			for _, path := range pages {
				r := c.get(t, path, false)
				if r.status != 200 || r.testIDs(t, "card")+r.testIDs(t, "ranking") == 0 {
					t.Errorf("%s: GET %s: status %d, cards %d; want 200 and content", phase, path, r.status, r.testIDs(t, "card"))
				}
				if path == "/" && !strings.Contains(r.body, "Fullmetal Alchemist: Brotherhood") {
					t.Errorf("%s: GET /: the most popular title is missing", phase)
				}
				if r.took > faultBound {
					t.Errorf("%s: GET %s took %s, want under %s", phase, path, r.took, faultBound)
				}
				if xc := r.header.Get("X-Cache"); !allStatus(xc, want) {
					t.Errorf("%s: round %d: GET %s: X-Cache = %q, want every fragment %s", phase, round+1, path, xc, want)
				}
			}
		}
		r := c.get(t, "/readyz", false)
		var ready map[string]string
		if err := json.Unmarshal([]byte(r.body), &ready); err != nil || r.status != 200 || ready["postgres"] != "up" {
			t.Errorf("%s: /readyz: status %d, %s; want 200 with postgres up (Redis is not required)", phase, r.status, r.body)
		}
	}
	// resumes waits until every page is served from Redis again.
	resumes := func(phase string) {
		t.Helper()
		took := poll(t, recoverBound, phase+": caching resumes", func() (bool, string) {
			var states []string
			ok := true
			for _, path := range pages {
				r := c.get(t, path, false)
				if r.status != 200 || r.took > faultBound {
					t.Errorf("%s: GET %s: status %d in %s", phase, path, r.status, r.took)
				}
				ok = ok && allStatus(r.header.Get("X-Cache"), "HIT")
				states = append(states, path+": "+r.header.Get("X-Cache"))
			}
			return ok, strings.Join(states, "; ")
		})
		t.Logf("%s: every page was a HIT again after %s", phase, took.Round(time.Millisecond))
	}

	requests("Redis absent at startup", "BYPASS")

	redisProc.Restart()
	resumes("Redis started")

	redisProc.Kill()
	requests("Redis killed", "BYPASS")

	redisProc.Restart()
	resumes("Redis restarted")

	redisProc.Stop()
	requests("Redis frozen (SIGSTOP)", "BYPASS")
	redisProc.Cont()
	resumes("Redis thawed (SIGCONT)")

	stop()
	c.http.CloseIdleConnections()
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
