package views

import (
	"strings"
	"testing"

	"github.com/anigo/anigo"
)

func TestGenreOptions(t *testing.T) {
	o, err := NewGenreOptions([]anigo.Genre{{Name: "Action", Count: 2805}, {Name: `<b>"Odd"</b>`, Count: 1}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		selected string
		want     []string
		wantNot  []string
	}{
		{"", []string{`<option value="Action">Action (2,805)</option>`, `&lt;b&gt;&#34;Odd&#34;&lt;/b&gt; (1)`}, []string{"selected", "<b>"}},
		{"Action", []string{`<option value="Action" selected>Action (2,805)</option>`}, []string{`Odd&#34;&lt;/b&gt;" selected`}},
	}
	for _, tt := range tests {
		got := o.html(tt.selected)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("html(%q) = %s\nlacks %s", tt.selected, got, w)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(got, w) {
				t.Errorf("html(%q) = %s\nholds %s", tt.selected, got, w)
			}
		}
	}
}
