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
// only the chunks with a match from there to the page's end (one or two,
// unless matches are rare): a deep page costs what the first does, where
// an OFFSET over the filtered rows walks every title before it.
//
// A chunk's tally is a smallint[] of tallyTypes rows of tallyCols numbers:
// row t for anigo.Types[t] (the last row for a type not in the list),
// column b < scoreCols for the titles scored at least b/2 (cumulative, so a
// minimum score reads one number), column scoreCols for all the type's
// titles, scored or not.
const (
	scoreCols = 21 // minimum scores 0, 0.5, ..., 10
	tallyCols = scoreCols + 1
)

var (
	tallyTypes = len(anigo.Types) + 1
	tallyLen   = tallyTypes * tallyCols
)

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
	// doubling a float64 is exact. Compared as floats first: NaN passes
	// every "score >= m" in PostgreSQL, and converting NaN or a huge value
	// to int is undefined.
	twice := *score * 2
	top := scoreCols - 1
	switch {
	case twice < 0:
		top = -1
	case twice < scoreCols-1:
		top = int(math.Floor(twice))
	}
	for b := 0; b <= top; b++ {
		t[row+b]++
	}
}

// tallyQuery is how the tallies answer a query: the listing to read, the
// SQL sum of a chunk's matches, and the condition on the listing's titles
// that picks them out.
type tallyQuery struct {
	filter string // catalog_order's filter of the listing
	count  string // the sum of a chunk's cells, e.g. "(tally)[23] + (tally)[45]"
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
		row := slices.Index(anigo.Types, q.Type)
		if row < 0 {
			return tallyQuery{}, false // the handlers refuse it; the plain query answers anyway
		}
		rows = append(rows, row)
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
		terms[i] = "(" + tallyCells + ")[" + strconv.Itoa(r*tallyCols+col+1) + "]" // SQL arrays count from 1
	}
	tq.count, tq.where = strings.Join(terms, " + "), strings.Join(conds, " AND ")
	return tq, true
}

// argBase is the number of parameters the tally queries use before a
// tallyQuery's own: sort, filter, with_adult and the chunks to read.
const argBase = 4

// tallyCells is a chunk's tally when it has the layout above, else NULL:
// chunks written before tallies existed, or with another list of types,
// read as having none.
var tallyCells = "CASE WHEN cardinality(co.tally) = " + strconv.Itoa(tallyLen) + " THEN co.tally END"

// chunkCount is the number of a listing's matches in one of its chunks.
type chunkCount struct{ chunk, n int }

// tallyCounts returns the number of matches in each chunk of tq's listing,
// in chunk order, and false when a chunk has no tally (written before
// tallies existed; the next import adds them).
func tallyCounts(ctx context.Context, tx pgx.Tx, sort string, showAdult bool, tq tallyQuery) ([]chunkCount, bool, error) {
	rows, err := tx.Query(ctx, `SELECT co.chunk, coalesce(`+tq.count+`, -1) FROM catalog_order co
		WHERE co.sort = $1 AND co.filter = $2 AND co.with_adult = $3 ORDER BY co.chunk`, sort, tq.filter, showAdult)
	if err != nil {
		return nil, false, err
	}
	var counts []chunkCount
	var c chunkCount
	if _, err := pgx.ForEachRow(rows, []any{&c.chunk, &c.n}, func() error { counts = append(counts, c); return nil }); err != nil {
		return nil, false, err
	}
	for _, c := range counts {
		if c.n < 0 {
			return nil, false, nil
		}
	}
	return counts, true, nil
}

// tallyCount returns the number of titles matching tq, and false when the
// tallies cannot say.
func (s *Store) tallyCount(ctx context.Context, tq tallyQuery) (int, bool, error) {
	var n, missing int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(`+tq.count+`), 0), count(*) FILTER (WHERE `+tallyCells+` IS NULL)
		FROM catalog_order co WHERE co.sort = $1 AND co.filter = $2 AND co.with_adult = $3`,
		string(anigo.SortPopularity), tq.filter, s.showAdult).Scan(&n, &missing)
	return n, err == nil && missing == 0, err
}

// pageChunks returns the chunks that hold positions offset to offset+limit
// of a listing whose chunks have counts matches, in order, and how many
// matches of the first to skip; none when the page is past the end. Chunks
// without a match are left out: a rare match (Music scored 10) can spread
// one page over hundreds of chunks, and only those with a match are read.
func pageChunks(counts []chunkCount, offset, limit int) (chunks []int, skip int) {
	if limit <= 0 {
		return nil, 0
	}
	before := 0
	for _, c := range counts {
		if c.n == 0 {
			continue
		}
		if before+c.n > offset {
			if len(chunks) == 0 {
				skip = offset - before
			}
			chunks = append(chunks, c.chunk)
		}
		before += c.n
		if before >= offset+limit {
			break
		}
	}
	return chunks, skip
}

// tallyPage reads positions offset to offset+limit of the titles matching
// tq in sort's order: the chunks that hold them, found from the tallies,
// and from those chunks only the matching titles. The tallies and the
// titles are read in one snapshot, so that an import committing between
// the two cannot shift the page. It returns false when the tallies cannot
// say.
func (s *Store) tallyPage(ctx context.Context, sort string, tq tallyQuery, offset, limit int) (list []anigo.Anime, ok bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		counts, found, err := tallyCounts(ctx, tx, sort, s.showAdult, tq)
		if err != nil || !found {
			return err
		}
		ok = true
		chunks, skip := pageChunks(counts, offset, limit)
		if len(chunks) == 0 {
			return nil // past the end
		}
		args := append([]any{sort, tq.filter, s.showAdult, chunks}, tq.args...)
		args = append(args, skip, limit)
		n := len(args)
		list, err = collectAnime(tx.Query(ctx, "SELECT "+animeColumns+` FROM catalog_order co
			CROSS JOIN LATERAL unnest(co.ids) WITH ORDINALITY AS x(id, pos)
			JOIN anime a ON a.id = x.id
			WHERE co.sort = $1 AND co.filter = $2 AND co.with_adult = $3 AND co.chunk = ANY($4::int[]) AND `+tq.where+`
			ORDER BY co.chunk, x.pos OFFSET $`+strconv.Itoa(n-1)+` LIMIT $`+strconv.Itoa(n), args...))
		return err
	})
	return list, ok, err
}
