package cache

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// maxStatsKeys bounds the keys Stats looks at, so the admin page stays
// cheap on a full Redis; Stats.Truncated says when it stopped there.
const maxStatsKeys = 20_000

// counters are one fragment's figures since the process started.
type counters struct {
	hit, stale, miss, bypass, errors atomic.Uint64
	renders                          atomic.Uint64
	renderNanos                      atomic.Int64
}

func (k *counters) add(status string) {
	switch status {
	case StatusHit:
		k.hit.Add(1)
	case StatusStale:
		k.stale.Add(1)
	case StatusMiss:
		k.miss.Add(1)
	case StatusBypass:
		k.bypass.Add(1)
	}
}

func (k *counters) rendered(d time.Duration) {
	k.renders.Add(1)
	k.renderNanos.Add(int64(d))
}

// ErrorEvent is one recent cache error.
type ErrorEvent struct {
	Time time.Time
	Err  string
}

// errorRing keeps the last few errors for the admin page.
type errorRing struct {
	mu  sync.Mutex
	buf [10]ErrorEvent
	n   int // errors ever added
}

func (r *errorRing) add(t time.Time, msg string) {
	r.mu.Lock()
	r.buf[r.n%len(r.buf)] = ErrorEvent{Time: t, Err: msg}
	r.n++
	r.mu.Unlock()
}

// list returns the kept errors, newest first.
func (r *errorRing) list() []ErrorEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ErrorEvent, 0, min(r.n, len(r.buf)))
	for i := r.n - 1; i >= 0 && i >= r.n-len(r.buf); i-- {
		out = append(out, r.buf[i%len(r.buf)])
	}
	return out
}

// Stats is a snapshot of the cache for the admin page and `anigo cache stats`.
type Stats struct {
	Redis     string          // host:port, "" when disabled
	Breaker   string          // "closed", "open" or "disabled"
	Namespace string          // prefix and namespace
	Version   int64           // catalog version in keys
	Fragments []FragmentStats // by name
	// From Redis; RedisErr says why they are missing.
	UsedMemory int64 // bytes, INFO memory used_memory
	MaxMemory  int64 // bytes, 0 for no limit
	Truncated  bool  // Keys and Bytes stopped after maxStatsKeys keys
	RedisErr   string
	Errors     []ErrorEvent // the last few, newest first
}

// FragmentStats are one fragment's figures. The counters are this
// process's since it started; Keys and Bytes are Redis's, all catalog
// versions together.
type FragmentStats struct {
	Name                                string
	TTL                                 time.Duration
	Hits, Stale, Misses, Bypass, Errors uint64
	Renders                             uint64
	RenderTime                          time.Duration // all renders together
	Keys, Bytes                         int64
}

// HitRatio is the share of requests served from Redis, fresh or stale;
// 0 before the first request.
func (f FragmentStats) HitRatio() float64 {
	served := f.Hits + f.Stale
	total := served + f.Misses + f.Bypass
	if total == 0 {
		return 0
	}
	return float64(served) / float64(total)
}

// MeanRender is the average render time; 0 before the first render.
func (f FragmentStats) MeanRender() time.Duration {
	if f.Renders == 0 {
		return 0
	}
	return f.RenderTime / time.Duration(f.Renders)
}

// Stats returns the counters, the breaker state and recent errors, and
// asks Redis for its memory and each fragment's keys and bytes. A Redis
// failure is reported in RedisErr, not as an error: the rest still holds.
func (c *Cache) Stats(ctx context.Context) Stats {
	s := Stats{
		Breaker:   c.State(),
		Namespace: c.ns,
		Version:   c.Version(),
		Errors:    c.errs.list(),
	}
	byName := make(map[string]*FragmentStats, len(c.ttls))
	for _, name := range c.Fragments() {
		k := c.counters[name]
		s.Fragments = append(s.Fragments, FragmentStats{
			Name: name, TTL: c.ttls[name],
			Hits: k.hit.Load(), Stale: k.stale.Load(), Misses: k.miss.Load(), Bypass: k.bypass.Load(),
			Errors: k.errors.Load(), Renders: k.renders.Load(), RenderTime: time.Duration(k.renderNanos.Load()),
		})
	}
	for i := range s.Fragments {
		byName[s.Fragments[i].Name] = &s.Fragments[i]
	}
	switch s.Breaker {
	case "disabled":
		s.RedisErr = ErrDisabled.Error()
		return s
	case "open":
		s.Redis, s.RedisErr = hostPort(c.client), ErrUnavailable.Error()
		return s
	}
	s.Redis = hostPort(c.client)
	if err := c.redisMemory(ctx, &s); err != nil {
		s.RedisErr = err.Error()
		return s
	}
	if err := c.keySizes(ctx, byName, &s.Truncated); err != nil {
		s.RedisErr = err.Error()
	}
	return s
}

