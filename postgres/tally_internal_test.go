package postgres

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/anigo/anigo"
)

func TestAddToTally(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		typ   string
		score *float64
		row   int
		cols  int // columns 0..cols-1 counted: scored at least col/2
	}{
		{"TV", f(7), 0, 15},        // 7 is at least 7: columns 0..14
		{"TV", f(6.99), 0, 14},     // not at least 7
		{"Movie", f(10), 1, 21},    // every minimum score
		{"Movie", f(0.49), 1, 1},   // only "any score"
		{"Unknown", nil, 6, 0},     // unscored: no score column
		{"Broadcast", f(5), 7, 11}, // a type not in the list: the last row
		{"Music", f(12), 5, 21},    // above 10 (bad data): as 10
	}
	for _, tt := range tests {
		tally := make([]int16, tallyLen)
		addToTally(tally, tt.typ, tt.score)
		want := make([]int16, tallyLen)
		for c := range tt.cols {
			want[tt.row*tallyCols+c] = 1
		}
		want[tt.row*tallyCols+scoreCols] = 1
		if !slices.Equal(tally, want) {
			t.Errorf("addToTally(%s, %v):\n got %v\nwant %v", tt.typ, tt.score, tally, want)
		}
	}
}

func TestAddToTallyOddScores(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		score *float64
		cols  int
	}{
		{f(math.NaN()), scoreCols}, // PostgreSQL: NaN >= any score
		{f(math.Inf(1)), scoreCols},
		{f(math.Inf(-1)), 0},
		{f(-3), 0},
		{f(1e300), scoreCols},
	} {
		tally := make([]int16, tallyLen)
		addToTally(tally, "TV", tt.score)
		got := 0
		for c := range scoreCols {
			got += int(tally[c])
		}
		if got != tt.cols || tally[scoreCols] != 1 {
			t.Errorf("score %v: %d score columns and %d in all, want %d and 1", *tt.score, got, tally[scoreCols], tt.cols)
		}
	}
}

func TestPageChunks(t *testing.T) {
	// Chunks 0..5 with 3, 0, 2, 0, 0, 4 matches: positions 0-2 in chunk 0,
	// 3-4 in chunk 2, 5-8 in chunk 5.
	counts := []chunkCount{{0, 3}, {1, 0}, {2, 2}, {3, 0}, {4, 0}, {5, 4}}
	tests := []struct {
		offset, limit int
		chunks        []int
		skip          int
	}{
		{0, 2, []int{0}, 0},
		{0, 3, []int{0}, 0},       // ends exactly at a chunk's end
		{1, 3, []int{0, 2}, 1},    // straddles, skipping an empty chunk
		{3, 2, []int{2}, 0},       // starts exactly at a chunk's start
		{2, 5, []int{0, 2, 5}, 2}, // over three chunks with matches
		{4, 100, []int{2, 5}, 1},  // runs past the end
		{8, 5, []int{5}, 3},       // the last position
		{9, 5, nil, 0},            // past the end
		{0, 0, nil, 0},
	}
	for _, tt := range tests {
		chunks, skip := pageChunks(counts, tt.offset, tt.limit)
		if !slices.Equal(chunks, tt.chunks) || skip != tt.skip {
			t.Errorf("pageChunks(offset %d, limit %d) = %v, skip %d; want %v, skip %d", tt.offset, tt.limit, chunks, skip, tt.chunks, tt.skip)
		}
	}
	if chunks, _ := pageChunks(nil, 0, 24); chunks != nil {
		t.Errorf("an empty listing: chunks %v, want none", chunks)
	}
}

// Queries the tallies cannot answer take the plain query.
func TestTallyForFallsBack(t *testing.T) {
	s := &Store{}
	for _, q := range []anigo.ListQuery{
		{Type: "Broadcast", MinScore: 7}, // not a type of anigo.Types
		{Genre: "Drama", MinScore: 7.25}, // not a half step
		{Genre: "Drama", MinScore: 11},
		{Genre: "Drama", Type: "TV", Q: "sword"}, // title text
	} {
		if _, ok := s.tallyFor(q); ok {
			t.Errorf("tallyFor(%+v) answers; want the plain query", q)
		}
	}
	tq, ok := s.tallyFor(anigo.ListQuery{Genre: "Drama", Type: "Movie", MinScore: 8})
	if !ok || tq.filter != "genre:Drama" || len(tq.args) != 2 {
		t.Errorf("tallyFor(Drama movies scored 8+) = %+v, %v; want the Drama listing, type and score as args", tq, ok)
	}
	// The Movie row (1), column 16 (score 8), 1-based: 1*22+16+1.
	if !strings.HasSuffix(tq.count, "[39]") || strings.Contains(tq.count, "+") {
		t.Errorf("count = %q, want one cell, [39]", tq.count)
	}
}
