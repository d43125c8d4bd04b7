package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/cache"
	"github.com/anigo/anigo/views"
)

// AdminCache is what the admin page needs from the fragment cache;
// *cache.Cache implements it.
type AdminCache interface {
	// Stats never fails: Redis errors are reported inside the snapshot.
	Stats(ctx context.Context) cache.Stats
	// Clear removes one fragment's keys ("" for all) and says how many.
	Clear(ctx context.Context, fragment string) (int, error)
	Fragments() []string
}

const adminCookie = "anigo_admin"

// adminSession is the cookie value that proves the token was given: an
// HMAC of a fixed label under the token, so the token itself is never
// stored in the browser.
func adminSession(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("anigo admin session"))
	return hex.EncodeToString(m.Sum(nil))
}

// sameSecret compares in constant time; hashing first hides the length.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// adminAuthorized reports whether c carries the admin token, as a session
// cookie from the login form or as "Authorization: Bearer <token>".
func (h *handler) adminAuthorized(c *fiber.Ctx) bool {
	if bearer, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok {
		return sameSecret(bearer, h.adminToken)
	}
	return sameSecret(c.Cookies(adminCookie), adminSession(h.adminToken))
}

// adminGuard hides the admin pages when no token is set and asks for it
// when the request lacks it.
func (h *handler) adminGuard(c *fiber.Ctx) error {
	if h.adminToken == "" || h.admin == nil {
		return fiber.ErrNotFound
	}
	if c.Path() == "/admin/login" || h.adminAuthorized(c) {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Next()
	}
	return h.adminLoginPage(c, fiber.StatusUnauthorized, false)
}

func (h *handler) adminLoginPage(c *fiber.Ctx, status int, failed bool) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendHTML(c, status, views.AdminLogin(h.page("Cache admin", "", ""), failed))
}

// adminLogin checks the token from the login form and sets the session cookie.
func (h *handler) adminLogin(c *fiber.Ctx) error {
	if !sameSecret(c.FormValue("token"), h.adminToken) {
		h.log.WarnContext(c.UserContext(), "admin: wrong token", "ip", c.IP(), "id", requestIDOf(c))
		return h.adminLoginPage(c, fiber.StatusUnauthorized, true)
	}
	c.Cookie(&fiber.Cookie{
		Name:     adminCookie,
		Value:    adminSession(h.adminToken),
		Path:     "/admin",
		HTTPOnly: true,
		Secure:   c.Protocol() == "https",
		SameSite: fiber.CookieSameSiteStrictMode,
		Expires:  time.Now().Add(12 * time.Hour),
	})
	return c.Redirect("/admin/cache", fiber.StatusSeeOther)
}

// adminCacheShow shows the cache's stats; htmx refreshes get the stats alone.
func (h *handler) adminCacheShow(c *fiber.Ctx) error {
	return h.sendAdmin(c, "")
}

// adminCacheClear removes one fragment's keys, or every fragment's.
func (h *handler) adminCacheClear(c *fiber.Ctx) error {
	if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return anigo.Errorf(anigo.EINVALID, "Cache clearing is only accepted from the admin page itself.")
	}
	fragment := c.FormValue("fragment")
	if fragment != "" && !slices.Contains(h.admin.Fragments(), fragment) {
		return anigo.Errorf(anigo.EINVALID, "Unknown fragment %q: use one of %s.", fragment, strings.Join(h.admin.Fragments(), ", "))
	}
	n, err := h.admin.Clear(c.UserContext(), fragment)
	if err != nil {
		return fmt.Errorf("handlers: admin clear %q: %w: %w", fragment,
			anigo.Errorf(anigo.EUNAVAILABLE, "Clearing stopped after %s keys: Redis did not answer. Try again once it is back.", views.Number(n)), err)
	}
	what := "every fragment"
	if fragment != "" {
		what = "the " + fragment + " fragment"
	}
	h.log.InfoContext(c.UserContext(), "admin: cache cleared", "fragment", fragment, "keys", n, "id", requestIDOf(c))
	if !isFragmentRequest(c) {
		return c.Redirect("/admin/cache", fiber.StatusSeeOther)
	}
	return h.sendAdmin(c, "Removed "+views.Number(n)+" keys of "+what+".")
}

func (h *handler) sendAdmin(c *fiber.Ctx, notice string) error {
	a := adminView(h.admin.Stats(c.UserContext()))
	a.Notice = notice
	if isFragmentRequest(c) {
		return sendHTML(c, fiber.StatusOK, views.AdminStats(a))
	}
	return sendHTML(c, fiber.StatusOK, views.AdminPage(h.page("Cache admin", "", ""), a))
}

func adminView(s cache.Stats) views.Admin {
	a := views.Admin{
		Redis: s.Redis, Breaker: s.Breaker, Namespace: s.Namespace, Version: s.Version,
		UsedMemory: s.UsedMemory, MaxMemory: s.MaxMemory, Truncated: s.Truncated, RedisErr: s.RedisErr,
	}
	for _, f := range s.Fragments {
		a.Fragments = append(a.Fragments, views.AdminFragment{
			Name: f.Name, TTL: f.TTL, Hits: f.Hits, Stale: f.Stale, Misses: f.Misses, Bypass: f.Bypass,
			Errors: f.Errors, HitRatio: f.HitRatio(), MeanRender: f.MeanRender().Round(time.Microsecond),
			Keys: f.Keys, Bytes: f.Bytes,
		})
	}
	for _, e := range s.Errors {
		a.Errors = append(a.Errors, views.AdminError{Time: e.Time, Err: e.Err})
	}
	return a
}
