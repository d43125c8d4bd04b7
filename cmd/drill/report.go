package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// report prints the timeline, the totals and the checks.
func report(w io.Writer, r *result) {
	fmt.Fprintln(w, "\nTimeline (per second; X-Cache counts fragments: H hit, S stale, M miss, B bypass)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "s\trps\terrors\tp99\tX-Cache\t\t")
	for _, s := range r.Timeline {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t\t%s\n", s.At, s.Tally.Requests, errorsString(s.Tally.Errors),
			ms(s.Tally.P99), s.Tally.Mix, strings.Join(s.Markers, ", "))
	}
	tw.Flush()
	summary(w, r)
}

// summary is the part of the report the README quotes.
func summary(w io.Writer, r *result) {
	fmt.Fprintf(w, "\nAniGo failure drill: %s, %d workers over %d pages, plus %d cold pages asked once during each fault\n",
		seconds(r.Settings.Duration), r.Settings.Concurrency, r.Targets, coldPerFault)
	fmt.Fprintf(w, "requests %d, errors %s, p50 %s, p99 %s, max %s\n",
		r.Total.Requests, errorsString(r.Total.Errors), ms(r.Total.P50), ms(r.Total.P99), ms(r.Total.Max))

	fmt.Fprintln(w, "\nPhases")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\twindow\trequests\terrors\tp99\tmax\tX-Cache")
	for i, p := range r.Phases {
		t := r.Tallies[i]
		fmt.Fprintf(tw, "%s\t%5.1f–%5.1fs\t%d\t%s\t%s\t%s\t%s\n", p.Name, p.From.Seconds(), p.To.Seconds(),
			t.Requests, errorsString(t.Errors), ms(t.P99), ms(t.Max), t.Mix)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nRecovery (from each fault's end: first 1 s window with no error, no BYPASS and a HIT)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tlasted\trecovered after\tlast error\tlast BYPASS")
	for i, rc := range r.Recoveries {
		f := r.Faults[i]
		after := "never"
		if rc.Recovered {
			after = seconds(rc.After)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, seconds(f.To-f.From), after, since(rc.LastError), since(rc.LastBypass))
	}
	tw.Flush()

	if o := r.Outage; o != nil {
		fmt.Fprintf(w, "\nPostgreSQL outage: %d requests; %d served from Redis (%d STALE, %d HIT fragments); %d × 503 (%d without Retry-After in the whole run); errors %s\n",
			o.Requests, o.Served, o.StaleFragments, o.HitFragments, o.Unavailable, o.NoRetryAfter, errorsString(o.Errors))
		fmt.Fprintf(w, "  %d pages were cached when it began; %d of them were asked for during it, and %d of those answers were errors\n",
			o.CachedPages, o.CachedPagesSeen, o.CachedRefused)
		fmt.Fprintf(w, "  %d cold pages asked during it: %d were 503 with Retry-After\n", o.ColdAsked, o.ColdRefused)
	}
	fmt.Fprintf(w, "\nServer (after warm-up → after the run and a settle): goroutines %.0f → %.0f, RSS %s → %s, fds %d → %d (PostgreSQL conns %d → %d, Redis conns %d → %d)\n",
		r.GaugeStart.Goroutines, r.GaugeEnd.Goroutines, mib(r.GaugeStart.RSS), mib(r.GaugeEnd.RSS),
		r.GaugeStart.FD.FDs, r.GaugeEnd.FD.FDs, r.GaugeStart.FD.PostgresConns, r.GaugeEnd.FD.PostgresConns,
		r.GaugeStart.FD.RedisConns, r.GaugeEnd.FD.RedisConns)

	fmt.Fprintln(w, "\nChecks")
	for _, c := range r.Checks {
		mark := "PASS"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", mark, c.Name, c.Detail)
	}
}

// since prints an offset after a fault's end, or "-" for none.
func since(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return "+" + seconds(d)
}
