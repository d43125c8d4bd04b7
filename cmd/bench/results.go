package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/anigo/anigo/loadtest"
)

// results is everything a run measured; it is written as JSON.
type results struct {
	Date     time.Time                `json:"date"`
	Machine  machine                  `json:"machine"`
	Settings map[string]any           `json:"settings"`
	Bodies   map[string]int           `json:"body_bytes"` // page → bytes of its response
	Cases    []*caseResult            `json:"cases"`
	Sweep    map[string][]*caseResult `json:"sweep"` // server → concurrency 1..4 on chartPage
	Killed   *drillResult             `json:"redis_killed,omitempty"`
	Frozen   *drillResult             `json:"redis_frozen,omitempty"`
	Stampede *stampedeResult          `json:"stampede,omitempty"`
	Scale    *scaleResult             `json:"scale,omitempty"`
	Goals    []goal                   `json:"goals"`
}

type machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Go     string `json:"go"`
	Pinned bool   `json:"pinned"` // servers on core 0, load on core 1
}

func newResults(s settings, pinned bool) *results {
	return &results{
		Date:    time.Now().UTC(),
		Machine: machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Go: runtime.Version(), Pinned: pinned},
		Settings: map[string]any{"quick": s.quick, "duration": s.duration.String(), "rounds": s.rounds, "warmup": s.warmup.String(),
			"concurrency": s.concurrency, "dataset": s.dataset},
		Sweep: map[string][]*caseResult{},
	}
}

func cpuModel() string {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// caseResult is one load case.
type caseResult struct {
	Server      string           `json:"server"` // upper, peer, anigo-hit, anigo-live, anigo-1m
	Page        page             `json:"page"`
	Round       int              `json:"round,omitempty"` // of a comparison measured in rounds; 0 outside one
	Concurrency int              `json:"concurrency"`
	Requests    int64            `json:"requests"`
	RPS         float64          `json:"rps"`
	P50         time.Duration    `json:"p50_ns"`
	P99         time.Duration    `json:"p99_ns"`
	Max         time.Duration    `json:"max_ns"`
	ErrorCount  int64            `json:"error_count"`
	Errors      map[string]int64 `json:"errors"`
	XCache      map[string]int64 `json:"x_cache"`
	PeakRSS     int64            `json:"peak_rss_bytes"`
	Latency     loadtest.Stats   `json:"latency"`
}

func newCase(server string, p page, concurrency int, r *loadtest.Result, rss int64) *caseResult {
	return &caseResult{
		Server: server, Page: p, Concurrency: concurrency, Requests: r.Requests, RPS: r.RPS(),
		P50: r.Latency.Quantile(0.5), P99: r.Latency.Quantile(0.99), Max: r.Latency.Max(),
		ErrorCount: r.ErrorCount(), Errors: r.Errors, XCache: r.HeaderValues, PeakRSS: rss, Latency: r.Latency.Stats(),
	}
}

// find returns the case of server on p: of a case measured in rounds, the
// round of median rps (the lower middle one of an even number).
func (r *results) find(server string, p page) *caseResult {
	cs := r.rounds(server, p)
	if len(cs) == 0 {
		return nil
	}
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b *caseResult) int { return cmp.Compare(a.RPS, b.RPS) })
	return cs[(len(cs)-1)/2]
}

// rounds returns every case of server on p, in the order measured.
func (r *results) rounds(server string, p page) []*caseResult {
	var cs []*caseResult
	for _, c := range r.Cases {
		if c.Server == server && c.Page == p {
			cs = append(cs, c)
		}
	}
	return cs
}

// pairedRatio compares server a with server b on page p round by round,
// each round's rps against the same round's, and returns the median of
// those ratios and their range. A ratio of measurements taken seconds
// apart cancels the drift of a shared machine that a ratio of two medians
// would keep.
func (r *results) pairedRatio(a, b string, p page) (median, lo, hi float64, ok bool) {
	byRound := map[int]float64{}
	for _, c := range r.rounds(b, p) {
		byRound[c.Round] = c.RPS
	}
	var vs []float64
	for _, c := range r.rounds(a, p) {
		if o := byRound[c.Round]; o > 0 {
			vs = append(vs, c.RPS/o)
		}
	}
	if len(vs) == 0 {
		return 0, 0, 0, false
	}
	slices.Sort(vs)
	n := len(vs)
	median = vs[n/2]
	if n%2 == 0 {
		median = (vs[n/2-1] + vs[n/2]) / 2
	}
	return median, vs[0], vs[n-1], true
}

