// Package cache keeps rendered HTML fragments in Redis, under per-fragment
// TTLs, and keeps the site serving by rendering live whenever Redis is slow,
// down or gone (DESIGN.md, "Fragment cache").
//
// A fragment's key is <namespace>:<fragment>:c<catalog version>:<params>.
// Within its TTL a value is fresh (HIT); for Grace after that it is stale:
// served at once (STALE) while one instance, holding a short Redis lock,
// renders it again in the background. A missing value is rendered once per
// key and process however many requests wait (MISS). When Redis fails, a
// breaker stops sending it commands and every request renders live, still
// once per key (BYPASS), until a prober sees Redis answer again.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"

	"github.com/anigo/anigo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// Statuses that Get reports; handlers send them as X-Cache.
const (
	StatusHit    = "HIT"    // fresh value from Redis
	StatusStale  = "STALE"  // past its TTL, within grace; being refreshed
	StatusMiss   = "MISS"   // rendered now and stored
	StatusBypass = "BYPASS" // rendered now without Redis: disabled, breaker open or Redis failed
)

// DefaultNamespace starts every key; bump its v1 when the value format or
// the meaning of params changes incompatibly.
const DefaultNamespace = "anigo:v1"

const (
	// opTimeout bounds one Redis command, a dial and handshake included,
	// on top of the client's own socket timeouts.
	opTimeout = 300 * time.Millisecond
	// lockTTL is how long one instance holds the right to refresh a stale
	// key. A refresh that fails leaves the lock to expire, which also
	// spaces out retries of a failing render.
	lockTTL = 5 * time.Second
	// refreshTimeout bounds a background refresh, render included.
	refreshTimeout = 10 * time.Second
	// renderTimeout bounds one render that requests share.
	renderTimeout = 10 * time.Second
	// maxParamsLen: longer params are hashed, so keys stay short whatever
	// the canonical form of a query grows to.
	maxParamsLen = 200
	// defaultThreshold is how many consecutive failed commands open the
	// breaker; a timeout opens it at once.
	defaultThreshold = 3
)

var (
	// ErrDisabled is returned by Clear and Ping when the cache has no Redis.
	ErrDisabled = errors.New("cache: disabled, no Redis configured")
	// ErrUnavailable is returned by Ping while the breaker is open.
	ErrUnavailable = errors.New("cache: Redis unavailable, breaker open")
)

// Storage is the part of a fiber.Storage the cache reads and writes
// through; *redisstore.Storage (gofiber/storage/redis/v3) implements it.
// Get returns nil, nil for a missing key.
type Storage interface {
	GetWithContext(ctx context.Context, key string) ([]byte, error)
	SetWithContext(ctx context.Context, key string, val []byte, exp time.Duration) error
}

// Options configure a Cache. Only TTLs is required for caching to happen.
type Options struct {
	// Client sends the commands Storage lacks (locks, SCAN, UNLINK, INFO,
	// PING). Nil disables the cache: every Get renders live (BYPASS). The
	// Cache never closes it.
	Client *redis.Client
	// Storage holds the values; nil means redisstore.NewFromConnection(Client).
	Storage Storage
	// Namespace starts every key; "" means DefaultNamespace.
	Namespace string
	// Prefix goes before the namespace, so tests on a shared Redis keep
	// to their own keys.
	Prefix string
	// TTLs are the fresh times per fragment name. A name not listed is
	// never cached: Get renders it live and reports BYPASS.
	TTLs map[string]time.Duration
	// Grace is how long past its TTL a value may still be served stale.
	Grace time.Duration
	// Logger gets breaker changes and errors at warn and info, HIT and MISS
	// at debug; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for fresh-until times; nil means time.Now. Tests
	// move it forward to make values stale without sleeping.
	Now func() time.Time
	// FailureThreshold is how many consecutive failed commands open the
	// breaker (a timeout opens it at once); 0 means 3.
	FailureThreshold int
	// NearSize is how many fresh fragments the process keeps in memory in
	// front of Redis; 0 means 1024, a negative number turns it off.
	NearSize int
}

