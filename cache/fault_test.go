package cache

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anigo/anigo/cache/redistest"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// maxCall is the correctness bound on one Get while Redis misbehaves: not a
// speed target (that is a timeout of 100 to 300 ms), but proof nothing hangs.
const maxCall = time.Second

// TestFaults runs the cache on a private redis-server that is absent,
// killed, frozen, paused or restarted, and checks that every Get returns the
// right HTML promptly, that caching resumes once Redis is back, and that no
// goroutine outlives the cache.
func TestFaults(t *testing.T) {
	tests := []struct {
		name string
		// fault breaks Redis, before the cache connects when atStart,
		// and returns what mends it.
		fault     func(*testing.T, *redistest.Proc) (heal func())
		atStart   bool
		statuses  []string // allowed while the fault lasts
		wantTrips bool     // the breaker must open
	}{
		{
			name:      "absent at startup",
			fault:     kill,
			atStart:   true,
			statuses:  []string{StatusBypass},
			wantTrips: true,
		},
		{
			name:      "killed",
			fault:     kill,
			statuses:  []string{StatusBypass},
			wantTrips: true,
		},
		{
			name: "frozen",
			fault: func(_ *testing.T, p *redistest.Proc) func() {
				p.Stop()
				return p.Cont
			},
			statuses:  []string{StatusBypass},
			wantTrips: true,
		},
		{
			name:      "slow",
			fault:     pause,
			statuses:  []string{StatusBypass},
			wantTrips: true,
		},
		{
			name: "restarted",
			fault: func(_ *testing.T, p *redistest.Proc) func() {
				p.Restart()
				return func() {}
			},
			statuses: []string{StatusBypass, StatusMiss, StatusHit},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			addr, proc := redistest.Server(t)
			var heal func()
			if tt.atStart {
				heal = tt.fault(t, proc)
			}
			client, err := NewRedisClient(RedisOptions{Addr: addr})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			c := New(Options{Client: client, TTLs: testTTLs, Grace: testGrace,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			c.Connect(context.Background())
			r := &renderer{name: "catalog"}
			if !tt.atStart {
				wantGet(t, c, "catalog", "page=1", r, "<p>catalog #1</p>", StatusMiss)
				wantGet(t, c, "catalog", "page=1", r, "<p>catalog #1</p>", StatusHit)
			}

			if !tt.atStart {
				heal = tt.fault(t, proc)
			}
			slowest := getsDuringFault(t, c, tt.statuses)
			t.Logf("slowest Get during the fault: %v", slowest)
			if tt.wantTrips && !strings.Contains(logs.String(), "breaker opened") {
				t.Errorf("no breaker opened log line; logs:\n%s", logs.String())
			}

			healed := time.Now()
			heal()
			waitFor(t, "caching to resume", func() bool {
				_, status := get(t, c, "popular", "", &renderer{name: "popular"})
				return status == StatusHit
			})
			t.Logf("caching resumed %v after Redis came back", time.Since(healed).Round(time.Millisecond))
			if tt.wantTrips && !strings.Contains(logs.String(), "Redis connected: "+addr) {
				t.Errorf("no Redis connected log line; logs:\n%s", logs.String())
			}

			c.Close()
			if err := client.Close(); err != nil {
				t.Errorf("close client: %v", err)
			}
			proc.Kill()
			noLeaks(t, leaks)
		})
	}
}

// getsDuringFault makes sequential and concurrent Gets on a few keys and
// checks each returns its HTML, an allowed status, and within maxCall. It
// returns the slowest call's time.
func getsDuringFault(t *testing.T, c *Cache, statuses []string) time.Duration {
	t.Helper()
	var mu sync.Mutex
	var slowest time.Duration
	check := func(params string) {
		start := time.Now()
		html, status, err := c.Get(context.Background(), "ranking", params, func(context.Context) ([]byte, error) {
			return []byte("<ol>" + params + "</ol>"), nil
		})
		took := time.Since(start)
		if err != nil || string(html) != "<ol>"+params+"</ol>" || !slices.Contains(statuses, status) {
			t.Errorf("Get(%s) = %q, %s, %v; want <ol>%s</ol>, one of %v, nil", params, html, status, err, params, statuses)
		}
		if took > maxCall {
			t.Errorf("Get(%s) took %v, want under %v", params, took, maxCall)
		}
		mu.Lock()
		slowest = max(slowest, took)
		mu.Unlock()
	}
	for i := range 10 {
		check("page=" + string(rune('0'+i)))
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() { check("type=" + string(rune('a'+i%5))) })
	}
	wg.Wait()
	return slowest
}

func kill(_ *testing.T, p *redistest.Proc) func() {
	p.Kill()
	return p.Restart
}

// pause makes the server hold every command for a second (CLIENT PAUSE),
// like a Redis too slow to answer; the returned func waits the pause out.
// (CLIENT UNPAUSE itself waited behind the held commands here.)
func pause(t *testing.T, p *redistest.Proc) func() {
	t.Helper()
	const d = time.Second
	admin := redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer admin.Close()
	if err := admin.Do(context.Background(), "CLIENT", "PAUSE", d.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	end := time.Now().Add(d)
	return func() { time.Sleep(time.Until(end)) }
}

// noLeaks fails when goroutines started during the test are still running
// after a few seconds: go-redis's redialer sleeps a second between tries.
func noLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines leaked: %v", err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that the logger and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
