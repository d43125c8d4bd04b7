package cache

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anigo/anigo/cache/redistest"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkHitVsLive compares a cache hit on a 19 kB catalog fragment with
// rendering it live: "db" sleeps 2 ms for the query, as PostgreSQL takes
// for a catalog page here, then builds the HTML; "cpu" only builds it.
// p50 and p99 are per Get.
func BenchmarkHitVsLive(b *testing.B) {
	client, prefix := redistest.Shared(b)
	c := New(Options{Client: client, Prefix: prefix, TTLs: map[string]time.Duration{"catalog": time.Hour},
		Logger: quietLogger()})
	b.Cleanup(c.Close)
	html := sampleHTML(24)
	ctx := context.Background()
	cpu := func(context.Context) ([]byte, error) { return sampleHTML(24), nil }
	db := func(ctx context.Context) ([]byte, error) {
		time.Sleep(2 * time.Millisecond)
		return cpu(ctx)
	}
	live := New(Options{TTLs: map[string]time.Duration{"catalog": time.Hour}, Logger: quietLogger()})
	b.Cleanup(live.Close)
	for _, bm := range []struct {
		name   string
		cache  *Cache
		render func(context.Context) ([]byte, error)
		want   string
	}{
		{"hit", c, cpu, StatusHit},
		{"live-db", live, db, StatusBypass},
		{"live-cpu", live, cpu, StatusBypass},
	} {
		b.Run(bm.name, func(b *testing.B) {
			if _, _, err := bm.cache.Get(ctx, "catalog", "page=1", bm.render); err != nil {
				b.Fatal(err)
			}
			took := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				got, status, err := bm.cache.Get(ctx, "catalog", "page=1", bm.render)
				took = append(took, time.Since(start))
				if err != nil || status != bm.want || len(got) != len(html) {
					b.Fatalf("Get = %d bytes, %s, %v; want %d bytes, %s", len(got), status, err, len(html), bm.want)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkCodec reports the stored size of a 19 kB fragment and what it
// costs to decode, uncompressed, with s2 (what the cache uses) and, for
// comparison, with zstd at its fastest level.
func BenchmarkCodec(b *testing.B) {
	html := sampleHTML(24)
	fresh := time.Now()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	raw, s2v, zv := encodeAs(html, fresh, false), encode(html, fresh), enc.EncodeAll(html, nil)
	for _, bm := range []struct {
		name   string
		size   int
		decode func() error
	}{
		{"raw", len(raw), func() error { _, err := decode(raw); return err }},
		{"s2", len(s2v), func() error { _, err := decode(s2v); return err }},
		{"zstd", headerLen + len(zv), func() error { _, err := dec.DecodeAll(zv, nil); return err }},
	} {
		b.Run("decode-"+bm.name, func(b *testing.B) {
			for b.Loop() {
				if err := bm.decode(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(html)), "html-B")
			b.ReportMetric(float64(bm.size), "value-B")
		})
	}
}

// BenchmarkPageFromRedis reads a page's three fragments when the process
// holds none of them in memory (a new process, or more pages than it
// keeps): "gets" asks Redis for each, concurrently, as a page did before
// Prefetch; "mget" prefetches the three in one round trip and then gets
// them from memory. The near cache is emptied before every page.
func BenchmarkPageFromRedis(b *testing.B) {
	client, prefix := redistest.Shared(b)
	c := New(Options{Client: client, Prefix: prefix, TTLs: map[string]time.Duration{"popular": time.Hour, "ranking": time.Hour, "count": time.Hour},
		Logger: quietLogger()})
	b.Cleanup(c.Close)
	ctx := context.Background()
	frags := []Fragment{{"popular", "limit=12"}, {"ranking", "home"}, {"count", ""}}
	render := func(context.Context) ([]byte, error) { return sampleHTML(12), nil }
	for _, f := range frags {
		if _, _, err := c.Get(ctx, f.Name, f.Params, render); err != nil {
			b.Fatal(err)
		}
	}
	getAll := func(b *testing.B, concurrently bool) {
		var wg sync.WaitGroup
		for _, f := range frags {
			get := func() {
				if _, status, err := c.Get(ctx, f.Name, f.Params, render); err != nil || status != StatusHit {
					b.Errorf("Get %s = %s, %v; want a HIT", f.Name, status, err)
				}
			}
			if concurrently {
				wg.Go(get)
			} else {
				get()
			}
		}
		wg.Wait()
	}
	b.Run("gets", func(b *testing.B) {
		for b.Loop() {
			c.near.lru.Purge()
			getAll(b, true)
		}
	})
	b.Run("mget", func(b *testing.B) {
		for b.Loop() {
			c.near.lru.Purge()
			c.Prefetch(ctx, frags...)
			getAll(b, false)
		}
	})
}
