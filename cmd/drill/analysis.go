package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anigo/anigo/loadtest"
)

// The analysis is pure: it reads samples, fault windows and observations,
// and never talks to a process, so that its rules are unit-tested.

// Cache statuses of a fragment, as the X-Cache header spells them.
const (
	cacheHit    = "HIT"
	cacheStale  = "STALE"
	cacheMiss   = "MISS"
	cacheBypass = "BYPASS"
)

// fragmentStatus is one entry of an X-Cache header.
type fragmentStatus struct {
	Fragment string // "" when the header names a single fragment's status alone
	Status   string // HIT, STALE, MISS, BYPASS, or what the server sent
}

// parseXCache reads an X-Cache header: a lone status ("HIT") or a list
// ("popular=HIT, ranking=STALE, count=HIT"). Empty entries are skipped;
// statuses are upper-cased so that the counts do not split on spelling.
func parseXCache(h string) []fragmentStatus {
	var out []fragmentStatus
	for part := range strings.SplitSeq(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, status, ok := strings.Cut(part, "=")
		if !ok {
			name, status = "", part
		}
		status = strings.ToUpper(strings.TrimSpace(status))
		if status == "" {
			continue
		}
		out = append(out, fragmentStatus{Fragment: strings.TrimSpace(name), Status: status})
	}
	return out
}

// mix counts fragments by cache status.
type mix struct {
	Hit    int64 `json:"hit"`
	Stale  int64 `json:"stale"`
	Miss   int64 `json:"miss"`
	Bypass int64 `json:"bypass"`
	Other  int64 `json:"other,omitempty"`
}

func (m *mix) addHeader(h string) {
	for _, f := range parseXCache(h) {
		switch f.Status {
		case cacheHit:
			m.Hit++
		case cacheStale:
			m.Stale++
		case cacheMiss:
			m.Miss++
		case cacheBypass:
			m.Bypass++
		default:
			m.Other++
		}
	}
}

func (m *mix) add(o mix) {
	m.Hit += o.Hit
	m.Stale += o.Stale
	m.Miss += o.Miss
	m.Bypass += o.Bypass
	m.Other += o.Other
}

func (m mix) String() string {
	s := fmt.Sprintf("H%d S%d M%d B%d", m.Hit, m.Stale, m.Miss, m.Bypass)
	if m.Other > 0 {
		s += fmt.Sprintf(" ?%d", m.Other)
	}
	return s
}

// sample is one request of the run, timed from the run's start by when
// its answer ended (as loadtest's own timeline counts it).
type sample struct {
	End     time.Duration
	Latency time.Duration
	Status  int    // 0 when no response came
	Err     string // loadtest's error kind; "" for a success
	XCache  string
}

// failed reports whether the request counts as an error: a status of 400
// or more, or no response at all.
func (s sample) failed() bool { return s.Err != "" }

// serverError reports a 5xx or a request that got no answer: what must
// never happen while only Redis misbehaves.
func (s sample) serverError() bool { return s.Status >= 500 || (s.Status == 0 && s.Err != "") }

// errorKey names a failure for the counts: its status ("503") or, with no
// response, loadtest's kind ("timeout", "refused"...).
func (s sample) errorKey() string {
	if s.Status > 0 {
		return strconv.Itoa(s.Status)
	}
	return s.Err
}

// samplesOf turns traced loadtest results into samples timed from origin
// and sorted by end.
func samplesOf(origin time.Time, results ...*loadtest.Result) []sample {
	start := origin.UnixNano()
	var out []sample
	for _, res := range results {
		out = appendSamples(out, start, res)
	}
	slices.SortFunc(out, func(a, b sample) int { return int(a.End - b.End) })
	return out
}

func appendSamples(out []sample, start int64, res *loadtest.Result) []sample {
	for _, e := range res.Events {
		out = append(out, sample{
			End: time.Duration(e.Start-start) + e.Latency, Latency: e.Latency,
			Status: e.Status, Err: e.Err, XCache: e.Header,
		})
	}
	return out
}

// Kinds of fault.
const (
	faultRedisKill   = "redis-kill"
	faultRedisFreeze = "redis-freeze"
	faultPostgres    = "postgres-restart"
)

// fault is one fault as it happened, timed from the run's start: From when
// it was injected, To when the service was back (Redis answering PING,
// Redis thawed, pg_ctl start returned).
type fault struct {
	Name string        `json:"name"`
	Kind string        `json:"kind"`
	From time.Duration `json:"from_ns"`
	To   time.Duration `json:"to_ns"`
}

// Kinds of phase.
const (
	phaseBaseline = "baseline"
	phaseFault    = "fault"
	phaseRecovery = "recovery"
)

