package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/views"
)

// topList serves the ranking by score, a page at a time, by type.
func (h *handler) topList(c *fiber.Ctx) error {
	q, err := anigo.ParseRankQuery(query(c))
	if err != nil {
		return err
	}
	ranking := h.rankingFragment(q)
	if err := h.fetch(c.UserContext(), ranking); err != nil {
		return err
	}
	if isFragmentRequest(c) {
		c.Set("HX-Push-Url", q.URL())
		return h.sendPage(c, "top htmx "+q.Key(), views.Fragment(ranking.html), ranking)
	}
	return h.sendPage(c, "top "+q.Key(), views.TopPage(h.page("Top rated", views.NavTop, ""), ranking.html), ranking)
}
