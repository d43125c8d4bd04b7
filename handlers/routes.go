package handlers

import (
	"cmp"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/pprof"
)

// routes is the site's URL map: middleware first, then one row per route.
func (h *handler) routes(app *fiber.App, opts Options) {
	// Pages reach PostgreSQL only through fragment renders and the genre
	// list, which set their own deadlines; the routes that query it
	// directly get withTimeout. A deadline on every request cost a timer
	// each, 3.5% of a cache hit's CPU.
	app.Use(newRequestIDs().handle, h.accessLog, h.recoverPanic, securityHeaders(opts.ImageHosts))

	// Outside the cache's namespace:* pattern, so that clearing the cache
	// or counting its keys leaves the counts alone.
	prefix := "ratelimit:" + cmp.Or(opts.RateLimitPrefix, "anigo") + ":"
	limitSearch := rateLimit(prefix+"search", searchLimit, searchLimitWindow, opts.RateLimitStorage, opts.RateLimitShared)
	limitAdmin := rateLimit(prefix+"admin", adminLimit, adminLimitWindow, opts.RateLimitStorage, opts.RateLimitShared)
	metrics := fiber.Handler(func(*fiber.Ctx) error { return fiber.ErrNotFound })
	if opts.Metrics != nil {
		metrics = adaptor.HTTPHandler(opts.Metrics)
	}

	for _, r := range []struct {
		method string
		path   string
		handle []fiber.Handler
	}{
		{fiber.MethodGet, "/", []fiber.Handler{h.homeShow}},
		{fiber.MethodGet, "/anime", []fiber.Handler{h.animeList}},
		{fiber.MethodGet, "/anime/:id", []fiber.Handler{h.animeShow}},
		{fiber.MethodGet, "/top", []fiber.Handler{h.topList}},
		{fiber.MethodGet, "/search", []fiber.Handler{limitSearch, withTimeout, h.searchList}},
		{fiber.MethodGet, "/healthz", []fiber.Handler{h.healthShow}},
		{fiber.MethodGet, "/readyz", []fiber.Handler{withTimeout, h.readyShow}},
		{fiber.MethodGet, "/metrics", []fiber.Handler{metrics}},
		{fiber.MethodGet, "/static/*", []fiber.Handler{h.staticShow}},
		{fiber.MethodGet, "/admin/cache", []fiber.Handler{limitAdmin, h.adminGuard, withTimeout, h.adminCacheShow}},
		{fiber.MethodPost, "/admin/login", []fiber.Handler{limitAdmin, h.adminGuard, h.adminLogin}},
		{fiber.MethodPost, "/admin/cache/clear", []fiber.Handler{limitAdmin, h.adminGuard, withTimeout, h.adminCacheClear}},
	} {
		app.Add(r.method, r.path, r.handle...)
		if r.method == fiber.MethodGet {
			app.Add(fiber.MethodHead, r.path, r.handle...)
		}
	}
	// Profiles, for the people who hold the admin token.
	app.Use("/admin/debug/pprof", limitAdmin, h.adminGuard, pprof.New(pprof.Config{Prefix: "/admin"}))
	app.Use(func(*fiber.Ctx) error { return fiber.ErrNotFound })
}
