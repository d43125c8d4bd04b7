package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/anigo/anigo"
)

// aodAnime is the part of an anime-offline-database entry AniGo keeps.
// encoding/json skips the other fields (synonyms, studios, relations).
type aodAnime struct {
	Sources     []string `json:"sources"`
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Episodes    int      `json:"episodes"`
	Status      string   `json:"status"`
	AnimeSeason struct {
		Season string `json:"season"`
		Year   int    `json:"year"`
	} `json:"animeSeason"`
	Picture   string `json:"picture"`
	Thumbnail string `json:"thumbnail"`
	Score     *struct {
		ArithmeticMean float64 `json:"arithmeticMean"`
	} `json:"score"`
	Tags []string `json:"tags"`
}

// jsonRecords reads the minified JSON: one object whose "data" array holds
// the titles. It walks the document token by token and decodes one title
// at a time, so memory does not grow with the file. Record numbers count
// the entries of "data" from 1.
func jsonRecords(r io.Reader, skip func(anigo.ImportSkip)) iter.Seq2[anigo.ImportRecord, error] {
	return func(yield func(anigo.ImportRecord, error) bool) {
		dec := json.NewDecoder(r)
		fail := func(err error) { yield(anigo.ImportRecord{}, fmt.Errorf("importer: json: %w", err)) }
		if err := expectDelim(dec, '{'); err != nil {
			fail(err)
			return
		}
		sawData := false
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				fail(err)
				return
			}
			if tok != "data" {
				var ignored json.RawMessage // license, lastUpdate...: small
				if err := dec.Decode(&ignored); err != nil {
					fail(err)
					return
				}
				continue
			}
			sawData = true
			if err := expectDelim(dec, '['); err != nil {
				fail(fmt.Errorf("data: %w", err))
				return
			}
			for n := int64(1); dec.More(); n++ {
				var e aodAnime
				err := dec.Decode(&e)
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					// The value was read whole; only this title is bad.
					skip(anigo.ImportSkip{Line: n, Reason: fmt.Sprintf("field %s: want %s, got %s", te.Field, te.Type, te.Value)})
					continue
				}
				if err != nil {
					fail(fmt.Errorf("record %d: %w (is the file truncated?)", n, err))
					return
				}
				a, reason := aodToAnime(e)
				if reason != "" {
					skip(anigo.ImportSkip{Line: n, Reason: reason})
					continue
				}
				if !yield(anigo.ImportRecord{Anime: a, Line: n}, nil) {
					return
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				fail(fmt.Errorf("data: %w (is the file truncated?)", err))
				return
			}
		}
		if err := expectDelim(dec, '}'); err != nil {
			fail(fmt.Errorf("%w (is the file truncated?)", err))
			return
		}
		if !sawData {
			fail(errors.New(`no "data" array: not an anime-offline-database file`))
		}
	}
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return fmt.Errorf("unexpected end of file, want %q", want)
	}
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v, want %q", tok, want)
	}
	return nil
}

// maxLine bounds one JSON Lines entry; real ones are a few kilobytes.
const maxLine = 4 << 20

