package main

// The site and its fragment cache through the real program: real
// PostgreSQL, real Redis, real HTTP. The handlers' own tests (a fake store,
// app.Test) cover each handler's every branch; these check that the pieces
// fit together.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const htmlType = "text/html; charset=utf-8"

func TestSitePages(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, nil)
	c := newClient(t, base)
	fmab := detailPath(t, c, "brotherhood")

	tests := []struct {
		path      string
		hx        string // "" for a plain request, "request" for htmx, "boosted" for hx-boost
		wantFull  bool   // a whole page (<!DOCTYPE html>), or a fragment alone
		wantTest  string // a data-testid the response must hold
		wantFrags []string
	}{
		{"/", "", true, "card", []string{"popular", "ranking", "count"}},
		{"/anime", "", true, "catalog-fragment", []string{"catalog", "count"}},
		{"/anime", "request", false, "card", []string{"catalog", "count"}},
		{"/anime", "boosted", true, "catalog-fragment", []string{"catalog", "count"}},
		{"/anime?page=2&sort=score", "", true, "prev-page-link", []string{"catalog", "count"}},
		{"/anime?type=Movie&genre=drama", "request", false, "card", []string{"catalog", "count"}},
		{"/top", "", true, "ranking-fragment", []string{""}},
		{"/top?page=2", "request", false, "ranking", []string{""}},
		{fmab, "", true, "anime", []string{""}},
		{fmab, "request", false, "anime", []string{""}},
		{"/search?q=full", "", true, "search-results", nil},
		{"/search?q=full", "request", false, "search-results", nil},
	}
	for _, tt := range tests {
		t.Run(tt.hx+tt.path, func(t *testing.T) {
			headers := map[string]string{}
			switch tt.hx {
			case "request":
				headers["HX-Request"] = "true"
			case "boosted":
				headers["HX-Request"], headers["HX-Boosted"] = "true", "true"
			}
			r, err := c.try(tt.path, headers)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != 200 {
				t.Fatalf("status = %d, want 200\n%s", r.status, r.body)
			}
			if got := r.header.Get("Content-Type"); got != htmlType {
				t.Errorf("Content-Type = %q, want %q", got, htmlType)
			}
			if got := varyList(r.header); !slices.Contains(got, "HX-Request") || !slices.Contains(got, "Accept-Encoding") {
				t.Errorf("Vary = %q, want it to hold HX-Request and Accept-Encoding", got)
			}
			full := isPage(r.body)
			if full != tt.wantFull {
				t.Errorf("full page = %v, want %v (body starts %.80q)", full, tt.wantFull, r.body)
			}
			if !tt.wantFull && strings.Contains(r.body, "<html") {
				t.Errorf("fragment holds <html>")
			}
			if n := r.testIDs(t, tt.wantTest); n == 0 {
				t.Errorf("no data-testid=%q in the response", tt.wantTest)
			}
			xc := r.header.Get("X-Cache")
			if tt.wantFrags == nil {
				if xc != "" {
					t.Errorf("X-Cache = %q, want none (not cached)", xc)
				}
				return
			}
			got := cacheStatuses(t, xc)
			var names []string
			for name, status := range got {
				names = append(names, name)
				// Redis is up: every fragment comes from it or is stored in it.
				if status != "HIT" && status != "MISS" {
					t.Errorf("X-Cache %q: %s is %s, want HIT or MISS", xc, name, status)
				}
			}
			if !sameSet(names, tt.wantFrags) {
				t.Errorf("X-Cache %q names %q, want %q", xc, names, tt.wantFrags)
			}
		})
	}
}

