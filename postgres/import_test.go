package postgres_test

import (
	"context"
	"encoding/csv"
	"errors"
	"html"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/importer"
	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
	"github.com/klauspost/compress/zstd"
)

// datasetPath is the Kaggle anime.csv: ANIGO_DATASET, or shared/data
// beside the repository.
func datasetPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("ANIGO_DATASET")
	if path == "" || strings.Contains(path, "://") {
		path = filepath.Join("..", "..", "shared", "data", "anime.csv")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the dataset is missing: %v (set ANIGO_DATASET to the path of anime.csv)", err)
	}
	return path
}

// datasetFacts are what the test derives from anime.csv on its own, with
// encoding/csv, to check the import against.
type datasetFacts struct {
	rows, adult, genreLinks   int
	unknownEpisodes, noRating int
	ranked, ranked18          int // ranked titles, non-adult and all
	entities                  int // names holding an HTML entity
	genres                    map[string]bool
	titles                    map[string]string // anime_id → unescaped name
}

func readFacts(t testing.TB, path string) datasetFacts {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	d := datasetFacts{genres: map[string]bool{}, titles: map[string]string{}}
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d.rows++
		id, name, genre, episodes, rating, members := row[0], row[1], row[2], row[4], row[5], row[6]
		d.titles[id] = html.UnescapeString(name)
		if d.titles[id] != name {
			d.entities++
		}
		adult := false
		linked := map[string]bool{} // one row lists "Shounen" twice
		for g := range strings.SplitSeq(genre, ",") {
			if g = strings.TrimSpace(g); g != "" && !linked[g] {
				linked[g] = true
				d.genres[g] = true
				d.genreLinks++
				adult = adult || g == "Hentai"
			}
		}
		if adult {
			d.adult++
		}
		if episodes == "Unknown" {
			d.unknownEpisodes++
		}
		if rating == "" {
			d.noRating++
		}
		if m, err := strconv.Atoi(members); err != nil {
			t.Fatalf("members %q: %v", members, err)
		} else if rating != "" && m >= 1000 {
			d.ranked18++
			if !adult {
				d.ranked++
			}
		}
	}
	return d
}

// importFile imports path into s and returns the summary and error, with
// skips collected.
func importFile(t testing.TB, s *postgres.Store, path string) (anigo.ImportSummary, []anigo.ImportSkip, error) {
	t.Helper()
	ctx := context.Background()
	rc, info, err := importer.Open(ctx, path)
	if err != nil {
		return anigo.ImportSummary{}, nil, err
	}
	defer rc.Close()
	dec, err := importer.NewDecoder(rc, info.Name)
	if err != nil {
		return anigo.ImportSummary{}, nil, err
	}
	defer dec.Close()
	var skips []anigo.ImportSkip
	sum, err := s.Import(ctx, dec.Records(func(sk anigo.ImportSkip) { skips = append(skips, sk) }), nil)
	return sum, skips, err
}

