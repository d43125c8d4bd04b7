package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/gofiber/fiber/v2"
	fibercache "github.com/gofiber/fiber/v2/middleware/cache"
	redisstorage "github.com/gofiber/storage/redis/v3"

	"github.com/anigo/anigo/cache"
	"github.com/anigo/anigo/config"
	"github.com/anigo/anigo/handlers"
	"github.com/anigo/anigo/postgres"
)

// page is one response the bench compares across servers.
type page struct {
	Path string `json:"path"`
	HX   bool   `json:"hx"` // sent with HX-Request: true (the fragment alone)
	// Gzip sends the Accept-Encoding of a browser. AniGo answers a cache
	// hit with its gzip copy, the upper bound with the bytes AniGo sent;
	// the peer and live rendering send the page plain.
	Gzip bool `json:"gzip,omitempty"`
}

func (p page) String() string {
	s := p.Path
	if p.HX {
		s += " (htmx)"
	}
	if p.Gzip {
		s += " (gzip)"
	}
	return s
}

// browserAcceptEncoding is what Chromium sends.
const browserAcceptEncoding = "gzip, deflate, br, zstd"

// header is the request header that asks for p.
func (p page) header() http.Header {
	h := http.Header{}
	if p.HX {
		h.Set("HX-Request", "true")
	}
	if p.Gzip {
		h.Set("Accept-Encoding", browserAcceptEncoding)
	}
	return h
}

// response is one page as AniGo answered it, which the upper bound
// answers from memory: the same bytes with the same encoding.
type response struct {
	Body     []byte `json:"body"`
	Encoding string `json:"encoding,omitempty"`
}

// bodyKey identifies a page in the upper bound's table.
func bodyKey(path string, hx, gzip bool) string { return fmt.Sprintf("%t %t %s", hx, gzip, path) }

// isHX is what the cache key of the peer and the upper bound's table add
// for htmx requests: a fragment and a page must never share a body.
func isHX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// serveUpper is the upper bound: a Fiber handler that answers each page
// with bytes held in memory, read from a JSON file of bodyKey → response.
func serveUpper(ctx context.Context, file string, getenv func(string) string, stdout io.Writer) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("upper: %w", err)
	}
	var bodies map[string]response
	if err := json.Unmarshal(raw, &bodies); err != nil {
		return fmt.Errorf("upper: %s: %w", file, err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/*", func(c *fiber.Ctx) error {
		gzip := c.Get(fiber.HeaderAcceptEncoding) == browserAcceptEncoding
		r, ok := bodies[bodyKey(c.OriginalURL(), isHX(c), gzip)]
		if !ok {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderVary, "HX-Request, Accept-Encoding")
		if r.Encoding != "" {
			c.Set(fiber.HeaderContentEncoding, r.Encoding)
		}
		c.Set("X-Cache", "HIT")
		return c.Send(r.Body)
	})
	return listen(ctx, app, stdout)
}

// servePeer is what a Go user would build first: AniGo's own handlers
// rendering live, behind Fiber's cache middleware over the same
// storage/redis storage (and AniGo's tuned go-redis client), with a key
// that includes the query string and the htmx header.
func servePeer(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{ShowAdult: cfg.ShowAdult})
	if err != nil {
		return err
	}
	defer store.Close()
	client, err := cache.NewRedisClient(cache.RedisOptions{URL: cfg.Redis.URL, Addr: cfg.Redis.Addr, DB: cfg.Redis.DB, Password: cfg.Redis.Password})
	if err != nil {
		return err
	}
	storage := redisstorage.NewFromConnection(client)
	defer storage.Close()

	prefix := getenv("BENCH_PEER_PREFIX")
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(fibercache.New(fibercache.Config{
		Storage:    storage,
		Expiration: cfg.TTLs[config.FragmentCatalog],
		KeyGenerator: func(c *fiber.Ctx) string {
			return prefix + bodyKey(c.OriginalURL(), isHX(c), false) // it sends every page plain
		},
	}))
	app.Mount("/", handlers.New(handlers.Options{Store: store}))
	return listen(ctx, app, stdout)
}

// listen serves app on a free port, says where, and shuts it down when
// ctx ends.
func listen(ctx context.Context, app *fiber.App, stdout io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench: listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return app.Shutdown()
	}
}
