package handlers

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"

	"github.com/anigo/anigo/cache"
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

// fetch gets fragments from the cache. Those this process holds fresh in
// memory come first, on this goroutine: a page whose fragments are all there
// (the usual case) costs no goroutine and no wait. Several that are not are
// read from Redis in one round trip, and looked for again. What is left is
// fetched concurrently. One fragment's failure does not cancel the others:
// their renders may be shared with other requests (single-flight), which
// must not inherit it.
func (h *handler) fetch(ctx context.Context, frags ...*fragment) error {
	rest := h.peek(ctx, frags)
	if len(rest) > 1 {
		wants := make([]cache.Fragment, len(rest))
		for i, f := range rest {
			wants[i] = cache.Fragment{Name: f.name, Params: f.params}
		}
		h.frags.Prefetch(ctx, wants...)
		rest = h.peek(ctx, rest)
	}
	var g errgroup.Group
	for _, f := range rest {
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

// peek fills in the fragments the process holds fresh in memory and
// returns the others.
func (h *handler) peek(ctx context.Context, frags []*fragment) (rest []*fragment) {
	for _, f := range frags {
		if html, ok := h.frags.Peek(ctx, f.name, f.params); ok {
			f.html, f.status = html, cache.StatusHit
			continue
		}
		rest = append(rest, f)
	}
	return rest
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

// sendPage sends the page that comp assembles from frags, and their
// X-Cache. When every fragment came from the cache, the page's bytes come
// from the memo (see pageMemo), assembled once, and a client that accepts
// gzip gets them compressed. key names the page: its route, whether it is
// the htmx fragment, and everything else comp shows that frags do not
// hold (the canonical query, say).
func (h *handler) sendPage(c *fiber.Ctx, key string, comp templ.Component, frags ...*fragment) error {
	c.Set("X-Cache", xCache(frags...))
	parts := make([][]byte, len(frags))
	for i, f := range frags {
		if f.status == cache.StatusBypass {
			// Rendered live: the next request renders again, so there is
			// nothing to reuse.
			return sendHTML(c, fiber.StatusOK, comp)
		}
		parts[i] = f.html
	}
	a, ok := h.pages.get(key, parts)
	if !ok {
		var b bytes.Buffer
		if err := comp.Render(c.UserContext(), &b); err != nil {
			return err
		}
		a = h.pages.put(key, parts, b.Bytes())
	}
	setHTMLHeaders(c)
	if acceptsGzip(c) {
		if gz := a.gzipped(); gz != nil {
			c.Set(fiber.HeaderContentEncoding, "gzip")
			return c.Send(gz) // Send hands the bytes to fasthttp without copying
		}
	}
	return c.Send(a.body)
}

// acceptsGzip reports whether Accept-Encoding lets the response be gzip
// (RFC 9110, 12.5.3): gzip listed with a weight above 0, or, when gzip is
// not listed, * with a weight above 0. Names and the q are read without
// regard to case. No header at all gets the plain bytes, as every server
// does in practice. It reads the header in place, without allocating:
// Fiber's AcceptsEncodings would, and lets * override an explicit gzip;q=0.
func acceptsGzip(c *fiber.Ctx) bool {
	gzipQ, starQ := -1.0, -1.0 // the weights given, -1 when not listed
	for rest := c.Request().Header.Peek(fiber.HeaderAcceptEncoding); len(rest) > 0; {
		var item []byte
		item, rest, _ = bytes.Cut(rest, []byte(","))
		name, params, _ := bytes.Cut(item, []byte(";"))
		name = bytes.TrimSpace(name)
		isGzip, isStar := bytes.EqualFold(name, []byte("gzip")), bytes.Equal(name, []byte("*"))
		if !isGzip && !isStar {
			continue
		}
		q := 1.0
		for len(params) > 0 {
			var param []byte
			param, params, _ = bytes.Cut(params, []byte(";"))
			k, v, _ := bytes.Cut(param, []byte("="))
			if bytes.EqualFold(bytes.TrimSpace(k), []byte("q")) {
				if f, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64); err == nil {
					q = f
				}
			}
		}
		if isGzip {
			gzipQ = q
		} else {
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// sendHTML renders comp as the response.
func sendHTML(c *fiber.Ctx, status int, comp templ.Component) error {
	setHTMLHeaders(c)
	c.Status(status)
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// setHTMLHeaders sets what every HTML response carries. It varies on
// HX-Request, because the same URL serves a fragment or a page, and on
// Accept-Encoding, because a page may be sent compressed.
func setHTMLHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderVary, "HX-Request, Accept-Encoding")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
}
