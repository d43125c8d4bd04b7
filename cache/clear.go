package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// scanCount is SCAN's COUNT hint: large enough that clearing a big
// namespace takes few round trips, small enough that each stays short.
const scanCount = 500

// Clear removes every key of fragment, all catalog versions, with SCAN and
// UNLINK (never KEYS, which would block Redis); fragment "" removes the
// whole namespace, locks included. It returns how many keys it removed. It
// returns an error naming the known fragments for an unknown one,
// ErrDisabled without Redis, and Redis's error, with the count so far,
// when a command fails. Clear ignores the breaker: it is asked for by a
// person, who should see the error.
func (c *Cache) Clear(ctx context.Context, fragment string) (removed int, err error) {
	pattern := globEscape(c.ns) + ":*"
	what := "namespace " + c.ns
	if fragment != "" {
		if _, ok := c.ttls[fragment]; !ok {
			return 0, fmt.Errorf("cache: clear: unknown fragment %q; known fragments: %s",
				fragment, strings.Join(c.Fragments(), ", "))
		}
		pattern = globEscape(c.ns) + ":" + globEscape(fragment) + ":*"
		what = "fragment " + fragment
	}
	if c.client == nil {
		return 0, ErrDisabled
	}
	// Every instance drops its near copies, this one at once, the others
	// when the message arrives; a failed publish is reported like a failed
	// UNLINK, since other instances would go on serving their copies.
	c.near.purge(c.nearPrefix(fragment))
	defer func() {
		if err == nil {
			// Again: a hit between the first purge and the UNLINK may have
			// put a copy back.
			c.near.purge(c.nearPrefix(fragment))
			err = c.client.Publish(ctx, c.clearChannel(), fragment).Err()
			if err != nil {
				err = fmt.Errorf("cache: clear %s: tell other instances: %w", what, err)
			}
		}
	}()
	removed = 0
	var cursor uint64
	for {
		keys, next, err := c.client.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return removed, fmt.Errorf("cache: clear %s: scan: %w", what, err)
		}
		if len(keys) > 0 {
			n, err := c.client.Unlink(ctx, keys...).Result()
			if err != nil {
				return removed, fmt.Errorf("cache: clear %s: unlink: %w", what, err)
			}
			removed += int(n)
		}
		if next == 0 {
			return removed, nil
		}
		cursor = next
	}
}

// clearChannel is where Clear tells every instance to drop near copies.
func (c *Cache) clearChannel() string { return c.ns + ":clear" }

// listenClears drops near copies when any instance clears a fragment, and
// drops them all whenever the subscription reconnects, since a clear may
// have been missed while it was down. It returns when the cache closes.
func (c *Cache) listenClears() {
	ps := c.client.Subscribe(c.ctx, c.clearChannel())
	defer ps.Close()
	msgs := ps.ChannelWithSubscriptions()
	subscribed := false
	for {
		select {
		case <-c.ctx.Done():
			return
		case msg := <-msgs:
			switch m := msg.(type) {
			case *redis.Subscription:
				if subscribed { // a reconnect: clears may have been missed
					c.near.purge(c.nearPrefix(""))
				}
				subscribed = true
			case *redis.Message:
				c.near.purge(c.nearPrefix(m.Payload))
			}
		}
	}
}

// nearPrefix starts the near keys of fragment, or of all fragments for "".
func (c *Cache) nearPrefix(fragment string) string {
	if fragment == "" {
		return c.ns + ":"
	}
	return c.ns + ":" + fragment + ":"
}

// globEscape quotes the characters SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if slices.Contains([]rune(`*?[]\`), r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
