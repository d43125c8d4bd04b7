package postgres

import (
	"context"
	"fmt"

	"github.com/anigo/anigo"
	"github.com/jackc/pgx/v5"
)

// Rebuilding catalog_order: for each sort, one ordered pass over the
// titles through a cursor fills the chunks of every listing at once (all
// types and each type, with and without adult titles), so the database
// sorts once per order and memory holds one chunk per listing plus the
// rows of one fetch, whatever the size of the catalog.

// fetchSize is the number of rows per FETCH from the order cursor.
const fetchSize = 50_000

// listing is one precomputed order being filled.
type listing struct {
	sort, typ string
	withAdult bool
	chunk     int32
	ids       []int64
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
	if _, err := tx.Exec(ctx, fmt.Sprintf("DECLARE order_cursor NO SCROLL CURSOR FOR SELECT a.id, a.type, a.adult, a.ranked FROM anime a ORDER BY %s",
		orderBy(keys, false))); err != nil {
		return err
	}
	type scope struct {
		sort, typ string
		withAdult bool
	}
	listings := map[scope]*listing{}
	var full [][]any // finished chunks, waiting for COPY
	add := func(sort, typ string, withAdult bool, id int64) {
		l := listings[scope{sort, typ, withAdult}]
		if l == nil {
			l = &listing{sort: sort, typ: typ, withAdult: withAdult, ids: make([]int64, 0, chunkSize)}
			listings[scope{sort, typ, withAdult}] = l
		}
		l.ids = append(l.ids, id)
		if len(l.ids) == chunkSize {
			full = append(full, []any{l.sort, l.typ, l.withAdult, l.chunk, l.ids})
			l.chunk, l.ids = l.chunk+1, make([]int64, 0, chunkSize)
		}
	}
	for {
		rows, err := tx.Query(ctx, fmt.Sprintf("FETCH %d FROM order_cursor", fetchSize))
		if err != nil {
			return err
		}
		var id int64
		var typ string
		var adult, ranked bool
		addAll := func(sort string) {
			add(sort, "", true, id)
			add(sort, typ, true, id)
			if !adult {
				add(sort, "", false, id)
				add(sort, typ, false, id)
			}
		}
		tag, err := pgx.ForEachRow(rows, []any{&id, &typ, &adult, &ranked}, func() error {
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
			full = append(full, []any{l.sort, l.typ, l.withAdult, l.chunk, l.ids})
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
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"catalog_order"}, []string{"sort", "type", "with_adult", "chunk", "ids"}, pgx.CopyFromRows(rows))
	return err
}