func queryInt(t testing.TB, s *postgres.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestImportDataset(t *testing.T) {
	path := datasetPath(t)
	want := readFacts(t, path)
	s := pgtest.NewStore(t, postgres.Options{})
	ctx := context.Background()

	schema := `SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT indexdef AS d FROM pg_indexes WHERE tablename IN ('anime', 'anime_genres')
		UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN ('anime'::regclass, 'anime_genres'::regclass)) x`
	var schemaBefore, schemaAfter string
	if err := s.Pool().QueryRow(ctx, schema).Scan(&schemaBefore); err != nil {
		t.Fatal(err)
	}
	sum, skips, err := importFile(t, s, path) // the bulk path: an empty catalog
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pool().QueryRow(ctx, schema).Scan(&schemaAfter); err != nil || schemaAfter != schemaBefore {
		t.Errorf("indexes and constraints after a bulk load (%v):\n%s\nwant\n%s", err, schemaAfter, schemaBefore)
	}
	if len(skips) != 0 {
		t.Errorf("skipped %d rows, first %v; want none", len(skips), skips[0])
	}
	wantSum := anigo.ImportSummary{Read: want.rows, Inserted: want.rows, Version: 1}
	if sum != wantSum {
		t.Errorf("summary = %+v, want %+v", sum, wantSum)
	}

	counts := []struct {
		name string
		got  int
		want int
	}{
		{"titles", queryInt(t, s, "SELECT count(*) FROM anime"), want.rows},
		{"adult titles", queryInt(t, s, "SELECT count(*) FROM anime WHERE adult"), want.adult},
		{"NULL episodes", queryInt(t, s, "SELECT count(*) FROM anime WHERE episodes IS NULL"), want.unknownEpisodes},
		{"NULL scores", queryInt(t, s, "SELECT count(*) FROM anime WHERE score IS NULL"), want.noRating},
		{"genres", queryInt(t, s, "SELECT count(*) FROM genres"), len(want.genres)},
		{"genre links", queryInt(t, s, "SELECT count(*) FROM anime_genres"), want.genreLinks},
		{"untrimmed genres", queryInt(t, s, "SELECT count(*) FROM genres WHERE name <> btrim(name) OR name = ''"), 0},
		{"types outside anigo.Types", queryInt(t, s, "SELECT count(*) FROM anime WHERE NOT type = ANY($1)", anigo.Types), 0},
		{"ranked (all)", queryInt(t, s, "SELECT count(*) FROM anime WHERE ranked"), want.ranked18},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if n, err := s.Count(ctx, anigo.ListQuery{}); err != nil || n != want.rows-want.adult {
		t.Errorf("Count() = %d, %v; want %d visible titles", n, err, want.rows-want.adult)
	}
	if n, err := s.RankingCount(ctx, ""); err != nil || n != want.ranked {
		t.Errorf("RankingCount() = %d, %v; want %d", n, err, want.ranked)
	}

	rows, err := s.Pool().Query(ctx, "SELECT source_id, title FROM anime")
	if err != nil {
		t.Fatal(err)
	}
	seen, entities := 0, 0
	for rows.Next() {
		var id, title string
		if err := rows.Scan(&id, &title); err != nil {
			t.Fatal(err)
		}
		seen++
		if title != want.titles[id] {
			t.Errorf("anime_id %s: title %q, want %q", id, title, want.titles[id])
		}
		if strings.ContainsAny(title, "&") && html.UnescapeString(title) != title {
			entities++
		}
	}
	if rows.Err() != nil || seen != want.rows || entities != 0 {
		t.Errorf("checked %d titles (err %v), %d still hold entities; want %d, 0 (file had %d)", seen, rows.Err(), entities, want.rows, want.entities)
	}

	// Re-import: nothing changes, the version stays.
	sum, _, err = importFile(t, s, path)
	if err != nil {
		t.Fatal(err)
	}
	wantSum = anigo.ImportSummary{Read: want.rows, Unchanged: want.rows, Version: 1}
	if sum != wantSum {
		t.Errorf("re-import summary = %+v, want %+v", sum, wantSum)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM anime WHERE updated_at > (SELECT updated_at FROM catalog)"); n != 0 {
		t.Errorf("re-import rewrote %d titles, want 0", n)
	}
}

// snapshot is the whole catalog as text, to tell whether anything changed.
func snapshot(t *testing.T, s *postgres.Store) string {
	t.Helper()
	var out string
	err := s.Pool().QueryRow(context.Background(), `SELECT
		(SELECT coalesce(string_agg(a::text, E'\n' ORDER BY id), '') FROM anime a) ||
		(SELECT coalesce(string_agg(g::text, E'\n' ORDER BY id), '') FROM genres g) ||
		(SELECT coalesce(string_agg(ag::text, E'\n' ORDER BY anime_id, genre_id), '') FROM anime_genres ag) ||
		(SELECT c::text FROM catalog c) ||
		(SELECT coalesce(string_agg(o::text, E'\n' ORDER BY sort, with_adult, chunk), '') FROM catalog_order o)`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportFailureLeavesCatalog(t *testing.T) {
	tests := []struct {
		name    string
		records func(ctx context.Context) (context.Context, func(func(anigo.ImportRecord, error) bool))
		errText string
	}{
		{"damaged file", func(ctx context.Context) (context.Context, func(func(anigo.ImportRecord, error) bool)) {
			f, err := os.Open("../testdata/import_broken.csv")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			dec, err := importer.NewDecoder(f, "import_broken.csv")
			if err != nil {
				t.Fatal(err)
			}
			return ctx, dec.Records(nil)
		}, "csv line 5"},
		{"cancelled", func(ctx context.Context) (context.Context, func(func(anigo.ImportRecord, error) bool)) {
			ctx, cancel := context.WithCancel(ctx)
			return ctx, func(yield func(anigo.ImportRecord, error) bool) {
				for i := range 5000 {
					if i == 3000 {
						cancel()
					}
					a := anigo.Anime{Source: "test", SourceID: strconv.Itoa(i), Title: "T", Type: "TV"}
					if !yield(anigo.ImportRecord{Anime: a, Line: int64(i)}, nil) {
						return
					}
				}
			}
		}, "context canceled"},
		{"stream error", func(ctx context.Context) (context.Context, func(func(anigo.ImportRecord, error) bool)) {
			return ctx, func(yield func(anigo.ImportRecord, error) bool) {
				a := anigo.Anime{Source: anigo.SourceMAL, SourceID: "5114", Title: "Changed", Type: "TV"}
				if yield(anigo.ImportRecord{Anime: a}, nil) {
					yield(anigo.ImportRecord{}, errors.New("disk on fire"))
				}
			}
		}, "disk on fire"},
	}
	s := pgtest.NewStore(t, postgres.Options{})
	pgtest.ImportFixture(t, s, "../testdata/import_small.csv")
	before := snapshot(t, s)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, records := tc.records(context.Background())
			_, err := s.Import(ctx, records, nil)
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("err = %v, want one containing %q", err, tc.errText)
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("catalog changed by a failed import:\nbefore %.300s\nafter  %.300s", before, after)
			}
		})
	}
}

