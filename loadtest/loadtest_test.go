package loadtest

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const body = "<p>hello</p>"

// server answers body with X-Cache: HIT and counts what it served.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Cache", "HIT")
	w.Write([]byte(body))
}

func TestRunCountsEveryRequest(t *testing.T) {
	s, hits := server(t, ok)
	res, err := Run(context.Background(), Options{
		Targets:     []Target{{URL: s.URL + "/a"}, {URL: s.URL + "/b", Header: http.Header{"Hx-Request": {"true"}}}},
		Concurrency: 4, Requests: 101, CountHeader: "X-Cache", Trace: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 101 || hits.Load() != 101 {
		t.Errorf("requests = %d, server saw %d; want 101 and 101", res.Requests, hits.Load())
	}
	if got := res.ErrorCount(); got != 0 {
		t.Errorf("errors = %v, want none", res.Errors)
	}
	if res.Bytes != 101*int64(len(body)) {
		t.Errorf("bytes = %d, want %d", res.Bytes, 101*len(body))
	}
	if res.HeaderValues["HIT"] != 101 || len(res.HeaderValues) != 1 {
		t.Errorf("header values = %v, want HIT: 101", res.HeaderValues)
	}
	if res.Latency.Count() != 101 {
		t.Errorf("latency count = %d, want 101", res.Latency.Count())
	}
	if len(res.Events) != 101 {
		t.Errorf("events = %d, want 101", len(res.Events))
	}
	var timeline int64
	for _, s := range res.Timeline {
		timeline += s.Requests
	}
	if timeline != 101 {
		t.Errorf("timeline requests = %d, want 101", timeline)
	}
	if res.RPS() <= 0 || res.Unfinished != 0 {
		t.Errorf("rps = %v, unfinished = %d; want > 0 and 0", res.RPS(), res.Unfinished)
	}
}

func TestRunSendsTargetsInTurnWithTheirHeaders(t *testing.T) {
	var withHX, without atomic.Int64
	s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("HX-Request") == "true" && r.URL.Path == "/b" {
			withHX.Add(1)
		} else if r.Header.Get("HX-Request") == "" && r.URL.Path == "/a" {
			without.Add(1)
		}
		ok(w, r)
	})
	_, err := Run(context.Background(), Options{
		Targets:     []Target{{URL: s.URL + "/a"}, {URL: s.URL + "/b", Header: http.Header{"Hx-Request": {"true"}}}},
		Concurrency: 1, Requests: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if withHX.Load() != 5 || without.Load() != 5 {
		t.Errorf("/b with HX-Request = %d, /a without = %d; want 5 and 5", withHX.Load(), without.Load())
	}
}

// TestRunSpreadsWorkersOverTargets: each worker starts at its own part of
// the list, so a page is not asked for by every worker at once.
func TestRunSpreadsWorkersOverTargets(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	all := make(chan struct{}) // closed when four requests are in: one per worker
	var once sync.Once
	s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		if len(seen) == 4 {
			once.Do(func() { close(all) })
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		ok(w, r)
	})
	var targets []Target
	for _, p := range []string{"/0", "/1", "/2", "/3", "/4", "/5", "/6", "/7"} {
		targets = append(targets, Target{URL: s.URL + p})
	}
	// Four workers, one request each: with the list spread over them they
	// ask for /0, /2, /4 and /6; starting side by side they would ask for
	// /0 to /3.
	if _, err := Run(context.Background(), Options{Targets: targets, Concurrency: 4, Requests: 4}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"/0": 1, "/2": 1, "/4": 1, "/6": 1}
	if !maps.Equal(seen, want) {
		t.Errorf("asked for %v, want %v", seen, want)
	}
}

func TestRunStopsOnTime(t *testing.T) {
	s, _ := server(t, ok)
	const d = 300 * time.Millisecond
	t0 := time.Now()
	res, err := Run(context.Background(), Options{Targets: []Target{{URL: s.URL}}, Concurrency: 2, Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	if took < d || took > d+time.Second {
		t.Errorf("run took %v, want %v to %v", took, d, d+time.Second)
	}
	if res.Requests == 0 || res.ErrorCount() != 0 {
		t.Errorf("requests = %d, errors = %v; want some and none", res.Requests, res.Errors)
	}
}

func TestRunCutsOffSlowRequestsAtTheEnd(t *testing.T) {
	release := make(chan struct{})
	s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	t0 := time.Now()
	res, err := Run(context.Background(), Options{Targets: []Target{{URL: s.URL}}, Concurrency: 3, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("run took %v with a server that never answers, want about 200ms", took)
	}
	if res.Requests != 0 || res.Unfinished != 3 || res.ErrorCount() != 0 {
		t.Errorf("requests = %d, unfinished = %d, errors = %v; want 0, 3, none", res.Requests, res.Unfinished, res.Errors)
	}
}

func TestRunStopsWhenCtxEnds(t *testing.T) {
	s, _ := server(t, ok)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if _, err := Run(ctx, Options{Targets: []Target{{URL: s.URL}}, Concurrency: 2, Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("run took %v after its ctx ended at 100ms", took)
	}
}

func TestRunRecordsErrorsByKind(t *testing.T) {
	var n atomic.Int64
	half, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ok(w, r)
	})
	slow, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		want    map[string]int64
	}{
		{"status", half.URL, 0, map[string]int64{"status 503": 10}},
		{"refused", closed, 0, map[string]int64{"refused": 20}},
		{"timeout", slow.URL, 50 * time.Millisecond, map[string]int64{"timeout": 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Targets: []Target{{URL: tt.url}}, Concurrency: 4, Requests: 20, Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 20 {
				t.Errorf("requests = %d, want 20", res.Requests)
			}
			if len(res.Errors) != len(tt.want) {
				t.Errorf("errors = %v, want %v", res.Errors, tt.want)
			}
			for k, v := range tt.want {
				if res.Errors[k] != v {
					t.Errorf("errors[%q] = %d, want %d (all: %v)", k, res.Errors[k], v, res.Errors)
				}
			}
		})
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no targets", Options{Concurrency: 1, Requests: 1}, "no targets"},
		{"no workers", Options{Targets: []Target{{URL: "http://x"}}, Requests: 1}, "concurrency 0"},
		{"unbounded", Options{Targets: []Target{{URL: "http://x"}}, Concurrency: 1}, "unbounded"},
		{"no host", Options{Targets: []Target{{URL: "/relative"}}, Concurrency: 1, Requests: 1}, "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
