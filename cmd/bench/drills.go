package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/devproc"
	"github.com/anigo/anigo/loadtest"
)

// statsFlush is how long PostgreSQL 15 may keep an idle backend's
// transaction counts before publishing them in pg_stat_database.
const statsFlush = 11 * time.Second

// drillMix labels the requests of the Redis fault drills: catalog pages 1
// to mixPages in each sort, taken in turn. Their 1,200 catalog fragments
// are more than a process keeps in memory (1,024), so requests reach Redis
// and a fault in it shows; the hot pages of the throughput cases are
// served from memory and would not notice one.
var drillMix = page{Path: fmt.Sprintf("/anime?page=1…%d&sort=(each)", mixPages)}

const mixPages = 300

// mixTargets are the requests of drillMix on srv.
func mixTargets(srv *proc) []loadtest.Target {
	var ts []loadtest.Target
	for n := 1; n <= mixPages; n++ {
		for _, s := range anigo.Sorts {
			ts = append(ts, target(srv, page{Path: fmt.Sprintf("/anime?page=%d&sort=%s", n, s)}))
		}
	}
	return ts
}

// drills runs AniGo on a private Redis and, under load, kills it and
// starts it again, then freezes it (SIGSTOP) and thaws it (SIGCONT).
func (b *bench) drills(ctx context.Context) error {
	rs, err := devproc.StartRedis(ctx, filepath.Join(b.logDir, "redis.log"), "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru")
	if err != nil {
		return err
	}
	b.cleanup(rs.Close)
	srv, err := b.startAniGo(ctx, "anigo-drill", b.db, "REDIS_HOST=127.0.0.1", "REDIS_PORT="+strconv.Itoa(rs.Port()))
	if err != nil {
		return err
	}
	defer srv.stop()

	phase := max(b.s.duration, 2*time.Second)
	killed, err := b.drill(ctx, "killed", srv, phase,
		func() error { rs.Kill(); return nil },
		func() error { return rs.Restart(ctx) })
	if err != nil {
		return err
	}
	b.res.Killed = killed
	frozen, err := b.drill(ctx, "frozen", srv, phase, rs.Stop, rs.Cont)
	if err != nil {
		return err
	}
	b.res.Frozen = frozen
	return nil
}

// drill loads srv for three phases: healthy, broken (after fault), and
// healed (after heal), tracing every request, and reads the breaker's
// behaviour off the X-Cache headers.
func (b *bench) drill(ctx context.Context, kind string, srv *proc, phase time.Duration, fault, heal func() error) (*drillResult, error) {
	devproc.ResetPeakRSS(srv.Pid())
	type loaded struct {
		res *loadtest.Result
		err error
	}
	done := make(chan loaded, 1)
	go func() {
		res, err := b.load(ctx, loadSpec{Options: loadtest.Options{
			Targets: mixTargets(srv), Concurrency: b.s.concurrency,
			Duration: 3 * phase, CountHeader: "X-Cache", Trace: true, Timeout: 10 * time.Second,
		}})
		done <- loaded{res, err}
	}()
	// The load process takes a moment to start: the phases are measured
	// from the events, so only the fault and heal times need to be exact.
	sleep(ctx, phase+200*time.Millisecond)
	faultAt := time.Now()
	if err := fault(); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	sleep(ctx, phase)
	if err := heal(); err != nil {
		return nil, fmt.Errorf("%s: heal: %w", kind, err)
	}
	healAt := time.Now()
	l := <-done
	if l.err != nil {
		return nil, l.err
	}
	d := analyseDrill(kind, l.res, faultAt, healAt)
	d.PeakRSS = devproc.PeakRSS(srv.Pid())
	b.say("  %s: during %0.f rps p99 %s max %s; breaker open after %s; max after open %s; resumed (no BYPASS) %s, HIT %s; errors %d",
		kind, d.During.RPS, ms(d.During.P99), ms(d.During.Max), ms(d.BreakerOpenAfter), ms(d.MaxAfterOpen),
		ms(d.ResumeCaching), ms(d.ResumeHit), d.Errors)
	return d, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// stampede sends 500 simultaneous requests for a page nobody asked for
// yet, and counts the renders (from /metrics) and the database's
// transactions they cost.
func (b *bench) stampede(ctx context.Context, srv *proc) error {
	// Past the drills' mix (pages 1 to mixPages), which is in Redis by now.
	cold := page{Path: fmt.Sprintf("/anime?page=%d&sort=title", mixPages+97)}
	const n = 500
	b.say("  stampede: %d concurrent requests for %s (waiting %v for PostgreSQL's statistics to settle)", n, cold, statsFlush)
	sleep(ctx, statsFlush)
	before, err := transactions(ctx, b.db)
	if err != nil {
		return err
	}
	mBefore, metricsErr := scrape(ctx, srv)
	res, err := b.load(ctx, loadSpec{Options: loadtest.Options{
		Targets: []loadtest.Target{target(srv, cold)}, Concurrency: n, Requests: n, CountHeader: "X-Cache", Timeout: 30 * time.Second,
	}})
	if err != nil {
		return err
	}
	mAfter, _ := scrape(ctx, srv)
	sleep(ctx, statsFlush)
	after, err := transactions(ctx, b.db)
	if err != nil {
		return err
	}
	s := &stampedeResult{Page: cold.String(), Requests: res.Requests, Errors: res.ErrorCount(), XCache: res.HeaderValues,
		P50: res.Latency.Quantile(0.5), P99: res.Latency.Quantile(0.99), Max: res.Latency.Max(),
		Transactions: after - before, Renders: map[string]int64{}}
	if metricsErr == nil {
		for _, f := range []string{"catalog", "count"} {
			key := `anigo_cache_render_seconds_count{fragment="` + f + `"}`
			s.Renders[f] = int64(mAfter[key] - mBefore[key])
		}
	} else {
		s.Renders = nil
		s.Note = "no /metrics: " + metricsErr.Error()
	}
	b.res.Stampede = s
	b.say("  stampede: %d requests, %d errors, renders %v, %d PostgreSQL transactions, p99 %s, X-Cache %s",
		s.Requests, s.Errors, s.Renders, s.Transactions, ms(s.P99), topValues(s.XCache))
	return nil
}

// scrape reads the server's /metrics as a map from series (name and
// labels, as printed) to value.
func scrape(ctx context.Context, srv *proc) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url("/metrics"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}
