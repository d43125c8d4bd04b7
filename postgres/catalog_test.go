package postgres_test

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
)

func titles(list []anigo.Anime) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Title
	}
	return out
}

func assertAnime(t *testing.T, got, want anigo.Anime) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// smallStores imports testdata/import_small.csv twice: adult titles hidden
// and shown.
func smallStores(t *testing.T) (hidden, shown *postgres.Store) {
	t.Helper()
	dsn := pgtest.New(t)
	ctx := context.Background()
	var err error
	if hidden, err = postgres.Open(ctx, dsn, postgres.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hidden.Close)
	if shown, err = postgres.Open(ctx, dsn, postgres.Options{ShowAdult: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shown.Close)
	pgtest.ImportFixture(t, hidden, "../testdata/import_small.csv")
	return hidden, shown
}

const (
	fmab    = "Fullmetal Alchemist: Brotherhood"
	fma     = "Fullmetal Alchemist"
	kimi    = "Kimi no Na wa."
	sg      = "Steins;Gate"
	gintama = "Gintama'"
	bungaku = `"Bungaku Shoujo" Memoire & More`
	script  = "<script>alert(1)</script>"
	tiny    = "Tiny Masterpiece"
	notYet  = "Not Aired Yet"
	adult   = "Adult Title"
	cafe    = "Café Music Clip"
)

func TestList(t *testing.T) {
	hidden, shown := smallStores(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		store *postgres.Store
		q     anigo.ListQuery
		want  []string
		count int
	}{
		{"popularity", hidden, anigo.ListQuery{Sort: anigo.SortPopularity},
			[]string{fmab, sg, fma, kimi, gintama, bungaku, notYet, script, cafe, tiny}, 10},
		{"popularity with adult", shown, anigo.ListQuery{Sort: anigo.SortPopularity},
			[]string{fmab, sg, fma, kimi, gintama, bungaku, adult, notYet, script, cafe, tiny}, 11},
		{"score, unscored last", hidden, anigo.ListQuery{Sort: anigo.SortScore},
			[]string{tiny, kimi, fmab, sg, gintama, fma, bungaku, cafe, script, notYet}, 10},
		{"title, code point order", hidden, anigo.ListQuery{Sort: anigo.SortTitle},
			[]string{bungaku, script, cafe, fma, fmab, gintama, kimi, notYet, sg, tiny}, 10},
		{"episodes, unknown last", hidden, anigo.ListQuery{Sort: anigo.SortEpisodes},
			[]string{fmab, fma, gintama, sg, bungaku, kimi, tiny, cafe, script, notYet}, 10},
		{"page 2 of 3", hidden, anigo.ListQuery{Sort: anigo.SortPopularity, Page: 2, PerPage: 3},
			[]string{kimi, gintama, bungaku}, 10},
		{"last partial page", hidden, anigo.ListQuery{Sort: anigo.SortTitle, Page: 4, PerPage: 3},
			[]string{tiny}, 10},
		{"past the end", hidden, anigo.ListQuery{Sort: anigo.SortTitle, Page: 5, PerPage: 3}, []string{}, 10},
		{"type", hidden, anigo.ListQuery{Type: "TV", Sort: anigo.SortScore}, []string{fmab, sg, gintama, fma}, 4},
		{"genre", hidden, anigo.ListQuery{Genre: "Drama"}, []string{fmab, fma, kimi, bungaku, tiny}, 5},
		{"adult genre hidden", hidden, anigo.ListQuery{Genre: "Hentai"}, []string{}, 0},
		{"adult genre shown", shown, anigo.ListQuery{Genre: "Hentai"}, []string{adult}, 1},
		{"min score", hidden, anigo.ListQuery{MinScore: 9, Sort: anigo.SortScore}, []string{tiny, kimi, fmab, sg, gintama}, 5},
		{"title text", hidden, anigo.ListQuery{Q: "ALCHEMIST", Sort: anigo.SortTitle}, []string{fma, fmab}, 2},
		{"title text is literal", hidden, anigo.ListQuery{Q: "100%_"}, []string{}, 0},
		{"filters combined", hidden, anigo.ListQuery{Type: "TV", Genre: "Comedy"}, []string{fma, gintama}, 2},
		{"filtered page 2", hidden, anigo.ListQuery{Type: "TV", Sort: anigo.SortTitle, Page: 2, PerPage: 3}, []string{sg}, 4},
		{"per page above the bound", hidden, anigo.ListQuery{PerPage: 1000}, []string{fmab, sg, fma, kimi, gintama, bungaku, notYet, script, cafe, tiny}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Page = max(q.Page, 1)
			if q.PerPage == 0 {
				q.PerPage = anigo.DefaultPerPage
			}
			list, err := tc.store.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(list); !slices.Equal(got, tc.want) {
				t.Errorf("List = %q\nwant   %q", got, tc.want)
			}
			n, err := tc.store.Count(ctx, q)
			if err != nil || n != tc.count {
				t.Errorf("Count = %d, %v; want %d", n, err, tc.count)
			}
		})
	}
}

