package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/views"
)

var errNoSuchAnime = anigo.Errorf(anigo.ENOTFOUND, "There is no such title in the catalog.")

// pageError is a page past the end of a listing: a 404 whose page links to
// the last page.
type pageError struct {
	err     *anigo.Error
	lastURL string
}

func pastEnd(lastURL string, last int) error {
	return &pageError{
		err:     anigo.Errorf(anigo.ENOTFOUND, "This listing ends at page %s.", views.Number(last)),
		lastURL: lastURL,
	}
}

func (e *pageError) Error() string { return e.err.Error() }
func (e *pageError) Unwrap() error { return e.err }

// handleError is the app's one error handler. It maps domain errors to
// statuses, logs what is not the client's fault once, and renders a
// friendly page, or a message the size of a fragment for htmx. Only
// user-safe messages reach the client.
func (h *handler) handleError(c *fiber.Ctx, err error) error {
	// The error page must render even when the request's time is up.
	ctx := context.WithoutCancel(c.UserContext())
	c.SetUserContext(ctx)
	status, message := classify(err)
	if status >= 500 {
		h.log.ErrorContext(ctx, "request failed",
			"method", c.Method(), "path", c.Path(), "status", status, "err", err)
	}
	if status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, retryAfter)
	}
	var pe *pageError
	lastURL := ""
	if errors.As(err, &pe) {
		lastURL = pe.lastURL
	}

	c.Response().ResetBody() // a render may have failed half-way
	p := h.page(views.ErrorHeading(status), "", "")
	p.RequestID = requestIDOf(c)
	var page = views.ErrorPage(p, status, message, lastURL)
	if isFragmentRequest(c) {
		page = views.ErrorMessage(status, message, lastURL)
	}
	if rerr := sendHTML(c, status, page); rerr != nil {
		h.log.ErrorContext(ctx, "render error page", "path", c.Path(), "err", rerr)
		c.Response().ResetBody()
		c.Type("txt", "utf-8")
		return c.Status(status).SendString(http.StatusText(status))
	}
	return nil
}

// classify returns the status and user-safe message of err.
func classify(err error) (int, string) {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		// Fiber's own errors: no route, wrong method, body too large...
		if fe.Code == fiber.StatusNotFound {
			return fe.Code, "There is nothing at this address. It may have moved, or the link may be wrong."
		}
		return fe.Code, http.StatusText(fe.Code) + "."
	}
	switch anigo.ErrorCode(err) {
	case anigo.EINVALID:
		return fiber.StatusBadRequest, anigo.ErrorMessage(err)
	case anigo.ENOTFOUND:
		return fiber.StatusNotFound, anigo.ErrorMessage(err)
	case anigo.EUNAVAILABLE:
		return fiber.StatusServiceUnavailable, anigo.ErrorMessage(err)
	default:
		return fiber.StatusInternalServerError, anigo.ErrorMessage(err)
	}
}

// oneLine keeps a title on one line of the anime fragment's header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
