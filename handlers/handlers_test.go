package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/cache"
)

type testApp struct {
	app   *fiber.App
	store *fakeStore
	frags *recordingFragments
	logs  *bytes.Buffer
}

// newTestApp serves a catalog of n titles (see fixture).
func newTestApp(t *testing.T, n int) *testApp {
	t.Helper()
	ta := &testApp{
		store: &fakeStore{anime: fixture(n), hasMembers: true},
		frags: &recordingFragments{},
		logs:  &bytes.Buffer{},
	}
	ta.app = New(Options{
		Store:     ta.store,
		Fragments: ta.frags,
		Logger:    slog.New(slog.NewTextHandler(ta.logs, nil)),
	})
	return ta
}

type response struct {
	*http.Response
	body string
}

// get requests target; htmx makes it a fragment request.
func (ta *testApp) get(t *testing.T, target string, htmx bool) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", target, err)
	}
	return response{resp, string(b)}
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

func attr(t *testing.T, d *goquery.Document, selector, name string) string {
	t.Helper()
	v, ok := d.Find(selector).First().Attr(name)
	if !ok {
		t.Fatalf("no %s with attribute %s", selector, name)
	}
	return v
}

func TestPages(t *testing.T) {
	ta := newTestApp(t, 60)
	tests := []struct {
		target   string
		htmx     bool
		status   int
		fragment bool   // no <html>: the fragment alone
		xCache   string // "" for responses without fragments
		testid   string // an element the response must hold
	}{
		{"/", false, 200, false, "popular=MISS, ranking=MISS, count=MISS", "card"},
		{"/anime", false, 200, false, "catalog=MISS, count=MISS", "catalog-fragment"},
		{"/anime", true, 200, true, "catalog=MISS, count=MISS", "card"},
		{"/anime?page=2&sort=score&min_score=5", false, 200, false, "catalog=MISS, count=MISS", "prev-page-link"},
		{"/anime?genre=action", true, 200, true, "catalog=MISS, count=MISS", "card"},
		{"/top", false, 200, false, "MISS", "ranking-fragment"},
		{"/top?page=2", true, 200, true, "MISS", "ranking"},
		{"/anime/1-cowboy-bebop", false, 200, false, "MISS", "anime"},
		{"/anime/1-cowboy-bebop", true, 200, true, "MISS", "anime"},
		{"/search?q=bebop", false, 200, false, "", "search-results"},
		{"/search?q=bebop", true, 200, true, "", "search-results"},
		{"/search", false, 200, false, "", "search-input"},
	}
	for _, tt := range tests {
		name := tt.target
		if tt.htmx {
			name += " htmx"
		}
		t.Run(name, func(t *testing.T) {
			r := ta.get(t, tt.target, tt.htmx)
			if r.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body:\n%s", r.StatusCode, tt.status, r.body)
			}
			if got := r.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html; charset=utf-8", got)
			}
			if got := r.Header.Get("Vary"); got != "HX-Request, Accept-Encoding" {
				t.Errorf("Vary = %q, want HX-Request, Accept-Encoding", got)
			}
			if got := r.Header.Get("X-Cache"); got != tt.xCache {
				t.Errorf("X-Cache = %q, want %q", got, tt.xCache)
			}
			if got := !strings.Contains(r.body, "<html"); got != tt.fragment {
				t.Errorf("fragment alone = %v, want %v", got, tt.fragment)
			}
			if r.doc(t).Find(`[data-testid="`+tt.testid+`"]`).Length() == 0 {
				t.Errorf("no data-testid=%q in the response", tt.testid)
			}
		})
	}
}