func TestRanking(t *testing.T) {
	hidden, shown := smallStores(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		store *postgres.Store
		q     anigo.RankQuery
		want  []string
		first int // rank of the first title
		count int
	}{
		// Tiny Masterpiece (10.0 from 13 members) and unscored titles are out.
		{"all", hidden, anigo.RankQuery{Page: 1, PerPage: 24}, []string{kimi, fmab, sg, gintama, fma, bungaku, cafe}, 1, 7},
		{"with adult", shown, anigo.RankQuery{Page: 1, PerPage: 24}, []string{kimi, fmab, sg, gintama, fma, bungaku, adult, cafe}, 1, 8},
		{"page 2", hidden, anigo.RankQuery{Page: 2, PerPage: 3}, []string{gintama, fma, bungaku}, 4, 7},
		{"type", hidden, anigo.RankQuery{Type: "TV", Page: 1, PerPage: 24}, []string{fmab, sg, gintama, fma}, 1, 4},
		{"type page 2", hidden, anigo.RankQuery{Type: "TV", Page: 2, PerPage: 3}, []string{fma}, 4, 4},
		{"type without ranked titles", hidden, anigo.RankQuery{Type: "Special", Page: 1, PerPage: 24}, []string{}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := tc.store.Ranking(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(list))
			for i, r := range list {
				got[i] = r.Title
				if r.Rank != tc.first+i {
					t.Errorf("%s: rank %d, want %d", r.Title, r.Rank, tc.first+i)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Ranking = %q\nwant      %q", got, tc.want)
			}
			n, err := tc.store.RankingCount(ctx, tc.q.Type)
			if err != nil || n != tc.count {
				t.Errorf("RankingCount = %d, %v; want %d", n, err, tc.count)
			}
		})
	}
}

func idOf(t *testing.T, s *postgres.Store, title string) int64 {
	t.Helper()
	var id int64
	if err := s.Pool().QueryRow(context.Background(), "SELECT id FROM anime WHERE title = $1", title).Scan(&id); err != nil {
		t.Fatalf("id of %q: %v", title, err)
	}
	return id
}

