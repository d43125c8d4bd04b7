package handlers

import "github.com/gofiber/fiber/v2"

// routes is the site's URL map. Every route answers GET and HEAD.
func (h *handler) routes(app *fiber.App) {
	app.Use(withTimeout)
	for _, r := range []struct {
		path   string
		handle fiber.Handler
	}{
		{"/", h.homeShow},
		{"/anime", h.animeList},
		{"/anime/:id", h.animeShow},
		{"/top", h.topList},
		{"/search", h.searchList},
		{"/healthz", h.healthShow},
		{"/readyz", h.readyShow},
		{"/static/*", h.staticShow},
	} {
		app.Get(r.path, r.handle)
	}
	app.Use(func(*fiber.Ctx) error { return fiber.ErrNotFound })
}
