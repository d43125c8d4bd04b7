package cache

import (
	"context"
	"testing"
	"time"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/cache/redistest"
)

func TestNearCacheServesWithoutRedisUntilFreshUntil(t *testing.T) {
	c, client, clk := newTestCache(t)
	waitSubscribed(t, c, 1)
	r := &renderer{name: "popular"}
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusMiss)

	// Gone from Redis, still fresh in the process: a hit with no round trip.
	if err := client.Del(context.Background(), c.key("popular", "")).Err(); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusHit)

	// Past fresh-until the near copy is never served: Redis decides, and
	// it has nothing, so the fragment renders again.
	clk.Add(testTTLs["popular"])
	wantGet(t, c, "popular", "", r, "<p>popular #2</p>", StatusMiss)

	// A new catalog version is a new key, near copy or not.
	c.SetVersion(c.Version() + 1)
	wantGet(t, c, "popular", "", r, "<p>popular #3</p>", StatusMiss)
}

func TestNearCacheOff(t *testing.T) {
	client, prefix := redistest.Shared(t)
	c := New(Options{Client: client, Prefix: prefix, TTLs: testTTLs, Grace: testGrace, Logger: quietLogger(), NearSize: -1})
	t.Cleanup(c.Close)
	r := &renderer{name: "popular"}
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusMiss)
	if err := client.Del(context.Background(), c.key("popular", "")).Err(); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "popular", "", r, "<p>popular #2</p>", StatusMiss)
}

func TestClearReachesEveryInstancesNearCache(t *testing.T) {
	client, prefix := redistest.Shared(t)
	clk := newClock()
	a := New(Options{Client: client, Prefix: prefix, TTLs: testTTLs, Grace: testGrace, Now: clk.Now, Logger: quietLogger()})
	b := New(Options{Client: client, Prefix: prefix, TTLs: testTTLs, Grace: testGrace, Now: clk.Now, Logger: quietLogger()})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	waitSubscribed(t, a, 2)

	r := &renderer{name: "ranking"}
	other := &renderer{name: "count"}
	wantGet(t, a, "ranking", "", r, "<p>ranking #1</p>", StatusMiss)
	wantGet(t, b, "ranking", "", r, "<p>ranking #1</p>", StatusHit) // now in b's near cache
	wantGet(t, b, "count", "", other, "<p>count #1</p>", StatusMiss)

	if _, err := a.Clear(context.Background(), "ranking"); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	waitFor(t, "b to drop its near copy", func() bool {
		_, ok := b.near.get(b.key("ranking", ""), clk.Now())
		return !ok
	})
	wantGet(t, b, "ranking", "", r, "<p>ranking #2</p>", StatusMiss)
	if _, ok := b.near.get(b.key("count", ""), clk.Now()); !ok {
		t.Error("clearing ranking dropped b's near copy of count")
	}
}

// waitSubscribed waits until n caches listen on c's clear channel: each
// drops its near copies when its subscription starts.
func waitSubscribed(t *testing.T, c *Cache, n int64) {
	t.Helper()
	waitFor(t, "the clear subscriptions", func() bool {
		got, err := c.client.PubSubNumSub(context.Background(), c.clearChannel()).Result()
		return err == nil && got[c.clearChannel()] == n
	})
}

// With the breaker open and the render failing (PostgreSQL down while
// Redis looks down too), a copy within grace is still served: from the
// near cache, or with one Redis read past the breaker.
func TestStaleIfErrorWithBreakerOpen(t *testing.T) {
	client, prefix := redistest.Shared(t)
	clk := newClock()
	newCache := func() *Cache {
		c := New(Options{Client: client, Prefix: prefix, TTLs: testTTLs, Grace: testGrace, Now: clk.Now, Logger: quietLogger()})
		t.Cleanup(c.Close)
		return c
	}
	a, b := newCache(), newCache()
	r := &renderer{name: "catalog"}
	wantGet(t, a, "catalog", "page=2", r, "<p>catalog #1</p>", StatusMiss)
	clk.Add(testTTLs["catalog"] + time.Second)
	r.fail.Store(true)

	for _, c := range []*Cache{a, b} { // a has a near copy, b only Redis's
		c.brk.open.Store(true) // as if a timeout had tripped it; no prober runs
		html, status, err := c.Get(context.Background(), "catalog", "page=2", r.render)
		if err != nil || string(html) != "<p>catalog #1</p>" || status != StatusStale {
			t.Errorf("Get = %q, %s, %v; want the stale copy, STALE, nil", html, status, err)
		}
	}

	clk.Add(testGrace)
	if _, _, err := a.Get(context.Background(), "catalog", "page=2", r.render); err == nil {
		t.Error("past the grace, a failed render was hidden behind an expired copy")
	}
}

