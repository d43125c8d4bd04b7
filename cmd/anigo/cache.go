package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/anigo/anigo/cache"
)

// runCache runs `anigo cache clear [FRAGMENT]` and `anigo cache stats`
// on c. It returns errUsage for a command line it cannot understand, the
// cache's error (naming the known fragments) for an unknown fragment, and
// Redis's error when clearing fails.
func runCache(ctx context.Context, c *cache.Cache, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("cache: want 'clear [FRAGMENT]' or 'stats': %w", errUsage)
	}
	switch cmd, args := args[0], args[1:]; cmd {
	case "clear":
		if len(args) > 1 {
			return fmt.Errorf("cache clear takes at most one fragment, got %d: %w", len(args), errUsage)
		}
		var fragment string
		what := "every fragment"
		if len(args) == 1 {
			fragment, what = args[0], "fragment "+args[0]
		}
		n, err := c.Clear(ctx, fragment)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "anigo: removed %d keys of %s\n", n, what)
		return nil
	case "stats":
		if len(args) != 0 {
			return fmt.Errorf("cache stats takes no arguments: %w", errUsage)
		}
		return writeCacheStats(stdout, c.Stats(ctx))
	default:
		return fmt.Errorf("unknown cache command %q, want clear or stats: %w", cmd, errUsage)
	}
}

// writeCacheStats prints s as a table, one row per fragment, then Redis's
// figures and the recent errors.
func writeCacheStats(w io.Writer, s cache.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fragment\tttl\thits\tstale\tmisses\tbypass\terrors\thit ratio\tkeys\tbytes\t")
	for _, f := range s.Fragments {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t\n",
			f.Name, f.TTL, f.Hits, f.Stale, f.Misses, f.Bypass, f.Errors, ratio(f), f.Keys, humanBytes(f.Bytes))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("cache stats: %w", err)
	}
	fmt.Fprintln(w, "\nCounters are this process's requests since it started, so a command line shows none;")
	fmt.Fprintln(w, "keys and bytes are what Redis holds now, every catalog version included.")
	if s.Truncated {
		fmt.Fprintln(w, "Redis holds more keys than stats looks at: keys and bytes are a lower bound.")
	}
	fmt.Fprintf(w, "\nnamespace  %s (catalog version %d)\n", s.Namespace, s.Version)
	fmt.Fprintf(w, "redis      %s\n", orDash(s.Redis))
	fmt.Fprintf(w, "breaker    %s\n", s.Breaker)
	if s.RedisErr != "" {
		fmt.Fprintf(w, "memory     unknown: %s\n", s.RedisErr)
	} else {
		limit := "no limit"
		if s.MaxMemory > 0 {
			limit = "of " + humanBytes(s.MaxMemory)
		}
		fmt.Fprintf(w, "memory     %s used, %s\n", humanBytes(s.UsedMemory), limit)
	}
	if len(s.Errors) > 0 {
		fmt.Fprintln(w, "\nlast errors:")
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  %s  %s\n", e.Time.Format(time.DateTime), e.Err)
		}
	}
	return nil
}

func ratio(f cache.FragmentStats) string {
	if f.Hits+f.Stale+f.Misses+f.Bypass == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*f.HitRatio(), 'f', 1, 64) + "%"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanBytes writes n in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB"} {
		if f < unit {
			break
		}
		f, suffix = f/unit, s
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + suffix
}
