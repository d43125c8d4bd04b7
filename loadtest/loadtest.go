// Package loadtest is a small closed-loop HTTP load generator: N workers,
// each sending its next request as soon as the last one is answered, over
// keep-alive connections, for a fixed time or number of requests. It
// records every latency in a Histogram, errors by kind, a per-second
// timeline and, on request, one Event per request, so that benchmarks and
// fault drills can read what happened when.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultTimeout bounds one request when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Target is one request to send.
type Target struct {
	URL    string      `json:"url"`
	Header http.Header `json:"header,omitempty"`
}

// Options describe a run. A run is always bounded: by Duration, by
// Requests, or by both (whichever comes first).
type Options struct {
	Targets     []Target      `json:"targets"`     // workers take them in turn
	Concurrency int           `json:"concurrency"` // workers, each with its own connection
	Duration    time.Duration `json:"duration_ns"` // stop sending after this long (0: no time limit)
	Requests    int           `json:"requests"`    // stop after this many requests in all (0: no count limit)
	Timeout     time.Duration `json:"timeout_ns"`  // one request's limit; 0 means DefaultTimeout
	CountHeader string        `json:"count_header,omitempty"`
	Trace       bool          `json:"trace,omitempty"` // keep one Event per request
	// Client sends the requests through net/http, for callers that wrap
	// its transport. Nil sends them through fasthttp's client, which costs
	// the load generator far less per request (see fastSender).
	Client *http.Client `json:"-"`
}

// Event is one request of a traced run.
type Event struct {
	Start   int64         `json:"start_unix_ns"`
	Latency time.Duration `json:"latency_ns"`
	Status  int           `json:"status,omitempty"` // 0 when no response came
	Header  string        `json:"header,omitempty"` // the CountHeader value
	Err     string        `json:"err,omitempty"`    // error kind, as in Result.Errors
}