func TestCatalogPagination(t *testing.T) {
	ta := newTestApp(t, 60) // 60 titles: pages of 24, 24 and 12
	tests := []struct {
		target           string
		cards            int
		current          string
		prev, next, last string // "" when the link is absent
	}{
		{"/anime", 24, "1", "", "/anime?page=2", "/anime?page=3"},
		{"/anime?page=2", 24, "2", "/anime", "/anime?page=3", "/anime?page=3"},
		{"/anime?page=3&utm_source=x", 12, "3", "/anime?page=2", "", ""},
		{"/anime?type=TV&sort=title", 13, "", "", "", ""}, // one page: no pagination
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			d := ta.get(t, tt.target, false).doc(t)
			if got := d.Find(`[data-testid="catalog-fragment"] [data-testid="card"]`).Length(); got != tt.cards {
				t.Errorf("cards = %d, want %d", got, tt.cards)
			}
			if got := d.Find(`.pagination [aria-current="page"]`).Text(); got != tt.current {
				t.Errorf("current page = %q, want %q", got, tt.current)
			}
			for _, link := range []struct{ testid, want string }{
				{"prev-page-link", tt.prev}, {"next-page-link", tt.next}, {"last-page-link", tt.last},
			} {
				a := d.Find(`a[data-testid="` + link.testid + `"]`)
				href, _ := a.Attr("href")
				if href != link.want {
					t.Errorf("%s href = %q, want %q", link.testid, href, link.want)
				}
				if link.want == "" {
					continue
				}
				// htmx swaps #catalog and pushes the full page's URL.
				for name, want := range map[string]string{"hx-get": link.want, "hx-push-url": link.want, "hx-target": "#catalog"} {
					if got, _ := a.Attr(name); got != want {
						t.Errorf("%s %s = %q, want %q", link.testid, name, got, want)
					}
				}
			}
		})
	}
}

func TestBoostedRequestGetsPage(t *testing.T) {
	ta := newTestApp(t, 30)
	req := httptest.NewRequest(http.MethodGet, "/anime?page=2", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Boosted", "true")
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<html") {
		t.Errorf("status %d, full page %v; want 200 and a full page", resp.StatusCode, strings.Contains(string(b), "<html"))
	}
}

func TestCatalogPushesCanonicalURL(t *testing.T) {
	ta := newTestApp(t, 60)
	r := ta.get(t, "/anime?type=tv&genre=&min_score=&q=&sort=popularity&junk=1", true)
	if got, want := r.Header.Get("HX-Push-Url"), "/anime?type=TV"; got != want {
		t.Errorf("HX-Push-Url = %q, want %q", got, want)
	}
}

func TestBadInput(t *testing.T) {
	ta := newTestApp(t, 60)
	tests := []struct {
		target string
		status int
		text   string // in the friendly page
	}{
		{"/anime?page=0", 400, "page must be a whole number"},
		{"/anime?page=-1", 400, "page must be a whole number"},
		{"/anime?page=abc", 400, "page must be a whole number"},
		{"/anime?page=99999999999999999999", 400, "page must be a whole number"},
		{"/anime?page=4", 404, "This listing ends at page 3."},
		{"/anime?sort=shuffle", 400, "Unknown sort"},
		{"/anime?type=Manga", 400, "Unknown type"},
		{"/anime?genre=Cooking", 400, "Unknown genre"},
		{"/anime?min_score=11", 400, "min_score must be"},
		{"/top?page=0", 400, "page must be a whole number"},
		{"/top?page=99", 404, "This listing ends at page 3."},
		{"/top?type=Manga", 400, "Unknown type"},
		{"/anime/abc", 404, "no such title"},
		{"/anime/0", 404, "no such title"},
		{"/anime/999", 404, "No title 999."},
		{"/anime/99999999999999999999", 404, "no such title"},
		{"/nope", 404, "There is nothing at this address"},
		{"/static/css/site.css", 404, "There is nothing at this address"},
		{"/search?q=" + strings.Repeat("a", 10_000), 200, "0 results for"},
		{"/anime?q=" + strings.Repeat("a", 10_000), 200, "No titles match"},
	}
	for _, tt := range tests {
		t.Run(tt.target[:min(len(tt.target), 60)], func(t *testing.T) {
			r := ta.get(t, tt.target, false)
			if r.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", r.StatusCode, tt.status)
			}
			if !strings.Contains(r.body, "<html") || !strings.Contains(r.body, `class="site-header"`) {
				t.Errorf("not a page in the site's layout:\n%s", r.body)
			}
			if !strings.Contains(r.body, tt.text) {
				t.Errorf("body does not say %q", tt.text)
			}
		})
	}
}

