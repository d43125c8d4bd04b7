package postgres_test

import (
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
)

// go test -run '^$' -bench . -benchtime 200x ./postgres/

func BenchmarkImportCSV(b *testing.B) {
	path := datasetPath(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := pgtest.NewStore(b, postgres.Options{})
		b.StartTimer()
		if _, skips, err := importFile(b, s, path); err != nil || len(skips) > 0 {
			b.Fatalf("import: %v, %d skips", err, len(skips))
		}
	}
}

// synthetic yields n made-up titles, the same ones on every run.
func synthetic(n int) iter.Seq2[anigo.ImportRecord, error] {
	genres := []string{"Action", "Adventure", "Comedy", "Drama", "Fantasy", "Hentai", "Horror", "Magic", "Mecha",
		"Mystery", "Romance", "School", "Sci-Fi", "Shounen", "Slice of Life", "Sports", "Supernatural", "Thriller"}
	syllables := []string{"ka", "mi", "no", "na", "wa", "shi", "ro", "ten", "gen", "ai", "yu", "ki", "sora", "hoshi", "tsu", "ba", "sa"}
	return func(yield func(anigo.ImportRecord, error) bool) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := range n {
			a := anigo.Anime{Source: anigo.SourceMAL, SourceID: strconv.Itoa(i + 1), Type: anigo.Types[r.IntN(len(anigo.Types))]}
			a.SourceURL = "https://myanimelist.net/anime/" + a.SourceID
			title := ""
			for range 2 + r.IntN(4) {
				title += syllables[r.IntN(len(syllables))]
			}
			a.Title = fmt.Sprintf("%s %d", title, i)
			a.Members = int(math.Min(5/math.Pow(r.Float64()+1e-9, 1.2), 2e6))
			if r.IntN(10) > 0 {
				a.Score = math.Round((2+r.Float64()*8)*100) / 100
			}
			if r.IntN(8) > 0 {
				a.Episodes = 1 + r.IntN(100)
			}
			for range 1 + r.IntN(4) {
				if g := genres[r.IntN(len(genres))]; !slices.Contains(a.Genres, g) {
					a.Genres = append(a.Genres, g)
				}
			}
			slices.Sort(a.Genres)
			a.Adult = slices.Contains(a.Genres, "Hentai")
			if !yield(anigo.ImportRecord{Anime: a, Line: int64(i + 1)}, nil) {
				return
			}
		}
	}
}

// BenchmarkCatalog1M imports a million synthetic titles once, printing the
// time, then measures the first and last catalog page of every sort.
func BenchmarkCatalog1M(b *testing.B) {
	const n = 1_000_000
	s := pgtest.NewStore(b, postgres.Options{})
	ctx := context.Background()
	start := time.Now()
	sum, err := s.Import(ctx, synthetic(n), nil)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("BenchmarkCatalog1M: import of %d titles: %.1f s (%+v)\n", n, time.Since(start).Seconds(), sum)

	measure := func(b *testing.B, call func() error) {
		b.Helper()
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			if err := call(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(at(0.50), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
	}
	page := func(q anigo.ListQuery) func() error {
		return func() error {
			list, err := s.List(ctx, q)
			if err == nil && len(list) == 0 {
				err = fmt.Errorf("page %d of %+v is empty", q.Page, q)
			}
			return err
		}
	}
	for _, filter := range []anigo.ListQuery{{}, {Type: "TV"}, {Genre: "Drama"}, {Genre: "Drama", MinScore: 5}} {
		total, err := s.Count(ctx, filter)
		if err != nil {
			b.Fatal(err)
		}
		last := (total + anigo.DefaultPerPage - 1) / anigo.DefaultPerPage
		for _, sort := range anigo.Sorts {
			for _, p := range []struct {
				name string
				page int
			}{{"first", 1}, {"middle", last / 2}, {"last", last}} {
				q := filter
				q.Sort, q.Page, q.PerPage = sort, p.page, anigo.DefaultPerPage
				name := fmt.Sprintf("list/%s/%s/%s", filter.Key(), sort, p.name)
				b.Run(name, func(b *testing.B) { measure(b, page(q)) })
			}
		}
	}
	b.Run("count/type=TV", func(b *testing.B) {
		measure(b, func() error { _, err := s.Count(ctx, anigo.ListQuery{Type: "TV"}); return err })
	})
	b.Run("ranking/last", func(b *testing.B) {
		total, _ := s.RankingCount(ctx, "")
		measure(b, func() error {
			_, err := s.Ranking(ctx, anigo.RankQuery{Page: total / anigo.DefaultPerPage, PerPage: anigo.DefaultPerPage})
			return err
		})
	})
	b.Run("anime", func(b *testing.B) {
		measure(b, func() error { _, err := s.Anime(ctx, n/2); return err })
	})
	b.Run("search", func(b *testing.B) {
		measure(b, func() error { _, err := s.Search(ctx, "kamino hoshi", 10); return err })
	})
}