// isPage reports whether body is a whole page rather than a fragment.
func isPage(body string) bool {
	return strings.HasPrefix(strings.ToLower(body), "<!doctype html>") && strings.Contains(body, "<html")
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestSitePagination(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, nil)
	c := newClient(t, base)

	// 60 titles, 24 a page: pages of 24, 24 and 12 cards.
	tests := []struct {
		path                     string
		wantCards                int
		wantCurrent              string
		wantPrev, wantNext, last string // "" when the link is not there
		wantFirstTitle           string
	}{
		{"/anime", 24, "1", "", "/anime?page=2", "/anime?page=3", "Fullmetal Alchemist: Brotherhood"},
		{"/anime?page=2", 24, "2", "/anime", "/anime?page=3", "/anime?page=3", ""},
		{"/anime?page=3", 12, "3", "/anime?page=2", "", "", ""},
		{"/anime?page=2&sort=title&utm_source=mail", 24, "2", "/anime?sort=title", "/anime?page=3&sort=title", "/anime?page=3&sort=title", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				r := c.get(t, tt.path, htmx)
				if r.status != 200 {
					t.Fatalf("htmx %v: status = %d, want 200", htmx, r.status)
				}
				d := r.doc(t)
				if n := d.Find(`[data-testid="card"]`).Length(); n != tt.wantCards {
					t.Errorf("htmx %v: %d cards, want %d", htmx, n, tt.wantCards)
				}
				cur := strings.TrimSpace(d.Find(`[data-testid="page-link"][aria-current="page"]`).Text())
				if cur != tt.wantCurrent {
					t.Errorf("htmx %v: current page %q, want %q", htmx, cur, tt.wantCurrent)
				}
				for _, link := range []struct{ testid, want string }{
					{"prev-page-link", tt.wantPrev}, {"next-page-link", tt.wantNext}, {"last-page-link", tt.last},
				} {
					a := d.Find(`a[data-testid="` + link.testid + `"]`)
					href, _ := a.Attr("href")
					hxGet, _ := a.Attr("hx-get")
					push, _ := a.Attr("hx-push-url")
					if href != link.want || hxGet != link.want || push != link.want {
						t.Errorf("htmx %v: %s href %q hx-get %q hx-push-url %q, want %q for all", htmx, link.testid, href, hxGet, push, link.want)
					}
				}
				if tt.wantFirstTitle != "" {
					if got := strings.TrimSpace(d.Find(`[data-testid="card"] .card-title`).First().Text()); got != tt.wantFirstTitle {
						t.Errorf("htmx %v: first card %q, want %q", htmx, got, tt.wantFirstTitle)
					}
				}
			}
		})
	}
}

func TestSiteBadInput(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, nil)
	c := newClient(t, base)

	long := strings.Repeat("a", 10_000)
	tests := []struct {
		path       string
		wantStatus int
		wantText   string
	}{
		{"/anime?page=0", 400, "page must be a whole number"},
		{"/anime?page=-1", 400, "page must be a whole number"},
		{"/anime?page=abc", 400, "page must be a whole number"},
		{"/anime?page=99999999999999999999", 400, "page must be a whole number"},
		{"/anime?page=4", 404, "This listing ends at page 3."},
		{"/anime?sort=shuffle", 400, "Unknown sort"},
		{"/anime?type=Manga", 400, "Unknown type"},
		{"/anime?genre=Cooking", 400, "Unknown genre"},
		{"/top?page=0", 400, "page must be a whole number"},
		{"/top?page=4", 404, "This listing ends at page 3."},
		{"/anime/abc", 404, "no such title"},
		{"/anime/0", 404, "no such title"},
		{"/anime/123456", 404, "There is no anime 123456"},
		{"/anime/99999999999999999999", 404, "no such title"},
		{"/nope", 404, "There is nothing at this address"},
		{"/search?q=" + long, 200, "No titles match"},
		{"/anime?q=" + long, 200, "No titles match"},
	}
	for _, tt := range tests {
		t.Run(tt.path[:min(len(tt.path), 50)], func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				r := c.get(t, tt.path, htmx)
				if r.status != tt.wantStatus {
					t.Errorf("htmx %v: status = %d, want %d", htmx, r.status, tt.wantStatus)
				}
				if got := r.header.Get("Content-Type"); got != htmlType {
					t.Errorf("htmx %v: Content-Type = %q, want %q", htmx, got, htmlType)
				}
				if !strings.Contains(r.body, tt.wantText) {
					t.Errorf("htmx %v: body lacks %q:\n%.400s", htmx, tt.wantText, r.body)
				}
				// A friendly page in the site's layout for a browser; a
				// message alone for htmx to swap in.
				full := isPage(r.body)
				if full == htmx {
					t.Errorf("htmx %v: full page = %v", htmx, full)
				}
				if tt.wantStatus >= 400 && r.testIDs(t, "error") != 1 {
					t.Errorf("htmx %v: want one data-testid=error", htmx)
				}
				for _, leak := range []string{"goroutine ", "panic", "pgx", "postgres:", "SQLSTATE"} {
					if strings.Contains(r.body, leak) {
						t.Errorf("htmx %v: body shows %q", htmx, leak)
					}
				}
			}
		})
	}
}