func TestPastEndLinksToLastPage(t *testing.T) {
	ta := newTestApp(t, 60)
	for _, htmx := range []bool{false, true} {
		r := ta.get(t, "/anime?page=9&sort=title", htmx)
		if r.StatusCode != 404 {
			t.Errorf("htmx=%v: status = %d, want 404", htmx, r.StatusCode)
		}
		if got, want := attr(t, r.doc(t), `[data-testid="last-page-link"]`, "href"), "/anime?page=3&sort=title"; got != want {
			t.Errorf("htmx=%v: last page link = %q, want %q", htmx, got, want)
		}
		if got := strings.Contains(r.body, "<html"); got == htmx {
			t.Errorf("htmx=%v: full page = %v", htmx, got)
		}
	}
}

func TestSlugRedirect(t *testing.T) {
	ta := newTestApp(t, 10)
	tests := []struct {
		target   string
		status   int
		location string
	}{
		{"/anime/1", 301, "/anime/1-cowboy-bebop"},
		{"/anime/1-cowboy", 301, "/anime/1-cowboy-bebop"},
		{"/anime/1-cowboy-bebop", 200, ""},
		{"/anime/2", 301, "/anime/2-script-alert-1-script"},
	}
	for _, tt := range tests {
		r := ta.get(t, tt.target, false)
		if r.StatusCode != tt.status || r.Header.Get("Location") != tt.location {
			t.Errorf("%s: status %d, Location %q; want %d, %q",
				tt.target, r.StatusCode, r.Header.Get("Location"), tt.status, tt.location)
		}
		if got := r.doc(t).Find("title").Text(); tt.status == 200 && got != "Cowboy Bebop · AniGo" {
			t.Errorf("%s: <title> = %q, want the title's name", tt.target, got)
		}
	}
}

func TestEscaping(t *testing.T) {
	ta := newTestApp(t, 10)
	const evil = "<script>alert(1)</script>"
	for _, target := range []string{
		"/anime?sort=score",
		"/anime/2-script-alert-1-script",
		"/search?q=" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
		"/anime?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
	} {
		r := ta.get(t, target, false)
		if r.StatusCode != 200 {
			t.Errorf("%s: status = %d, want 200", target, r.StatusCode)
		}
		if strings.Contains(r.body, evil) {
			t.Errorf("%s: the markup reached the page unescaped", target)
		}
		if !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped text is missing", target)
		}
	}
}

func TestEmptyCatalog(t *testing.T) {
	ta := newTestApp(t, 0)
	ta.store.anime = nil
	for _, target := range []string{"/", "/anime"} {
		r := ta.get(t, target, false)
		if r.StatusCode != 200 {
			t.Errorf("%s: status = %d, want 200", target, r.StatusCode)
		}
		d := r.doc(t)
		if got := d.Find(`[data-testid="empty-catalog"]`).Text(); !strings.Contains(got, "anigo import FILE|URL") || !strings.Contains(got, "make run") {
			t.Errorf("%s: empty-catalog text = %q, want how to import", target, got)
		}
	}
}

func TestPopularityWording(t *testing.T) {
	ta := newTestApp(t, 10)
	ta.store.hasMembers = false
	for _, target := range []string{"/", "/anime"} {
		if r := ta.get(t, target, false); !strings.Contains(r.body, "number of providers listing a title, then its score") {
			t.Errorf("%s does not say how popularity is measured without members", target)
		}
	}
}