// A title that does not exist is the request's answer, not a cache error.
func TestNotFoundIsNotAnError(t *testing.T) {
	c, _, _ := newTestCache(t)
	notFound := func(context.Context) ([]byte, error) {
		return nil, anigo.Errorf(anigo.ENOTFOUND, "There is no such title.")
	}
	if _, _, err := c.Get(context.Background(), "anime", "id=9", notFound); anigo.ErrorCode(err) != anigo.ENOTFOUND {
		t.Fatalf("Get error = %v, want the render's ENOTFOUND", err)
	}
	s := c.Stats(context.Background())
	if got := fragment(t, s, "anime").Errors; got != 0 || len(s.Errors) != 0 {
		t.Errorf("errors = %d, recent = %v; want none for a missing title", got, s.Errors)
	}
}

// A shared render must not end when the request that started it gives up:
// the others waiting on the same key would all get its cancellation.
func TestSharedRenderOutlivesTheFirstCaller(t *testing.T) {
	c, _, _ := newTestCache(t)
	started, release := make(chan struct{}), make(chan struct{})
	render := func(ctx context.Context) ([]byte, error) {
		close(started)
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []byte("<p>count</p>"), nil
	}
	first, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, _, err := c.Get(first, "count", "shared", render)
		firstDone <- err
	}()
	<-started
	second := make(chan string, 1)
	go func() {
		html, _, err := c.Get(context.Background(), "count", "shared", render)
		if err != nil {
			second <- "error: " + err.Error()
			return
		}
		second <- string(html)
	}()
	time.Sleep(20 * time.Millisecond) // let the second caller join the flight
	cancelFirst()
	close(release)
	if got := <-second; got != "<p>count</p>" {
		t.Errorf("the second caller got %q, want the shared render's HTML", got)
	}
	if err := <-firstDone; err != nil {
		t.Errorf("the first caller got %v, want the HTML (its render finished)", err)
	}
}

func TestPeekServesOnlyFreshNearCopies(t *testing.T) {
	c, _, clk := newTestCache(t)
	waitSubscribed(t, c, 1)
	ctx := context.Background()
	if html, ok := c.Peek(ctx, "popular", ""); ok {
		t.Fatalf("Peek before any Get = %q, want nothing", html)
	}
	r := &renderer{name: "popular"}
	wantGet(t, c, "popular", "", r, "<p>popular #1</p>", StatusMiss)
	if html, ok := c.Peek(ctx, "popular", ""); !ok || string(html) != "<p>popular #1</p>" {
		t.Errorf("Peek after a Get = %q, %v; want the fragment", html, ok)
	}
	if hits := c.counters["popular"].hit.Load(); hits != 1 {
		t.Errorf("Peek counted %d hits, want 1", hits)
	}
	if _, ok := c.Peek(ctx, "popular", "limit=3"); ok {
		t.Error("Peek found a fragment under other params")
	}
	if _, ok := c.Peek(ctx, "no-such-fragment", ""); ok {
		t.Error("Peek found a fragment that has no TTL")
	}
	clk.Add(testTTLs["popular"])
	if _, ok := c.Peek(ctx, "popular", ""); ok {
		t.Error("Peek served a near copy past its fresh-until")
	}
	if r.calls.Load() != 1 {
		t.Errorf("Peek rendered: %d renders, want 1", r.calls.Load())
	}
}

func TestPrefetchBringsFreshValuesIntoMemory(t *testing.T) {
	c, client, clk := newTestCache(t)
	waitSubscribed(t, c, 1)
	ctx := context.Background()
	popular, catalog, count := &renderer{name: "popular"}, &renderer{name: "catalog"}, &renderer{name: "count"}
	wantGet(t, c, "popular", "", popular, "<p>popular #1</p>", StatusMiss)
	wantGet(t, c, "catalog", "page=2", catalog, "<p>catalog #1</p>", StatusMiss)
	clk.Add(testTTLs["popular"]) // popular is stale now, catalog still fresh
	c.near.lru.Purge()

	c.Prefetch(ctx, Fragment{"popular", ""}, Fragment{"catalog", "page=2"}, Fragment{"count", ""}, Fragment{"no-ttl", ""})
	// Gone from Redis: only a copy in memory can answer now.
	for _, key := range []string{c.key("popular", ""), c.key("catalog", "page=2")} {
		if err := client.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	wantGet(t, c, "catalog", "page=2", catalog, "<p>catalog #1</p>", StatusHit)
	// A stale value is not brought in: Get renders (its key is gone) as
	// it would have without Prefetch, and so is a missing one.
	wantGet(t, c, "popular", "", popular, "<p>popular #2</p>", StatusMiss)
	wantGet(t, c, "count", "", count, "<p>count #1</p>", StatusMiss)
}

func TestPrefetchDoesNothingWhileRedisIsDown(t *testing.T) {
	c, _, _ := newTestCache(t)
	waitSubscribed(t, c, 1)
	r := &renderer{name: "catalog"}
	wantGet(t, c, "catalog", "page=1", r, "<p>catalog #1</p>", StatusMiss)
	wantGet(t, c, "catalog", "page=2", r, "<p>catalog #2</p>", StatusMiss)
	c.near.lru.Purge()
	c.brk.open.Store(true)
	c.Prefetch(context.Background(), Fragment{"catalog", "page=1"}, Fragment{"catalog", "page=2"})
	if n := c.near.lru.Len(); n != 0 {
		t.Errorf("Prefetch with the breaker open put %d values in memory, want 0", n)
	}
}