func TestSiteEscaping(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, nil)
	c := newClient(t, base)

	const evil = "<script>alert(1)</script>"
	evilPath := detailPath(t, c, "alert")
	if want := "-script-alert-1-script"; !strings.HasSuffix(evilPath, want) {
		t.Errorf("path of the title %s is %q, want a slug ending %q", evil, evilPath, want)
	}
	for _, path := range []string{
		evilPath,
		"/anime?page=3",
		"/anime?q=script",
		"/search?q=script",
		"/search?q=" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E", // the query is echoed too
	} {
		t.Run(path, func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				r := c.get(t, path, htmx)
				if r.status != 200 {
					t.Fatalf("htmx %v: status = %d, want 200", htmx, r.status)
				}
				if strings.Contains(r.body, evil) {
					t.Errorf("htmx %v: the title reached the HTML unescaped", htmx)
				}
				if !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
					t.Errorf("htmx %v: the escaped title is not shown:\n%.600s", htmx, r.body)
				}
				if strings.Contains(r.doc(t).Find("script").Text(), "alert") {
					t.Errorf("htmx %v: a <script> element holds alert", htmx)
				}
			}
		})
	}

	// Titles with entities in the CSV are unescaped once on import and
	// escaped once on the way out: never shown as &amp;quot; or similar.
	r := c.get(t, "/search?q=bungaku", true)
	got := strings.TrimSpace(r.doc(t).Find(".result-title").First().Text())
	if want := `"Bungaku Shoujo" Memoire & More`; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if strings.Contains(r.body, "&amp;quot;") || strings.Contains(r.body, "&amp;amp;") {
		t.Errorf("a title is escaped twice:\n%s", r.body)
	}
}

func TestSiteSlugRedirect(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, nil)
	c := newClient(t, base)
	fmab := detailPath(t, c, "brotherhood")
	id, slug, _ := strings.Cut(strings.TrimPrefix(fmab, "/anime/"), "-")
	if slug != "fullmetal-alchemist-brotherhood" {
		t.Fatalf("slug of Fullmetal Alchemist: Brotherhood is %q, want fullmetal-alchemist-brotherhood", slug)
	}
	evil := detailPath(t, c, "alert")
	evilID, _, _ := strings.Cut(strings.TrimPrefix(evil, "/anime/"), "-")

	tests := []struct {
		path         string
		wantStatus   int
		wantLocation string
	}{
		{"/anime/" + id, 301, fmab},
		{"/anime/" + id + "-fullmetal", 301, fmab},
		{"/anime/" + id + "-FULLMETAL-ALCHEMIST-BROTHERHOOD", 301, fmab},
		{"/anime/" + id + "-cowboy-bebop", 301, fmab},
		{"/anime/" + evilID, 301, evil},
		{fmab, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			// Twice: a cache hit must redirect just as the render did.
			for i := range 2 {
				r := c.get(t, tt.path, false)
				if r.status != tt.wantStatus {
					t.Fatalf("request %d: status = %d, want %d", i+1, r.status, tt.wantStatus)
				}
				if got := r.header.Get("Location"); got != tt.wantLocation {
					t.Errorf("request %d: Location = %q, want %q", i+1, got, tt.wantLocation)
				}
			}
		})
	}
}

func TestSiteEmptyCatalog(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, map[string]string{"DATABASE_URL": newDatabase(t)})
	c := newClient(t, base)
	for _, path := range []string{"/", "/anime"} {
		r := c.get(t, path, false)
		if r.status != 200 {
			t.Errorf("GET %s: status = %d, want 200", path, r.status)
		}
		if r.testIDs(t, "empty-catalog") != 1 {
			t.Errorf("GET %s: want one data-testid=empty-catalog:\n%.800s", path, r.body)
		}
		if !strings.Contains(r.body, "anigo import") {
			t.Errorf("GET %s: the page does not say how to import", path)
		}
	}
	r := c.get(t, "/top", false)
	if r.status != 200 || !strings.Contains(r.body, "Nothing is ranked yet") && r.testIDs(t, "ranking-fragment") != 1 {
		t.Errorf("GET /top on an empty catalog: status %d\n%.800s", r.status, r.body)
	}
}

// TestCacheHit: the second request of each page comes from Redis.
func TestCacheHit(t *testing.T) {
	t.Parallel()
	base, _ := startServer(t, nil)
	c := newClient(t, base)
	for _, path := range []string{"/", "/anime?type=TV", "/top?type=Movie", detailPath(t, c, "steins")} {
		first := c.get(t, path, false)
		second := c.get(t, path, false)
		if first.status != 200 || second.status != 200 {
			t.Fatalf("GET %s: statuses %d, %d, want 200", path, first.status, second.status)
		}
		if xc := first.header.Get("X-Cache"); !allStatus(xc, "MISS") {
			t.Errorf("GET %s first: X-Cache = %q, want every fragment MISS", path, xc)
		}
		if xc := second.header.Get("X-Cache"); !allStatus(xc, "HIT") {
			t.Errorf("GET %s second: X-Cache = %q, want every fragment HIT", path, xc)
		}
		if first.body != second.body {
			t.Errorf("GET %s: the cached page differs from the rendered one", path)
		}
	}
}