// The same URL asks for the same fragments whether htmx or a browser asks,
// and parameters that change nothing do not change the keys.
func TestFragmentKeys(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		want    []string
	}{
		{"catalog", []string{"/anime?page=2&min_score=5", "/anime?min_score=5.2&page=2&utm=1&q=&sort=popularity"},
			[]string{"catalog|min_score=5&page=2", "count|min_score=5"}},
		{"genre case", []string{"/anime?genre=Action", "/anime?genre=ACTION&min_score=0"},
			[]string{"catalog|genre=Action", "count|genre=Action"}},
		{"title text", []string{"/anime?q=bebop", "/anime?q=++bebop%0A"},
			[]string{"catalog|q=bebop", "count|q=bebop"}},
		{"ranking", []string{"/top?type=Movie", "/top?type=movie&junk=1"}, []string{"ranking|type=Movie"}},
		{"anime", []string{"/anime/1-cowboy-bebop", "/anime/1-cowboy-bebop?x=1"}, []string{"anime|id=1"}},
		{"home", []string{"/", "/?junk=1"}, []string{"count|", "popular|limit=12", "ranking|home"}},
		{"search is not cached", []string{"/search?q=bebop"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.targets {
				for _, htmx := range []bool{false, true} {
					ta := newTestApp(t, 60)
					if r := ta.get(t, target, htmx); r.StatusCode != 200 {
						t.Fatalf("%s: status = %d", target, r.StatusCode)
					}
					if got := ta.frags.keys(); !slices.Equal(got, tt.want) {
						t.Errorf("%s (htmx=%v): fragments %q, want %q", target, htmx, got, tt.want)
					}
				}
			}
		})
	}
}

func TestErrorHandler(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		logged     bool
	}{
		{"internal", errors.New("postgres: list anime: connection reset by peer 10.0.0.7"), 500, "", true},
		{"unavailable", anigo.Errorf(anigo.EUNAVAILABLE, "The catalog database is not answering."), 503, retryAfter, true},
		{"invalid", anigo.Errorf(anigo.EINVALID, "Bad."), 400, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp(t, 10)
			ta.store.err = tt.err
			r := ta.get(t, "/anime?page=1", false)
			if r.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", r.StatusCode, tt.status)
			}
			if got := r.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if strings.Contains(r.body, "10.0.0.7") || strings.Contains(r.body, "anigo: ") {
				t.Errorf("error details reached the client:\n%s", r.body)
			}
			if !strings.Contains(r.body, anigo.ErrorMessage(tt.err)) {
				t.Errorf("body lacks the user-safe message %q", anigo.ErrorMessage(tt.err))
			}
			logs := ta.logs.String()
			if got := strings.Count(logs, "request failed"); got != map[bool]int{true: 1}[tt.logged] {
				t.Errorf("logged %d times, want logged=%v:\n%s", got, tt.logged, logs)
			}
			if tt.logged && !strings.Contains(logs, "method=GET path=/anime") {
				t.Errorf("log lacks method and path:\n%s", logs)
			}
		})
	}
}

