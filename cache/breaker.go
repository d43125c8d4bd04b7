package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Prober backoff: Redis that comes back is used again within about
// probeMax plus one command timeout.
const (
	probeMin = 250 * time.Millisecond
	// probeMax stays at half a second because go-redis, after as many failed
	// dials as its pool size, itself redials only once a second: the two
	// delays add up, and caching must resume within 2 s.
	probeMax = 500 * time.Millisecond
)

// breaker counts consecutive Redis failures. While open, no command goes
// to Redis except the prober's PING. Only trip opens it (and starts the one
// prober) and only the prober closes it, so there is one prober at a time.
type breaker struct {
	threshold int32
	failures  atomic.Int32
	open      atomic.Bool
}

// redisUp reports whether commands may go to Redis.
func (c *Cache) redisUp() bool { return c.client != nil && !c.brk.open.Load() }

// observe feeds the result of one command to the breaker. ctx is the
// caller's: a command that failed because its caller gave up says nothing
// about Redis.
func (c *Cache) observe(ctx context.Context, name, op string, err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		c.brk.failures.Store(0)
		return
	}
	if ctx.Err() != nil {
		return
	}
	if cnt := c.counters[name]; cnt != nil {
		cnt.errors.Add(1)
	}
	c.errs.add(c.now(), fmt.Sprintf("redis %s %s: %v", op, name, err))
	if isTimeout(err) || c.brk.failures.Add(1) >= c.brk.threshold {
		c.trip(err)
	}
}

// isTimeout reports whether err is Redis being slow or frozen rather than
// refusing: each such error cost a request a timeout, so one is enough.
func isTimeout(err error) bool {
	var ne net.Error
	// A pool timeout is not one: it means every connection is busy, which
	// a burst of requests does to a healthy Redis; it counts as a failure.
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// trip opens the breaker and starts the prober, unless it is open already.
func (c *Cache) trip(err error) {
	if !c.brk.open.CompareAndSwap(false, true) {
		return
	}
	c.log.Warn("cache: Redis unavailable, breaker opened: fragments render live until it answers",
		"redis", hostPort(c.client), "err", err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return // no prober after Close: the cache stays in bypass
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.probe()
	}()
}

// probe pings Redis with backoff until it answers, then closes the breaker.
func (c *Cache) probe() {
	wait := probeMin
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
		err := c.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			c.brk.failures.Store(0)
			c.brk.open.Store(false)
			c.log.Info("Redis connected: "+hostPort(c.client), "breaker", "closed")
			return
		}
		wait = min(2*wait, probeMax)
		t.Reset(wait)
	}
}

// State is "disabled" without Redis, "open" while the breaker keeps
// commands from Redis, and "closed" when the cache uses it.
func (c *Cache) State() string {
	switch {
	case c.client == nil:
		return "disabled"
	case c.brk.open.Load():
		return "open"
	}
	return "closed"
}

// Ping sends Redis one PING, which counts for the breaker like any command.
// It returns ErrDisabled without Redis, ErrUnavailable while the breaker is
// open (without sending anything), and the PING's error otherwise.
func (c *Cache) Ping(ctx context.Context) error {
	if c.client == nil {
		return ErrDisabled
	}
	if !c.redisUp() {
		return ErrUnavailable
	}
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	err := c.client.Ping(octx).Err()
	cancel()
	c.observe(ctx, "", "ping", err)
	if err != nil {
		return fmt.Errorf("cache: ping %s: %w", hostPort(c.client), err)
	}
	return nil
}

// Connect checks Redis once at startup, taking at most one short timeout,
// and logs the outcome: "Redis connected: host:port", or a warning and an
// open breaker whose prober logs "Redis connected" when Redis answers.
// Startup goes on either way, so there is nothing to return.
func (c *Cache) Connect(ctx context.Context) {
	if c.client == nil {
		c.log.Info("cache: disabled, every fragment renders live")
		return
	}
	if err := c.Ping(ctx); err != nil {
		c.trip(err)
		return
	}
	c.log.Info("Redis connected: " + hostPort(c.client))
}
