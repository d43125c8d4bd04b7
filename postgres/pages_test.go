package postgres_test

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
)

// row holds the sort keys of a title; nil pointers are NULLs.
type row struct {
	id                int64
	members, episodes *int
	providers         int
	score             *float64
	titleKey          string // lower(title) as PostgreSQL computes it
	typ               string
	genres            []string
	adult, ranked     bool
}

// desc compares a and b for a descending order with NULLs last.
func desc[T cmp.Ordered](a, b *T) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*b, *a)
}

// reference orders, written independently of the store's SQL.
var reference = map[anigo.Sort]func(a, b row) int{
	anigo.SortPopularity: func(a, b row) int {
		return cmp.Or(desc(a.members, b.members), cmp.Compare(b.providers, a.providers), desc(a.score, b.score), cmp.Compare(a.id, b.id))
	},
	anigo.SortScore:    func(a, b row) int { return cmp.Or(desc(a.score, b.score), cmp.Compare(a.id, b.id)) },
	anigo.SortTitle:    func(a, b row) int { return cmp.Or(cmp.Compare(a.titleKey, b.titleKey), cmp.Compare(a.id, b.id)) },
	anigo.SortEpisodes: func(a, b row) int { return cmp.Or(desc(a.episodes, b.episodes), cmp.Compare(a.id, b.id)) },
}

func ids(list []anigo.Anime) []int64 {
	out := make([]int64, len(list))
	for i, a := range list {
		out[i] = a.ID
	}
	return out
}

// TestDeepPages checks pages at every depth of the whole dataset, through
// the precomputed orders (no filter, or type) and through the index read
// from either end (other filters), against orders computed here in Go.
func TestDeepPages(t *testing.T) {
	s := pgtest.NewStore(t, postgres.Options{})
	if _, skips, err := importFile(t, s, datasetPath(t)); err != nil || len(skips) > 0 {
		t.Fatalf("import: %v, %d skips", err, len(skips))
	}
	ctx := context.Background()
	pgRows, err := s.Pool().Query(ctx, `SELECT id, members, episodes, providers, score, lower(title) COLLATE "C", type, genres, adult, ranked FROM anime`)
	if err != nil {
		t.Fatal(err)
	}
	var all []row
	for pgRows.Next() {
		var r row
		if err := pgRows.Scan(&r.id, &r.members, &r.episodes, &r.providers, &r.score, &r.titleKey, &r.typ, &r.genres, &r.adult, &r.ranked); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if pgRows.Err() != nil {
		t.Fatal(pgRows.Err())
	}
	expect := func(keep func(row) bool, order func(a, b row) int, offset, limit int) []int64 {
		var sel []row
		for _, r := range all {
			if !r.adult && keep(r) {
				sel = append(sel, r)
			}
		}
		slices.SortFunc(sel, order)
		out := []int64{}
		for _, r := range sel[min(offset, len(sel)):min(offset+limit, len(sel))] {
			out = append(out, r.id)
		}
		return out
	}

	const perPage = 100
	for _, sort := range anigo.Sorts {
		for _, tc := range []struct {
			name   string
			filter anigo.ListQuery
			keep   func(row) bool
		}{
			{"all", anigo.ListQuery{}, func(row) bool { return true }},
			{"TV", anigo.ListQuery{Type: "TV"}, func(r row) bool { return r.typ == "TV" }},
			{"min score", anigo.ListQuery{MinScore: 6.5}, func(r row) bool { return r.score != nil && *r.score >= 6.5 }},
			{"genre", anigo.ListQuery{Genre: "Comedy"}, func(r row) bool { return slices.Contains(r.genres, "Comedy") }},
		} {
			total, err := s.Count(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(expect(tc.keep, reference[sort], 0, len(all))); total != want {
				t.Errorf("%s: Count = %d, want %d", tc.name, total, want)
			}
			last := (total + perPage - 1) / perPage
			for _, page := range []int{1, 2, 11, last / 2, last/2 + 1, last - 1, last, last + 1} {
				q := tc.filter
				q.Sort, q.Page, q.PerPage = sort, page, perPage
				list, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := expect(tc.keep, reference[sort], q.Offset(), perPage)
				if got := ids(list); !slices.Equal(got, want) {
					t.Errorf("%s %s page %d of %d: got %d ids %v..., want %d %v...",
						tc.name, sort, page, last, len(got), got[:min(3, len(got))], len(want), want[:min(3, len(want))])
				}
			}
		}
	}

	// The ranking, unfiltered and by type, at the start and the end.
	rankOrder := func(a, b row) int { return cmp.Or(desc(a.score, b.score), cmp.Compare(a.id, b.id)) }
	for _, typ := range []string{"", "TV"} {
		total, err := s.RankingCount(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		last := (total + perPage - 1) / perPage
		for _, page := range []int{1, last/2 + 1, last} {
			q := anigo.RankQuery{Type: typ, Page: page, PerPage: perPage}
			list, err := s.Ranking(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int64, len(list))
			for i, r := range list {
				got[i] = r.ID
				if r.Rank != q.Offset()+i+1 {
					t.Fatalf("type %q page %d: rank %d at %d", typ, page, r.Rank, i)
				}
			}
			want := expect(func(r row) bool { return r.ranked && (typ == "" || r.typ == typ) }, rankOrder, q.Offset(), perPage)
			if !slices.Equal(got, want) {
				t.Errorf("ranking %q page %d of %d: got %d ids, want %d, or they differ", typ, page, last, len(got), len(want))
			}
		}
	}
}