// TestCacheTTLs: each fragment's key, after a first request, lives for its
// fresh time plus the grace.
func TestCacheTTLs(t *testing.T) {
	t.Parallel()
	const grace = 30 * time.Second
	fresh := map[string]time.Duration{
		"popular": 45 * time.Second, "catalog": 200 * time.Second, "count": 400 * time.Second,
		"ranking": 250 * time.Second, "anime": 100 * time.Second,
	}
	ns := newNamespace(t)
	env := map[string]string{"ANIGO_CACHE_NAMESPACE": ns, "ANIGO_CACHE_GRACE": "30s"}
	for name, d := range fresh {
		env["ANIGO_TTL_"+strings.ToUpper(name)] = d.String()
	}
	base, _ := startServer(t, env)
	c := newClient(t, base)
	for _, path := range []string{"/", "/anime", "/top", detailPath(t, c, "steins")} {
		if r := c.get(t, path, false); r.status != 200 {
			t.Fatalf("GET %s: status = %d", path, r.status)
		}
	}

	rdb := sharedRedis(t)
	seen := map[string]int{}
	for _, key := range scanKeys(t, rdb, ns+":*") {
		// <namespace>:<fragment>:c<catalog version>:<params>
		name, rest, _ := strings.Cut(strings.TrimPrefix(key, ns+":"), ":")
		want, ok := fresh[name]
		if !ok {
			t.Errorf("key %q: unknown fragment %q", key, name)
			continue
		}
		if !strings.HasPrefix(rest, "c1:") {
			t.Errorf("key %q: want catalog version c1 after one import", key)
		}
		seen[name]++
		ttl, err := rdb.PTTL(context.Background(), key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", key, err)
		}
		if ttl <= want || ttl > want+grace {
			t.Errorf("key %q: TTL %s, want within (%s, %s]", key, ttl, want, want+grace)
		}
	}
	// / has popular, ranking and count; /anime catalog and count; /top
	// ranking; the detail page anime.
	wantKeys := map[string]int{"popular": 1, "ranking": 2, "count": 1, "catalog": 1, "anime": 1}
	for name, n := range wantKeys {
		if seen[name] != n {
			t.Errorf("%d keys of fragment %s, want %d (keys by fragment: %v)", seen[name], name, n, seen)
		}
	}
}

// TestCacheKeys: spellings of one query share one entry; junk cannot make
// new keys; a fragment request and a page share fragments but each gets
// its own kind of response.
func TestCacheKeys(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	base, _ := startServer(t, map[string]string{"ANIGO_CACHE_NAMESPACE": ns})
	c := newClient(t, base)
	rdb := sharedRedis(t)
	steins := detailPath(t, c, "steins")

	tests := []struct {
		canonical string
		variants  []string
	}{
		{"/anime?genre=Drama&type=TV", []string{
			"/anime?type=TV&genre=Drama",
			"/anime?genre=drama&type=tv",
			"/anime?genre=DRAMA&type=Tv&utm_source=mail&fbclid=x&junk=%00",
			"/anime?genre=Drama&page=1&sort=popularity&type=TV",
			"/anime?q=&type=TV&genre=Drama&min_score=",
		}},
		{"/top?type=Movie", []string{"/top?type=movie", "/top?page=1&type=MOVIE&x=1", "/top?type=Movie&type=Movie"}},
		{steins, []string{steins + "?ref=home", steins + "?page=7"}},
	}
	for _, tt := range tests {
		t.Run(tt.canonical, func(t *testing.T) {
			r := c.get(t, tt.canonical, false)
			if r.status != 200 || !allStatus(r.header.Get("X-Cache"), "MISS") {
				t.Fatalf("GET %s: status %d, X-Cache %q; want 200, all MISS", tt.canonical, r.status, r.header.Get("X-Cache"))
			}
			before := len(scanKeys(t, rdb, ns+":*"))
			for _, v := range tt.variants {
				r := c.get(t, v, false)
				if r.status != 200 {
					t.Errorf("GET %s: status = %d, want 200", v, r.status)
				}
				if xc := r.header.Get("X-Cache"); !allStatus(xc, "HIT") {
					t.Errorf("GET %s after %s: X-Cache = %q, want every fragment HIT", v, tt.canonical, xc)
				}
			}
			if after := len(scanKeys(t, rdb, ns+":*")); after != before {
				t.Errorf("the variants of %s made %d new keys, want 0", tt.canonical, after-before)
			}
		})
	}

	t.Run("htmx and page", func(t *testing.T) {
		// The fragment request warms the cache; the page is still a page.
		const path = "/anime?type=OVA"
		steps := []struct {
			htmx     bool
			wantFull bool
			wantX    string
		}{
			{true, false, "MISS"},
			{false, true, "HIT"},
			{true, false, "HIT"},
			{false, true, "HIT"},
		}
		for i, s := range steps {
			r := c.get(t, path, s.htmx)
			full := isPage(r.body)
			if r.status != 200 || full != s.wantFull {
				t.Errorf("step %d (htmx %v): status %d, full page %v; want 200, %v", i+1, s.htmx, r.status, full, s.wantFull)
			}
			if xc := r.header.Get("X-Cache"); !allStatus(xc, s.wantX) {
				t.Errorf("step %d (htmx %v): X-Cache = %q, want every fragment %s", i+1, s.htmx, xc, s.wantX)
			}
			if n := r.testIDs(t, "card"); n == 0 {
				t.Errorf("step %d (htmx %v): no cards", i+1, s.htmx)
			}
		}
	})
}