func TestAnime(t *testing.T) {
	hidden, shown := smallStores(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		store      *postgres.Store
		title      string
		scoreRank  int
		popularity int
		related    []string
	}{
		{"most popular", hidden, fmab, 2, 1, []string{fma, gintama, kimi, bungaku, notYet, tiny}},
		{"unranked", hidden, tiny, 0, 10, []string{fmab, fma, kimi, bungaku}},
		{"no genres", hidden, cafe, 7, 9, []string{}},
		{"adult shown", shown, adult, 7, 7, []string{kimi, bungaku}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.store.Anime(ctx, idOf(t, tc.store, tc.title))
			if err != nil {
				t.Fatal(err)
			}
			if d.Title != tc.title || d.ScoreRank != tc.scoreRank || d.PopularityRank != tc.popularity {
				t.Errorf("got %q score rank %d popularity rank %d, want %q %d %d",
					d.Title, d.ScoreRank, d.PopularityRank, tc.title, tc.scoreRank, tc.popularity)
			}
			if got := titles(d.Related); !slices.Equal(got, tc.related) {
				t.Errorf("related = %q\nwant      %q", got, tc.related)
			}
		})
	}

	for _, tc := range []struct {
		name string
		id   int64
	}{{"adult hidden", idOf(t, hidden, adult)}, {"unknown id", 1 << 40}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hidden.Anime(ctx, tc.id)
			var e *anigo.Error
			if !errors.As(err, &e) || e.Code != anigo.ENOTFOUND {
				t.Errorf("err = %v, want ENOTFOUND", err)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	hidden, shown := smallStores(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		store *postgres.Store
		q     string
		limit int
		want  []string // the first results, in order
	}{
		{"typo", hidden, "fullmetal alchimist", 10, []string{fma, fmab}},
		{"prefix first", hidden, "steins", 10, []string{sg}},
		{"substring", hidden, "gate", 10, []string{sg}},
		{"short prefix", hidden, "Ki", 10, []string{kimi}},
		{"case and spaces", hidden, "  KIMI   no ", 10, []string{kimi}},
		{"markup is text", hidden, "<script>", 10, []string{script}},
		{"adult hidden", hidden, "adult title", 10, []string{}},
		{"adult shown", shown, "adult title", 10, []string{adult}},
		{"limit", hidden, "alchemist", 1, []string{fma}},
		{"empty", hidden, "   ", 10, []string{}},
		{"nothing close", hidden, "zzzzqqqq", 10, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := tc.store.Search(ctx, tc.q, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			got := titles(list)
			if len(got) > len(tc.want) {
				got = got[:len(tc.want)]
			}
			if !slices.Equal(got, tc.want) || len(list) > tc.limit {
				t.Errorf("Search(%q) = %q, want it to start with %q (limit %d)", tc.q, titles(list), tc.want, tc.limit)
			}
		})
	}
}

func TestGenresInfoPopular(t *testing.T) {
	hidden, shown := smallStores(t)
	ctx := context.Background()
	for _, tc := range []struct {
		store  *postgres.Store
		hentai int
		total  int
	}{{hidden, 0, 10}, {shown, 1, 11}} {
		genres, err := tc.store.Genres(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(genres, func(a, b anigo.Genre) int { return cmp.Compare(a.Name, b.Name) }) {
			t.Errorf("genres not sorted by name: %v", genres)
		}
		i := slices.IndexFunc(genres, func(g anigo.Genre) bool { return g.Name == "Hentai" })
		hentai := 0
		if i >= 0 {
			hentai = genres[i].Count
		}
		drama := genres[slices.IndexFunc(genres, func(g anigo.Genre) bool { return g.Name == "Drama" })]
		if hentai != tc.hentai || drama.Count != 5 {
			t.Errorf("Hentai %d, Drama %d titles; want %d, 5", hentai, drama.Count, tc.hentai)
		}
		info, err := tc.store.Info(ctx)
		if err != nil || info.Version != 1 || info.Total != tc.total || !info.HasMembers || info.UpdatedAt.IsZero() {
			t.Errorf("Info() = %+v, %v; want version 1, %d titles, members", info, err, tc.total)
		}
	}
	for _, tc := range []struct {
		limit int
		want  []string
	}{{3, []string{fmab, sg, fma}}, {0, []string{fmab}}} {
		list, err := hidden.Popular(ctx, tc.limit)
		if err != nil || !slices.Equal(titles(list), tc.want) {
			t.Errorf("Popular(%d) = %q, %v; want %q", tc.limit, titles(list), err, tc.want)
		}
	}
	if err := hidden.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestListAcrossChunks: a page that straddles two of catalog_order's
// 1,000-id chunks holds the same titles, in the same order, as the pages
// of one title each that it covers.
func TestListAcrossChunks(t *testing.T) {
	s := pgtest.NewStore(t, postgres.Options{})
	ctx := context.Background()
	if _, err := s.Import(ctx, synthetic(9000), nil); err != nil { // about 1,300 visible TV titles
		t.Fatal(err)
	}
	ids := func(q anigo.ListQuery) []int64 {
		t.Helper()
		list, err := s.List(ctx, q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		out := make([]int64, len(list))
		for i, a := range list {
			out[i] = a.ID
		}
		return out
	}
	for _, sort := range anigo.Sorts {
		for _, typ := range []string{"", "TV"} {
			// Titles 961 to 1040 one page at a time: none of these pages
			// spans two chunks.
			var want []int64
			for n := 961; n <= 1040; n++ {
				want = append(want, ids(anigo.ListQuery{Sort: sort, Type: typ, Page: n, PerPage: 1})...)
			}
			if len(want) == 0 {
				t.Fatalf("sort %s type %q: no titles past 960", sort, typ)
			}
			// The same titles in pages of 40 (offsets 960 and 1000: each
			// within a chunk) and of 80 (offset 960: across two).
			got := append(ids(anigo.ListQuery{Sort: sort, Type: typ, Page: 25, PerPage: 40}),
				ids(anigo.ListQuery{Sort: sort, Type: typ, Page: 26, PerPage: 40})...)
			if !slices.Equal(got, want) {
				t.Errorf("sort %s type %q: pages of 40 = %v, want %v", sort, typ, got, want)
			}
			if got := ids(anigo.ListQuery{Sort: sort, Type: typ, Page: 13, PerPage: 80}); !slices.Equal(got, want) {
				t.Errorf("sort %s type %q: the page of 80 across chunks = %v, want %v", sort, typ, got, want)
			}
		}
	}
}
