package handlers

import (
	"strconv"
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
	var genres genreSet
	if q.Genre != "" || !isFragmentRequest(c) {
		var name string
		genres, name, err = h.genresFor(ctx, q.Genre)
		switch {
		case err == nil:
			q.Genre = name
		case q.Genre != "":
			return err // unknown, or no list to check it against
		default:
			// The form can do without its genre list; the page still works.
			h.log.WarnContext(ctx, "catalog: genres for the filter form", "err", err)
		}
	}

	catalog, count := h.catalogFragment(q), h.countFragment(q)
	if err := h.fetch(ctx, catalog, count); err != nil {
		return err
	}
	if isFragmentRequest(c) {
		c.Set("HX-Push-Url", q.URL())
		return h.sendPage(c, "catalog htmx "+catalog.params, views.CatalogBody(count.html, catalog.html), catalog, count)
	}
	page := h.page(catalogTitle(q), views.NavCatalog, "")
	return h.sendPage(c, catalogPageKey(genres, catalog.params), views.CatalogPage(page, q, genres.options, count.html, catalog.html), catalog, count)
}

// catalogPageKey is the memo key of a full catalog page (see pageMemo):
// its filter form shows the genre list, so the list's reading is part of it.
func catalogPageKey(genres genreSet, params string) string {
	return "catalog genres=" + strconv.FormatUint(genres.gen, 10) + " " + params
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
