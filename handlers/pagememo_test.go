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
	if tiny := newPageMemo().put("k", nil, []byte("<p>1</p>")).gzipped(); tiny != nil {
		t.Errorf("a page that compressing makes bigger was compressed: %q", tiny)
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
