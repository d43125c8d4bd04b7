package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/devproc"
	"github.com/anigo/anigo/loadtest"
)

// scaleTitles is the size of the synthetic catalog.
const scaleTitles = 1_000_000

// scaleRequests is how many requests measure each page of the 1M catalog.
const scaleRequests = 200

// scale imports a synthetic 1,000,000-title catalog into its own database
// and renders live the first and the last catalog page of every sort, and
// the first, middle and last page of every sort under combined filters.
func (b *bench) scale(ctx context.Context) error {
	f, err := os.CreateTemp("", "anigo-bench-1m-*.csv")
	if err != nil {
		return err
	}
	b.cleanup(func() { os.Remove(f.Name()) })
	b.say("  writing %d titles to %s", scaleTitles, f.Name())
	err = writeSyntheticCSV(f, scaleTitles)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	db := b.db + "_1m"
	if err := b.createDB(ctx, db); err != nil {
		return err
	}
	t0 := time.Now()
	if err := b.importCatalog(ctx, db, f.Name()); err != nil {
		return err
	}
	b.res.Scale = &scaleResult{Titles: scaleTitles, ImportTime: time.Since(t0)}

	srv, err := b.startAniGo(ctx, "anigo-1m", db, "REDIS_URL=off")
	if err != nil {
		return err
	}
	defer srv.stop()
	var ps []page
	last := lastPage(scaleTitles)
	for _, sort := range anigo.Sorts {
		for _, n := range []int{1, last} {
			for _, hx := range []bool{false, true} {
				ps = append(ps, page{Path: fmt.Sprintf("/anime?sort=%s&page=%d", sort, n), HX: hx})
			}
		}
	}
	// Filters together, on the first, middle and last page of each sort.
	for _, f := range scaleFilters {
		total, err := countMatches(ctx, db, f)
		if err != nil {
			return err
		}
		last := lastPage(total)
		for _, sort := range anigo.Sorts {
			for _, n := range []int{1, (last + 1) / 2, last} {
				ps = append(ps, page{Path: fmt.Sprintf("/anime?%s&sort=%s&page=%d", f.Values().Encode(), sort, n)})
			}
		}
	}
	for _, p := range ps {
		devproc.ResetPeakRSS(srv.Pid())
		res, err := b.load(ctx, loadSpec{Options: loadtest.Options{
			Targets: []loadtest.Target{target(srv, p)}, Concurrency: 1, Requests: scaleRequests, CountHeader: "X-Cache",
		}})
		if err != nil {
			return err
		}
		c := newCase("anigo-1m", p, 1, res, devproc.PeakRSS(srv.Pid()))
		b.res.Scale.Cases = append(b.res.Scale.Cases, c)
		b.say("  %-60s p50 %7s  p99 %7s  max %7s  err %d  rss %s", p, ms(c.P50), ms(c.P99), ms(c.Max), c.ErrorCount, mb(c.PeakRSS))
	}
	return nil
}

// scaleFilters are the combined filters measured on the 1M catalog: a
// minimum score alone, type, genre and minimum score together, and a rare
// combination.
var scaleFilters = []anigo.ListQuery{
	{MinScore: 7},
	{Genre: "Drama", MinScore: 8},
	{Type: "TV", Genre: "Action"},
	{Type: "Movie", Genre: "Comedy", MinScore: 6},
	{Type: "Music", Genre: "Sports", MinScore: 9.5}, // rare: a page spreads over many chunks
}

// countMatches counts the titles of database db that match f's type, genre
// and minimum score, to find its last page.
func countMatches(ctx context.Context, db string, f anigo.ListQuery) (int, error) {
	conn, err := pgx.Connect(ctx, dsn(db))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM anime WHERE NOT adult AND ($1::text = '' OR type = $1)
		AND ($2::text = '' OR $2 = ANY(genres)) AND ($3::float8 = 0 OR score >= $3)`, f.Type, f.Genre, f.MinScore).Scan(&n)
	if err == nil && n == 0 {
		err = fmt.Errorf("no title matches %v: the synthetic catalog no longer has it", f.Values().Encode())
	}
	return n, err
}

// writeSyntheticCSV writes n titles in the Kaggle anime.csv format (see
// ../shared/data/README.md), with ids 1..n, no adult titles, and values
// spread like the real ones: some unknown episodes and unscored titles,
// members skewed towards few.
func writeSyntheticCSV(f *os.File, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("Sword Star Girl Ghost Dragon Summer Night Blue Iron Spirit Academy Hero Moon Sky Shadow Love Magic Robot Cat Ocean")
	genres := strings.Fields("Action Adventure Comedy Drama Fantasy Romance School Sci-Fi Slice_of_Life Sports Mystery Music")
	types := []string{"TV", "Movie", "OVA", "ONA", "Special", "Music"}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, "anime_id,name,genre,type,episodes,rating,members\r\n")
	for id := 1; id <= n; id++ {
		name := fmt.Sprintf("%s %s %s %d", words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))], id)
		var gs []string
		for _, i := range rng.Perm(len(genres))[:1+rng.IntN(3)] {
			gs = append(gs, strings.ReplaceAll(genres[i], "_", " "))
		}
		episodes := "Unknown"
		if rng.IntN(30) > 0 {
			episodes = fmt.Sprint(1 + rng.IntN(100))
		}
		rating := ""
		if rng.IntN(50) > 0 {
			rating = fmt.Sprintf("%.2f", 1.5+rng.Float64()*8.5)
		}
		members := 5 + int(1e6*rng.Float64()*rng.Float64()*rng.Float64())
		fmt.Fprintf(w, "%d,%s,\"%s\",%s,%s,%s,%d\r\n", id, name, strings.Join(gs, ", "), types[rng.IntN(len(types))], episodes, rating, members)
	}
	return w.Flush()
}
