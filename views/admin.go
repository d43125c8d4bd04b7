package views

import (
	"fmt"
	"time"
)

// Admin is what the cache admin page shows: a snapshot of the fragment
// cache, filled by the handlers from cache.Stats.
type Admin struct {
	Redis      string // host:port, "" when the cache is off
	Breaker    string // closed, open or disabled
	Namespace  string
	Version    int64
	UsedMemory int64 // bytes
	MaxMemory  int64 // bytes, 0 for no limit
	Truncated  bool  // key counts stopped early
	RedisErr   string
	Fragments  []AdminFragment
	Errors     []AdminError
	Notice     string // the result of the last action, e.g. "Removed 12 keys."
}

// AdminFragment is one fragment's row.
type AdminFragment struct {
	Name                                string
	TTL                                 time.Duration
	Hits, Stale, Misses, Bypass, Errors uint64
	HitRatio                            float64 // 0 to 1
	MeanRender                          time.Duration
	Keys, Bytes                         int64
}

// AdminError is one recent cache error.
type AdminError struct {
	Time time.Time
	Err  string
}

// Bytes formats a byte count for people: 512 B, 1.5 KiB, 3.2 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

func count(n uint64) string { return Number(int(n)) }