// window summarises the requests of a drill that began in one phase.
type window struct {
	Requests int64         `json:"requests"`
	RPS      float64       `json:"rps"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
	Errors   int64         `json:"errors"`
}

// drillResult is a Redis fault under load. Durations that never happened
// (no BYPASS, never resumed) are -1.
type drillResult struct {
	Kind             string           `json:"kind"`
	Before           window           `json:"before"`
	During           window           `json:"during"`
	After            window           `json:"after"`
	BreakerOpenAfter time.Duration    `json:"breaker_open_after_ns"` // fault → first BYPASS answered
	SlowBeforeOpen   int64            `json:"slow_before_open"`      // requests over 100 ms in flight between fault and open
	MaxBeforeOpen    time.Duration    `json:"max_before_open_ns"`
	MaxAfterOpen     time.Duration    `json:"max_after_open_ns"` // of requests begun once the breaker was open
	ResumeCaching    time.Duration    `json:"resume_caching_ns"` // heal → first answer without BYPASS
	ResumeHit        time.Duration    `json:"resume_hit_ns"`     // heal → first answer all HIT
	Errors           int64            `json:"errors"`
	XCache           map[string]int64 `json:"x_cache"`
	PeakRSS          int64            `json:"peak_rss_bytes"`
}

func analyseDrill(kind string, r *loadtest.Result, faultAt, healAt time.Time) *drillResult {
	ev := r.Events
	slices.SortFunc(ev, func(a, b loadtest.Event) int { return int(a.Start - b.Start) })
	d := &drillResult{Kind: kind, BreakerOpenAfter: -1, ResumeCaching: -1, ResumeHit: -1, XCache: r.HeaderValues}
	if len(ev) == 0 {
		return d
	}
	fault, heal := faultAt.UnixNano(), healAt.UnixNano()
	end := ev[len(ev)-1].Start
	d.Before = summarise(ev, ev[0].Start, fault)
	d.During = summarise(ev, fault, heal)
	d.After = summarise(ev, heal, end+1)

	openAt := int64(-1)
	for _, e := range ev {
		if e.Err != "" {
			d.Errors++
		}
		if stop := e.Start + int64(e.Latency); strings.Contains(e.Header, "BYPASS") && stop >= fault && (openAt < 0 || stop < openAt) {
			openAt = stop
		}
	}
	for _, e := range ev {
		stop := e.Start + int64(e.Latency)
		if openAt >= 0 && e.Start >= openAt {
			d.MaxAfterOpen = max(d.MaxAfterOpen, e.Latency)
		} else if stop >= fault {
			d.MaxBeforeOpen = max(d.MaxBeforeOpen, e.Latency)
			if e.Latency > 100*time.Millisecond {
				d.SlowBeforeOpen++
			}
		}
		if e.Start >= heal && e.Err == "" {
			if d.ResumeCaching < 0 && !strings.Contains(e.Header, "BYPASS") {
				d.ResumeCaching = time.Duration(stop - heal)
			}
			if d.ResumeHit < 0 && allHit(e.Header) {
				d.ResumeHit = time.Duration(stop - heal)
			}
		}
	}
	if openAt >= 0 {
		d.BreakerOpenAfter = time.Duration(openAt - fault)
	}
	return d
}

// allHit reports whether an X-Cache header says every fragment came from
// the cache.
func allHit(x string) bool {
	return strings.Contains(x, "HIT") && !strings.Contains(x, "MISS") && !strings.Contains(x, "BYPASS")
}

func summarise(ev []loadtest.Event, from, to int64) window {
	var h loadtest.Histogram
	var w window
	for _, e := range ev {
		if e.Start >= from && e.Start < to {
			h.Record(e.Latency)
			if e.Err != "" {
				w.Errors++
			}
		}
	}
	w.Requests = int64(h.Count())
	if to > from {
		w.RPS = float64(w.Requests) / time.Duration(to-from).Seconds()
	}
	w.P50, w.P99, w.Max = h.Quantile(0.5), h.Quantile(0.99), h.Max()
	return w
}

// stampedeResult is the cold-key stampede.
type stampedeResult struct {
	Page         string           `json:"page"`
	Requests     int64            `json:"requests"`
	Errors       int64            `json:"errors"`
	Renders      map[string]int64 `json:"renders"`      // by fragment, from /metrics
	Transactions int64            `json:"transactions"` // pg_stat_database delta, background work included
	XCache       map[string]int64 `json:"x_cache"`
	P50          time.Duration    `json:"p50_ns"`
	P99          time.Duration    `json:"p99_ns"`
	Max          time.Duration    `json:"max_ns"`
	Note         string           `json:"note,omitempty"`
}

// scaleResult is the 1,000,000-title catalog rendered live.
type scaleResult struct {
	Titles     int           `json:"titles"`
	ImportTime time.Duration `json:"import_ns"`
	Cases      []*caseResult `json:"cases"`
}

func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

// ms prints a duration in milliseconds with sensible precision; -1 (never) as "never".
func ms(d time.Duration) string {
	switch {
	case d < 0:
		return "never"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	}
}

func mb(b int64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0fMB", float64(b)/(1<<20))
}

// topValues prints a header tally, most frequent first, at most three.
func topValues(m map[string]int64) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return int(m[b] - m[a]) })
	var parts []string
	for _, k := range keys[:min(3, len(keys))] {
		parts = append(parts, fmt.Sprintf("%q×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
