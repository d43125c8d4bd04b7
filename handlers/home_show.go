package handlers

import (
	"github.com/anigo/anigo"
	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo/views"
)

// homeShow serves the home page: the count, the popular list and the top 10.
func (h *handler) homeShow(c *fiber.Ctx) error {
	count, popular, top := h.countFragment(anigo.ListQuery{}), h.popularFragment(), h.topTenFragment()
	if err := h.fetch(c.UserContext(), popular, top, count); err != nil {
		return err
	}
	return h.sendPage(c, "home", views.HomePage(h.page("", views.NavHome, ""), count.html, popular.html, top.html),
		popular, top, count)
}