// zstFile writes a Zstandard copy of a fixture into a temp dir.
func zstFile(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	path := filepath.Join(t.TempDir(), name+".zst")
	if err := os.WriteFile(path, enc.EncodeAll(raw, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportAOD(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"json", func(*testing.T) string { return "../testdata/import_aod.json" }},
		{"jsonl", func(*testing.T) string { return "../testdata/import_aod.jsonl" }},
		{"json.zst", func(t *testing.T) string { return zstFile(t, "import_aod.json") }},
		{"jsonl.zst", func(t *testing.T) string { return zstFile(t, "import_aod.jsonl") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := pgtest.NewStore(t, postgres.Options{ShowAdult: true})
			ctx := context.Background()
			sum := pgtest.ImportFixture(t, s, tc.path(t))
			if want := (anigo.ImportSummary{Read: 5, Inserted: 5, Version: 1}); sum != want {
				t.Errorf("summary = %+v, want %+v", sum, want)
			}
			list, err := s.Search(ctx, "frieren", 5)
			if err != nil || len(list) != 1 {
				t.Fatalf("Search(frieren) = %v, %v; want one title", list, err)
			}
			d, err := s.Anime(ctx, list[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			want := anigo.Anime{ID: list[0].ID, Source: "anilist.co", SourceID: "170942", SourceURL: "https://anilist.co/anime/170942",
				Title: "Sousou no Frieren Specials", Type: "Special", Episodes: 4, Score: 7.51, Providers: 2, Year: 2024,
				Season: "FALL", Status: "ONGOING", ImageURL: "https://cdn.anilist.co/img/170942.jpg",
				ThumbURL: "https://cdn.anilist.co/img/170942t.jpg", Genres: []string{"Fantasy", "Slice of Life"}}
			assertAnime(t, d.Anime, want)
			// Without members, popularity is by providers: FMA:B (4) first.
			info, err := s.Info(ctx)
			if err != nil || info.HasMembers {
				t.Errorf("Info() = %+v, %v; want HasMembers false", info, err)
			}
			pop, err := s.Popular(ctx, 2)
			if err != nil || len(pop) != 2 || pop[0].Title != "Fullmetal Alchemist: Brotherhood" {
				t.Errorf("Popular(2) = %v, %v; want Fullmetal Alchemist: Brotherhood first", titles(pop), err)
			}
			// Ranked where listed by 2 providers or more.
			if n, err := s.RankingCount(ctx, ""); err != nil || n != 3 {
				t.Errorf("RankingCount() = %d, %v; want 3", n, err)
			}
		})
	}

	t.Run("merges with the CSV by MyAnimeList id", func(t *testing.T) {
		s := pgtest.NewStore(t, postgres.Options{})
		pgtest.ImportFixture(t, s, "../testdata/import_small.csv")
		sum := pgtest.ImportFixture(t, s, "../testdata/import_aod.json")
		if want := (anigo.ImportSummary{Read: 5, Inserted: 4, Updated: 1, Version: 2}); sum != want {
			t.Errorf("summary = %+v, want %+v", sum, want)
		}
		if n := queryInt(t, s, "SELECT count(*) FROM anime WHERE source = 'myanimelist' AND source_id = '5114'"); n != 1 {
			t.Errorf("%d rows for MAL 5114, want 1", n)
		}
	})
}

func TestImportBadInput(t *testing.T) {
	s := pgtest.NewStore(t, postgres.Options{})
	pgtest.ImportFixture(t, s, "../testdata/import_small.csv")
	before := snapshot(t, s)
	tests := []struct {
		path    string
		skips   int
		errText string
	}{
		{"../testdata/import_empty.csv", 0, "the file is empty"},
		{"../testdata/import_unknown.txt", 0, "unknown format"},
		{"../testdata/import_truncated.json", 0, "is the file truncated?"},
		{"../testdata/import_broken.csv", 0, "csv line 5"},
		{"../testdata/nope.csv", 0, "no such file"},
		{"../testdata/import_bad_rows.csv", 6, ""}, // only the good rows, already there
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			_, skips, err := importFile(t, s, tc.path)
			if tc.errText == "" && err != nil || tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
				t.Errorf("err = %v, want %q", err, tc.errText)
			}
			if len(skips) != tc.skips {
				t.Errorf("%d skips, want %d", len(skips), tc.skips)
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("catalog changed")
			}
		})
	}
}

func TestImportDuplicates(t *testing.T) {
	for _, n := range []int{3, 10_000} { // the upsert path, and the bulk path of a first load
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			s := pgtest.NewStore(t, postgres.Options{})
			records := func(yield func(anigo.ImportRecord, error) bool) {
				for r := range synthetic(n) {
					if !yield(r, nil) {
						return
					}
				}
				again := anigo.Anime{Source: anigo.SourceMAL, SourceID: "1", Title: "Listed Twice", Type: "TV"}
				yield(anigo.ImportRecord{Anime: again, Line: int64(n + 1)}, nil)
			}
			sum, err := s.Import(context.Background(), records, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := (anigo.ImportSummary{Read: n + 1, Inserted: n, Version: 1}); sum != want {
				t.Errorf("summary = %+v, want %+v", sum, want)
			}
			var title string
			if err := s.Pool().QueryRow(context.Background(), "SELECT title FROM anime WHERE source_id = '1'").Scan(&title); err != nil || title != "Listed Twice" {
				t.Errorf("title of the duplicate = %q (%v), want the last one read", title, err)
			}
		})
	}
}
