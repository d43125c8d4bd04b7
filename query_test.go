package anigo

import (
	"strings"
	"testing"
)

func params(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseListQuery(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]string
		want    ListQuery
		wantKey string
	}{
		{"defaults", nil, ListQuery{Sort: SortPopularity, Page: 1, PerPage: 24}, ""},
		{"case folded", map[string]string{"type": "tv", "sort": "SCORE"}, ListQuery{Type: "TV", Sort: SortScore, Page: 1, PerPage: 24}, "sort=score&type=TV"},
		{"junk ignored", map[string]string{"page": "2", "utm_source": "x", "_": "1"}, ListQuery{Sort: SortPopularity, Page: 2, PerPage: 24}, "page=2"},
		{"defaults left out of key", map[string]string{"page": "1", "sort": "popularity", "per_page": "24"}, ListQuery{Sort: SortPopularity, Page: 1, PerPage: 24}, ""},
		{"min score stepped", map[string]string{"min_score": "7.9"}, ListQuery{MinScore: 7.5, Sort: SortPopularity, Page: 1, PerPage: 24}, "min_score=7.5"},
		{"text normalised", map[string]string{"q": "  full\tmetal \x00 "}, ListQuery{Q: "full metal", Sort: SortPopularity, Page: 1, PerPage: 24}, "q=full+metal"},
		{"genre trimmed", map[string]string{"genre": " Action "}, ListQuery{Genre: "Action", Sort: SortPopularity, Page: 1, PerPage: 24}, "genre=Action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseListQuery(params(tt.in))
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if key := got.Key(); key != tt.wantKey {
				t.Errorf("Key() = %q, want %q", key, tt.wantKey)
			}
		})
	}
}

func TestParseListQueryRejects(t *testing.T) {
	tests := []struct {
		name, key, value, wantIn string
	}{
		{"page zero", "page", "0", "page"},
		{"page negative", "page", "-1", "page"},
		{"page text", "page", "abc", "page"},
		{"page overflow", "page", "99999999999999999999", "page"},
		{"page too deep", "page", "1000001", "page"},
		{"sort unknown", "sort", "random", "sort"},
		{"type unknown", "type", "cartoon", "type"},
		{"min score high", "min_score", "11", "min_score"},
		{"min score nan", "min_score", "NaN", "min_score"},
		{"per page zero", "per_page", "0", "per_page"},
		{"per page big", "per_page", "1000", "per_page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseListQuery(params(map[string]string{tt.key: tt.value}))
			if ErrorCode(err) != EINVALID {
				t.Fatalf("code = %q (err %v), want %q", ErrorCode(err), err, EINVALID)
			}
			if msg := ErrorMessage(err); !strings.Contains(msg, tt.wantIn) {
				t.Errorf("message %q does not mention %q", msg, tt.wantIn)
			}
		})
	}
}

func TestNormalizeTextCutsLongInput(t *testing.T) {
	got := NormalizeText(strings.Repeat("あ", 10_000))
	if n := len([]rune(got)); n != MaxQueryRunes {
		t.Errorf("len = %d runes, want %d", n, MaxQueryRunes)
	}
}

func TestRankQuery(t *testing.T) {
	q, err := ParseRankQuery(params(map[string]string{"type": "movie", "page": "3", "sort": "ignored"}))
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	if want := (RankQuery{Type: "Movie", Page: 3, PerPage: 24}); q != want {
		t.Errorf("got %+v, want %+v", q, want)
	}
	if got, want := q.URL(), "/top?page=3&type=Movie"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if got, want := q.Offset(), 48; got != want {
		t.Errorf("Offset() = %d, want %d", got, want)
	}
}

func TestSlugAndPath(t *testing.T) {
	tests := []struct {
		title, slug string
	}{
		{"Kimi no Na wa.", "kimi-no-na-wa"},
		{"Fullmetal Alchemist: Brotherhood", "fullmetal-alchemist-brotherhood"},
		{"Pokémon", "pok-mon"},
		{"<script>alert(1)</script>", "script-alert-1-script"},
		{"☆☆☆", ""},
	}
	for _, tt := range tests {
		if got := Slug(tt.title); got != tt.slug {
			t.Errorf("Slug(%q) = %q, want %q", tt.title, got, tt.slug)
		}
	}
	if got, want := (Anime{ID: 7, Title: "☆"}).Path(), "/anime/7"; got != want {
		t.Errorf("Path() = %q, want %q", got, want)
	}
}

func TestErrorHelpers(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorMessage(nil) != "" {
		t.Error("nil error should have no code or message")
	}
	plain := strings.NewReader("").UnreadByte() // any non-domain error
	if ErrorCode(plain) != EINTERNAL || strings.Contains(ErrorMessage(plain), "UnreadByte") {
		t.Errorf("plain error: code %q message %q", ErrorCode(plain), ErrorMessage(plain))
	}
}
