package importer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/anigo/anigo"
	"github.com/klauspost/compress/zstd"
)

// compressed writes a zstd copy of the fixture named name into a temp dir
// and returns its path (the copies are made, not committed).
func compressed(t *testing.T, name string) string {
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

// decodeFile reads every record of path, returning records, skips and the
// sequence's error.
func decodeFile(t *testing.T, path string) (*Decoder, []anigo.ImportRecord, []anigo.ImportSkip, error) {
	t.Helper()
	rc, info, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	dec, err := NewDecoder(rc, info.Name)
	if err != nil {
		return nil, nil, nil, err
	}
	t.Cleanup(func() { dec.Close() })
	var recs []anigo.ImportRecord
	var skips []anigo.ImportSkip
	for r, err := range dec.Records(func(s anigo.ImportSkip) { skips = append(skips, s) }) {
		if err != nil {
			return dec, recs, skips, err
		}
		recs = append(recs, r)
	}
	return dec, recs, skips, nil
}

func fixture(name string) string { return filepath.Join("..", "testdata", name) }

func TestDetect(t *testing.T) {
	tests := []struct {
		path       string
		format     Format
		compressed bool
		err        error
	}{
		{fixture("import_small.csv"), FormatCSV, false, nil},
		{fixture("import_aod.json"), FormatJSON, false, nil},
		{fixture("import_aod.jsonl"), FormatJSONL, false, nil},
		{fixture("import_empty.csv"), "", false, ErrEmpty},
		{fixture("import_unknown.txt"), "", false, ErrUnknownFormat},
		{fixture("import_wrong_header.csv"), "", false, ErrUnknownFormat},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			dec, _, _, err := decodeFile(t, tc.path)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if dec.Format() != tc.format || dec.Compressed() != tc.compressed {
				t.Errorf("format, compressed = %s, %v, want %s, %v", dec.Format(), dec.Compressed(), tc.format, tc.compressed)
			}
		})
	}
	// Compressed copies, also under names that give no hint.
	for _, tc := range []struct {
		name   string
		format Format
	}{{"import_small.csv", FormatCSV}, {"import_aod.json", FormatJSON}, {"import_aod.jsonl", FormatJSONL}} {
		t.Run(tc.name+".zst", func(t *testing.T) {
			path := compressed(t, tc.name)
			dec, recs, _, err := decodeFile(t, path)
			if err != nil {
				t.Fatal(err)
			}
			_, plain, _, _ := decodeFile(t, fixture(tc.name))
			if dec.Format() != tc.format || !dec.Compressed() {
				t.Errorf("format, compressed = %s, %v, want %s, true", dec.Format(), dec.Compressed(), tc.format)
			}
			if len(recs) == 0 || !slices.EqualFunc(recs, plain, func(a, b anigo.ImportRecord) bool {
				return a.Line == b.Line && a.Anime.Title == b.Anime.Title
			}) {
				t.Errorf("compressed gave %d records, plain %d, or they differ", len(recs), len(plain))
			}
		})
	}
	t.Run("empty zst", func(t *testing.T) {
		path := compressed(t, "import_empty.csv")
		if _, _, _, err := decodeFile(t, path); !errors.Is(err, ErrEmpty) {
			t.Errorf("err = %v, want ErrEmpty", err)
		}
	})
}