// Cache is a fragment cache. Its methods are safe for concurrent use.
type Cache struct {
	client    *redis.Client
	store     Storage
	ns        string // prefix and namespace
	namespace string
	ttls      map[string]time.Duration
	grace     time.Duration
	log       *slog.Logger
	now       func() time.Time
	version   atomic.Int64

	flight singleflight.Group
	brk    breaker
	near   *near // nil when off or without Redis

	counters   map[string]*counters // fixed at New: read without locking
	renderHist *prometheus.HistogramVec
	errs       errorRing

	// ctx is cancelled by Close, stopping the prober.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex // guards closed and refreshing, and orders wg.Add before wg.Wait
	closed     bool
	refreshing map[string]bool // keys this process is refreshing in the background
	wg         sync.WaitGroup
}

// New returns a Cache. Its only network work is in the background: the
// subscription that keeps near copies in step with Clear on every
// instance. See Connect.
func New(opts Options) *Cache {
	c := &Cache{
		client:     opts.Client,
		store:      opts.Storage,
		namespace:  opts.Namespace,
		ttls:       maps.Clone(opts.TTLs),
		grace:      max(opts.Grace, 0),
		log:        opts.Logger,
		now:        opts.Now,
		counters:   make(map[string]*counters, len(opts.TTLs)),
		refreshing: make(map[string]bool),
	}
	if c.namespace == "" {
		c.namespace = DefaultNamespace
	}
	c.ns = opts.Prefix + c.namespace
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.client == nil {
		c.store = nil
	} else {
		if c.store == nil {
			c.store = redisstore.NewFromConnection(c.client)
		}
		c.near = newNear(opts.NearSize)
	}
	c.brk.threshold = int32(opts.FailureThreshold)
	if c.brk.threshold <= 0 {
		c.brk.threshold = defaultThreshold
	}
	for name := range c.ttls {
		c.counters[name] = new(counters)
	}
	c.renderHist = newRenderHistogram()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if c.near != nil {
		c.wg.Go(c.listenClears)
	}
	return c
}

// Close stops the breaker's prober and waits for background refreshes,
// each bounded by its own 10 s timeout, so that what they render is stored.
// Get keeps working after Close but starts no background work. The Redis
// client stays open: it is the caller's.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// SetVersion sets the catalog version that keys include, so that fragments
// of an older catalog are never read again.
func (c *Cache) SetVersion(v int64) { c.version.Store(v) }

// Version returns the catalog version keys include.
func (c *Cache) Version() int64 { return c.version.Load() }

// Fragments returns the names of the cached fragments, sorted.
func (c *Cache) Fragments() []string { return slices.Sorted(maps.Keys(c.ttls)) }

// Get returns the fragment called name for the canonical params, and its
// status: StatusHit, StatusStale, StatusMiss or StatusBypass. When it has to
// render, it calls render once per key and process, however many callers
// wait; they all get the first caller's result (its context's cancellation
// included), which they must not modify.
// The only error Get returns is render's: a Redis failure makes it render
// live instead.
//
// render may also run after Get has returned, to refresh a stale value in
// the background, with a context of its own: it must not hold on to
// request-scoped state such as a *fiber.Ctx.
func (c *Cache) Get(ctx context.Context, name, params string, render func(context.Context) ([]byte, error)) ([]byte, string, error) {
	key := c.key(name, params)
	ttl, known := c.ttls[name]
	if !known {
		c.log.Debug("cache: fragment has no TTL, not cached", "fragment", name)
		html, err := c.render(ctx, name, key, 0, render)
		return html, StatusBypass, err
	}
	if html, ok := c.near.get(key, c.now()); ok {
		c.count(ctx, name, key, StatusHit)
		return html, StatusHit, nil
	}
	status := StatusBypass
	redisFailed := false
	var html []byte
	if c.redisUp() {
		e, found, err := c.load(ctx, name, key)
		switch {
		case err != nil:
			// Redis failed: render live below, and do not try to store.
			redisFailed = true
		case found && c.now().Before(e.freshUntil):
			html, status = e.html, StatusHit
			c.near.put(key, e)
		case found:
			html, status = e.html, StatusStale
			c.refreshLater(name, key, ttl, render)
		default:
			status = StatusMiss
		}
	}
	var err error
	switch status {
	case StatusMiss:
		html, err = c.render(ctx, name, key, ttl, render)
	case StatusBypass:
		html, err = c.render(ctx, name, key, 0, render)
		if err != nil {
			// Stale-if-error holds with the breaker open too: PostgreSQL
			// and Redis can both be in trouble at once.
			if stale, ok := c.staleCopy(ctx, name, key, !redisFailed); ok {
				c.log.Warn("cache: render failed, serving a stale copy", "fragment", name, "err", err)
				html, status, err = stale, StatusStale, nil
			}
		}
	}
	c.count(ctx, name, key, status)
	return html, status, err
}

