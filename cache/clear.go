package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
func (c *Cache) Clear(ctx context.Context, fragment string) (int, error) {
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
	removed := 0
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
