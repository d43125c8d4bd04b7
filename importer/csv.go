package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"io"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/anigo/anigo"
)

const csvHeader = "anime_id,name,genre,type,episodes,rating,members"

var csvColumns = strings.Split(csvHeader, ",")

// csvRecords reads the Kaggle anime CSV. A row with the wrong number of
// columns or a bad value is skipped; broken quoting stops the import,
// since a lost quote swallows the rows after it and nothing read past it
// can be trusted.
func csvRecords(r io.Reader, skip func(anigo.ImportSkip)) iter.Seq2[anigo.ImportRecord, error] {
	return func(yield func(anigo.ImportRecord, error) bool) {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1 // counted below, to skip rather than stop
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err != nil {
			yield(anigo.ImportRecord{}, fmt.Errorf("importer: csv header: %w", err))
			return
		}
		if !slices.Equal(header, csvColumns) {
			yield(anigo.ImportRecord{}, fmt.Errorf("importer: csv header is %q, want %q", strings.Join(header, ","), csvHeader))
			return
		}
		for {
			row, err := cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					err = fmt.Errorf("importer: csv line %d: %w: the file is damaged", pe.StartLine, pe.Err)
				} else {
					err = fmt.Errorf("importer: read: %w", err)
				}
				yield(anigo.ImportRecord{}, err)
				return
			}
			line, _ := cr.FieldPos(0) // only valid after a row was read: it panics after an error
			a, reason := csvAnime(row)
			if reason != "" {
				skip(anigo.ImportSkip{Line: int64(line), Reason: reason})
				continue
			}
			if !yield(anigo.ImportRecord{Anime: a, Line: int64(line)}, nil) {
				return
			}
		}
	}
}

// csvAnime converts one row, or says why it cannot.
func csvAnime(row []string) (anigo.Anime, string) {
	if len(row) != len(csvColumns) {
		return anigo.Anime{}, fmt.Sprintf("%d columns, want %d", len(row), len(csvColumns))
	}
	id, err := strconv.ParseInt(strings.TrimSpace(row[0]), 10, 64)
	if err != nil || id <= 0 {
		return anigo.Anime{}, fmt.Sprintf("bad anime_id %q: want a positive whole number", clip(row[0]))
	}
	a := anigo.Anime{
		Source:    anigo.SourceMAL,
		SourceID:  strconv.FormatInt(id, 10),
		SourceURL: "https://myanimelist.net/anime/" + strconv.FormatInt(id, 10),
		Title:     cleanText(html.UnescapeString(row[1])),
	}
	if a.Title == "" {
		return anigo.Anime{}, "empty name"
	}
	var ok bool
	if a.Type, ok = canonicalType(row[3]); !ok {
		return anigo.Anime{}, fmt.Sprintf("unknown type %q", clip(row[3]))
	}
	if s := strings.TrimSpace(row[4]); s != "" && s != "Unknown" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return anigo.Anime{}, fmt.Sprintf("bad episodes %q: want a whole number or Unknown", clip(row[4]))
		}
		a.Episodes = n
	}
	if s := strings.TrimSpace(row[5]); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > anigo.MaxScore {
			return anigo.Anime{}, fmt.Sprintf("bad rating %q: want a number from 0 to 10", clip(row[5]))
		}
		a.Score = f
	}
	if s := strings.TrimSpace(row[6]); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return anigo.Anime{}, fmt.Sprintf("bad members %q: want a whole number", clip(row[6]))
		}
		a.Members = n
	}
	for g := range strings.SplitSeq(row[2], ",") {
		if g = cleanText(html.UnescapeString(g)); g != "" && !slices.Contains(a.Genres, g) {
			a.Genres = append(a.Genres, g)
		}
	}
	slices.Sort(a.Genres)
	a.Adult = slices.Contains(a.Genres, "Hentai")
	return a, ""
}

// canonicalType maps a type's spelling onto anigo.Types; empty is Unknown.
func canonicalType(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Unknown", true
	}
	t, err := anigo.ParseType(s)
	return t, err == nil
}

// cleanText trims s and removes what PostgreSQL text cannot hold (NUL,
// invalid UTF-8) and other control characters.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// clip shortens a bad value quoted in a message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
