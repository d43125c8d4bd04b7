package main

import (
	"bufio"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anigo/anigo/loadtest"
)

func TestParseXCache(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []fragmentStatus
	}{
		{"lone status", "HIT", []fragmentStatus{{"", "HIT"}}},
		{"list", "popular=HIT, ranking=STALE, count=MISS",
			[]fragmentStatus{{"popular", "HIT"}, {"ranking", "STALE"}, {"count", "MISS"}}},
		{"lower case and spaces", " catalog = bypass ,count=hit", []fragmentStatus{{"catalog", "BYPASS"}, {"count", "HIT"}}},
		{"empty", "", nil},
		{"empty entries and status", "a=, ,b=HIT", []fragmentStatus{{"b", "HIT"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseXCache(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("parseXCache(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMixCountsFragments(t *testing.T) {
	var m mix
	m.addHeader("popular=HIT, ranking=STALE, count=HIT")
	m.addHeader("BYPASS")
	m.addHeader("MISS")
	m.addHeader("catalog=WEIRD")
	want := mix{Hit: 2, Stale: 1, Miss: 1, Bypass: 1, Other: 1}
	if m != want {
		t.Errorf("mix = %+v, want %+v", m, want)
	}
	if got, want := m.String(), "H2 S1 M1 B1 ?1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestBuildPhases(t *testing.T) {
	faults := []fault{
		{Name: "a", From: 10 * time.Second, To: 13 * time.Second},
		{Name: "b", From: 20 * time.Second, To: 25 * time.Second},
	}
	got, err := buildPhases(faults, 40*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []phase{
		{Name: "baseline", Kind: phaseBaseline, Fault: -1, From: 0, To: 10 * time.Second},
		{Name: "a", Kind: phaseFault, Fault: 0, From: 10 * time.Second, To: 13 * time.Second},
		{Name: "after a", Kind: phaseRecovery, Fault: 0, From: 13 * time.Second, To: 20 * time.Second},
		{Name: "b", Kind: phaseFault, Fault: 1, From: 20 * time.Second, To: 25 * time.Second},
		{Name: "after b", Kind: phaseRecovery, Fault: 1, From: 25 * time.Second, To: 40 * time.Second},
	}
	if !slices.Equal(got, want) {
		t.Errorf("buildPhases:\n got %+v\nwant %+v", got, want)
	}
}

func TestBuildPhasesRejectsOverlapAndOverrun(t *testing.T) {
	for name, faults := range map[string][]fault{
		"overlap":  {{Name: "a", From: 1 * time.Second, To: 5 * time.Second}, {Name: "b", From: 4 * time.Second, To: 6 * time.Second}},
		"backward": {{Name: "a", From: 5 * time.Second, To: 4 * time.Second}},
		"overrun":  {{Name: "a", From: 5 * time.Second, To: 50 * time.Second}},
	} {
		if _, err := buildPhases(faults, 40*time.Second); err == nil {
			t.Errorf("%s: buildPhases returned no error", name)
		}
	}
}

// at builds a sample ending at ms milliseconds.
func at(ms int, status int, xcache string) sample {
	s := sample{End: time.Duration(ms) * time.Millisecond, Latency: time.Millisecond, Status: status, XCache: xcache}
	if status >= 400 {
		s.Err = "status " + strconv.Itoa(status)
	}
	return s
}

func TestRecoveryAfter(t *testing.T) {
	// Fault ends at 1000 ms. Errors until 1250, BYPASS until 1400, the
	// first HIT at 1600: the first window with neither errors nor BYPASS,
	// and with a HIT, starts at 1500 (it holds 1600): a window may start
	// before the HIT it contains.
	var samples []sample
	for ms := 1000; ms < 4000; ms += 50 {
		switch {
		case ms <= 1250:
			samples = append(samples, at(ms, 503, ""))
		case ms <= 1400:
			samples = append(samples, at(ms, 200, "BYPASS"))
		case ms < 1600:
			samples = append(samples, at(ms, 200, "MISS"))
		default:
			samples = append(samples, at(ms, 200, "popular=HIT, count=STALE"))
		}
	}
	got := recoveryAfter(samples, time.Second, 4*time.Second)
	want := recovery{Recovered: true, After: 500 * time.Millisecond, LastError: 250 * time.Millisecond, LastBypass: 400 * time.Millisecond}
	if got != want {
		t.Errorf("recoveryAfter = %+v, want %+v", got, want)
	}
}

func TestRecoveryAfterNever(t *testing.T) {
	tests := []struct {
		name    string
		samples []sample
	}{
		{"errors to the end", []sample{at(1000, 503, ""), at(1200, 200, "HIT"), at(1400, 503, ""), at(1600, 200, "HIT"),
			at(1800, 500, ""), at(2000, 200, "HIT"), at(2200, 503, ""), at(2400, 200, "HIT"), at(2600, 503, ""), at(2800, 200, "HIT"), at(2950, 503, "")}},
		{"no HIT", []sample{at(1100, 200, "MISS"), at(1500, 200, "BYPASS"), at(2400, 200, "STALE")}},
		{"near-cache HITs while Redis is still bypassed", []sample{at(1100, 200, "popular=HIT, count=BYPASS"),
			at(1500, 200, "HIT"), at(1900, 200, "BYPASS"), at(2300, 200, "HIT"), at(2700, 200, "BYPASS")}},
		{"no requests", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := recoveryAfter(tt.samples, time.Second, 3*time.Second)
			if got.Recovered {
				t.Errorf("recoveryAfter = %+v, want not recovered", got)
			}
		})
	}
}

func TestWindowAndTally(t *testing.T) {
	samples := []sample{
		at(100, 200, "HIT"), at(900, 200, "popular=STALE, count=HIT"), at(1000, 503, ""),
		{End: 1500 * time.Millisecond, Latency: 5 * time.Second, Err: "timeout"}, at(2000, 200, "MISS"),
	}
	w := window(samples, 900*time.Millisecond, 2000*time.Millisecond)
	if len(w) != 3 || w[0].End != 900*time.Millisecond || w[2].End != 1500*time.Millisecond {
		t.Fatalf("window [900ms, 2s) = %+v, want the samples at 900, 1000 and 1500 ms", w)
	}
	got := tallyOf(w)
	if got.Requests != 3 || got.OK != 1 {
		t.Errorf("requests, ok = %d, %d, want 3, 1", got.Requests, got.OK)
	}
	if want := (map[string]int64{"503": 1, "timeout": 1}); errorsString(got.Errors) != errorsString(want) {
		t.Errorf("errors = %v, want %v", got.Errors, want)
	}
	if want := (mix{Hit: 1, Stale: 1}); got.Mix != want {
		t.Errorf("mix = %+v, want %+v", got.Mix, want)
	}
	if got.Max != 5*time.Second {
		t.Errorf("max = %v, want 5s", got.Max)
	}
	if n := got.serverErrors(true); n != 1 {
		t.Errorf("serverErrors(allow 503) = %d, want 1 (the timeout)", n)
	}
	if n := got.serverErrors(false); n != 2 {
		t.Errorf("serverErrors = %d, want 2", n)
	}
}

func TestSamplesOfMergesAndSortsByEnd(t *testing.T) {
	start := time.Unix(1000, 0)
	res := &loadtest.Result{Start: start, Events: []loadtest.Event{
		{Start: start.Add(time.Second).UnixNano(), Latency: 500 * time.Millisecond, Status: 200, Header: "HIT"},
		{Start: start.Add(200 * time.Millisecond).UnixNano(), Latency: 100 * time.Millisecond, Status: 503, Err: "status 503"},
	}}
	// A second run, started later: its events are timed from start too.
	cold := &loadtest.Result{Start: start.Add(700 * time.Millisecond), Events: []loadtest.Event{
		{Start: start.Add(800 * time.Millisecond).UnixNano(), Latency: 200 * time.Millisecond, Status: 200, Header: "BYPASS"},
	}}
	got := samplesOf(start, res, cold)
	want := []sample{
		{End: 300 * time.Millisecond, Latency: 100 * time.Millisecond, Status: 503, Err: "status 503"},
		{End: 1000 * time.Millisecond, Latency: 200 * time.Millisecond, Status: 200, XCache: "BYPASS"},
		{End: 1500 * time.Millisecond, Latency: 500 * time.Millisecond, Status: 200, XCache: "HIT"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("samplesOf = %+v, want %+v", got, want)
	}
}

func TestOutageOf(t *testing.T) {
	faults := []fault{
		{Name: "redis kill", Kind: faultRedisKill, From: 2 * time.Second, To: 3 * time.Second},
		{Name: "pg", Kind: faultPostgres, From: 10 * time.Second, To: 15 * time.Second},
	}
	samples := []sample{
		at(11000, 200, "popular=STALE, count=HIT"), at(12000, 503, ""), at(13000, 200, "STALE"),
		at(16000, 503, ""), // after the outage: not counted
	}
	responses := []response{
		{Target: 0, At: 1 * time.Second, Status: 200, XCache: "HIT"},           // before the Redis kill: lost with it
		{Target: 1, At: 5 * time.Second, Status: 200, XCache: "MISS"},          // cached
		{Target: 2, At: 6 * time.Second, Status: 200, XCache: "BYPASS"},        // not cached
		{Target: 3, At: 7 * time.Second, Status: 200, XCache: "a=HIT, b=MISS"}, // cached, never asked again
		{Target: 1, At: 11 * time.Second, Status: 200, XCache: "STALE"},
		{Target: 0, At: 12 * time.Second, Status: 503, RetryAfter: true},
		{Target: 2, At: 12 * time.Second, Status: 503, RetryAfter: true},
		{Target: 1, At: 13 * time.Second, Status: 503, RetryAfter: false}, // a cached page refused, and no Retry-After
		{Target: 3, At: 14 * time.Second, Status: 500},                    // a cached page failed
		{Target: 10, At: 3 * time.Second, Status: 200, XCache: "BYPASS"},  // cold, during the Redis kill
		{Target: 11, At: 14 * time.Second, Status: 503, RetryAfter: true}, // cold, refused properly
		{Target: 12, At: 14 * time.Second, Status: 500},                   // cold, refused badly
	}
	got := outageOf(samples, responses, faults, faults[1], 10)
	want := outage{Requests: 3, Served: 2, StaleFragments: 2, HitFragments: 1, Unavailable: 1,
		NoRetryAfter: 1, CachedRefused: 2, CachedPages: 2, CachedPagesSeen: 2, ColdAsked: 2, ColdRefused: 1}
	if errorsString(got.Errors) != "503:1" {
		t.Errorf("errors = %v, want 503:1", got.Errors)
	}
	got.Errors = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outageOf = %+v\n want %+v", got, want)
	}
}

func TestChecks(t *testing.T) {
	faults := []fault{
		{Name: "redis kill", Kind: faultRedisKill, From: 10 * time.Second, To: 13 * time.Second},
		{Name: "pg", Kind: faultPostgres, From: 20 * time.Second, To: 25 * time.Second},
	}
	phases, err := buildPhases(faults, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clean := func() tally { return tally{Requests: 10, OK: 10, Errors: map[string]int64{}} }
	good := func() verdict {
		return verdict{
			Phases: phases, Faults: faults,
			Tallies:    []tally{clean(), clean(), clean(), {Requests: 10, OK: 5, Errors: map[string]int64{"503": 5}}, clean()},
			Recoveries: []recovery{{Recovered: true, After: time.Second}, {Recovered: true, After: 200 * time.Millisecond}},
			Outage:     &outage{Served: 5, StaleFragments: 5, Unavailable: 5, ColdAsked: 5, ColdRefused: 5},
			Start:      gauges{Goroutines: 20, FD: fdCensus{FDs: 15, PostgresConns: 2, RedisConns: 1}},
			End:        gauges{Goroutines: 25, FD: fdCensus{FDs: 40, PostgresConns: 10, RedisConns: 20}}, Settled: true,
		}
	}
	passes := func(v verdict) []bool {
		var out []bool
		for _, c := range v.checks() {
			out = append(out, c.Pass)
		}
		return out
	}
	if got := passes(good()); !slices.Equal(got, []bool{true, true, true, true}) {
		t.Fatalf("checks of a good run = %v, want all four PASS: %+v", got, good().checks())
	}

	tests := []struct {
		name  string
		spoil func(*verdict)
		want  []bool
	}{
		{"500 during a Redis kill", func(v *verdict) { v.Tallies[1].Errors["500"] = 1 }, []bool{false, true, true, true}},
		{"timeout in the baseline", func(v *verdict) { v.Tallies[0].Errors["timeout"] = 1 }, []bool{false, true, true, true}},
		{"500 during the outage", func(v *verdict) { v.Tallies[3].Errors["500"] = 1 }, []bool{true, false, true, true}},
		{"nothing served during the outage", func(v *verdict) { v.Outage.Served, v.Outage.StaleFragments = 0, 0 }, []bool{true, false, true, true}},
		{"503 without Retry-After", func(v *verdict) { v.Outage.NoRetryAfter = 1 }, []bool{true, false, true, true}},
		{"cached page refused", func(v *verdict) { v.Outage.CachedRefused = 1 }, []bool{true, false, true, true}},
		{"cold page not refused", func(v *verdict) { v.Outage.ColdRefused = 4 }, []bool{true, false, true, true}},
		{"no cold page asked", func(v *verdict) { v.Outage.ColdAsked, v.Outage.ColdRefused = 0, 0 }, []bool{true, false, true, true}},
		{"slow recovery", func(v *verdict) { v.Recoveries[0].After = 2100 * time.Millisecond }, []bool{true, true, false, true}},
		{"no recovery", func(v *verdict) { v.Recoveries[1].Recovered = false }, []bool{true, true, false, true}},
		{"goroutine leak", func(v *verdict) { v.End.Goroutines = 31 }, []bool{true, true, true, false}},
		{"fd leak outside the pools", func(v *verdict) { v.End.FD.FDs = 48 }, []bool{true, true, true, false}},
		{"more PostgreSQL conns than the pool", func(v *verdict) { v.End.FD.PostgresConns, v.End.FD.FDs = 18, 48 }, []bool{true, true, true, false}},
		{"more Redis conns than the pool", func(v *verdict) { v.End.FD.RedisConns, v.End.FD.FDs = 65, 85 }, []bool{true, true, true, false}},
		{"never settled", func(v *verdict) { v.Settled = false }, []bool{true, true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.spoil(&v)
			if got := passes(v); !slices.Equal(got, tt.want) {
				t.Errorf("passes = %v, want %v: %+v", got, tt.want, v.checks())
			}
		})
	}
}

func TestTimelineMarksFaults(t *testing.T) {
	samples := []sample{at(100, 200, "HIT"), at(1200, 503, ""), at(1300, 200, "MISS"), at(2500, 200, "HIT")}
	faults := []fault{{Name: "pg", From: 1100 * time.Millisecond, To: 2100 * time.Millisecond}}
	got := timeline(samples, faults, 2600*time.Millisecond)
	if len(got) != 3 {
		t.Fatalf("len = %d, want 3 seconds", len(got))
	}
	for i, want := range []struct {
		requests int64
		errors   string
		markers  []string
	}{
		{1, "-", nil},
		{2, "503:1", []string{"▼ pg"}},
		{1, "-", []string{"▲ pg over"}},
	} {
		s := got[i]
		if s.At != i || s.Tally.Requests != want.requests || errorsString(s.Tally.Errors) != want.errors || !slices.Equal(s.Markers, want.markers) {
			t.Errorf("second %d = %d requests, errors %s, markers %q; want %d, %s, %q",
				s.At, s.Tally.Requests, errorsString(s.Tally.Errors), s.Markers, want.requests, want.errors, want.markers)
		}
	}
}

func TestParseGauges(t *testing.T) {
	body := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
go_gc_duration_seconds{quantile="0"} 1e-05
process_resident_memory_bytes 3.3554432e+07
process_open_fds 17
`
	got, err := parseGauges(body)
	if err != nil {
		t.Fatal(err)
	}
	if want := (gauges{Goroutines: 42, RSS: 32 << 20}); got != want {
		t.Errorf("parseGauges = %+v, want %+v", got, want)
	}
	if _, err := parseGauges("process_open_fds 3\n"); err == nil {
		t.Error("parseGauges without go_goroutines: no error")
	}
}

func TestPeerPorts(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0 100 0 0 10 0
   1: 0100007F:D431 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 201 1 0 20 4 30 10 -1
   2: 0100007F:D432 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 202 1 0 20 4 30 10 -1
   3: 0100007F:D433 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 203 1 0 20 4 30 10 -1
   4: 0100007F:D434 0100007F:18EB 06 00000000:00000000 00:00000000 00000000     0        0 204 1 0 20 4 30 10 -1
   5: 0100007F:D435 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0 20 4 30 10 -1
`
	// 0x1538 = 5432, 0x18EB = 6379. Line 0 listens, line 4 is in
	// TIME_WAIT, line 5 belongs to another process.
	inodes := map[string]bool{"100": true, "201": true, "202": true, "203": true, "204": true}
	got := peerPorts(bufio.NewScanner(strings.NewReader(table)), inodes)
	want := map[int]int{5432: 2, 6379: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("peerPorts = %v, want %v", got, want)
	}
}

func TestCensusOfThisProcess(t *testing.T) {
	// A census of the test itself: it holds at least stdin, stdout, stderr.
	c, err := census(os.Getpid(), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.FDs < 3 || c.PostgresConns != 0 || c.RedisConns != 0 {
		t.Errorf("census = %+v, want at least 3 fds and no pooled connections", c)
	}
}
