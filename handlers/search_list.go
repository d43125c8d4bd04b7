package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/views"
)

// Results per search: a few under the header's box, more on the page.
const (
	liveResults = 8
	pageResults = 50
)

// searchList serves /search?q=: the results page, or for htmx the live
// results under the header's box. Searches are not cached: the text is
// free-form, so keys would be unbounded.
func (h *handler) searchList(c *fiber.Ctx) error {
	q := anigo.NormalizeText(c.Query("q"))
	live := isFragmentRequest(c)
	var list []anigo.Anime
	if q != "" {
		limit := pageResults
		if live {
			limit = liveResults
		}
		var err error
		if list, err = h.store.Search(c.UserContext(), q, limit); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if live {
		if q == "" {
			return sendHTML(c, fiber.StatusOK, views.Fragment(nil)) // an emptied box closes the list
		}
		return sendHTML(c, fiber.StatusOK, views.SearchResults(q, list, true))
	}
	title := "Search"
	if q != "" {
		title = "Search: " + q
	}
	return sendHTML(c, fiber.StatusOK, views.SearchPage(h.page(title, views.NavSearch, q), q, list))
}