// Peek returns the fragment called name for the canonical params from this
// process's near cache while it is fresh, and counts the HIT. It never
// renders, waits or touches Redis, so a page whose fragments are all near
// can be served without starting a goroutine; Get does the rest.
func (c *Cache) Peek(ctx context.Context, name, params string) ([]byte, bool) {
	if c.near == nil {
		return nil, false
	}
	if _, known := c.ttls[name]; !known {
		return nil, false
	}
	key := c.key(name, params)
	html, ok := c.near.get(key, c.now())
	if ok {
		c.count(ctx, name, key, StatusHit)
	}
	return html, ok
}

// Fragment names one fragment: its name and canonical params.
type Fragment struct{ Name, Params string }

// Prefetch reads fragments that Peek did not find from Redis in one round
// trip (MGET) and keeps the fresh ones in memory, so that the Gets that
// follow find them there instead of reading one key each. Values that are
// stale, missing or unreadable are left to Get, which handles them as
// always; so is everything while the breaker is open. It counts nothing:
// the Gets do.
func (c *Cache) Prefetch(ctx context.Context, frags ...Fragment) {
	if c.near == nil || !c.redisUp() {
		return
	}
	keys := make([]string, 0, len(frags))
	name := ""
	for _, f := range frags {
		if _, known := c.ttls[f.Name]; known {
			keys, name = append(keys, c.key(f.Name, f.Params)), f.Name
		}
	}
	if len(keys) < 2 {
		return // one key costs Get one GET: nothing to save
	}
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	vals, err := c.client.MGet(octx, keys...).Result()
	cancel()
	c.observe(ctx, name, "mget", err)
	if err != nil {
		return
	}
	now := c.now()
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // missing
		}
		e, err := decode([]byte(s))
		if err == nil && now.Before(e.freshUntil) {
			c.near.put(keys[i], e)
		}
	}
}

// count records a Get's status in the counters and, at debug, the log.
func (c *Cache) count(ctx context.Context, name, key, status string) {
	c.counters[name].add(status)
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "cache "+status, slog.String("fragment", name), slog.String("key", key))
	}
}

// staleCopy finds a copy of key still within its grace, after a render
// failed: in this process's near cache, else with one Redis read that
// goes past the breaker (one short timeout at most, and only on this
// already-failing path, and not when this request's read just failed).
func (c *Cache) staleCopy(ctx context.Context, name, key string, askRedis bool) ([]byte, bool) {
	now := c.now()
	if html, until, ok := c.near.stale(key); ok && now.Before(until.Add(c.grace)) {
		return html, true
	}
	if c.store == nil || !askRedis {
		return nil, false
	}
	e, found, err := c.load(ctx, name, key)
	if err != nil || !found || !now.Before(e.freshUntil.Add(c.grace)) {
		return nil, false
	}
	return e.html, true
}

// key builds the Redis key of a fragment at the current catalog version.
func (c *Cache) key(name, params string) string {
	if len(params) > maxParamsLen {
		// '#' cannot appear in URL-encoded params, so a hash never
		// collides with params that were short enough to keep.
		sum := sha256.Sum256([]byte(params))
		params = "#" + hex.EncodeToString(sum[:16])
	}
	return c.ns + ":" + name + ":c" + strconv.FormatInt(c.version.Load(), 10) + ":" + params
}

// lockKey is where instances agree on who refreshes key. It sits outside
// the fragments' key space, so Clear and Stats of a fragment ignore it.
func (c *Cache) lockKey(key string) string {
	return c.ns + ":lock:" + strings.TrimPrefix(key, c.ns+":")
}

