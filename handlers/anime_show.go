package handlers

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo/views"
)

// animeShow serves a title's detail page at /anime/<id>[-<slug>],
// redirecting any other spelling to the canonical path.
func (h *handler) animeShow(c *fiber.Ctx) error {
	param := c.Params("id")
	digits, _, _ := strings.Cut(param, "-")
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id < 1 {
		return errNoSuchAnime
	}
	anime := h.animeFragment(id)
	if err := h.fetch(c.UserContext(), anime); err != nil {
		return err
	}
	path, title, html := splitAnime(anime.html)
	if path != "" && "/anime/"+param != path {
		return c.Redirect(path, fiber.StatusMovedPermanently)
	}
	if isFragmentRequest(c) {
		return h.sendPage(c, "anime htmx "+anime.params, views.Fragment(html), anime)
	}
	return h.sendPage(c, "anime "+anime.params, views.AnimePage(h.page(title, "", ""), html), anime)
}

// splitAnime takes the header line off an anime fragment (see animeFragment).
func splitAnime(b []byte) (path, title string, html []byte) {
	head, html, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return "", "", b
	}
	path, title, _ = strings.Cut(string(head), " ")
	return path, title, html
}
