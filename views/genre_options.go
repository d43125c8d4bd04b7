package views

import (
	"context"
	"strings"

	"github.com/anigo/anigo"
)

// GenreOptions are the genre filter's <option> elements, each rendered
// once, selected and not, when the genre list is read. Rendering 40-odd
// escaped options with formatted counts on every catalog page cost a third
// of a cached page's time; picking prepared strings costs next to nothing.
type GenreOptions struct {
	names              []string
	plain, selectedOpt []string
}

// NewGenreOptions renders the options of genres. It returns an error only
// when rendering fails, which templ does only for a failing writer.
func NewGenreOptions(genres []anigo.Genre) (GenreOptions, error) {
	o := GenreOptions{
		names:       make([]string, len(genres)),
		plain:       make([]string, len(genres)),
		selectedOpt: make([]string, len(genres)),
	}
	var b strings.Builder
	for i, g := range genres {
		o.names[i] = g.Name
		for _, sel := range []bool{false, true} {
			b.Reset()
			if err := genreOption(g, sel).Render(context.Background(), &b); err != nil {
				return GenreOptions{}, err
			}
			if sel {
				o.selectedOpt[i] = b.String()
			} else {
				o.plain[i] = b.String()
			}
		}
	}
	return o, nil
}

// html returns the options with genre selected, as trusted HTML that the
// templ escaping above produced.
func (o GenreOptions) html(genre string) string {
	var b strings.Builder
	for i, name := range o.names {
		if name == genre {
			b.WriteString(o.selectedOpt[i])
		} else {
			b.WriteString(o.plain[i])
		}
	}
	return b.String()
}
