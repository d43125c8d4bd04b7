package handlers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/cache"
)

// fakeStore is an in-memory Store. err, when set, is returned by every
// method but Ping; pingErr by Ping.
type fakeStore struct {
	anime      []anigo.Anime
	hasMembers bool
	err        error
	pingErr    error
	panicMsg   string // List panics with it when set
}

func (s *fakeStore) filter(q anigo.ListQuery) []anigo.Anime {
	var out []anigo.Anime
	for _, a := range s.anime {
		if (q.Type == "" || a.Type == q.Type) &&
			(q.Genre == "" || slices.Contains(a.Genres, q.Genre)) &&
			a.Score >= q.MinScore &&
			strings.Contains(strings.ToLower(a.Title), strings.ToLower(q.Q)) {
			out = append(out, a)
		}
	}
	return out
}

func page[T any](list []T, offset, n int) []T {
	if offset >= len(list) {
		return nil
	}
	return list[offset:min(offset+n, len(list))]
}

func byMembers(a, b anigo.Anime) int {
	return cmp.Or(cmp.Compare(b.Members, a.Members), cmp.Compare(a.ID, b.ID))
}
func byScore(a, b anigo.Anime) int {
	return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.ID, b.ID))
}

func (s *fakeStore) Popular(_ context.Context, limit int) ([]anigo.Anime, error) {
	if s.err != nil {
		return nil, s.err
	}
	list := slices.SortedFunc(slices.Values(s.anime), byMembers)
	return page(list, 0, limit), nil
}

func (s *fakeStore) List(_ context.Context, q anigo.ListQuery) ([]anigo.Anime, error) {
	if s.panicMsg != "" {
		panic(s.panicMsg)
	}
	if s.err != nil {
		return nil, s.err
	}
	list := s.filter(q)
	switch q.Sort {
	case anigo.SortScore:
		slices.SortFunc(list, byScore)
	case anigo.SortTitle:
		slices.SortFunc(list, func(a, b anigo.Anime) int { return strings.Compare(a.Title, b.Title) })
	case anigo.SortEpisodes:
		slices.SortFunc(list, func(a, b anigo.Anime) int { return cmp.Compare(b.Episodes, a.Episodes) })
	default:
		slices.SortFunc(list, byMembers)
	}
	return page(list, q.Offset(), q.PerPage), nil
}

func (s *fakeStore) Count(_ context.Context, q anigo.ListQuery) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	return len(s.filter(q)), nil
}

func (s *fakeStore) ranked(typ string) []anigo.Anime {
	list := s.filter(anigo.ListQuery{Type: typ, MinScore: 0.01})
	slices.SortFunc(list, byScore)
	return list
}

func (s *fakeStore) Ranking(_ context.Context, q anigo.RankQuery) ([]anigo.Ranked, error) {
	if s.err != nil {
		return nil, s.err
	}
	var out []anigo.Ranked
	for i, a := range page(s.ranked(q.Type), q.Offset(), q.PerPage) {
		out = append(out, anigo.Ranked{Anime: a, Rank: q.Offset() + i + 1})
	}
	return out, nil
}

func (s *fakeStore) RankingCount(_ context.Context, typ string) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	return len(s.ranked(typ)), nil
}

func (s *fakeStore) Anime(_ context.Context, id int64) (anigo.AnimeDetail, error) {
	if s.err != nil {
		return anigo.AnimeDetail{}, s.err
	}
	for _, a := range s.anime {
		if a.ID != id {
			continue
		}
		d := anigo.AnimeDetail{Anime: a, ScoreRank: 1, PopularityRank: 2}
		for _, r := range s.anime {
			if r.ID != id && len(d.Related) < 6 && len(a.Genres) > 0 && slices.Contains(r.Genres, a.Genres[0]) {
				d.Related = append(d.Related, r)
			}
		}
		return d, nil
	}
	return anigo.AnimeDetail{}, anigo.Errorf(anigo.ENOTFOUND, "No title %d.", id)
}

func (s *fakeStore) Search(_ context.Context, q string, limit int) ([]anigo.Anime, error) {
	if s.err != nil {
		return nil, s.err
	}
	return page(s.filter(anigo.ListQuery{Q: q}), 0, limit), nil
}

func (s *fakeStore) Genres(context.Context) ([]anigo.Genre, error) {
	if s.err != nil {
		return nil, s.err
	}
	counts := map[string]int{}
	for _, a := range s.anime {
		for _, g := range a.Genres {
			counts[g]++
		}
	}
	var out []anigo.Genre
	for name, n := range counts {
		out = append(out, anigo.Genre{Name: name, Count: n})
	}
	slices.SortFunc(out, func(a, b anigo.Genre) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *fakeStore) Info(context.Context) (anigo.CatalogInfo, error) {
	if s.err != nil {
		return anigo.CatalogInfo{}, s.err
	}
	return anigo.CatalogInfo{Version: 1, Total: len(s.anime), HasMembers: s.hasMembers}, nil
}

func (s *fakeStore) Ping(context.Context) error { return s.pingErr }

// recordingFragments renders every fragment and records which it was asked for.
type recordingFragments struct {
	mu    sync.Mutex
	calls []string // "name|params"
}

func (f *recordingFragments) Get(ctx context.Context, name, params string, render func(context.Context) ([]byte, error)) ([]byte, string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, name+"|"+params)
	f.mu.Unlock()
	b, err := render(ctx)
	return b, "MISS", err
}

// Peek never finds anything, so every fragment goes through Get.
func (f *recordingFragments) Peek(context.Context, string, string) ([]byte, bool) { return nil, false }

func (f *recordingFragments) Prefetch(context.Context, ...cache.Fragment) {}

func (f *recordingFragments) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.calls))
}

// fixture is a catalog of n titles plus two with markup in the title.
func fixture(n int) []anigo.Anime {
	types := []string{"TV", "Movie", "OVA", "ONA", "Special"}
	genres := []string{"Action", "Comedy", "Drama", "Romance", "Sci-Fi"}
	list := []anigo.Anime{
		{ID: 1, Title: "Cowboy Bebop", Type: "TV", Episodes: 26, Score: 8.82, Members: 486824,
			Source: anigo.SourceMAL, SourceID: "1", SourceURL: "https://myanimelist.net/anime/1", Genres: []string{"Action", "Sci-Fi"}},
		{ID: 2, Title: "<script>alert(1)</script>", Type: "OVA", Episodes: 1, Score: 5.5, Members: 10, Genres: []string{"Comedy"}},
	}
	for i := 3; i <= n; i++ {
		list = append(list, anigo.Anime{
			ID: int64(i), Title: fmt.Sprintf("Title %02d", i), Type: types[i%len(types)], Episodes: i % 30,
			Score: float64(500+i*7%450) / 100, Members: 1000 * i, Genres: []string{genres[i%len(genres)]},
		})
	}
	return list
}
