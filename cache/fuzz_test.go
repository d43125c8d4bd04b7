package cache

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anigo/anigo"
)

// FuzzKey builds cache keys from whatever a client can put in a catalog
// URL, through the same parser the handlers use. Keys must stay short and
// inside their fragment's key space, and two requests share a key exactly
// when their canonical queries are equal.
func FuzzKey(f *testing.F) {
	for _, seed := range [][2]string{
		{"page=2", "page=2&utm=x"},
		{"type=tv&sort=score", "sort=SCORE&type=TV"},
		{"q=" + strings.Repeat("a", 300), "q=" + strings.Repeat("a", 299) + "b"},
		{"genre=*&q=%0a", "genre=%2A"},
		{"q=%23", "q=#"},
	} {
		f.Add(seed[0], seed[1])
	}
	c := New(Options{TTLs: map[string]time.Duration{"catalog": time.Minute}})
	c.SetVersion(42)
	prefix := DefaultNamespace + ":catalog:c42:"
	f.Fuzz(func(t *testing.T, rawA, rawB string) {
		keyOf := func(raw string) (string, string, bool) {
			v, err := url.ParseQuery(raw)
			if err != nil {
				return "", "", false
			}
			q, err := anigo.ParseListQuery(v.Get)
			if err != nil {
				return "", "", false
			}
			return c.key("catalog", q.Key()), q.Key(), true
		}
		a, canonA, okA := keyOf(rawA)
		b, canonB, okB := keyOf(rawB)
		for _, k := range []string{a, b} {
			if k == "" {
				continue
			}
			if !strings.HasPrefix(k, prefix) || len(k) > len(prefix)+maxParamsLen {
				t.Fatalf("key %q escapes %q or is longer than %d", k, prefix, len(prefix)+maxParamsLen)
			}
			if strings.ContainsAny(k, " \r\n\x00") {
				t.Fatalf("key %q holds white space or NUL", k)
			}
		}
		if okA && okB && (a == b) != (canonA == canonB) {
			t.Fatalf("keys %q and %q disagree with canonical queries %q and %q", a, b, canonA, canonB)
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the value decoder: it must never
// panic, and what encode wrote must come back unchanged.
func FuzzDecode(f *testing.F) {
	until := time.Unix(1_800_000_000, 0)
	f.Add(encode([]byte("<p>hi</p>"), until))
	f.Add(encode(bytes.Repeat([]byte("<li>title</li>"), 200), until))
	f.Add([]byte("AG"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		_, _ = decode(v) // any input: an entry or an error, never a panic
		e, err := decode(encode(v, until))
		if err != nil {
			t.Fatalf("decode(encode(%d bytes)) error = %v", len(v), err)
		}
		if !bytes.Equal(e.html, v) {
			t.Fatalf("round trip changed %d bytes into %d", len(v), len(e.html))
		}
	})
}