// phase is a stretch of the run: the baseline before the first fault, a
// fault, or the recovery from its end until the next fault or the end.
type phase struct {
	Name  string        `json:"name"`
	Kind  string        `json:"kind"`
	Fault int           `json:"fault"` // index into the faults, -1 for the baseline
	From  time.Duration `json:"from_ns"`
	To    time.Duration `json:"to_ns"`
}

// buildPhases cuts [0, total) into phases around faults, which must be in
// order and must not overlap. It returns an error when they do, since
// every later number would then be attributed to the wrong cause.
func buildPhases(faults []fault, total time.Duration) ([]phase, error) {
	var out []phase
	at := time.Duration(0)
	for i, f := range faults {
		if f.From < at || f.To < f.From || f.To > total {
			return nil, fmt.Errorf("drill: fault %d (%s, %v..%v) is out of order or outside the run (0..%v)", i, f.Name, f.From, f.To, total)
		}
		if i == 0 {
			out = append(out, phase{Name: phaseBaseline, Kind: phaseBaseline, Fault: -1, From: 0, To: f.From})
		} else {
			out[len(out)-1].To = f.From
		}
		out = append(out, phase{Name: f.Name, Kind: phaseFault, Fault: i, From: f.From, To: f.To},
			phase{Name: "after " + f.Name, Kind: phaseRecovery, Fault: i, From: f.To, To: total})
		at = f.To
	}
	if len(faults) == 0 {
		out = append(out, phase{Name: phaseBaseline, Kind: phaseBaseline, Fault: -1, From: 0, To: total})
	}
	return out, nil
}

// window returns the samples that ended in [from, to), from samples
// sorted by end.
func window(samples []sample, from, to time.Duration) []sample {
	lo, _ := slices.BinarySearchFunc(samples, from, func(s sample, t time.Duration) int { return int(s.End - t) })
	hi, _ := slices.BinarySearchFunc(samples, to, func(s sample, t time.Duration) int { return int(s.End - t) })
	return samples[lo:max(lo, hi)]
}

// tally is what a set of samples adds up to.
type tally struct {
	Requests int64            `json:"requests"`
	OK       int64            `json:"ok"`
	Errors   map[string]int64 `json:"errors"` // by status or transport kind
	Mix      mix              `json:"xcache"`
	P50      time.Duration    `json:"p50_ns"`
	P99      time.Duration    `json:"p99_ns"`
	Max      time.Duration    `json:"max_ns"`
}

func tallyOf(samples []sample) tally {
	t := tally{Errors: map[string]int64{}}
	var h loadtest.Histogram
	for _, s := range samples {
		t.Requests++
		h.Record(s.Latency)
		if s.failed() {
			t.Errors[s.errorKey()]++
			continue
		}
		t.OK++
		t.Mix.addHeader(s.XCache)
	}
	t.P50, t.P99, t.Max = h.Quantile(0.5), h.Quantile(0.99), h.Max()
	return t
}

// errorCount is every failure of the tally.
func (t tally) errorCount() int64 {
	var n int64
	for _, c := range t.Errors {
		n += c
	}
	return n
}

// serverErrors counts 5xx and unanswered requests, optionally sparing 503.
func (t tally) serverErrors(allow503 bool) int64 {
	var n int64
	for k, c := range t.Errors {
		code, err := strconv.Atoi(k)
		switch {
		case err != nil: // no response: timeout, refused, reset...
			n += c
		case code == 503 && allow503:
		case code >= 500:
			n += c
		}
	}
	return n
}