func TestStaticAssets(t *testing.T) {
	ta := newTestApp(t, 1)
	d := ta.get(t, "/", false).doc(t)
	css := attr(t, d, `link[rel="stylesheet"]`, "href")
	if !strings.HasPrefix(css, "/static/css/site.") || len(css) != len("/static/css/site.12345678.css") {
		t.Fatalf("stylesheet URL %q is not content-hashed", css)
	}
	want, err := anigo.StaticFS.ReadFile("static/css/site.css")
	if err != nil {
		t.Fatal(err)
	}
	r := ta.get(t, css, false)
	if r.StatusCode != 200 || r.body != string(want) {
		t.Fatalf("GET %s: status %d, %d bytes; want 200 and site.css", css, r.StatusCode, len(r.body))
	}
	for name, want := range map[string]string{
		"Content-Type":  "text/css; charset=utf-8",
		"Cache-Control": "public, max-age=31536000, immutable",
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, target := range []string{strings.Replace(css, "site.", "site.0", 1), "/static/css/", "/static/../go.mod"} {
		if r := ta.get(t, target, false); r.StatusCode != 404 {
			t.Errorf("GET %s: status = %d, want 404", target, r.StatusCode)
		}
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		target     string
		pingErr    error
		status     int
		wantFields map[string]string
	}{
		{"/healthz", nil, 200, map[string]string{"status": "ok"}},
		{"/readyz", nil, 200, map[string]string{"status": "ok", "postgres": "up", "redis": "up"}},
		{"/readyz", errors.New("dial tcp: refused"), 503, map[string]string{"status": "unavailable", "postgres": "down", "redis": "up"}},
	}
	for _, tt := range tests {
		ta := newTestApp(t, 1)
		ta.store.pingErr = tt.pingErr
		ta.app = New(Options{Store: ta.store, CacheState: func(ctxt context.Context) string { return "up" }})
		r := ta.get(t, tt.target, false)
		if r.StatusCode != tt.status {
			t.Errorf("%s (ping %v): status = %d, want %d", tt.target, tt.pingErr, r.StatusCode, tt.status)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatalf("%s: %v in %q", tt.target, err, r.body)
		}
		if !maps.Equal(got, tt.wantFields) {
			t.Errorf("%s (ping %v): %v, want %v", tt.target, tt.pingErr, got, tt.wantFields)
		}
	}
}

func TestLiveSearch(t *testing.T) {
	ta := newTestApp(t, 30)
	tests := []struct {
		target string
		links  int
		all    bool // the "see all results" link
	}{
		{"/search?q=title", liveResults, true},
		{"/search?q=bebop", 1, true},
		{"/search?q=zzz", 0, false},
		{"/search?q=", 0, false},
	}
	for _, tt := range tests {
		r := ta.get(t, tt.target, true)
		d := r.doc(t)
		if got := d.Find(`[data-testid="search-results"] a`).Length(); got != tt.links {
			t.Errorf("%s: %d result links, want %d", tt.target, got, tt.links)
		}
		if got := d.Find(`a.live-all`).Length() == 1; got != tt.all {
			t.Errorf("%s: see-all link = %v, want %v", tt.target, got, tt.all)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", tt.target, got)
		}
	}
}

// hitFragments serves every fragment from memory after its first render,
// like a warm cache.
type hitFragments struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (f *hitFragments) Get(ctx context.Context, name, params string, render func(context.Context) ([]byte, error)) ([]byte, string, error) {
	f.mu.Lock()
	b, ok := f.m[name+"|"+params]
	f.mu.Unlock()
	if ok {
		return b, "HIT", nil
	}
	b, err := render(ctx)
	if err == nil {
		f.mu.Lock()
		f.m[name+"|"+params] = b
		f.mu.Unlock()
	}
	return b, "MISS", err
}

func (f *hitFragments) Prefetch(context.Context, ...cache.Fragment) {}

func (f *hitFragments) Peek(_ context.Context, name, params string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.m[name+"|"+params]
	return b, ok
}

// BenchmarkPages measures the handlers' own cost (middleware included,
// network excluded) with every fragment cached, as fasthttp calls them, at
// LOG_LEVEL=warn like make bench (an access log line costs about a quarter
// of a hit on top).
func BenchmarkPages(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := New(Options{Store: &fakeStore{anime: fixture(200), hasMembers: true}, Fragments: &hitFragments{m: map[string][]byte{}}, Logger: quiet})
	handler := app.Handler()
	for _, target := range []string{"/", "/anime?page=3", "/top", "/anime/1-cowboy-bebop"} {
		for _, variant := range []string{"page", "htmx", "gzip"} {
			b.Run(fmt.Sprintf("%s %s", target, variant), func(b *testing.B) {
				var ctx fasthttp.RequestCtx
				ctx.Request.SetRequestURI(target)
				switch variant {
				case "htmx":
					ctx.Request.Header.Set("HX-Request", "true")
				case "gzip":
					ctx.Request.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
				}
				var size int
				for b.Loop() {
					ctx.Response.Reset()
					ctx.ResetUserValues() // as fasthttp does between requests
					handler(&ctx)
					if ctx.Response.StatusCode() != fiber.StatusOK {
						b.Fatalf("GET %s: %d", target, ctx.Response.StatusCode())
					}
					size = len(ctx.Response.Body())
				}
				b.ReportMetric(float64(size), "body-bytes")
			})
		}
	}
}