// jsonlRecords reads JSON Lines: a metadata object on the first line, then
// one title per line. A line that is not a valid title is skipped.
func jsonlRecords(r io.Reader, skip func(anigo.ImportSkip)) iter.Seq2[anigo.ImportRecord, error] {
	return func(yield func(anigo.ImportRecord, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		var line int64
		for sc.Scan() {
			line++
			b := sc.Bytes()
			if len(strings.TrimSpace(string(b))) == 0 {
				continue
			}
			var e aodAnime
			if err := json.Unmarshal(b, &e); err != nil {
				skip(anigo.ImportSkip{Line: line, Reason: "invalid JSON: " + err.Error()})
				continue
			}
			if line == 1 && len(e.Sources) == 0 {
				continue // the metadata line
			}
			a, reason := aodToAnime(e)
			if reason != "" {
				skip(anigo.ImportSkip{Line: line, Reason: reason})
				continue
			}
			if !yield(anigo.ImportRecord{Anime: a, Line: line}, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(anigo.ImportRecord{}, fmt.Errorf("importer: jsonl line %d: %w", line+1, err))
		}
	}
}

var aodTypes = map[string]string{
	"TV": "TV", "MOVIE": "Movie", "OVA": "OVA", "ONA": "ONA", "SPECIAL": "Special", "UNKNOWN": "Unknown", "": "Unknown",
}

// aodToAnime converts one entry, or says why it cannot.
func aodToAnime(e aodAnime) (anigo.Anime, string) {
	a := anigo.Anime{
		Title:     cleanText(e.Title),
		Episodes:  e.Episodes,
		Providers: len(e.Sources),
		Year:      e.AnimeSeason.Year,
		ImageURL:  webURL(e.Picture),
		ThumbURL:  webURL(e.Thumbnail),
	}
	if len(e.Sources) == 0 {
		return anigo.Anime{}, "no sources"
	}
	if a.Title == "" {
		return anigo.Anime{}, "empty title"
	}
	var ok bool
	a.Source, a.SourceID, a.SourceURL, ok = aodSource(e.Sources)
	if !ok {
		return anigo.Anime{}, fmt.Sprintf("bad source URL %q", clip(e.Sources[0]))
	}
	if a.Type, ok = aodTypes[e.Type]; !ok {
		return anigo.Anime{}, fmt.Sprintf("unknown type %q", clip(e.Type))
	}
	if a.Episodes < 0 {
		return anigo.Anime{}, fmt.Sprintf("negative episodes %d", e.Episodes)
	}
	if a.Year < 1900 || a.Year > 3000 {
		a.Year = 0
	}
	switch s := e.AnimeSeason.Season; s {
	case "SPRING", "SUMMER", "FALL", "WINTER":
		a.Season = s
	}
	switch s := e.Status; s {
	case "FINISHED", "ONGOING", "UPCOMING":
		a.Status = s
	}
	if e.Score != nil {
		f := e.Score.ArithmeticMean
		if math.IsNaN(f) || f < 0 || f > anigo.MaxScore {
			return anigo.Anime{}, fmt.Sprintf("score %v out of range", f)
		}
		a.Score = math.Round(f*100) / 100
	}
	for _, t := range e.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "hentai" {
			a.Adult = true
		}
		if g, ok := tagGenres[t]; ok && !slices.Contains(a.Genres, g) {
			a.Genres = append(a.Genres, g)
		}
	}
	slices.Sort(a.Genres)
	return a, ""
}

// aodSource picks the stable id among a title's provider URLs: the
// MyAnimeList one when present, so that the CSV (MAL ids) and this
// catalog describe a title with one row; else the first URL's host and
// last path element.
func aodSource(sources []string) (source, id, pageURL string, ok bool) {
	for _, s := range sources {
		u, err := url.Parse(s)
		if err == nil && strings.TrimPrefix(u.Host, "www.") == "myanimelist.net" {
			if id := path.Base(u.Path); strings.HasPrefix(u.Path, "/anime/") && isDigits(id) {
				return anigo.SourceMAL, id, s, true
			}
		}
	}
	u, err := url.Parse(sources[0])
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", "", false
	}
	id = path.Base(strings.TrimRight(u.Path, "/"))
	if id == "." || id == "/" || id == "" {
		return "", "", "", false
	}
	return strings.TrimPrefix(u.Host, "www."), id, sources[0], true
}

// webURL keeps http(s) URLs only: a page must never get a javascript: src.
func webURL(s string) string {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return s
	}
	return ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// tagGenres maps anime-offline-database tags (lower case) onto the genre
// names of the CSV catalog, so both sources share one genre list. Other
// tags ("male protagonist", "based on a manga"...) are thousands of
// free-form labels, too many for a genre filter, and are left out.
var tagGenres = func() map[string]string {
	m := map[string]string{"science fiction": "Sci-Fi", "sci fi": "Sci-Fi", "superpower": "Super Power",
		"super powers": "Super Power", "vampires": "Vampire", "demon": "Demons", "martial arts": "Martial Arts",
		"shoujo-ai": "Shoujo Ai", "shounen-ai": "Shounen Ai", "boys' love": "Yaoi", "girls' love": "Yuri"}
	for _, g := range []string{"Action", "Adventure", "Cars", "Comedy", "Dementia", "Demons", "Drama", "Ecchi",
		"Fantasy", "Game", "Harem", "Hentai", "Historical", "Horror", "Josei", "Kids", "Magic", "Martial Arts",
		"Mecha", "Military", "Music", "Mystery", "Parody", "Police", "Psychological", "Romance", "Samurai",
		"School", "Sci-Fi", "Seinen", "Shoujo", "Shoujo Ai", "Shounen", "Shounen Ai", "Slice of Life", "Space",
		"Sports", "Super Power", "Supernatural", "Thriller", "Vampire", "Yaoi", "Yuri"} {
		m[strings.ToLower(g)] = g
	}
	return m
}()