func TestCSV(t *testing.T) {
	_, recs, skips, err := decodeFile(t, fixture("import_small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(skips) != 0 || len(recs) != 11 {
		t.Fatalf("got %d records, %d skips, want 11, 0", len(recs), len(skips))
	}
	byID := map[string]anigo.ImportRecord{}
	for _, r := range recs {
		byID[r.Anime.SourceID] = r
	}
	tests := []struct {
		id   string
		line int64
		want anigo.Anime
	}{
		{"5114", 2, anigo.Anime{Title: "Fullmetal Alchemist: Brotherhood", Type: "TV", Episodes: 64, Score: 9.26, Members: 793665,
			Genres: []string{"Action", "Adventure", "Drama", "Fantasy", "Magic", "Military", "Shounen"}}},
		{"28977", 6, anigo.Anime{Title: "Gintama'", Type: "TV", Episodes: 51, Score: 9.16, Members: 151266,
			Genres: []string{"Action", "Comedy", "Historical", "Parody", "Samurai", "Sci-Fi", "Shounen"}}},
		{"820", 7, anigo.Anime{Title: `"Bungaku Shoujo" Memoire & More`, Type: "OVA", Episodes: 3, Score: 7.54, Members: 8513,
			Genres: []string{"Drama", "Romance", "School"}}},
		{"90001", 8, anigo.Anime{Title: "<script>alert(1)</script>", Type: "ONA", Members: 1500, Genres: []string{"Comedy"}}},
		{"90003", 10, anigo.Anime{Title: "Not Aired Yet", Type: "Unknown", Members: 2400, Genres: []string{"Action", "Mecha"}}},
		{"90004", 11, anigo.Anime{Title: "Adult Title", Type: "OVA", Episodes: 2, Score: 6.5, Members: 5000, Adult: true,
			Genres: []string{"Hentai", "Romance"}}},
		{"90005", 12, anigo.Anime{Title: "Café Music Clip", Type: "Music", Episodes: 1, Score: 5.12, Members: 1001}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			r, ok := byID[tc.id]
			if !ok {
				t.Fatalf("no record for anime_id %s", tc.id)
			}
			tc.want.Source, tc.want.SourceID = anigo.SourceMAL, tc.id
			tc.want.SourceURL = "https://myanimelist.net/anime/" + tc.id
			if r.Line != tc.line {
				t.Errorf("line = %d, want %d", r.Line, tc.line)
			}
			assertAnime(t, r.Anime, tc.want)
		})
	}
}

func assertAnime(t *testing.T, got, want anigo.Anime) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestCSVSkips(t *testing.T) {
	_, recs, skips, err := decodeFile(t, fixture("import_bad_rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := []anigo.ImportSkip{
		{Line: 4, Reason: `bad anime_id "abc": want a positive whole number`},
		{Line: 5, Reason: "5 columns, want 7"},
		{Line: 6, Reason: `bad rating "eleven": want a number from 0 to 10`},
		{Line: 7, Reason: `bad episodes "-3": want a whole number or Unknown`},
		{Line: 8, Reason: `unknown type "Telenovela"`},
		{Line: 9, Reason: "empty name"},
	}
	if !slices.Equal(skips, want) {
		t.Errorf("skips =\n%v\nwant\n%v", skips, want)
	}
	if len(recs) != 4 {
		t.Errorf("got %d records, want 4", len(recs))
	}
}

func TestDamaged(t *testing.T) {
	tests := []struct {
		path    string
		records int
		errText string
	}{
		{fixture("import_broken.csv"), 3, "csv line 5"},
		{fixture("import_truncated.json"), 2, "is the file truncated?"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			_, recs, _, err := decodeFile(t, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("err = %v, want one containing %q", err, tc.errText)
			}
			if len(recs) != tc.records {
				t.Errorf("got %d records before the error, want %d", len(recs), tc.records)
			}
		})
	}
}

