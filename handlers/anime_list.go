package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/views"
)

// animeList serves the catalog: a page of titles for the filters, and the
// count for the same filters. htmx gets both fragments alone, and the
// canonical URL to push.
func (h *handler) animeList(c *fiber.Ctx) error {
	q, err := anigo.ParseListQuery(query(c))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var genres []anigo.Genre
	if q.Genre != "" || !isFragmentRequest(c) {
		if genres, err = h.store.Genres(ctx); err != nil {
			if q.Genre != "" {
				return err
			}
			// The form can do without its genre list; the page still works.
			h.log.WarnContext(ctx, "catalog: genres for the filter form", "err", err)
		}
	}
	if q.Genre, err = canonicalGenre(genres, q.Genre); err != nil {
		return err
	}

	catalog, count := h.catalogFragment(q), h.countFragment(q)
	if err := h.fetch(ctx, catalog, count); err != nil {
		return err
	}
	c.Set("X-Cache", xCache(catalog, count))
	if isFragmentRequest(c) {
		c.Set("HX-Push-Url", q.URL())
		return sendHTML(c, fiber.StatusOK, views.CatalogBody(count.html, catalog.html))
	}
	page := h.page(catalogTitle(q), views.NavCatalog, "")
	return sendHTML(c, fiber.StatusOK, views.CatalogPage(page, q, genres, count.html, catalog.html))
}

// canonicalGenre returns the catalog's spelling of genre, found without
// regard to case, so that "action" and "Action" share a cache key; an
// unknown genre is an EINVALID error.
func canonicalGenre(genres []anigo.Genre, genre string) (string, error) {
	if genre == "" {
		return "", nil
	}
	for _, g := range genres {
		if strings.EqualFold(g.Name, genre) {
			return g.Name, nil
		}
	}
	return "", anigo.Errorf(anigo.EINVALID, "Unknown genre %q: pick one from the list.", genre)
}

func catalogTitle(q anigo.ListQuery) string {
	parts := []string{"Catalog"}
	for _, s := range []string{q.Type, q.Genre} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if q.Page > 1 {
		parts = append(parts, "page "+views.Number(q.Page))
	}
	return strings.Join(parts, " · ")
}
