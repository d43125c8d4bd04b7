package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// goal is one of issue 5's goals, as measured.
type goal struct {
	Goal     string `json:"goal"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Result   string `json:"result"` // PASS, MISS, or "not run"
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// ratio compares server a with server b page by page, for clients that
// accept gzip or for those that do not. Each page's ratio is the median
// over the rounds of one round's rps against the same round's; it returns
// the worst page's, with the range of its rounds.
func (r *results) ratio(a, b string, gzip bool) (worst ratioAt, found bool) {
	worst.Median = math.Inf(1)
	for _, p := range pages {
		if p.Gzip != gzip {
			continue
		}
		m, lo, hi, ok := r.pairedRatio(a, b, p)
		if ok && m < worst.Median {
			worst, found = ratioAt{Median: m, Lo: lo, Hi: hi, Page: p}, true
		}
	}
	return worst, found
}

// clientsLabel names the clients of the pages with or without gzip.
func clientsLabel(gzip bool) string {
	if gzip {
		return "browsers (gzip)"
	}
	return "clients without gzip"
}

// ratioAt is a page's ratio over the rounds.
type ratioAt struct {
	Median, Lo, Hi float64
	Page           page
}

func (a ratioAt) String() string {
	if a.Lo == a.Hi {
		return fmt.Sprintf("%.2f (worst: %s)", a.Median, a.Page)
	}
	return fmt.Sprintf("%.2f (worst: %s; rounds %.2f–%.2f)", a.Median, a.Page, a.Lo, a.Hi)
}

func (r *results) goals(concurrency int) []goal {
	var gs []goal
	add := func(name, target string, ran bool, measured string, ok bool) {
		g := goal{Goal: name, Target: target, Measured: measured, Result: verdict(ok)}
		if !ran {
			g.Measured, g.Result = "—", "not run"
		}
		gs = append(gs, g)
	}
	for _, gzip := range []bool{false, true} {
		clients := clientsLabel(gzip)
		for _, o := range []struct {
			server, name, target string
			want                 float64
		}{
			{"upper", "cache hit / upper bound, rps", "≥ 0.7", 0.7},
			{"peer", "cache hit / peer, rps", "≥ 3", 3},
			{"anigo-live", "cache hit / live rendering, rps", "≥ 10", 10},
		} {
			v, ok := r.ratio("anigo-hit", o.server, gzip)
			add(o.name+", "+clients, o.target+" on every page", ok, v.String(), v.Median >= o.want)
		}
	}

	live := r.find("anigo-live", drillMix)
	if k := r.Killed; k != nil && live != nil {
		rps, p99 := k.During.RPS/live.RPS, float64(k.During.P99)/float64(live.P99)
		add("Redis killed: rps / live", "≥ 0.9", true, fmt.Sprintf("%.2f (%.0f / %.0f)", rps, k.During.RPS, live.RPS), rps >= 0.9)
		add("Redis killed: p99 / live", "≤ 1.5", true, fmt.Sprintf("%.2f (%s / %s, live's round of median rps)", p99, ms(k.During.P99), ms(live.P99)), p99 <= 1.5)
		add("Redis killed: errors", "0", true, fmt.Sprint(k.Errors), k.Errors == 0)
		add("Redis restarted: caching resumes", "≤ 2 s", true,
			fmt.Sprintf("%s (all HIT after %s)", ms(k.ResumeCaching), ms(k.ResumeHit)), k.ResumeCaching >= 0 && k.ResumeCaching <= 2*time.Second)
	} else {
		add("Redis killed", "", false, "", false)
	}
	if f := r.Frozen; f != nil {
		add("Redis frozen: max latency once the breaker is open", "≤ 250 ms", f.BreakerOpenAfter >= 0,
			fmt.Sprintf("%s (opened %s after SIGSTOP; slowest before: %s, %d over 100 ms)",
				ms(f.MaxAfterOpen), ms(f.BreakerOpenAfter), ms(f.MaxBeforeOpen), f.SlowBeforeOpen),
			f.MaxAfterOpen <= 250*time.Millisecond)
		add("Redis thawed (SIGCONT): caching resumes", "≤ 2 s", true,
			fmt.Sprintf("%s (all HIT after %s)", ms(f.ResumeCaching), ms(f.ResumeHit)), f.ResumeCaching >= 0 && f.ResumeCaching <= 2*time.Second)
	} else {
		add("Redis frozen", "", false, "", false)
	}
	if s := r.Stampede; s != nil && s.Renders != nil {
		add("stampede: renders per key", "1", true,
			fmt.Sprintf("catalog %d, count %d; %d requests, %d PG transactions", s.Renders["catalog"], s.Renders["count"], s.Requests, s.Transactions),
			s.Renders["catalog"] == 1 && s.Renders["count"] <= 1)
	} else {
		add("stampede: renders per key", "1", false, "", false)
	}
	if s := r.Scale; s != nil && len(s.Cases) > 0 {
		worst := s.Cases[0]
		for _, c := range s.Cases {
			if c.P99 > worst.P99 {
				worst = c
			}
		}
		add("1M titles: catalog page p99, live", "≤ 20 ms", true, fmt.Sprintf("%s (%s)", ms(worst.P99), worst.Page), worst.P99 <= 20*time.Millisecond)
	} else {
		add("1M titles: catalog page p99, live", "≤ 20 ms", false, "", false)
	}
	var rss int64
	var where string
	consider := func(server string, b int64) {
		if b > rss {
			rss, where = b, server
		}
	}
	for _, c := range r.Cases {
		if strings.HasPrefix(c.Server, "anigo") {
			consider(c.Server, c.PeakRSS)
		}
	}
	for _, d := range []*drillResult{r.Killed, r.Frozen} {
		if d != nil {
			consider("anigo-drill", d.PeakRSS)
		}
	}
	if r.Scale != nil {
		for _, c := range r.Scale.Cases {
			consider(c.Server, c.PeakRSS)
		}
	}
	add("AniGo peak RSS under load", "≤ 150 MB", rss > 0, fmt.Sprintf("%s (%s)", mb(rss), where), rss <= 150<<20)
	return gs
}

// markdown writes the goals and every case as markdown tables.
func (r *results) markdown(w io.Writer) {
	fmt.Fprintf(w, "Measured %s on %s (%d cores, %s, servers and load generator pinned to separate cores: %v).\n\n",
		r.Date.Format("2006-01-02"), r.Machine.CPU, r.Machine.Cores, r.Machine.Go, r.Machine.Pinned)
	fmt.Fprintln(w, "| goal | target | measured | result |\n| --- | --- | --- | --- |")
	for _, g := range r.Goals {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.Goal, g.Target, g.Measured, g.Result)
	}
	if hit, live := r.find("anigo-hit", drillMix), r.find("anigo-live", drillMix); hit != nil && live != nil {
		if m, lo, hi, ok := r.pairedRatio("anigo-hit", "anigo-live", drillMix); ok {
			fmt.Fprintf(w, "\nOn %s, more pages than a process keeps in memory, so every hit is read from Redis and no two live "+
				"requests share a render: cache hit %.0f rps, live %.0f rps (medians); hit / live %.2f× (rounds %.2f–%.2f).\n",
				drillMix, hit.RPS, live.RPS, m, lo, hi)
		}
	}
	fmt.Fprintln(w, "\nWhat the machine allows: the upper bound (bytes from memory, nothing else) against the others, worst page, same rounds.")
	for _, gzip := range []bool{false, true} {
		clients := clientsLabel(gzip)
		for _, o := range []struct{ server, name string }{{"peer", "peer"}, {"anigo-live", "live rendering"}} {
			if v, ok := r.ratio("upper", o.server, gzip); ok {
				fmt.Fprintf(w, "- upper bound / %s, %s: %s\n", o.name, clients, v)
			}
		}
	}
	fmt.Fprintln(w, "\nCases measured in rounds show the round of median rps, and every round's rps in the order measured.")
	fmt.Fprintln(w, "\n| server | page | conc. | rps | rounds' rps | p50 | p99 | max | errors | peak RSS |\n| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: |")
	row := func(c *caseResult, rounds string) {
		fmt.Fprintf(w, "| %s | `%s` | %d | %.0f | %s | %s | %s | %s | %d | %s |\n",
			c.Server, c.Page, c.Concurrency, c.RPS, rounds, ms(c.P50), ms(c.P99), ms(c.Max), c.ErrorCount, mb(c.PeakRSS))
	}
	type key struct {
		server string
		page   page
	}
	done := map[key]bool{}
	for _, c := range r.Cases {
		k := key{c.Server, c.Page}
		if done[k] {
			continue
		}
		done[k] = true
		var rps []string
		for _, rc := range r.rounds(c.Server, c.Page) {
			rps = append(rps, fmt.Sprintf("%.0f", rc.RPS))
		}
		rounds := "—"
		if len(rps) > 1 {
			rounds = strings.Join(rps, ", ")
		}
		row(r.find(c.Server, c.Page), rounds)
	}
	for _, d := range []*drillResult{r.Killed, r.Frozen} {
		if d != nil {
			fmt.Fprintf(w, "| anigo, Redis %s | `%s` | — | %.0f | — | %s | %s | %s | %d | %s |\n",
				d.Kind, drillMix, d.During.RPS, ms(d.During.P50), ms(d.During.P99), ms(d.During.Max), d.Errors, mb(d.PeakRSS))
		}
	}
	if s := r.Stampede; s != nil {
		fmt.Fprintf(w, "| anigo, stampede | `%s` | %d | — | — | %s | %s | %s | %d | — |\n", s.Page, s.Requests, ms(s.P50), ms(s.P99), ms(s.Max), s.Errors)
	}
	if r.Scale != nil {
		for _, c := range r.Scale.Cases {
			row(c, "—")
		}
	}
}

// report prints the tables and writes the JSON, markdown and SVG files.
func (b *bench) report() error {
	r := b.res
	r.Goals = r.goals(b.s.concurrency)
	var md strings.Builder
	r.markdown(&md)
	b.say("\n%s", md.String())
	base := filepath.Join(b.s.out, b.stamp)
	if err := writeJSON(base+".json", r); err != nil {
		return err
	}
	if err := os.WriteFile(base+".md", []byte(md.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".svg", []byte(r.chart()), 0o644); err != nil {
		return err
	}
	b.say("wrote %s.json, %[1]s.md and %[1]s.svg", base)
	return nil
}

// chart draws p99 against concurrency for each swept server as an SVG
// line chart.
func (r *results) chart() string {
	const w, h, left, right, top, bottom = 640, 400, 70, 150, 40, 50
	series := []struct {
		server, label, color string
	}{{"anigo-hit", "AniGo, cache hit", "#d62728"}, {"upper", "upper bound", "#1f77b4"}}
	var ymax float64
	for _, s := range series {
		for _, c := range r.Sweep[s.server] {
			ymax = max(ymax, float64(c.P99)/1e6)
		}
	}
	ymax = niceCeil(ymax * 1.1)
	x := func(c int) float64 { return left + float64(c-1)*float64(w-left-right)/3 }
	y := func(v float64) float64 { return top + (1-v/ymax)*float64(h-top-bottom) }

	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&sb, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&sb, `<text x="%d" y="22" font-size="14">p99 latency against concurrency, %s (%s)</text>`+"\n", left, chartPage, r.Date.Format("2006-01-02"))
	for i := 0; i <= 5; i++ {
		v := ymax * float64(i) / 5
		fmt.Fprintf(&sb, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s ms</text>`+"\n",
			left, w-right, y(v), y(v), left-6, y(v)+4, trimFloat(v))
	}
	for c := 1; c <= 4; c++ {
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(c), h-bottom+18, c)
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle">concurrent connections</text>`+"\n", (left+w-right)/2, h-12)
	for i, s := range series {
		var pts []string
		for _, c := range r.Sweep[s.server] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(c.Concurrency), y(float64(c.P99)/1e6)))
			fmt.Fprintf(&sb, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(c.Concurrency), y(float64(c.P99)/1e6), s.color)
		}
		fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
		ly := top + 20*i
		fmt.Fprintf(&sb, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n",
			w-right+12, w-right+32, ly, ly, s.color, w-right+38, ly+4, s.label)
	}
	sb.WriteString("</svg>\n")
	return sb.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
