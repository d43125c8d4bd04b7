package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anigo/anigo/cache"
)

type fakeAdmin struct {
	cleared []string
}

func (f *fakeAdmin) Stats(context.Context) cache.Stats {
	return cache.Stats{
		Redis: "127.0.0.1:6379", Breaker: "closed", Namespace: "anigo:v1", Version: 7, UsedMemory: 3 << 20,
		Fragments: []cache.FragmentStats{{Name: "popular", TTL: time.Minute, Hits: 9, Misses: 1, Keys: 2, Bytes: 4096}},
	}
}

func (f *fakeAdmin) Clear(_ context.Context, fragment string) (int, error) {
	f.cleared = append(f.cleared, fragment)
	return 2, nil
}

func (f *fakeAdmin) Fragments() []string { return []string{"popular", "catalog"} }

func newAdminApp(t *testing.T, token string) (*testApp, *fakeAdmin) {
	t.Helper()
	ta := newTestApp(t, 3)
	admin := &fakeAdmin{}
	ta.app = New(Options{Store: ta.store, Fragments: ta.frags, Admin: admin, AdminToken: token,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return ta, admin
}

func (ta *testApp) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, string(b)}
}

func TestAdminAccess(t *testing.T) {
	tests := []struct {
		name       string
		token      string // the server's ADMIN_TOKEN
		bearer     string // what the client sends, "" for nothing
		wantStatus int
		wantText   string
	}{
		{"no token configured: page off", "", "anything", http.StatusNotFound, "nothing at this address"},
		{"no credentials", "s3cret", "", http.StatusUnauthorized, "Admin token"},
		{"wrong token", "s3cret", "guess", http.StatusUnauthorized, "Admin token"},
		{"token prefix", "s3cret", "s3cre", http.StatusUnauthorized, "Admin token"},
		{"right token", "s3cret", "s3cret", http.StatusOK, "Fragment cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta, _ := newAdminApp(t, tt.token)
			req := httptest.NewRequest(http.MethodGet, "/admin/cache", nil)
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			r := ta.do(t, req)
			if r.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", r.StatusCode, tt.wantStatus)
			}
			if !strings.Contains(r.body, tt.wantText) {
				t.Errorf("body lacks %q", tt.wantText)
			}
			if tt.wantStatus == http.StatusOK {
				d := r.doc(t)
				if got := d.Find(`[data-testid="admin-row-popular"] td`).Eq(1).Text(); got != "90.0%" {
					t.Errorf("popular hit ratio = %q, want 90.0%%", got)
				}
				if got := r.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
			}
		})
	}
}

func TestAdminLoginAndClear(t *testing.T) {
	ta, admin := newAdminApp(t, "s3cret")
	form := func(v url.Values) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}

	if r := ta.do(t, form(url.Values{"token": {"nope"}})); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "not right") {
		t.Fatalf("wrong token: status %d, want 401 with a hint", r.StatusCode)
	}
	r := ta.do(t, form(url.Values{"token": {"s3cret"}}))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right token: status %d, want 303", r.StatusCode)
	}
	cookie := r.Cookies()
	if len(cookie) != 1 || !cookie[0].HttpOnly || cookie[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookie[0].Value, "s3cret") {
		t.Fatalf("session cookie = %+v, want one HttpOnly SameSite=Strict cookie without the token", cookie)
	}

	clear := func(fragment string) response {
		req := httptest.NewRequest(http.MethodPost, "/admin/cache/clear", strings.NewReader(url.Values{"fragment": {fragment}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		req.AddCookie(cookie[0])
		return ta.do(t, req)
	}
	if r := clear("popular"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Removed 2 keys of the popular fragment") {
		t.Errorf("clear popular: status %d body %q", r.StatusCode, r.body)
	}
	if r := clear(""); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "every fragment") {
		t.Errorf("clear all: status %d", r.StatusCode)
	}
	if r := clear("bogus"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("clear bogus: status %d, want 400", r.StatusCode)
	}
	if got, want := strings.Join(admin.cleared, ","), "popular,"; got != want {
		t.Errorf("cleared %q, want %q", got, want)
	}
}
