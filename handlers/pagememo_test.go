package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestPageMemoMatchesParts(t *testing.T) {
	m := newPageMemo()
	count, list := []byte("<p>12 titles</p>"), []byte("<ul><li>Bebop</li></ul>")
	if _, ok := m.get("home", [][]byte{count, list}); ok {
		t.Fatal("empty memo: get found a page")
	}
	stored := m.put("home", [][]byte{count, list}, []byte("<html>page</html>"))

	tests := []struct {
		name  string
		key   string
		parts [][]byte
		want  bool
	}{
		{"the same slices", "home", [][]byte{count, list}, true},
		{"equal copies", "home", [][]byte{bytes.Clone(count), bytes.Clone(list)}, true},
		{"one fragment changed", "home", [][]byte{count, []byte("<ul><li>Trigun</li></ul>")}, false},
		{"fragments swapped", "home", [][]byte{list, count}, false},
		{"one fragment fewer", "home", [][]byte{count}, false},
		{"another key", "top", [][]byte{count, list}, false},
	}
	for _, tt := range tests {
		got, ok := m.get(tt.key, tt.parts)
		if ok != tt.want || ok && got != stored {
			t.Errorf("%s: get = %p, %v; want the stored page: %v", tt.name, got, ok, tt.want)
		}
	}
}

func TestPageMemoGzip(t *testing.T) {
	body := []byte(strings.Repeat("<li>Cowboy Bebop</li>", 200))
	a := newPageMemo().put("k", nil, body)
	if first := a.gzipped(); first != nil {
		t.Fatalf("the first ask compressed the page (%d bytes): want it plain until a second ask", len(first))
	}
	gz := a.gzipped()
	if gz == nil || len(gz) >= len(body) {
		t.Fatalf("gzipped: %d bytes for a %d-byte page, want fewer", len(gz), len(body))
	}
	if got := gunzip(t, gz); !bytes.Equal(got, body) {
		t.Errorf("gzipped page does not decompress to the page")
	}
	if again := a.gzipped(); &again[0] != &gz[0] {
		t.Error("gzipped compressed a second time")
	}
	tiny := newPageMemo().put("k", nil, []byte("<p>1</p>"))
	tiny.gzipped()
	if gz := tiny.gzipped(); gz != nil {
		t.Errorf("a page that compressing makes bigger was compressed: %q", gz)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// TestPagesFromMemo: a page served again is the same bytes until one of its
// fragments changes in the cache, and then it is the new page at once.
func TestPagesFromMemo(t *testing.T) {
	frags := &hitFragments{m: map[string][]byte{}}
	app := New(Options{Store: &fakeStore{anime: fixture(40), hasMembers: true}, Fragments: frags})
	get := func(target string) string {
		t.Helper()
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, target, nil), -1)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v, %v", target, resp, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, target := range []string{"/", "/top", "/anime?page=2", "/anime/1-cowboy-bebop"} {
		first, second := get(target), get(target)
		if first != second {
			t.Errorf("%s: a second request with the same fragments gave another page", target)
		}
	}

	frags.mu.Lock()
	for k := range frags.m {
		if strings.HasPrefix(k, "ranking|") {
			frags.m[k] = []byte(`<section data-testid="ranking-fragment">re-rendered ranking</section>`)
		}
	}
	frags.mu.Unlock()
	for _, target := range []string{"/", "/top"} {
		if body := get(target); !strings.Contains(body, "re-rendered ranking") {
			t.Errorf("%s: still the page of the old ranking fragment", target)
		}
	}
}

// TestPagesCompressed: a client that accepts gzip gets the same page
// compressed; one that does not, or that refuses gzip, gets it plain.
func TestPagesCompressed(t *testing.T) {
	frags := &hitFragments{m: map[string][]byte{}}
	app := New(Options{Store: &fakeStore{anime: fixture(40), hasMembers: true}, Fragments: frags})
	live := New(Options{Store: &fakeStore{anime: fixture(40), hasMembers: true}}) // no cache: BYPASS
	do := func(app *fiber.App, target, acceptEncoding string, htmx bool) (*http.Response, []byte) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		resp, err := app.Test(req, -1)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v, %v", target, resp, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, target := range []string{"/", "/anime?page=2", "/top"} {
		for _, htmx := range []bool{false, true} {
			_, plain := do(app, target, "", htmx)
			// The first request that could take gzip gets the page plain:
			// a page asked for once is not worth compressing. (The home page
			// is the same page with HX-Request: only its first round counts.)
			if resp, _ := do(app, target, "gzip", htmx); !htmx && resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("%s htmx=%v: the first gzip request got %q, want the page plain", target, htmx, resp.Header.Get("Content-Encoding"))
			}
			tests := []struct {
				accept string
				app    *fiber.App
				gzip   bool
			}{
				{"gzip, deflate, br, zstd", app, true}, // what browsers send
				{"gzip", app, true},
				{"*", app, true},
				{"br", app, false},
				{"gzip;q=0, br", app, false},
				{"gzip;Q=0, br", app, false},
				{"gzip;q=0, *", app, false}, // an explicit refusal beats *
				{"*;q=0", app, false},
				{"br;q=1.0, GZIP;q=0.5", app, true},
				{"deflate, gzip ; q=0.8", app, true},
				{"identity", app, false},
				{"gzip, deflate, br", live, false}, // rendered live: not compressed
			}
			for _, tt := range tests {
				resp, body := do(tt.app, target, tt.accept, htmx)
				if got := resp.Header.Get("Vary"); !strings.Contains(got, "Accept-Encoding") {
					t.Errorf("%s htmx=%v Accept-Encoding %q: Vary = %q, want Accept-Encoding in it", target, htmx, tt.accept, got)
				}
				gotGzip := resp.Header.Get("Content-Encoding") == "gzip"
				if gotGzip != tt.gzip {
					t.Errorf("%s htmx=%v Accept-Encoding %q: gzip = %v, want %v", target, htmx, tt.accept, gotGzip, tt.gzip)
					continue
				}
				if gotGzip {
					body = gunzip(t, body)
				}
				if tt.app == app && !bytes.Equal(body, plain) {
					t.Errorf("%s htmx=%v Accept-Encoding %q: another page than the plain one", target, htmx, tt.accept)
				}
			}
		}
	}
}

// TestPagesAndFragmentsKeptApart: the same URL asked for as a page and as
// an htmx fragment, in turn, gets each its own answer from the memo.
func TestPagesAndFragmentsKeptApart(t *testing.T) {
	app := New(Options{Store: &fakeStore{anime: fixture(40), hasMembers: true}, Fragments: &hitFragments{m: map[string][]byte{}}})
	for _, target := range []string{"/anime?page=2", "/top?page=2", "/anime/1-cowboy-bebop"} {
		for round := range 3 {
			for _, htmx := range []bool{false, true} {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				if htmx {
					req.Header.Set("HX-Request", "true")
				}
				resp, err := app.Test(req, -1)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %v, %v", target, resp, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if page := strings.Contains(string(body), "<html"); page == htmx {
					t.Errorf("%s round %d htmx=%v: full page = %v", target, round, htmx, page)
				}
			}
		}
	}
}

func TestCatalogPageKeyFollowsTheGenreList(t *testing.T) {
	params := "page=2"
	a, b := catalogPageKey(genreSet{gen: 1}, params), catalogPageKey(genreSet{gen: 2}, params)
	if a == b {
		t.Errorf("two readings of the genre list share the page key %q: a page would keep an old filter form", a)
	}
	if catalogPageKey(genreSet{gen: 1}, "page=3") == a {
		t.Error("two catalog pages share a key")
	}
}