// errorsString prints errors by kind in a stable order ("503:12 timeout:1").
func errorsString(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// second is one second of the printed timeline.
type second struct {
	At      int      `json:"second"`
	Tally   tally    `json:"tally"`
	Markers []string `json:"markers,omitempty"`
}

// timeline cuts samples into whole seconds of [0, total) and marks where
// each fault began and ended.
func timeline(samples []sample, faults []fault, total time.Duration) []second {
	n := int((total + time.Second - 1) / time.Second)
	out := make([]second, n)
	for i := range out {
		from := time.Duration(i) * time.Second
		out[i] = second{At: i, Tally: tallyOf(window(samples, from, from+time.Second))}
	}
	mark := func(at time.Duration, text string) {
		if i := int(at / time.Second); i >= 0 && i < n {
			out[i].Markers = append(out[i].Markers, text)
		}
	}
	for _, f := range faults {
		mark(f.From, "▼ "+f.Name)
		mark(f.To, "▲ "+f.Name+" over")
	}
	return out
}

// Recovery is measured on sliding windows: after a fault ends, the first
// window of recoveryWindow, starting a multiple of recoveryStep later,
// in which requests ended, none failed, no fragment was a BYPASS (the
// cache is in use again) and some fragment was a HIT (from Redis or from
// the process's near cache).
const (
	recoveryWindow = time.Second
	recoveryStep   = 100 * time.Millisecond
)

// recovery is how long after a fault ended the service was whole again.
type recovery struct {
	Fault     string        `json:"fault"`
	Recovered bool          `json:"recovered"`
	After     time.Duration `json:"after_ns"` // when Recovered
	// LastError and LastBypass are the last failure and the last BYPASS
	// fragment after the fault's end, relative to that end (-1: none).
	LastError  time.Duration `json:"last_error_ns"`
	LastBypass time.Duration `json:"last_bypass_ns"`
}

// recoveryAfter measures the recovery from end, looking no further than
// limit (the next fault or the run's end), over samples sorted by end.
func recoveryAfter(samples []sample, end, limit time.Duration) recovery {
	r := recovery{LastError: -1, LastBypass: -1}
	for _, s := range window(samples, end, limit) {
		if s.failed() {
			r.LastError = s.End - end
		}
		if strings.Contains(s.XCache, cacheBypass) {
			r.LastBypass = s.End - end
		}
	}
	for from := end; from+recoveryWindow <= limit; from += recoveryStep {
		w := window(samples, from, from+recoveryWindow)
		if len(w) == 0 {
			continue
		}
		clean, hit := true, false
		for _, s := range w {
			if s.failed() || strings.Contains(s.XCache, cacheBypass) {
				clean = false
				break
			}
			for _, f := range parseXCache(s.XCache) {
				hit = hit || f.Status == cacheHit
			}
		}
		if clean && hit {
			r.Recovered, r.After = true, from-end
			return r
		}
	}
	return r
}

// response is one answer as the observing transport saw it: which target,
// when its headers came (from the run's start), and what they said.
type response struct {
	Target     int
	At         time.Duration
	Status     int
	RetryAfter bool
	XCache     string
}

// outage is what the PostgreSQL outage looked like from outside.
type outage struct {
	Requests        int64            `json:"requests"`
	Errors          map[string]int64 `json:"errors"`
	Served          int64            `json:"served"`            // 2xx/3xx answers
	StaleFragments  int64            `json:"stale_fragments"`   // STALE fragments of those answers
	HitFragments    int64            `json:"hit_fragments"`     // HIT fragments of those answers
	Unavailable     int64            `json:"unavailable"`       // 503s
	NoRetryAfter    int64            `json:"no_retry_after"`    // 503s without Retry-After, whole run
	CachedRefused   int64            `json:"cached_refused"`    // 503s for pages cached just before
	CachedPages     int              `json:"cached_pages"`      // pages cached when it began
	CachedPagesSeen int              `json:"cached_pages_seen"` // of those, asked for during it
	ColdAsked       int64            `json:"cold_asked"`        // pages never asked before, asked during it
	ColdRefused     int64            `json:"cold_refused"`      // of those, 503 with Retry-After
}

// outageOf reads the PostgreSQL outage pg off samples and the observed
// responses. A page counts as cached when, after the last Redis fault
// before the outage and before it began, it was answered 200 with no
// BYPASS fragment: every fragment was then in Redis, within its grace.
// Targets from coldFrom on are cold pages, each asked once, during a fault.
func outageOf(samples []sample, responses []response, faults []fault, pg fault, coldFrom int) outage {
	o := outage{Errors: map[string]int64{}}
	for _, s := range window(samples, pg.From, pg.To) {
		o.Requests++
		if s.failed() {
			o.Errors[s.errorKey()]++
			if s.Status == 503 {
				o.Unavailable++
			}
			continue
		}
		o.Served++
		for _, f := range parseXCache(s.XCache) {
			switch f.Status {
			case cacheStale:
				o.StaleFragments++
			case cacheHit:
				o.HitFragments++
			}
		}
	}
	since := time.Duration(0)
	for _, f := range faults {
		if f.Kind != faultPostgres && f.To <= pg.From {
			since = max(since, f.To)
		}
	}
	cached := map[int]bool{}
	for _, r := range responses {
		if r.Status == 503 && !r.RetryAfter {
			o.NoRetryAfter++
		}
		if r.At >= since && r.At < pg.From && r.Status == 200 && !strings.Contains(r.XCache, cacheBypass) {
			cached[r.Target] = true
		}
	}
	o.CachedPages = len(cached)
	seen := map[int]bool{}
	for _, r := range responses {
		if r.At < pg.From || r.At >= pg.To || !cached[r.Target] {
			continue
		}
		seen[r.Target] = true
		if r.Status >= 400 {
			o.CachedRefused++
		}
	}
	for _, r := range responses {
		if r.At >= pg.From && r.At < pg.To && r.Target >= coldFrom {
			o.ColdAsked++
			if r.Status == 503 && r.RetryAfter {
				o.ColdRefused++
			}
		}
	}
	o.CachedPagesSeen = len(seen)
	return o
}

// gauges are the server's numbers: goroutines and RSS from its /metrics,
// descriptors from /proc.
type gauges struct {
	Goroutines float64  `json:"goroutines"`
	RSS        float64  `json:"rss_bytes"`
	FD         fdCensus `json:"fd"`
}

// Leak margins: what the server may hold above its start once the load
// has stopped and it has settled. Pooled connections are bounded by the
// pools' sizes instead: a pool that grew under load keeps its idle
// connections for minutes, and that is no leak.
const (
	goroutineMargin = 10
	fdMargin        = 5
)

// leaked reports whether end is above start by more than the margins, or
// holds more pooled connections than the pools allow.
func leaked(start, end gauges) bool {
	return end.Goroutines > start.Goroutines+goroutineMargin || end.FD.other() > start.FD.other()+fdMargin ||
		end.FD.PostgresConns > maxPostgresConns || end.FD.RedisConns > maxRedisConns
}

// check is one expected result, passed or not.
type check struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"`
}

