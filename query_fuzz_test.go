package anigo

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseListQuery feeds raw query strings through the catalog's parser:
// it must never panic, must accept or refuse with an EINVALID error, and
// whatever it accepts must be canonical: its key parses back to itself.
func FuzzParseListQuery(f *testing.F) {
	for _, seed := range []string{
		"", "page=2", "page=0", "page=-1", "page=abc", "page=99999999999999999999",
		"sort=SCORE&type=tv", "min_score=7.9", "min_score=NaN", "min_score=1e400",
		"q=%00%ff%fe", "q=" + strings.Repeat("x", 300), "genre=Action&genre=Drama",
		"per_page=100", "q=%E3%81%82+%09+b", "type=%20movie%20",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseListQuery(v.Get)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseListQuery(%q) error code = %q, want %q", raw, ErrorCode(err), EINVALID)
			}
			return
		}
		if q.Page < 1 || q.Page > MaxPage || q.PerPage < 1 || q.PerPage > MaxPerPage {
			t.Fatalf("ParseListQuery(%q) = %+v: page or per_page out of bounds", raw, q)
		}
		if !utf8.ValidString(q.Q) || utf8.RuneCountInString(q.Q) > MaxQueryRunes {
			t.Fatalf("ParseListQuery(%q): q %q is not valid, short UTF-8", raw, q.Q)
		}
		again, err := url.ParseQuery(q.Key())
		if err != nil {
			t.Fatalf("Key() %q does not parse: %v", q.Key(), err)
		}
		q2, err := ParseListQuery(again.Get)
		if err != nil || q2 != q {
			t.Fatalf("key %q parses to %+v (err %v), want %+v", q.Key(), q2, err, q)
		}
	})
}
