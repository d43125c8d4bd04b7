package handlers

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"
)

// fragment is one cached part of a page: its name and canonical params
// (the cache key), the function that renders it, and, once fetched, its
// HTML and cache status.
type fragment struct {
	name   string
	params string
	render func(context.Context) ([]byte, error)

	html   []byte
	status string
}

// fetch gets fragments from the cache, concurrently when there are several.
// One fragment's failure does not cancel the others: their renders may be
// shared with other requests (single-flight), which must not inherit it.
func (h *handler) fetch(ctx context.Context, frags ...*fragment) error {
	var g errgroup.Group
	for _, f := range frags {
		g.Go(func() (err error) {
			// The recover middleware cannot see this goroutine's panics.
			defer func() {
				if r := recover(); r != nil {
					h.log.ErrorContext(ctx, "panic", "fragment", f.name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("handlers: fragment %s panicked: %v", f.name, r)
				}
			}()
			f.html, f.status, err = h.frags.Get(ctx, f.name, f.params, f.render)
			return err
		})
	}
	return g.Wait()
}

// xCache is the X-Cache header of a response: a lone fragment's status, or
// "name=STATUS, ..." for several.
func xCache(frags ...*fragment) string {
	if len(frags) == 1 {
		return frags[0].status
	}
	parts := make([]string, len(frags))
	for i, f := range frags {
		parts[i] = f.name + "=" + f.status
	}
	return strings.Join(parts, ", ")
}

// isFragmentRequest reports whether htmx asked for a fragment alone. A
// boosted request navigates to a whole page, so it gets one.
func isFragmentRequest(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-Boosted") != "true"
}

// renderBytes renders a fragment component for the cache.
func renderBytes(ctx context.Context, comp templ.Component) ([]byte, error) {
	var b bytes.Buffer
	if err := comp.Render(ctx, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// sendHTML renders comp as the response. Every HTML response varies on
// HX-Request, because the same URL serves a fragment or a page.
func sendHTML(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Set(fiber.HeaderVary, "HX-Request")
	c.Type("html", "utf-8")
	c.Status(status)
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}
