package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anigo/anigo/cache"
	"github.com/anigo/anigo/cache/redistest"
	"github.com/anigo/anigo/config"
)

// newCLICache returns a cache on the shared Redis, under a prefix of the
// test's own, holding two popular and one catalog fragment.
func newCLICache(t *testing.T) *cache.Cache {
	t.Helper()
	client, prefix := redistest.Shared(t)
	c := cache.New(cache.Options{Client: client, Prefix: prefix, TTLs: config.DefaultTTLs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(c.Close)
	for _, k := range [][2]string{{"popular", ""}, {"popular", "page=2"}, {"catalog", "sort=score"}} {
		_, _, err := c.Get(context.Background(), k[0], k[1], func(context.Context) ([]byte, error) {
			return []byte(strings.Repeat("<li>"+k[0]+"</li>", 100)), nil
		})
		if err != nil {
			t.Fatalf("fill %v: %v", k, err)
		}
	}
	return c
}

func TestRunCacheClear(t *testing.T) {
	c := newCLICache(t)
	tests := []struct {
		args    []string
		wantOut string
	}{
		{[]string{"clear", "popular"}, "anigo: removed 2 keys of fragment popular\n"},
		{[]string{"clear", "popular"}, "anigo: removed 0 keys of fragment popular\n"},
		{[]string{"clear"}, "anigo: removed 1 keys of every fragment\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := runCache(context.Background(), c, tt.args, &out); err != nil {
			t.Fatalf("runCache(%q): %v", tt.args, err)
		}
		if out.String() != tt.wantOut {
			t.Errorf("runCache(%q) printed %q, want %q", tt.args, out.String(), tt.wantOut)
		}
	}
}

func TestRunCacheErrors(t *testing.T) {
	c := newCLICache(t)
	tests := []struct {
		args      []string
		wantUsage bool
		wantMsg   string
	}{
		{nil, true, "clear [FRAGMENT]"},
		{[]string{"purge"}, true, `unknown cache command "purge"`},
		{[]string{"clear", "a", "b"}, true, "at most one fragment"},
		{[]string{"stats", "x"}, true, "no arguments"},
		{[]string{"clear", "populr"}, false, "known fragments: anime, catalog, count, popular, ranking"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := runCache(context.Background(), c, tt.args, &out)
		if err == nil || errors.Is(err, errUsage) != tt.wantUsage || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("runCache(%q) error = %v; want one containing %q, usage error %v", tt.args, err, tt.wantMsg, tt.wantUsage)
		}
		if out.Len() != 0 {
			t.Errorf("runCache(%q) printed %q on error", tt.args, out.String())
		}
	}
}

func TestRunCacheStats(t *testing.T) {
	c := newCLICache(t)
	var out bytes.Buffer
	if err := runCache(context.Background(), c, []string{"stats"}, &out); err != nil {
		t.Fatalf("runCache(stats): %v", err)
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ *fragment +ttl +hits +stale +misses +bypass +errors +hit ratio +keys +bytes *$`),
		// This process filled the cache, so its counters show the misses.
		regexp.MustCompile(`(?m)^ *popular +1m0s +0 +0 +2 +0 +0 +0\.0% +2 +\d+(\.\d)? (B|KiB) *$`),
		regexp.MustCompile(`(?m)^ *catalog +5m0s +0 +0 +1 +0 +0 +0\.0% +1 +\d+(\.\d)? (B|KiB) *$`),
		regexp.MustCompile(`(?m)^ *count +10m0s +0 +0 +0 +0 +0 +- +0 +0 B *$`),
		regexp.MustCompile(`(?m)^breaker +closed$`),
		regexp.MustCompile(`(?m)^memory +\d+(\.\d)? (B|KiB|MiB|GiB) used, `),
		regexp.MustCompile(`a command line shows none`),
	} {
		if !want.MatchString(got) {
			t.Errorf("stats output does not match %s:\n%s", want, got)
		}
	}
}

func TestWriteCacheStatsWithoutRedis(t *testing.T) {
	s := cache.Stats{
		Breaker: "open", Redis: "127.0.0.1:6390", Namespace: "anigo:v1", RedisErr: "cache: Redis unavailable, breaker open",
		Fragments: []cache.FragmentStats{{Name: "popular", TTL: time.Minute, Hits: 3, Bypass: 1}},
		Errors:    []cache.ErrorEvent{{Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Err: "redis get popular: refused"}},
	}
	var out bytes.Buffer
	if err := writeCacheStats(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"75.0%", "breaker    open", "memory     unknown: cache: Redis unavailable",
		"2026-05-01 12:00:00  redis get popular: refused",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}, {5 << 40, "5120.0 GiB"},
	}
	for _, tt := range tests {
		if got := humanBytes(tt.n); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
