package postgres

import (
	"slices"
	"testing"
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
