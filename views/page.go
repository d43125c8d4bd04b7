// Package views holds AniGo's templ components: the layout, the pages and
// the fragments that are rendered alone for htmx or embedded in their page.
package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

// Assets are the content-hashed URLs of the static files. An empty URL
// leaves its tag out (htmx is missing from a build that skipped `make assets`).
type Assets struct {
	CSS  string
	JS   string
	HTMX string
	Icon string
}

// Nav sections, for the header's current-page marker.
const (
	NavHome    = "home"
	NavCatalog = "catalog"
	NavTop     = "top"
	NavSearch  = "search"
)

// Page is what the layout needs on every page.
type Page struct {
	Title  string // "" on the home page
	Nav    string // one of the Nav constants, or ""
	Q      string // the search box's value
	Assets Assets
	// RequestID is shown on the page of a server error, so that a report
	// can be matched with the log.
	RequestID string
}

func (p Page) title() string {
	if p.Title == "" {
		return "AniGo: discover anime"
	}
	return p.Title + " · AniGo"
}

// Fragment writes HTML that a fragment component already rendered, so that a
// page can embed cached fragments. Never pass it anything built from user input.
func Fragment(html []byte) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := w.Write(html)
		return err
	})
}

// htmxConfig makes history restores fetch full pages (not fragments), and
// always from the server, so that the filter form matches the URL; and swaps
// 4xx/5xx responses so that a fragment request shows its error message.
// includeIndicatorStyles and allowEval are off so that the
// Content-Security-Policy can forbid inline styles and eval.
const htmxConfig = `{"historyRestoreAsHxRequest":false,"historyCacheSize":0,"includeIndicatorStyles":false,"allowEval":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}`