func TestAOD(t *testing.T) {
	want := []anigo.Anime{
		{Source: anigo.SourceMAL, SourceID: "5114", SourceURL: "https://myanimelist.net/anime/5114",
			Title: "Fullmetal Alchemist: Brotherhood", Type: "TV", Episodes: 64, Score: 8.95, Providers: 4, Year: 2009,
			Season: "SPRING", Status: "FINISHED", ImageURL: "https://cdn.myanimelist.net/images/anime/1223/96541.jpg",
			ThumbURL: "https://cdn.myanimelist.net/images/anime/1223/96541t.jpg",
			Genres:   []string{"Action", "Adventure", "Drama", "Fantasy", "Military", "Sci-Fi", "Shounen"}},
		{Source: "anilist.co", SourceID: "170942", SourceURL: "https://anilist.co/anime/170942",
			Title: "Sousou no Frieren Specials", Type: "Special", Episodes: 4, Score: 7.51, Providers: 2, Year: 2024,
			Season: "FALL", Status: "ONGOING", ImageURL: "https://cdn.anilist.co/img/170942.jpg",
			ThumbURL: "https://cdn.anilist.co/img/170942t.jpg", Genres: []string{"Fantasy", "Slice of Life"}},
		{Source: anigo.SourceMAL, SourceID: "99999", SourceURL: "https://myanimelist.net/anime/99999",
			Title: "Café &amp; <b>Bold</b> Movie", Type: "Movie", Episodes: 1, Providers: 1, Status: "UPCOMING",
			Genres: []string{"Comedy"}},
		{Source: anigo.SourceMAL, SourceID: "777", SourceURL: "https://myanimelist.net/anime/777",
			Title: "Adult Only", Type: "OVA", Episodes: 2, Score: 6.1, Providers: 2, Adult: true, Year: 2001,
			Season: "WINTER", Status: "FINISHED", ImageURL: "https://cdn.myanimelist.net/images/anime/777.jpg",
			ThumbURL: "https://cdn.myanimelist.net/images/anime/777t.jpg", Genres: []string{"Hentai", "Romance"}},
		{Source: "kitsu.app", SourceID: "12", SourceURL: "https://kitsu.app/anime/12", Title: "Mystery Entry",
			Type: "Unknown", Providers: 1, ImageURL: "https://kitsu.app/12.jpg", ThumbURL: "https://kitsu.app/12t.jpg"},
	}
	for _, tc := range []struct {
		path      string
		firstLine int64 // JSON counts records from 1; JSON Lines has metadata on line 1
	}{{fixture("import_aod.json"), 1}, {fixture("import_aod.jsonl"), 2}} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			_, recs, skips, err := decodeFile(t, tc.path)
			if err != nil || len(skips) != 0 {
				t.Fatalf("err = %v, skips = %v", err, skips)
			}
			if len(recs) != len(want) {
				t.Fatalf("got %d records, want %d", len(recs), len(want))
			}
			for i, r := range recs {
				if r.Line != tc.firstLine+int64(i) {
					t.Errorf("record %d: line = %d, want %d", i, r.Line, tc.firstLine+int64(i))
				}
				assertAnime(t, r.Anime, want[i])
			}
		})
	}
	t.Run("bad entries", func(t *testing.T) {
		_, recs, skips, err := decodeFile(t, fixture("import_aod_bad.json"))
		if err != nil {
			t.Fatal(err)
		}
		wantSkips := []anigo.ImportSkip{{Line: 3, Reason: "field episodes: want int, got string"}, {Line: 4, Reason: "no sources"}}
		if !slices.Equal(skips, wantSkips) || len(recs) != 2 {
			t.Errorf("skips = %v, records = %d; want %v, 2", skips, len(recs), wantSkips)
		}
	})
}

func TestOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/import_small.csv" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, fixture("import_small.csv"))
	}))
	defer srv.Close()
	st, err := os.Stat(fixture("import_small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src     string
		info    Info
		errText string
	}{
		{fixture("import_small.csv"), Info{Name: "import_small.csv", Size: st.Size()}, ""},
		{srv.URL + "/import_small.csv", Info{Name: "import_small.csv", Size: st.Size()}, ""},
		{fixture("nope.csv"), Info{}, "importer: open ../testdata/nope.csv: no such file"},
		{fixture(""), Info{}, "is a directory"},
		{srv.URL + "/missing.json", Info{}, "HTTP 404 Not Found"},
		{"http://127.0.0.1:1/x.csv", Info{}, "importer: download http://127.0.0.1:1/x.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			rc, info, err := Open(context.Background(), tc.src)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if info != tc.info {
				t.Errorf("info = %+v, want %+v", info, tc.info)
			}
		})
	}
}