// TestCacheInvalidation: two servers share a database and a cache
// namespace; an import elsewhere bumps the catalog version, PostgreSQL
// tells both, and neither serves the old catalog's fragments again.
func TestCacheInvalidation(t *testing.T) {
	t.Parallel()
	dsn := newDatabase(t, e2eCatalog)
	ns := newNamespace(t)
	env := map[string]string{"DATABASE_URL": dsn, "ANIGO_CACHE_NAMESPACE": ns}
	baseA, _ := startServer(t, env)
	baseB, _ := startServer(t, env)
	a, b := newClient(t, baseA), newClient(t, baseB)

	const path = "/anime"
	ra := a.get(t, path, false)
	rb := b.get(t, path, false)
	if !allStatus(ra.header.Get("X-Cache"), "MISS") || !allStatus(rb.header.Get("X-Cache"), "HIT") {
		t.Errorf("X-Cache on A then B: %q, %q; want all MISS, then all HIT (one shared cache)", ra.header.Get("X-Cache"), rb.header.Get("X-Cache"))
	}
	for _, r := range []response{ra, rb} {
		if r.status != 200 || strings.Contains(r.body, e2eUpdateTitle) {
			t.Fatalf("before the import: status %d, new title shown %v", r.status, strings.Contains(r.body, e2eUpdateTitle))
		}
	}

	out := importFile(t, dsn, e2eUpdate)
	if !strings.Contains(out, "catalog version is now 2") {
		t.Fatalf("import printed %q, want the version bumped to 2", out)
	}
	wantCount := fmt.Sprintf("%d titles", e2eVisible+1)
	for _, srv := range []struct {
		name string
		c    *client
	}{{"B", b}, {"A", a}} {
		took := poll(t, 5*time.Second, "server "+srv.name+" shows the imported title", func() (bool, string) {
			r := srv.c.get(t, path, false)
			if r.status != 200 {
				t.Fatalf("server %s: status %d during the poll", srv.name, r.status)
			}
			return strings.Contains(r.body, e2eUpdateTitle), "X-Cache " + r.header.Get("X-Cache")
		})
		t.Logf("server %s showed the new catalog %s after the import", srv.name, took.Round(time.Millisecond))
		// Once seen, the new catalog stays: count and list agree.
		for range 3 {
			r := srv.c.get(t, path, false)
			count := strings.Join(strings.Fields(r.doc(t).Find(`[data-testid="count"]`).First().Text()), " ")
			if !strings.Contains(r.body, e2eUpdateTitle) || count != wantCount {
				t.Errorf("server %s after the version arrived: new title %v, count %q; want true, %q",
					srv.name, strings.Contains(r.body, e2eUpdateTitle), count, wantCount)
			}
		}
	}
	if keys := scanKeys(t, sharedRedis(t), ns+":catalog:c2:*"); len(keys) != 1 {
		t.Errorf("catalog keys of version 2: %q, want one", keys)
	}
}

// varyList is the header names of h's Vary fields, however they are split.
func varyList(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Vary") {
		for name := range strings.SplitSeq(v, ",") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}
