package postgres

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/anigo/anigo"
	"github.com/jackc/pgx/v5"
)

// Tallies: each chunk of catalog_order carries how many of its titles
// have each type and score. A listing filtered further by type or minimum
// score (say, Drama titles scored 8 or more) then finds the chunk that
// holds its page by adding up at most a few numbers per chunk, and reads
// only that chunk and the next: any page costs the same, where an OFFSET
// over the filtered rows walks every title before it.
//
// A chunk's tally is a smallint[] of tallyTypes rows of tallyCols numbers:
// row t for anigo.Types[t] (the last row for a type not in the list),
// column b < scoreCols for the titles scored at least b/2 (cumulative, so a
// minimum score reads one number), column scoreCols for all the type's
// titles, scored or not.
const (
	scoreCols  = 21 // minimum scores 0, 0.5, ..., 10
	tallyCols  = scoreCols + 1
	tallyTypes = 8 // len(anigo.Types) + 1; checked in init
	tallyLen   = tallyTypes * tallyCols
)

func init() {
	if tallyTypes != len(anigo.Types)+1 {
		panic("postgres: tallyTypes must be len(anigo.Types)+1")
	}
}

// tallyType is the row of type typ.
func tallyType(typ string) int {
	if i := slices.Index(anigo.Types, typ); i >= 0 {
		return i
	}
	return len(anigo.Types)
}

// addToTally counts a title of type typ and score (nil: unscored) in t.
func addToTally(t []int16, typ string, score *float64) {
	row := tallyType(typ) * tallyCols
	t[row+scoreCols]++
	if score == nil {
		return
	}
	// score ≥ b/2 ⟺ 2·score ≥ b ⟺ floor(2·score) ≥ b for whole b;
	// doubling a float64 is exact.
	top := min(int(math.Floor(*score*2)), scoreCols-1)
	for b := 0; b <= top; b++ {
		t[row+b]++
	}
}

// tallyQuery is how the tallies answer a query: the listing to read, the
// SQL sum of a chunk's matches, and the condition on the listing's titles
// that picks them out.
type tallyQuery struct {
	filter string // catalog_order's filter of the listing
	count  string // e.g. "co.tally[23] + co.tally[45]"
	where  string // on anime a; args in args
	args   []any
}

// tallyFor returns how the tallies answer q, if they can: a type, a genre
// and a minimum score in any combination (one type or one genre alone has
// its own listing, see listingFor), without title text.
func (s *Store) tallyFor(q anigo.ListQuery) (tallyQuery, bool) {
	if q.Q != "" || q.MinScore < 0 || q.MinScore > anigo.MaxScore || q.MinScore*2 != math.Trunc(q.MinScore*2) {
		return tallyQuery{}, false
	}
	var tq tallyQuery
	conds := []string{s.visible()}
	switch {
	case q.Genre != "":
		tq.filter = genreFilter(q.Genre)
	case q.Type != "":
		tq.filter = typeFilter(q.Type)
	}
	rows := []int{}
	if q.Type != "" {
		if !slices.Contains(anigo.Types, q.Type) {
			return tallyQuery{}, false
		}
		rows = append(rows, tallyType(q.Type))
		tq.args = append(tq.args, q.Type)
		conds = append(conds, "a.type = $"+strconv.Itoa(len(tq.args)+argBase))
	} else {
		for t := range tallyTypes {
			rows = append(rows, t)
		}
	}
	col := scoreCols // every title of the type
	if q.MinScore > 0 {
		col = int(q.MinScore * 2)
		tq.args = append(tq.args, q.MinScore)
		conds = append(conds, "a.score >= $"+strconv.Itoa(len(tq.args)+argBase))
	}
	terms := make([]string, len(rows))
	for i, r := range rows {
		terms[i] = "co.tally[" + strconv.Itoa(r*tallyCols+col+1) + "]" // SQL arrays count from 1
	}
	tq.count, tq.where = strings.Join(terms, " + "), strings.Join(conds, " AND ")
	return tq, true
}

// argBase is the number of parameters the tally queries use before a
// tallyQuery's own: sort, filter, with_adult, first chunk, last chunk.
const argBase = 5

// tallyCounts returns the number of matches in each chunk of tq's listing,
// in chunk order, and false when a chunk has no tally (written before
// tallies existed; the next import adds them).
func (s *Store) tallyCounts(ctx context.Context, sort string, tq tallyQuery) ([]int, bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT coalesce(`+tq.count+`, -1) FROM catalog_order co
		WHERE co.sort = $1 AND co.filter = $2 AND co.with_adult = $3 ORDER BY co.chunk`, sort, tq.filter, s.showAdult)
	if err != nil {
		return nil, false, err
	}
	counts, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, false, err
	}
	if slices.Contains(counts, -1) {
		return nil, false, nil
	}
	return counts, true, nil
}

// tallyCount returns the number of titles matching tq, and false when the
// tallies cannot say.
func (s *Store) tallyCount(ctx context.Context, tq tallyQuery) (int, bool, error) {
	var n, missing int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(`+tq.count+`), 0), count(*) FILTER (WHERE co.tally IS NULL)
		FROM catalog_order co WHERE co.sort = $1 AND co.filter = $2 AND co.with_adult = $3`,
		string(anigo.SortPopularity), tq.filter, s.showAdult).Scan(&n, &missing)
	return n, err == nil && missing == 0, err
}

// tallyPage reads positions offset to offset+limit of the titles matching
// tq in sort's order: the chunks that hold them, found from the tallies,
// and from those chunks only the matching titles. It returns false when
// the tallies cannot say.
func (s *Store) tallyPage(ctx context.Context, sort string, tq tallyQuery, offset, limit int) ([]anigo.Anime, bool, error) {
	counts, ok, err := s.tallyCounts(ctx, sort, tq)
	if err != nil || !ok {
		return nil, ok, err
	}
	first, last, skip, before := -1, -1, 0, 0
	for chunk, n := range counts {
		if first < 0 && before+n > offset {
			first, skip = chunk, offset-before
		}
		before += n
		if first >= 0 && n > 0 { // chunks without a match add nothing to read
			last = chunk
			if before >= offset+limit {
				break
			}
		}
	}
	if first < 0 || limit <= 0 {
		return nil, true, nil // past the end
	}
	args := append([]any{sort, tq.filter, s.showAdult, first, last}, tq.args...)
	args = append(args, skip, limit)
	n := len(args)
	list, err := collectAnime(s.pool.Query(ctx, "SELECT "+animeColumns+` FROM catalog_order co
		CROSS JOIN LATERAL unnest(co.ids) WITH ORDINALITY AS x(id, pos)
		JOIN anime a ON a.id = x.id
		WHERE co.sort = $1 AND co.filter = $2 AND co.with_adult = $3 AND co.chunk BETWEEN $4 AND $5 AND `+tq.where+`
		ORDER BY co.chunk, x.pos OFFSET $`+strconv.Itoa(n-1)+` LIMIT $`+strconv.Itoa(n), args...))
	return list, true, err
}