// maxRecovery is the longest a fault may take to heal.
const maxRecovery = 2 * time.Second

// verdict holds everything the checks read.
type verdict struct {
	Phases     []phase
	Tallies    []tally // one per phase
	Faults     []fault
	Recoveries []recovery // one per fault
	Outage     *outage    // nil when there was no PostgreSQL fault
	Start, End gauges
	Settled    bool // the end gauges were read after the server settled
}

// checks evaluates the expected results.
func (v verdict) checks() []check {
	var out []check

	// Zero 5xx while only Redis misbehaves: the baseline, and every Redis
	// fault with its recovery.
	var redis5xx int64
	var where []string
	for i, p := range v.Phases {
		if p.Fault >= 0 && v.Faults[p.Fault].Kind == faultPostgres {
			continue
		}
		if n := v.Tallies[i].serverErrors(false); n > 0 {
			redis5xx += n
			where = append(where, fmt.Sprintf("%s: %s", p.Name, errorsString(v.Tallies[i].Errors)))
		}
	}
	detail := "no 5xx and no unanswered request outside the PostgreSQL outage"
	if redis5xx > 0 {
		detail = fmt.Sprintf("%d failures: %s", redis5xx, strings.Join(where, "; "))
	}
	out = append(out, check{Name: "zero 5xx while only Redis misbehaves", Pass: redis5xx == 0, Detail: detail})

	if v.Outage != nil {
		o := v.Outage
		var bad int64
		for i, p := range v.Phases {
			if p.Fault >= 0 && v.Faults[p.Fault].Kind == faultPostgres {
				bad += v.Tallies[i].serverErrors(true)
			}
		}
		pass := o.Served > 0 && o.StaleFragments+o.HitFragments > 0 && bad == 0 && o.NoRetryAfter == 0 &&
			o.CachedRefused == 0 && o.ColdAsked > 0 && o.ColdRefused == o.ColdAsked
		out = append(out, check{
			Name: "PostgreSQL outage: cached pages served, the rest 503 with Retry-After",
			Pass: pass,
			Detail: fmt.Sprintf("%d served from cache (%d STALE + %d HIT fragments); %d of %d cached pages refused; %d of %d cold pages 503 with Retry-After; %d × 503 without Retry-After; %d other 5xx/unanswered",
				o.Served, o.StaleFragments, o.HitFragments, o.CachedRefused, o.CachedPagesSeen, o.ColdRefused, o.ColdAsked, o.NoRetryAfter, bad),
		})
	}

	slow := []string{}
	for i, r := range v.Recoveries {
		switch {
		case !r.Recovered:
			slow = append(slow, v.Faults[i].Name+": never")
		case r.After > maxRecovery:
			slow = append(slow, fmt.Sprintf("%s: %s", v.Faults[i].Name, seconds(r.After)))
		}
	}
	detail = fmt.Sprintf("all %d faults healed within %s", len(v.Recoveries), seconds(maxRecovery))
	if len(slow) > 0 {
		detail = strings.Join(slow, ", ")
	}
	out = append(out, check{Name: "full recovery within 2 s of each fault", Pass: len(slow) == 0, Detail: detail})

	leak := !v.Settled || leaked(v.Start, v.End)
	out = append(out, check{
		Name: "no leak",
		Pass: !leak,
		Detail: fmt.Sprintf("goroutines %.0f → %.0f (margin %d); fds outside the pools %d → %d (margin %d); PostgreSQL conns %d → %d (pool ≤ %d), Redis conns %d → %d (pool ≤ %d); RSS %s → %s",
			v.Start.Goroutines, v.End.Goroutines, goroutineMargin, v.Start.FD.other(), v.End.FD.other(), fdMargin,
			v.Start.FD.PostgresConns, v.End.FD.PostgresConns, maxPostgresConns, v.Start.FD.RedisConns, v.End.FD.RedisConns, maxRedisConns,
			mib(v.Start.RSS), mib(v.End.RSS)),
	})
	return out
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
