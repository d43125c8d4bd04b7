package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
)

// Rate limits, per client IP. Live search fires at most every 300 ms while
// someone types, so 40 in 10 s leaves room for a fast typist and stops a
// script; the admin page refreshes itself every 5 s.
const (
	searchLimit       = 40
	searchLimitWindow = 10 * time.Second
	adminLimit        = 60
	adminLimitWindow  = time.Minute
)

const localRequestID = "requestid"

// requestIDPattern is what an X-Request-ID from a proxy must look like to
// be kept; anything else is replaced, so it cannot forge log lines.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDs gives every request an ID, echoed in X-Request-ID, logged
// with it and shown on error pages so that a user's report can be found.
// An ID is a random prefix drawn once per process and a counter: unique
// without a system call per request, which crypto/rand would cost.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's contract)
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (r *requestIDs) handle(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if id == "" || !requestIDPattern.MatchString(id) {
		id = r.prefix + strconv.FormatUint(r.n.Add(1), 36)
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

// requestIDOf returns the request's ID, "" before requestID ran.
func requestIDOf(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// accessLog logs one line per request, after the error handler has set
// the final status.
func (h *handler) accessLog(c *fiber.Ctx) error {
	ctx := c.UserContext()
	logging := h.log.Enabled(ctx, slog.LevelInfo)
	var start time.Time
	if logging {
		start = time.Now()
	}
	if err := c.Next(); err != nil {
		if herr := h.handleError(c, err); herr != nil {
			return herr
		}
	}
	if !logging {
		return nil // LOG_LEVEL=warn: not even the clock is read
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", c.Response().StatusCode()),
		slog.Duration("duration", time.Since(start).Round(time.Microsecond)),
		slog.String("cache", string(c.Response().Header.Peek("X-Cache"))),
		slog.String("id", requestIDOf(c)))
	return nil
}

// recoverPanic turns a panic into a 500 with the friendly page; the stack
// goes to the log, never to the client.
func (h *handler) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			h.log.ErrorContext(c.UserContext(), "panic", "path", c.Path(), "id", requestIDOf(c),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("handlers: panic serving %s: %v", c.Path(), r)
		}
	}()
	return c.Next()
}

// securityHeaders sets the Content-Security-Policy and its companions. Only
// the site's own scripts and styles run; images may also come from the
// configured hosts (anime-offline-database links posters on other sites).
//
// This used to be Fiber's helmet middleware. On a cache hit it cost 5.5% of
// the process's CPU, more than the page itself: it sets thirteen headers,
// each through fasthttp's normalising Set, and six of them are for browsers
// long gone (IE8's X-Download-Options, Flash's cross-domain policies) or
// restate a default (X-XSS-Protection: 0, COEP unsafe-none). These are the
// seven that modern browsers act on, with their names already in canonical
// form so that fasthttp copies them as they are.
func securityHeaders(imageHosts []string) fiber.Handler {
	img := strings.Join(append([]string{"'self'", "data:"}, imageHosts...), " ")
	headers := [][2][]byte{
		{[]byte("Content-Security-Policy"), []byte("default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img +
			"; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")},
		{[]byte("X-Content-Type-Options"), []byte("nosniff")},
		{[]byte("X-Frame-Options"), []byte("DENY")}, // frame-ancestors, for browsers without CSP 2
		{[]byte("Referrer-Policy"), []byte("strict-origin-when-cross-origin")},
		{[]byte("Permissions-Policy"), []byte("camera=(), microphone=(), geolocation=(), payment=()")},
		{[]byte("Cross-Origin-Opener-Policy"), []byte("same-origin")},
		{[]byte("Cross-Origin-Resource-Policy"), []byte("same-origin")},
	}
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		for _, kv := range headers {
			h.SetCanonical(kv[0], kv[1])
		}
		return c.Next()
	}
}

// rateLimit allows max requests per window and client IP. While shared is
// true (Redis answers) the counts live in storage, so every instance
// enforces one limit; otherwise each process counts in memory, which still
// protects it. A nil storage always counts in memory.
func rateLimit(name string, max int, window time.Duration, storage fiber.Storage, shared func() bool) fiber.Handler {
	cfg := limiter.Config{
		Max:          max,
		Expiration:   window,
		KeyGenerator: func(c *fiber.Ctx) string { return name + ":" + c.IP() },
		LimitReached: func(*fiber.Ctx) error {
			return fiber.NewError(fiber.StatusTooManyRequests, "Too many requests: wait a few seconds and try again.")
		},
	}
	cfg.Storage = newMemStorage()
	local := limiter.New(cfg)
	if storage == nil || shared == nil {
		return local
	}
	cfg.Storage = storage
	distributed := limiter.New(cfg)
	return func(c *fiber.Ctx) error {
		if shared() {
			return distributed(c)
		}
		return local(c)
	}
}
