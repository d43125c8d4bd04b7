package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestSecurityHeaders(t *testing.T) {
	ta := newTestApp(t, 3)
	r := ta.get(t, "/", false)
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for header, want := range map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "strict-origin-when-cross-origin",
		"X-Frame-Options":              "DENY",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=()",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	} {
		if got := r.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"none sent", "", false},
		{"from a proxy", "abc-123.x_Y", true},
		{"forged log line", "x\" level=ERROR msg=pwned", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp(t, 3)
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-ID", tt.sent)
			}
			r := ta.do(t, req)
			got := r.Header.Get("X-Request-ID")
			if !requestIDPattern.MatchString(got) {
				t.Fatalf("X-Request-ID = %q, not a clean ID", got)
			}
			if (got == tt.sent) != tt.kept {
				t.Errorf("X-Request-ID = %q, sent %q, want kept=%v", got, tt.sent, tt.kept)
			}
			if !strings.Contains(ta.logs.String(), "id="+got) {
				t.Errorf("access log lacks id=%s:\n%s", got, ta.logs)
			}
		})
	}
}

func TestPanicBecomesFriendly500(t *testing.T) {
	ta := newTestApp(t, 3)
	ta.store.panicMsg = "boom at 10.0.0.7"
	r := ta.get(t, "/anime", false)
	if r.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", r.StatusCode)
	}
	id := r.Header.Get("X-Request-ID")
	d := r.doc(t)
	if got := d.Find(`[data-testid="request-id"] code`).Text(); got != id || id == "" {
		t.Errorf("page shows request ID %q, want %q", got, id)
	}
	if strings.Contains(r.body, "boom") || strings.Contains(r.body, "goroutine") {
		t.Errorf("panic details reached the client")
	}
	logs := ta.logs.String()
	if !strings.Contains(logs, "msg=panic") || !strings.Contains(logs, "boom at 10.0.0.7") || !strings.Contains(logs, "status=500") {
		t.Errorf("log lacks the panic and the 500:\n%s", logs)
	}
}

func TestSearchRateLimit(t *testing.T) {
	ta := newTestApp(t, 3)
	var last response
	for i := 0; i <= searchLimit; i++ {
		last = ta.get(t, "/search?q=a", true)
		if i < searchLimit && last.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200 below the limit", i+1, last.StatusCode)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Errorf("request %d: status %d, want 429", searchLimit+1, last.StatusCode)
	}
	if last.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if r := ta.get(t, "/anime", false); r.StatusCode != http.StatusOK {
		t.Errorf("/anime after the search limit: status %d, want 200 (only /search is limited)", r.StatusCode)
	}
}

// Behind a trusted proxy each client has its own search limit; from an
// untrusted peer, X-Forwarded-For is ignored and cannot dodge the limit.
func TestSearchLimitPerClientBehindProxy(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		want429 bool // for client B after client A used up the limit
	}{
		{"trusted proxy", []string{"0.0.0.0/0"}, false},
		{"no trusted proxy", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp(t, 3)
			ta.app = New(Options{Store: ta.store, Fragments: ta.frags, TrustedProxies: tt.trusted})
			search := func(client string) int {
				req := httptest.NewRequest(http.MethodGet, "/search?q=a", nil)
				req.Header.Set("HX-Request", "true")
				req.Header.Set("X-Forwarded-For", client)
				return ta.do(t, req).StatusCode
			}
			for range searchLimit {
				if got := search("203.0.113.1"); got != http.StatusOK {
					t.Fatalf("client A below the limit: status %d", got)
				}
			}
			if got := search("203.0.113.1"); got != http.StatusTooManyRequests {
				t.Fatalf("client A over the limit: status %d, want 429", got)
			}
			if got := search("198.51.100.2") == http.StatusTooManyRequests; got != tt.want429 {
				t.Errorf("client B limited = %v, want %v", got, tt.want429)
			}
		})
	}
}

// Sites that share one rate-limit storage (one Redis) under different
// prefixes count apart; instances of one site count together.
func TestRateLimitPrefix(t *testing.T) {
	ta := newTestApp(t, 3)
	shared := newMemStorage()
	app := func(prefix string) *fiber.App {
		return New(Options{Store: ta.store, Fragments: ta.frags, RateLimitStorage: shared,
			RateLimitShared: func() bool { return true }, RateLimitPrefix: prefix})
	}
	search := func(a *fiber.App) int {
		ta.app = a
		req := httptest.NewRequest(http.MethodGet, "/search?q=a", nil)
		req.Header.Set("HX-Request", "true")
		return ta.do(t, req).StatusCode
	}
	siteA := app("site-a")
	for i := range searchLimit {
		if got := search(siteA); got != http.StatusOK {
			t.Fatalf("site A, request %d: status %d, want 200", i+1, got)
		}
	}
	if got := search(app("site-a")); got != http.StatusTooManyRequests {
		t.Errorf("another instance of site A: status %d, want 429 (one shared count)", got)
	}
	if got := search(app("site-b")); got != http.StatusOK {
		t.Errorf("site B on the same storage: status %d, want 200 (its own count)", got)
	}
}
