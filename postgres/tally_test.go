package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
)

// oracleOrder is each sort's ORDER BY written out by hand, for checking
// the precomputed orders against a plain query.
var oracleOrder = map[anigo.Sort]string{
	anigo.SortPopularity: "a.members DESC NULLS LAST, a.providers DESC NULLS LAST, a.score DESC NULLS LAST, a.id",
	anigo.SortScore:      "a.score DESC NULLS LAST, a.id",
	anigo.SortTitle:      `lower(a.title) COLLATE "C", a.id`,
	anigo.SortEpisodes:   "a.episodes DESC NULLS LAST, a.id",
}

// oracle returns the ids of every title matching q's filters in q's sort,
// by a plain query over anime.
func oracle(t *testing.T, s *postgres.Store, showAdult bool, q anigo.ListQuery) []int64 {
	t.Helper()
	where, args := "($1 OR NOT a.adult)", []any{showAdult}
	if q.Type != "" {
		args = append(args, q.Type)
		where += fmt.Sprintf(" AND a.type = $%d", len(args))
	}
	if q.Genre != "" {
		args = append(args, q.Genre)
		where += fmt.Sprintf(" AND $%d = ANY(a.genres)", len(args))
	}
	if q.MinScore > 0 {
		args = append(args, q.MinScore)
		where += fmt.Sprintf(" AND a.score >= $%d", len(args))
	}
	rows, err := s.Pool().Query(context.Background(), "SELECT a.id FROM anime a WHERE "+where+" ORDER BY "+oracleOrder[q.Sort], args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestCombinedFilters: listings filtered by two or three of type, genre and
// minimum score (read through catalog_order's tallies) hold the same titles
// in the same order as a plain query, on the first page, on pages that
// straddle chunks, on the last page and past it, with and without adult
// titles; and so they do when the chunks have no tallies (written before
// tallies existed), read the slow way.
func TestCombinedFilters(t *testing.T) {
	dsn := pgtest.New(t)
	ctx := context.Background()
	stores := map[bool]*postgres.Store{}
	for _, showAdult := range []bool{false, true} {
		s, err := postgres.Open(ctx, dsn, postgres.Options{ShowAdult: showAdult})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores[showAdult] = s
	}
	if _, err := stores[false].Import(ctx, synthetic(9000), nil); err != nil {
		t.Fatal(err)
	}
	filters := []anigo.ListQuery{
		{MinScore: 7},
		{MinScore: 9.5},
		{Type: "TV", MinScore: 5.5},
		{Genre: "Drama", Type: "Movie"},
		{Genre: "Comedy", MinScore: 8},
		{Genre: "Action", Type: "TV", MinScore: 6},
		{Genre: "Hentai", MinScore: 4}, // adult: only with adult titles shown
		{Type: "Music", MinScore: 10},  // a score of 10 exactly, or nothing
	}
	check := func(t *testing.T) {
		for showAdult, s := range stores {
			for _, f := range filters {
				for _, sort := range anigo.Sorts {
					q := f
					q.Sort = sort
					want := oracle(t, s, showAdult, q)
					name := fmt.Sprintf("adult %v, %+v", showAdult, q)
					if n, err := s.Count(ctx, q); err != nil || n != len(want) {
						t.Errorf("%s: Count = %d, %v; want %d", name, n, err, len(want))
					}
					for _, perPage := range []int{24, 100} {
						last := (len(want) + perPage - 1) / perPage
						pages := []int{1, 2, last / 2, last/2 + 1, last - 1, last, last + 1}
						for _, page := range pages {
							if page < 1 {
								continue
							}
							q.Page, q.PerPage = page, perPage
							list, err := s.List(ctx, q)
							if err != nil {
								t.Fatalf("%s: List: %v", name, err)
							}
							lo, hi := min((page-1)*perPage, len(want)), min(page*perPage, len(want))
							if got := idsOf(list); !slices.Equal(got, want[lo:hi]) {
								t.Errorf("%s, page %d of %d: got %d titles %v, want %d %v", name, page, perPage, len(got), got, hi-lo, want[lo:hi])
							}
						}
					}
				}
			}
		}
	}
	t.Run("tallies", check)

	// Every page in turn: the pages that straddle two chunks are among them.
	for _, f := range []anigo.ListQuery{{MinScore: 7}, {Genre: "Action", Type: "TV", MinScore: 6}} {
		f.Sort, f.PerPage = anigo.SortPopularity, 100
		want := oracle(t, stores[false], false, f)
		var got []int64
		for f.Page = 1; ; f.Page++ {
			list, err := stores[false].List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				break
			}
			got = append(got, idsOf(list)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v, every page in turn: %d titles, want %d in the plain query's order", f, len(got), len(want))
		}
	}

	// The tallies are what answers: zeroed, a chunk's titles are skipped.
	pool := stores[false].Pool()
	const first = "sort = 'popularity' AND filter = '' AND NOT with_adult AND chunk = 0"
	if _, err := pool.Exec(ctx, "UPDATE catalog_order SET tally = array_fill(0::smallint, ARRAY[cardinality(tally)]) WHERE "+first); err != nil {
		t.Fatal(err)
	}
	q := anigo.ListQuery{MinScore: 7, Sort: anigo.SortPopularity, Page: 1, PerPage: 24}
	want := oracle(t, stores[false], false, q)
	if n, err := stores[false].Count(ctx, q); err != nil || n >= len(want) {
		t.Errorf("Count with a zeroed tally = %d, %v; want fewer than %d", n, err, len(want))
	}
	if list, err := stores[false].List(ctx, q); err != nil || slices.Equal(idsOf(list), want[:24]) {
		t.Errorf("List with a zeroed tally = %v, %v; want other titles than %v", idsOf(list), err, want[:24])
	}

	if _, err := pool.Exec(ctx, "UPDATE catalog_order SET tally = NULL WHERE chunk = 1 OR ("+first+")"); err != nil {
		t.Fatal(err)
	}
	t.Run("without tallies", check)
}

// TestTalliesAddUp: every chunk's tally counts each of its titles once.
func TestTalliesAddUp(t *testing.T) {
	s := pgtest.NewStore(t, postgres.Options{})
	ctx := context.Background()
	if _, err := s.Import(ctx, synthetic(3000), nil); err != nil {
		t.Fatal(err)
	}
	// Per chunk: its ids, and the tally's column of all titles summed over
	// the types (every 22nd number, from the 22nd).
	var bad, chunks int
	err := s.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE cardinality(ids) <> (
			SELECT sum(v) FROM unnest(tally) WITH ORDINALITY AS u(v, i) WHERE i % 22 = 0)), count(*)
		FROM catalog_order`).Scan(&bad, &chunks)
	if err != nil || bad != 0 || chunks == 0 {
		t.Errorf("%d of %d chunks have a tally that does not add up to their titles (%v)", bad, chunks, err)
	}

	// A catalog whose chunks lack tallies (written before they existed)
	// gets them from the next import, even one that changes nothing.
	if _, err := s.Pool().Exec(ctx, "UPDATE catalog_order SET tally = NULL WHERE chunk = 0"); err != nil {
		t.Fatal(err)
	}
	sum, err := s.Import(ctx, synthetic(3000), nil)
	if err != nil || sum.Changed() {
		t.Fatalf("the same import again: %+v, %v; want nothing changed", sum, err)
	}
	var missing int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM catalog_order WHERE tally IS NULL").Scan(&missing); err != nil || missing != 0 {
		t.Errorf("after an import that changed nothing, %d chunks lack a tally (%v), want 0", missing, err)
	}
}

func idsOf(list []anigo.Anime) []int64 {
	ids := make([]int64, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	return ids
}