// render calls fn once per key in this process and, when ttl > 0, stores
// what it returns for ttl plus grace.
func (c *Cache) render(ctx context.Context, name, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	v, err, _ := c.flight.Do(key, func() (any, error) {
		// Every caller waiting on this key shares the render, so it must not
		// end when the first caller gives up: it gets its own deadline.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
		defer cancel()
		if ttl > 0 {
			// A flight that ended just before this one began may have
			// stored the value: requests that missed in Redis while it
			// rendered would otherwise render it once more.
			if html, ok := c.near.get(key, c.now()); ok {
				return html, nil
			}
		}
		start := time.Now()
		html, err := c.call(ctx, name, fn)
		if cnt := c.counters[name]; cnt != nil {
			cnt.rendered(time.Since(start))
			c.renderHist.WithLabelValues(name).Observe(time.Since(start).Seconds())
			if failed(err) {
				cnt.errors.Add(1)
			}
		}
		if err != nil {
			if failed(err) {
				c.errs.add(c.now(), fmt.Sprintf("render %s: %v", name, err))
			}
			return nil, err
		}
		if ttl > 0 {
			c.save(ctx, name, key, ttl, html)
		}
		return html, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// failed reports whether a render error is a failure worth counting: a
// title or page that does not exist, or bad input, is the request's answer.
func failed(err error) bool {
	switch anigo.ErrorCode(err) {
	case "", anigo.ENOTFOUND, anigo.EINVALID:
		return false
	}
	return true
}

// call runs a render and turns its panic into an error: a render may run
// on a background goroutine, where a panic would end the whole process.
func (c *Cache) call(ctx context.Context, name string, fn func(context.Context) ([]byte, error)) (html []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("cache: render panicked", "fragment", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("cache: render %s panicked: %v", name, r)
		}
	}()
	return fn(ctx)
}

// load reads key. found is false for a missing value and for one that is
// corrupt or foreign, which the next store overwrites. An error means Redis
// failed.
func (c *Cache) load(ctx context.Context, name, key string) (e entry, found bool, err error) {
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	v, err := c.store.GetWithContext(octx, key)
	cancel()
	c.observe(ctx, name, "get", err)
	if err != nil || v == nil {
		return entry{}, false, err
	}
	if e, err = decode(v); err != nil {
		c.counters[name].errors.Add(1)
		c.errs.add(c.now(), fmt.Sprintf("read %s: %v", key, err))
		c.log.Warn("cache: unreadable value, rendering again", "key", key, "err", err)
		return entry{}, false, nil
	}
	return e, true, nil
}

// save stores html under key, fresh for ttl and kept for grace after that.
// A failure is recorded and otherwise ignored: the page has its HTML.
func (c *Cache) save(ctx context.Context, name, key string, ttl time.Duration, html []byte) {
	if !c.redisUp() {
		return
	}
	freshUntil := c.now().Add(ttl)
	c.near.put(key, entry{html: html, freshUntil: freshUntil})
	v := encode(html, freshUntil)
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	err := c.store.SetWithContext(octx, key, v, ttl+c.grace)
	cancel()
	c.observe(ctx, name, "set", err)
}

// refreshLater renders a stale key again in the background, unless this
// process is already doing so or is closed.
func (c *Cache) refreshLater(name, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.refreshing[key] {
		return
	}
	c.refreshing[key] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.refresh(name, key, ttl, fn)
		c.mu.Lock()
		delete(c.refreshing, key)
		c.mu.Unlock()
	}()
}

// refresh renders key again if this instance wins the Redis lock; the
// losers keep serving the stale value until the winner's lands.
func (c *Cache) refresh(name, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) {
	// Not the request's context: the request is over by now.
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	if !c.redisUp() {
		return
	}
	lctx, lcancel := context.WithTimeout(ctx, opTimeout)
	won, err := c.client.SetNX(lctx, c.lockKey(key), 1, lockTTL).Result()
	lcancel()
	c.observe(ctx, name, "lock", err)
	if err != nil || !won {
		return
	}
	if _, err := c.render(ctx, name, key, ttl, fn); err != nil {
		c.log.Warn("cache: background refresh failed, serving the stale value", "fragment", name, "key", key, "err", err)
	}
}