// Second is one second of a run's timeline, by the requests that ended in it.
type Second struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`
	Max      time.Duration `json:"max_ns"`
}

// Result is what a run measured. Requests counts every request that
// completed, failed ones included; requests cut off because the run ended
// count only as Unfinished.
type Result struct {
	Start        time.Time        `json:"start"`
	Elapsed      time.Duration    `json:"elapsed_ns"`
	Requests     int64            `json:"requests"`
	Unfinished   int64            `json:"unfinished"`
	Bytes        int64            `json:"bytes"`
	Errors       map[string]int64 `json:"errors"`        // by kind: "status 503", "timeout", "refused", ...
	HeaderValues map[string]int64 `json:"header_values"` // CountHeader values of the responses
	Latency      *Histogram       `json:"latency"`
	Timeline     []Second         `json:"timeline"`
	Events       []Event          `json:"events,omitempty"`
}

// RPS is the completed requests per second.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests, of every kind.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// NewClient returns a keep-alive client that holds one idle connection per
// worker, so a closed loop never redials, and that asks for no compression,
// so that every case moves the same bytes.
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		// A benchmark measures the response it asked for, not a redirect's target.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run drives the load described by o until it is done or ctx ends, and
// returns what it measured. It returns an error only for bad options
// (no targets, no workers, no bound, a URL that does not parse); failed
// requests are counted in the Result, never returned.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Targets) == 0 {
		return nil, errors.New("loadtest: no targets")
	}
	if o.Concurrency < 1 {
		return nil, fmt.Errorf("loadtest: concurrency %d: want at least 1", o.Concurrency)
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		return nil, errors.New("loadtest: unbounded run: set Duration or Requests")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	reqs := make([]*http.Request, len(o.Targets))
	for i, t := range o.Targets {
		r, err := http.NewRequest(http.MethodGet, t.URL, nil)
		if err != nil {
			return nil, fmt.Errorf("loadtest: target %d: %w", i, err)
		}
		if r.URL.Host == "" {
			return nil, fmt.Errorf("loadtest: target %d: %q has no host", i, t.URL)
		}
		r.Header = t.Header.Clone()
		if r.Header == nil {
			r.Header = http.Header{}
		}
		reqs[i] = r
	}
	newSender := func() sender { return &httpSender{client: o.Client, reqs: reqs, countHeader: o.CountHeader} }
	if o.Client == nil {
		fc := newFastClient(o.Concurrency, o.Timeout)
		defer fc.CloseIdleConnections()
		newSender = func() sender { return newFastSender(fc, o.Targets, o.CountHeader) }
	}

	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}

	start := time.Now()
	var issued atomic.Int64
	workers := make([]*worker, o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		// Workers start spread over the targets, so that each target is
		// asked for once per turn of the list, not by every worker at once.
		w := &worker{o: &o, sender: newSender(), start: start, next: i * len(reqs) / o.Concurrency, targets: len(reqs),
			errors: map[string]int64{}, headers: map[string]int64{}}
		workers[i] = w
		wg.Go(func() {
			for runCtx.Err() == nil {
				if o.Requests > 0 && issued.Add(1) > int64(o.Requests) {
					return
				}
				w.do(runCtx)
			}
		})
	}
	wg.Wait()

	res := &Result{Start: start, Elapsed: time.Since(start), Errors: map[string]int64{},
		HeaderValues: map[string]int64{}, Latency: &Histogram{}}
	for _, w := range workers {
		res.Requests += w.requests
		res.Unfinished += w.unfinished
		res.Bytes += w.bytes
		res.Latency.Merge(&w.hist)
		for k, v := range w.errors {
			res.Errors[k] += v
		}
		for k, v := range w.headers {
			res.HeaderValues[k] += v
		}
		for i, s := range w.timeline {
			for len(res.Timeline) <= i {
				res.Timeline = append(res.Timeline, Second{})
			}
			t := &res.Timeline[i]
			t.Requests += s.Requests
			t.Errors += s.Errors
			t.Max = max(t.Max, s.Max)
		}
		res.Events = append(res.Events, w.events...)
	}
	return res, nil
}

// worker holds one goroutine's tallies, merged when the run ends, so that
// workers share nothing while they run.
type worker struct {
	o        *Options
	sender   sender
	targets  int
	next     int
	start    time.Time
	hist     Histogram
	requests int64
	// unfinished counts requests that the end of the run cut off.
	unfinished int64
	bytes      int64
	errors     map[string]int64
	headers    map[string]int64
	timeline   []Second
	events     []Event
}

func (w *worker) do(ctx context.Context) {
	i := w.next
	w.next = (w.next + 1) % w.targets

	t0 := time.Now()
	deadline := t0.Add(w.o.Timeout)
	end, ended := ctx.Deadline()
	if ended && end.Before(deadline) {
		deadline = end
	}
	// The run is over when ctx ends or its deadline passes, which can be a
	// moment before ctx says so.
	over := func() bool { return ctx.Err() != nil || ended && !time.Now().Before(end) }
	if over() {
		return
	}
	status, header, n, err := w.sender.send(ctx, i, deadline)
	lat := time.Since(t0)
	if over() {
		// Cut off by the end of the run. fasthttp cannot abandon a request
		// when ctx is cancelled without a deadline: it ends at its own
		// timeout, and counts here as unfinished all the same.
		w.unfinished++
		return
	}
	kind := ""
	switch {
	case err != nil:
		kind = errorKind(err)
	case status >= 400:
		kind = fmt.Sprintf("status %d", status)
	}

	w.requests++
	w.bytes += n
	w.hist.Record(lat)
	if w.o.CountHeader != "" && err == nil {
		w.headers[header]++
	}
	sec := int(time.Since(w.start) / time.Second)
	for len(w.timeline) <= sec {
		w.timeline = append(w.timeline, Second{})
	}
	s := &w.timeline[sec]
	s.Requests++
	s.Max = max(s.Max, lat)
	if kind != "" {
		w.errors[kind]++
		s.Errors++
	}
	if w.o.Trace {
		w.events = append(w.events, Event{Start: t0.UnixNano(), Latency: lat, Status: status, Header: header, Err: kind})
	}
}

// sender sends a worker's requests: target i, given up at deadline or
// when ctx ends. It reads the whole body, which is part of the latency a
// browser sees, and returns its size and the CountHeader value.
type sender interface {
	send(ctx context.Context, i int, deadline time.Time) (status int, header string, n int64, err error)
}

// httpSender sends through a net/http client.
type httpSender struct {
	client      *http.Client
	reqs        []*http.Request
	countHeader string
	buf         [32 << 10]byte
}

func (s *httpSender) send(ctx context.Context, i int, deadline time.Time) (status int, header string, n int64, err error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	resp, err := s.client.Do(s.reqs[i].WithContext(ctx))
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	n, err = io.CopyBuffer(io.Discard, resp.Body, s.buf[:])
	if s.countHeader != "" {
		header = resp.Header.Get(s.countHeader)
	}
	return resp.StatusCode, header, n, err
}

// fastSender sends through fasthttp's client, with requests prepared once
// per worker and one reused response. A load generator built on net/http
// kept its own core 94% busy at 16k requests a second, so fast servers
// measured the generator; fasthttp's client needs a fraction of that.
type fastSender struct {
	client      *fasthttp.Client
	reqs        []*fasthttp.Request
	resp        fasthttp.Response
	countHeader string
}

// newFastClient is a client that keeps one connection per worker, never
// retries (a failed request is a finding, not something to hide) and
// follows no redirects (fasthttp never does).
func newFastClient(concurrency int, timeout time.Duration) *fasthttp.Client {
	return &fasthttp.Client{
		MaxConnsPerHost:           concurrency,
		MaxIdleConnDuration:       90 * time.Second,
		MaxConnWaitTimeout:        timeout,
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		DisablePathNormalizing:    true,
		Dial:                      (&fasthttp.TCPDialer{Concurrency: concurrency}).Dial,
	}
}

func newFastSender(client *fasthttp.Client, targets []Target, countHeader string) *fastSender {
	s := &fastSender{client: client, countHeader: countHeader}
	for _, t := range targets {
		r := new(fasthttp.Request)
		r.SetRequestURI(t.URL)
		for k, vs := range t.Header {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
		s.reqs = append(s.reqs, r)
	}
	return s
}

func (s *fastSender) send(_ context.Context, i int, deadline time.Time) (status int, header string, n int64, err error) {
	if err := s.client.DoDeadline(s.reqs[i], &s.resp, deadline); err != nil {
		return 0, "", 0, err
	}
	if s.countHeader != "" {
		header = string(s.resp.Header.Peek(s.countHeader))
	}
	return s.resp.StatusCode(), header, int64(len(s.resp.Body())), nil
}

// errorKind names a transport error briefly enough to count by.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, fasthttp.ErrConnectionClosed):
		return "reset"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	default:
		return "other"
	}
}
