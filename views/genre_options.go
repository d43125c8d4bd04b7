package views

import (
	"context"
	"io"
	"strings"

	"github.com/a-h/templ"

	"github.com/anigo/anigo"
)

// GenreOptions are the genre filter's <option> elements, each rendered
// once, selected and not, when the genre list is read. Rendering 40-odd
// escaped options with formatted counts on every catalog page cost a third
// of a cached page's time; picking prepared strings costs next to nothing.
type GenreOptions struct {
	names              []string
	plain, selectedOpt []string
	none               string // every option, none selected: the usual case
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
	o.none = strings.Join(o.plain, "")
	return o, nil
}

// options writes the options with genre selected: trusted HTML that the
// templ escaping above produced, written piece by piece without copying.
func (o GenreOptions) options(genre string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		if genre == "" {
			_, err := io.WriteString(w, o.none)
			return err
		}
		for i, name := range o.names {
			opt := o.plain[i]
			if name == genre {
				opt = o.selectedOpt[i]
			}
			if _, err := io.WriteString(w, opt); err != nil {
				return err
			}
		}
		return nil
	})
}

// html returns the options with genre selected, for tests.
func (o GenreOptions) html(genre string) string {
	var b strings.Builder
	_ = o.options(genre).Render(context.Background(), &b) // a Builder never fails
	return b.String()
}
