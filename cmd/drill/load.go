package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anigo/anigo/loadtest"
)

// observer is a RoundTripper that notes every answer's target, time,
// status, Retry-After and X-Cache: loadtest's events do not say which
// URL was asked nor whether a 503 said when to come back.
type observer struct {
	next    http.RoundTripper
	start   time.Time
	targets map[string]int // URL (with an htmx mark) -> target index

	mu        sync.Mutex
	responses []response
}

func newObserver(next http.RoundTripper, targets []loadtest.Target) *observer {
	o := &observer{next: next, targets: map[string]int{}}
	for i, t := range targets {
		o.targets[targetKey(t.URL, t.Header.Get("HX-Request"))] = i
	}
	return o
}

func targetKey(url, hx string) string { return url + " hx=" + hx }

// begin starts the clock of At and forgets earlier responses.
func (o *observer) begin(start time.Time) {
	o.mu.Lock()
	o.start, o.responses = start, nil
	o.mu.Unlock()
}

func (o *observer) roundTrip(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	i, ok := o.targets[targetKey(req.URL.String(), req.Header.Get("HX-Request"))]
	if !ok {
		i = -1
	}
	o.mu.Lock()
	o.responses = append(o.responses, response{
		Target: i, At: time.Since(o.start), Status: resp.StatusCode,
		RetryAfter: resp.Header.Get("Retry-After") != "", XCache: resp.Header.Get("X-Cache"),
	})
	o.mu.Unlock()
	return resp, nil
}

// observerFor records into obs the answers of another client's transport.
type observerFor struct {
	obs  *observer
	next http.RoundTripper
}

func (o *observerFor) RoundTrip(req *http.Request) (*http.Response, error) {
	return o.obs.roundTrip(o.next, req)
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	return o.roundTrip(o.next, req)
}

func (o *observer) taken() []response {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.responses
}

// detailLink matches a title's canonical link in a listing.
var detailLink = regexp.MustCompile(`href="(/anime/[0-9]+-[^"?#]*)"`)

// detailPaths reads canonical detail paths off the ranking pages, so that
// the load asks for real titles by their canonical address (any other
// spelling is a redirect, not a page).
func detailPaths(ctx context.Context, base string, want int) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for page := 1; page <= 5 && len(out) < want; page++ {
		body, err := get(ctx, fmt.Sprintf("%s/top?page=%d", base, page))
		if err != nil {
			return nil, err
		}
		for _, m := range detailLink.FindAllStringSubmatch(body, -1) {
			if !seen[m[1]] && len(out) < want {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no title links on %s/top: is the catalog imported?", base)
	}
	return out, nil
}

// targets is the load's mix: the home page, catalog pages 1..50 and a few
// sorts, ranking pages, detail pages, and the htmx fragment variants.
func targets(base string, details []string) []loadtest.Target {
	var out []loadtest.Target
	add := func(path string, htmx bool) {
		t := loadtest.Target{URL: base + path}
		if htmx {
			t.Header = http.Header{"Hx-Request": {"true"}}
		}
		out = append(out, t)
	}
	add("/", false)
	for p := 1; p <= 50; p++ {
		add("/anime?page="+strconv.Itoa(p), false)
	}
	for _, sort := range []string{"score", "title", "episodes"} {
		for p := 1; p <= 5; p++ {
			add(fmt.Sprintf("/anime?sort=%s&page=%d", sort, p), false)
		}
	}
	for p := 1; p <= 10; p++ {
		add("/anime?page="+strconv.Itoa(p), true)
	}
	add("/anime?type=TV", false)
	add("/anime?type=Movie&sort=score", true)
	for p := 1; p <= 10; p++ {
		add("/top?page="+strconv.Itoa(p), false)
	}
	for p := 1; p <= 5; p++ {
		add("/top?page="+strconv.Itoa(p), true)
	}
	add("/top?type=TV", false)
	for i, d := range details {
		add(d, i%4 == 3)
	}
	return out
}

// coldTargets are pages the main mix never asks for, n of them: catalog
// pages deep in three sorts and their htmx variants. The drill asks for
// each once, during a fault, to see what an uncached page gets then.
func coldTargets(base string, n int) []loadtest.Target {
	var out []loadtest.Target
	sorts := []string{"title", "episodes", "score"}
	for i := 0; len(out) < n; i++ {
		// Pages 60 to 400: past the main mix's, within every sort's end.
		t := loadtest.Target{URL: fmt.Sprintf("%s/anime?sort=%s&page=%d", base, sorts[i%len(sorts)], 60+i/len(sorts)%340)}
		if i%5 == 4 {
			t.Header = http.Header{"Hx-Request": {"true"}}
		}
		out = append(out, t)
	}
	return out
}

// get fetches url and returns its body; a status other than 200 is an error.
func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// scrapeGauges reads goroutines, RSS and open file descriptors off the
// server's /metrics.
func scrapeGauges(ctx context.Context, base string) (gauges, error) {
	body, err := get(ctx, base+"/metrics")
	if err != nil {
		return gauges{}, err
	}
	return parseGauges(body)
}

// parseGauges reads goroutines and RSS from a Prometheus text exposition.
// It returns an error when go_goroutines is missing, since then the leak
// check could not mean anything.
func parseGauges(body string) (gauges, error) {
	var g gauges
	found := false
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			g.Goroutines, found = v, true
		case "process_resident_memory_bytes":
			g.RSS = v
		}
	}
	if !found {
		return g, fmt.Errorf("/metrics has no go_goroutines")
	}
	return g, nil
}