// redisMemory fills UsedMemory and MaxMemory from INFO memory.
func (c *Cache) redisMemory(ctx context.Context, s *Stats) error {
	info, err := c.client.Info(ctx, "memory").Result()
	if err != nil {
		return fmt.Errorf("cache: redis info: %w", err)
	}
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_memory":
			s.UsedMemory, _ = strconv.ParseInt(v, 10, 64)
		case "maxmemory":
			s.MaxMemory, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return nil
}

// keySizes counts the keys and bytes of each fragment with SCAN and
// MEMORY USAGE, one pipeline per batch, up to maxStatsKeys keys.
func (c *Cache) keySizes(ctx context.Context, byName map[string]*FragmentStats, truncated *bool) error {
	var cursor uint64
	seen := 0
	for {
		keys, next, err := c.client.Scan(ctx, cursor, globEscape(c.ns)+":*", scanCount).Result()
		if err != nil {
			return fmt.Errorf("cache: redis scan: %w", err)
		}
		pipe := c.client.Pipeline()
		cmds := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.MemoryUsage(ctx, k)
		}
		if len(keys) > 0 {
			// A key that expired between SCAN and MEMORY USAGE answers nil.
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return fmt.Errorf("cache: redis memory usage: %w", err)
			}
		}
		for i, k := range keys {
			name, _, _ := strings.Cut(strings.TrimPrefix(k, c.ns+":"), ":")
			if f := byName[name]; f != nil {
				f.Keys++
				f.Bytes += cmds[i].Val()
			}
		}
		seen += len(keys)
		if next == 0 {
			return nil
		}
		if seen >= maxStatsKeys {
			*truncated = true
			return nil
		}
		cursor = next
	}
}

// Metric descriptions; the values are read from the counters at scrape time.
var (
	requestsDesc = prometheus.NewDesc("anigo_cache_requests_total",
		"Fragment requests by cache status.", []string{"fragment", "status"}, nil)
	errorsDesc = prometheus.NewDesc("anigo_cache_errors_total",
		"Render failures, Redis failures and unreadable values, by fragment.", []string{"fragment"}, nil)
	breakerDesc = prometheus.NewDesc("anigo_cache_breaker_open",
		"1 while the breaker keeps commands from Redis (or the cache is disabled), else 0.", nil, nil)
)

func newRenderHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "anigo_cache_render_seconds",
		Help:    "Time to render a fragment live, by fragment.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"fragment"})
}

// Collectors returns the cache's Prometheus collectors: request counters
// by fragment and status, errors, breaker state and the render-time
// histogram. Register them on one registry per Cache.
func (c *Cache) Collectors() []prometheus.Collector {
	return []prometheus.Collector{collector{c}, c.renderHist}
}

// Register registers Collectors on r. It returns r's error, for example
// when another Cache registered there first.
func (c *Cache) Register(r prometheus.Registerer) error {
	for _, col := range c.Collectors() {
		if err := r.Register(col); err != nil {
			return fmt.Errorf("cache: register metrics: %w", err)
		}
	}
	return nil
}

// collector reads the cache's counters when scraped.
type collector struct{ c *Cache }

func (k collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- errorsDesc
	ch <- breakerDesc
}

func (k collector) Collect(ch chan<- prometheus.Metric) {
	for name, n := range k.c.counters {
		for status, v := range map[string]uint64{
			"hit": n.hit.Load(), "stale": n.stale.Load(), "miss": n.miss.Load(), "bypass": n.bypass.Load(),
		} {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(v), name, status)
		}
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(n.errors.Load()), name)
	}
	open := 0.0
	if !k.c.redisUp() {
		open = 1
	}
	ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, open)
}
