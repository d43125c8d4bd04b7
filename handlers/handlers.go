// Package handlers serves AniGo's pages over Fiber: routes, one handler per
// resource and action, the fragment plumbing and the one error handler.
package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/cache"
	"github.com/anigo/anigo/views"
)

// Server limits. Every page is a GET, so no request needs a body, but a
// 10 kB search text must still fit in the read buffer (it is cut later).
const (
	readTimeout    = 10 * time.Second
	writeTimeout   = 15 * time.Second
	idleTimeout    = 60 * time.Second
	requestTimeout = 10 * time.Second // for the store and cache work of one request
	bodyLimit      = 16 << 10
	readBufferSize = 32 << 10
	retryAfter     = "30" // seconds, sent with 503
)

// Options are the handlers' dependencies.
type Options struct {
	Store     Store     // required
	Fragments Fragments // nil renders every fragment live
	Logger    *slog.Logger
	ShowAdult bool // serve detail pages of adult titles
	// CacheState reports the fragment cache's state for /readyz ("up",
	// "down", "disabled"...); nil reports "none".
	CacheState func(ctx context.Context) string

	// Admin and AdminToken enable /admin/cache; either empty turns it off.
	Admin      AdminCache
	AdminToken string
	// Metrics serves /metrics (Prometheus text format); nil leaves it out.
	Metrics http.Handler
	// RateLimitStorage keeps rate-limit counts shared between instances
	// while RateLimitShared reports true (Redis answers); otherwise, or
	// when nil, each process counts in memory.
	RateLimitStorage fiber.Storage
	RateLimitShared  func() bool
	// RateLimitPrefix names the site in the keys of rate-limit counts
	// ("ratelimit:<prefix>:search:<IP>"), so that sites sharing one Redis
	// keep their own ("anigo" when empty; serve passes ANIGO_CACHE_NAMESPACE).
	RateLimitPrefix string
	// ImageHosts may serve poster images (Content-Security-Policy img-src).
	ImageHosts []string
	// TrustedProxies (IPs or CIDRs) may name the client in X-Forwarded-For,
	// which rate limits and logs then use; from anyone else it is ignored.
	TrustedProxies []string
}

type handler struct {
	store      Store
	frags      Fragments
	log        *slog.Logger
	showAdult  bool
	cacheState func(ctx context.Context) string
	static     *staticFiles
	admin      AdminCache
	adminToken string
	genres     genreList
	pages      *pageMemo
}

// New returns the Fiber app serving AniGo. It panics when opts.Store is nil
// or the embedded static files cannot be read: both are programming errors
// that must stop the program at start.
func New(opts Options) *fiber.App {
	if opts.Store == nil {
		panic("handlers: New: Options.Store is nil")
	}
	h := &handler{
		store:      opts.Store,
		frags:      opts.Fragments,
		log:        opts.Logger,
		showAdult:  opts.ShowAdult,
		cacheState: opts.CacheState,
		admin:      opts.Admin,
		adminToken: opts.AdminToken,
		pages:      newPageMemo(),
	}
	if h.frags == nil {
		h.frags = liveFragments{}
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	static, err := newStaticFiles(anigo.StaticFS)
	if err != nil {
		panic("handlers: New: " + err.Error())
	}
	h.static = static

	app := fiber.New(fiber.Config{
		AppName:                 "AniGo",
		ReadTimeout:             readTimeout,
		WriteTimeout:            writeTimeout,
		IdleTimeout:             idleTimeout,
		BodyLimit:               bodyLimit,
		ReadBufferSize:          readBufferSize,
		ErrorHandler:            h.handleError,
		DisableStartupMessage:   true,
		ProxyHeader:             proxyHeader(opts.TrustedProxies),
		EnableTrustedProxyCheck: true,
		TrustedProxies:          opts.TrustedProxies,
		EnableIPValidation:      true,
		// Fragment renders may outlive the request (a cache refreshes stale
		// entries in the background), so values read from the request must
		// not point into fasthttp's reused buffers.
		Immutable: true,
	})
	h.routes(app, opts)
	return app
}

// proxyHeader is where the client's address is read: X-Forwarded-For when
// proxies are trusted, else the connection's own address.
func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// page is the layout's data for a page of this request.
func (h *handler) page(title, nav, q string) views.Page {
	return views.Page{Title: title, Nav: nav, Q: q, Assets: h.static.assets}
}

// withTimeout bounds the work of a request that queries the store itself.
func withTimeout(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), requestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// liveFragments renders every fragment, for running without a cache.
type liveFragments struct{}

func (liveFragments) Get(ctx context.Context, _, _ string, render func(context.Context) ([]byte, error)) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout) // page routes have no deadline of their own
	defer cancel()
	b, err := render(ctx)
	return b, cache.StatusBypass, err
}

func (liveFragments) Peek(context.Context, string, string) ([]byte, bool) { return nil, false }

func (liveFragments) Prefetch(context.Context, ...cache.Fragment) {}

// query reads c's query parameters, in the shape anigo's parsers take.
func query(c *fiber.Ctx) func(string) string {
	return func(key string) string { return c.Query(key) }
}
