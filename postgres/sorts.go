package postgres

import (
	"strings"

	"github.com/anigo/anigo"
)

// orderKey is one ORDER BY term, on the table aliased a. Each sort ends with id, so that orders
// are total and pages stable; each matches an index of the schema.
type orderKey struct {
	expr       string
	desc       bool
	nullsFirst bool
}

// rankingSort names the ranking by score in catalog_order: the score
// order of ranked titles, written in the same pass as the score order.
const rankingSort = "ranking"

var orders = map[string][]orderKey{
	string(anigo.SortPopularity): {{expr: "a.members", desc: true}, {expr: "a.providers", desc: true}, {expr: "a.score", desc: true}, {expr: "a.id"}},
	string(anigo.SortScore):      {{expr: "a.score", desc: true}, {expr: "a.id"}},
	string(anigo.SortTitle):      {{expr: `lower(a.title) COLLATE "C"`}, {expr: "a.id"}},
	string(anigo.SortEpisodes):   {{expr: "a.episodes", desc: true}, {expr: "a.id"}},
}

// orderBy renders an ORDER BY list, or its exact reverse: the same index
// read backwards, for pages nearer the end than the start.
func orderBy(keys []orderKey, reverse bool) string {
	terms := make([]string, len(keys))
	for i, k := range keys {
		desc, nullsFirst := k.desc, k.nullsFirst
		if reverse {
			desc, nullsFirst = !desc, !nullsFirst
		}
		t := k.expr
		if desc {
			t += " DESC"
		}
		// DESC defaults to NULLS FIRST and ASC to NULLS LAST in PostgreSQL;
		// state only what differs, as the index definitions do.
		switch {
		case desc && !nullsFirst:
			t += " NULLS LAST"
		case !desc && nullsFirst:
			t += " NULLS FIRST"
		}
		terms[i] = t
	}
	return strings.Join(terms, ", ")
}
