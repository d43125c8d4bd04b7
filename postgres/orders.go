package postgres

import (
	"context"
	"fmt"

	"github.com/anigo/anigo"
	"github.com/jackc/pgx/v5"
)

// Rebuilding catalog_order: for each sort, one ordered pass over the
// titles through a cursor fills the chunks of every listing at once (all
// titles, each type, each genre; with and without adult titles), so the database
// sorts once per order and memory holds one chunk per listing plus the
// rows of one fetch, whatever the size of the catalog.

// fetchSize is the number of rows per FETCH from the order cursor.
const fetchSize = 50_000

// listing is one precomputed order being filled.
type listing struct {
	sort, filter string
	withAdult    bool
	chunk        int32
	ids          []int64
	tally        []int16 // see tally.go
}

// writeOrders replaces catalog_order with the orders of the current titles.
func writeOrders(ctx context.Context, tx pgx.Tx) error {
	// A cursor plans for its first rows by default (an index scan here);
	// these read every row, for which one sort is cheaper.
	if _, err := tx.Exec(ctx, "DELETE FROM catalog_order; SET LOCAL cursor_tuple_fraction = 1"); err != nil {
		return fmt.Errorf("postgres: import: orders: %w", err)
	}
	for sort, keys := range orders {
		if err := writeOrder(ctx, tx, sort, keys); err != nil {
			return fmt.Errorf("postgres: import: order %s: %w", sort, err)
		}
	}
	return nil
}

// writeOrder writes the listings of one sort; the score order's pass
// writes the ranking's too.
func writeOrder(ctx context.Context, tx pgx.Tx, sort string, keys []orderKey) error {
	if _, err := tx.Exec(ctx, fmt.Sprintf("DECLARE order_cursor NO SCROLL CURSOR FOR SELECT a.id, a.type, a.score, a.genres, a.adult, a.ranked FROM anime a ORDER BY %s",
		orderBy(keys, false))); err != nil {
		return err
	}
	type scope struct {
		sort, filter string
		withAdult    bool
	}
	listings := map[scope]*listing{}
	var full [][]any // finished chunks, waiting for COPY
	var id int64
	var typ string
	var score *float64
	var genres []string
	var adult, ranked bool
	add := func(sort, filter string, withAdult bool) {
		l := listings[scope{sort, filter, withAdult}]
		if l == nil {
			l = &listing{sort: sort, filter: filter, withAdult: withAdult, ids: make([]int64, 0, chunkSize), tally: make([]int16, tallyLen)}
			listings[scope{sort, filter, withAdult}] = l
		}
		l.ids = append(l.ids, id)
		addToTally(l.tally, typ, score)
		if len(l.ids) == chunkSize {
			full = append(full, l.row())
			l.chunk, l.ids, l.tally = l.chunk+1, make([]int64, 0, chunkSize), make([]int16, tallyLen)
		}
	}
	for {
		rows, err := tx.Query(ctx, fmt.Sprintf("FETCH %d FROM order_cursor", fetchSize))
		if err != nil {
			return err
		}
		addTo := func(sort string, withAdult bool) {
			add(sort, "", withAdult)
			add(sort, typeFilter(typ), withAdult)
			for _, g := range genres {
				add(sort, genreFilter(g), withAdult)
			}
		}
		addAll := func(sort string) {
			addTo(sort, true)
			if !adult {
				addTo(sort, false)
			}
		}
		tag, err := pgx.ForEachRow(rows, []any{&id, &typ, &score, &genres, &adult, &ranked}, func() error {
			addAll(sort)
			if ranked && sort == string(anigo.SortScore) {
				addAll(rankingSort)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			break
		}
		if err := copyChunks(ctx, tx, full); err != nil {
			return err
		}
		full = full[:0]
	}
	for _, l := range listings {
		if len(l.ids) > 0 {
			full = append(full, l.row())
		}
	}
	if err := copyChunks(ctx, tx, full); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "CLOSE order_cursor")
	return err
}

func copyChunks(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"catalog_order"}, []string{"sort", "filter", "with_adult", "chunk", "ids", "tally"}, pgx.CopyFromRows(rows))
	return err
}

// row is the listing's current chunk as a row of catalog_order.
func (l *listing) row() []any {
	return []any{l.sort, l.filter, l.withAdult, l.chunk, l.ids, l.tally}
}

// typeFilter and genreFilter name the listings of one type or genre in
// catalog_order; "" is the listing of all titles.
func typeFilter(typ string) string {
	if typ == "" {
		return ""
	}
	return "type:" + typ
}

func genreFilter(genre string) string { return "genre:" + genre }
