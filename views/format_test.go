package views

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"Number 0", Number(0), "0"},
		{"Number 999", Number(999), "999"},
		{"Number 1000", Number(1000), "1,000"},
		{"Number members", Number(1013917), "1,013,917"},
		{"Number negative", Number(-1234567), "-1,234,567"},
		{"Score", Score(9.37), "9.37"},
		{"Score rounds", Score(8.5), "8.50"},
		{"Score unknown", Score(0), "–"},
		{"Initials", Initials("Kimi no Na wa."), "KN"},
		{"Initials punctuation", Initials("<script>alert(1)</script>"), "S"},
		{"Initials non-ASCII", Initials("ébène ☆ Ōkami"), "ÉŌ"},
		{"Initials none", Initials("☆ !!"), "?"},
		{"LastPage empty", itoa(LastPage(0, 24)), "1"},
		{"LastPage exact", itoa(LastPage(48, 24)), "2"},
		{"LastPage partial", itoa(LastPage(49, 24)), "3"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	seen := map[string]bool{}
	for id := int64(1); id <= 24; id++ {
		seen[posterClasses(id)] = true
	}
	if len(seen) < 12 {
		t.Errorf("24 neighbouring ids share %d poster colourings, want at least 12", len(seen))
	}
}
