package main

// A real browser on the real server: Debian's chromium driven by chromedp.

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browserStep bounds each browser action; the whole test has its own bound.
const browserStep = 15 * time.Second

func TestBrowser(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is missing (%v): `make test` installs it (scripts/test-deps.sh runs apt-get install chromium)", err)
	}
	base, _ := startServer(t, nil)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelBrowser)
	// The first Do starts the browser and ties its life to browserCtx: it
	// must not carry a step's timeout.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	// do runs actions under a step's timeout; run does so for one with a value.
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, browserStep)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, browserStep)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	// waitFor polls a JavaScript predicate until it holds.
	waitFor := func(what, js string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, browserStep)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserStep))); err != nil {
			t.Fatalf("wait until %s: %v (location %s)", what, err, eval("location", "location.href"))
		}
	}
	const (
		currentPage = `(document.querySelector('[data-testid="catalog-fragment"] [data-testid="page-link"][aria-current="page"]') || {}).textContent`
		firstCard   = `(document.querySelector('[data-testid="catalog-fragment"] [data-testid="card"] .card-title') || {}).textContent`
	)

	// Pagination swaps the catalog fragment alone and pushes the page's URL.
	do("open the catalog", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(base+"/anime"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="next-page-link"]`)))
	waitFor("htmx is loaded", `typeof htmx === "object"`)
	page1First := eval("first card of page 1", firstCard)
	if page1First != "Fullmetal Alchemist: Brotherhood" {
		t.Errorf("first card of page 1 = %q, want the most popular title", page1First)
	}
	do("set a marker and go to the next page",
		chromedp.Evaluate[chromedp.Void](`window.__marker = 1`),
		chromedp.Click(chromedp.CSS(`[data-testid="catalog-fragment"] [data-testid="next-page-link"]`)))
	waitFor("page 2 is shown", currentPage+` === "2"`)
	if got := eval("marker", `String(window.__marker)`); got != "1" {
		t.Errorf("window.__marker = %s after the swap, want 1: the whole page was loaded, not the fragment", got)
	}
	if got := eval("location", `location.pathname + location.search`); got != "/anime?page=2" {
		t.Errorf("address bar shows %q, want /anime?page=2", got)
	}
	if got := eval("first card of page 2", firstCard); got == page1First || got == "" {
		t.Errorf("first card of page 2 = %q, want another title than page 1's", got)
	}

	do("go back", chromedp.NavigateBack())
	waitFor("page 1 is shown again", currentPage+` === "1" && location.search === ""`)
	if got := eval("first card after going back", firstCard); got != page1First {
		t.Errorf("first card after going back = %q, want %q", got, page1First)
	}

	// Live search from the header's box.
	do("type in the search box",
		chromedp.Click(chromedp.CSS(`[data-testid="search-input"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="search-input"]`), "fullmetal"))
	waitFor("live results appear", `document.querySelectorAll('[data-testid="live-results"] a').length > 0`)
	results := eval("live results", `document.querySelector('[data-testid="live-results"]').innerText`)
	if !strings.Contains(results, "Fullmetal Alchemist: Brotherhood") || !strings.Contains(results, "Fullmetal Alchemist") {
		t.Errorf("live results = %q, want both Fullmetal Alchemist titles", results)
	}
	if got := eval("location after searching", `location.pathname + location.search`); got != "/anime" {
		t.Errorf("live search changed the address to %q, want /anime still", got)
	}

	// Screenshots, to be looked at by a person.
	dir := os.Getenv("ANIGO_SCREENSHOTS")
	if dir == "" {
		var err error
		// Not t.TempDir: the files must outlive the test to be looked at.
		if dir, err = os.MkdirTemp("", "anigo-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct {
		name          string
		path          string
		width, height int64
		mobile        bool
	}{
		{"home-desktop", "/", 1440, 1000, false},
		{"catalog-desktop", "/anime", 1440, 1000, false},
		{"home-phone", "/", 390, 844, true},
		{"catalog-phone", "/anime", 390, 844, true},
	} {
		opts := []chromedp.EmulateViewportOption{}
		if shot.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		do("open "+shot.path+" for "+shot.name,
			chromedp.EmulateViewport(shot.width, shot.height, opts...),
			chromedp.Navigate(base+shot.path),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="card"]`)))
		ctx, cancel := context.WithTimeout(browserCtx, browserStep)
		buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			t.Fatalf("screenshot %s: %v", shot.name, err)
		}
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			t.Fatalf("screenshot %s is not a PNG: %v", shot.name, err)
		}
		if b := img.Bounds(); int64(b.Dx()) != shot.width || int64(b.Dy()) != shot.height {
			t.Errorf("screenshot %s is %dx%d, want %dx%d", shot.name, b.Dx(), b.Dy(), shot.width, shot.height)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", shot.name, shot.width, shot.height))
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	}
}
