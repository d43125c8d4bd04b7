package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anigo/anigo/loadtest"
)

func TestAnalyseDrill(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	ms := time.Millisecond
	// Healthy for 1 s, Redis frozen at 1 s: one request waits 100 ms for its
	// timeout, the breaker opens, everything BYPASSes fast; thawed at 2 s,
	// the first answer after it is a HIT 300 ms later.
	ev := []loadtest.Event{
		{Start: at(0), Latency: ms, Header: "HIT"},
		{Start: at(500 * ms), Latency: ms, Header: "HIT"},
		{Start: at(1000 * ms), Latency: 150 * ms, Header: "BYPASS"},
		{Start: at(1200 * ms), Latency: 20 * ms, Header: "BYPASS"},
		{Start: at(1500 * ms), Latency: 5 * ms, Header: "BYPASS", Err: "status 500"},
		{Start: at(2100 * ms), Latency: 3 * ms, Header: "BYPASS"},
		{Start: at(2300 * ms), Latency: ms, Header: "HIT"},
	}
	d := analyseDrill("frozen", &loadtest.Result{Events: ev}, t0.Add(time.Second), t0.Add(2*time.Second))

	if d.BreakerOpenAfter != 150*ms {
		t.Errorf("breaker open after %v, want 150ms", d.BreakerOpenAfter)
	}
	if d.MaxAfterOpen != 20*ms || d.MaxBeforeOpen != 150*ms || d.SlowBeforeOpen != 1 {
		t.Errorf("max after open %v, max before %v, slow before %d; want 20ms, 150ms, 1", d.MaxAfterOpen, d.MaxBeforeOpen, d.SlowBeforeOpen)
	}
	if d.ResumeCaching != 301*ms || d.ResumeHit != 301*ms {
		t.Errorf("resumed caching after %v, HIT after %v; want 301ms and 301ms", d.ResumeCaching, d.ResumeHit)
	}
	if d.Errors != 1 || d.During.Errors != 1 {
		t.Errorf("errors %d, during %d; want 1 and 1", d.Errors, d.During.Errors)
	}
	if d.Before.Requests != 2 || d.During.Requests != 3 || d.After.Requests != 2 {
		t.Errorf("requests before/during/after = %d/%d/%d, want 2/3/2", d.Before.Requests, d.During.Requests, d.After.Requests)
	}
	if d.During.RPS != 3 || d.During.Max != 150*ms {
		t.Errorf("during: %v rps, max %v; want 3 and 150ms", d.During.RPS, d.During.Max)
	}
}

func TestAllHit(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"HIT", true},
		{"popular=HIT, ranking=STALE, count=HIT", true},
		{"popular=HIT, ranking=MISS, count=HIT", false},
		{"BYPASS", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := allHit(tt.header); got != tt.want {
			t.Errorf("allHit(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestSyntheticCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "anime.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSyntheticCSV(f, 1000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("not valid CSV: %v", err)
	}
	if len(rows) != 1001 || strings.Join(rows[0], ",") != "anime_id,name,genre,type,episodes,rating,members" {
		t.Fatalf("%d rows, header %v; want 1001 with the Kaggle header", len(rows), rows[0])
	}
	ids := map[string]bool{}
	for _, r := range rows[1:] {
		if ids[r[0]] {
			t.Errorf("id %s repeated", r[0])
		}
		ids[r[0]] = true
		if strings.Contains(r[2], "Hentai") {
			t.Errorf("row %s is adult: %v", r[0], r)
		}
	}
}

func TestChartIsSVGWithBothSeries(t *testing.T) {
	r := &results{Sweep: map[string][]*caseResult{}}
	for c := 1; c <= 4; c++ {
		r.Sweep["anigo-hit"] = append(r.Sweep["anigo-hit"], &caseResult{Concurrency: c, P99: time.Duration(c) * time.Millisecond})
		r.Sweep["upper"] = append(r.Sweep["upper"], &caseResult{Concurrency: c, P99: time.Duration(c) * 500 * time.Microsecond})
	}
	svg := r.chart()
	if !strings.HasPrefix(svg, "<svg") || strings.Count(svg, "<polyline") != 2 || strings.Count(svg, "<circle") != 8 {
		t.Errorf("chart has %d lines and %d points, want 2 and 8:\n%s", strings.Count(svg, "<polyline"), strings.Count(svg, "<circle"), svg)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0, 1}, {0.7, 1}, {1.3, 2}, {3, 5}, {7.5, 10}, {42, 50}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRatiosAreMediansOfPairedRounds(t *testing.T) {
	p := page{Path: "/top"}
	r := &results{}
	// Round 2 ran while the machine was busy: both servers slowed, so the
	// paired ratio of that round is as good as the others'.
	for i, rps := range [][2]float64{{900, 1000}, {450, 500}, {700, 1000}} {
		r.Cases = append(r.Cases,
			&caseResult{Server: "anigo-hit", Page: p, Round: i + 1, RPS: rps[0]},
			&caseResult{Server: "upper", Page: p, Round: i + 1, RPS: rps[1]})
	}
	m, lo, hi, ok := r.pairedRatio("anigo-hit", "upper", p)
	if !ok || m != 0.9 || lo != 0.7 || hi != 0.9 {
		t.Errorf("pairedRatio = %v (%v–%v) %v, want 0.9 (0.7–0.9) true", m, lo, hi, ok)
	}
	if c := r.find("anigo-hit", p); c == nil || c.RPS != 700 {
		t.Errorf("find returned %+v, want the median round (700 rps)", c)
	}
	if _, _, _, ok := r.pairedRatio("anigo-hit", "peer", p); ok {
		t.Error("pairedRatio with a server never measured reports ok")
	}
}

func TestRotate(t *testing.T) {
	s := []string{"a", "b", "c", "d"}
	for n, want := range []string{"abcd", "bcda", "cdab", "dabc", "abcd"} {
		if got := strings.Join(rotate(s, n), ""); got != want {
			t.Errorf("rotate(%v, %d) = %s, want %s", s, n, got, want)
		}
	}
	if strings.Join(s, "") != "abcd" {
		t.Errorf("rotate changed its input: %v", s)
	}
}
