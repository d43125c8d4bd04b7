package importer

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/anigo/anigo"
)

// checkRecords drains a decoder over data: it must never panic, every
// record it yields must be importable (a source id, a title of valid
// UTF-8, a known type, numbers in range) and every skip must say where and
// why.
func checkRecords(t *testing.T, data []byte, name string) {
	t.Helper()
	dec, err := NewDecoder(bytes.NewReader(data), name)
	if err != nil {
		if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrUnknownFormat) && err.Error() == "" {
			t.Fatalf("NewDecoder error without a message")
		}
		return
	}
	defer dec.Close()
	skip := func(s anigo.ImportSkip) {
		if s.Line < 1 || s.Reason == "" {
			t.Fatalf("skip %+v: want a line number and a reason", s)
		}
	}
	for rec, err := range dec.Records(skip) {
		if err != nil {
			return // a broken file ends the import with an error: fine
		}
		a := rec.Anime
		if a.Source == "" || a.SourceID == "" {
			t.Fatalf("record at line %d has no source id: %+v", rec.Line, a)
		}
		if !utf8.ValidString(a.Title) || strings.TrimSpace(a.Title) == "" {
			t.Fatalf("record at line %d: title %q is empty or not UTF-8", rec.Line, a.Title)
		}
		if _, err := anigo.ParseType(a.Type); err != nil || a.Type == "" {
			t.Fatalf("record at line %d: type %q is not one of anigo.Types", rec.Line, a.Type)
		}
		if a.Score < 0 || a.Score > 10 || a.Episodes < 0 || a.Members < 0 {
			t.Fatalf("record at line %d: numbers out of range: %+v", rec.Line, a)
		}
	}
}

func FuzzCSVRows(f *testing.F) {
	for _, row := range []string{
		`32281,Kimi no Na wa.,"Drama, Romance, School, Supernatural",Movie,1,9.37,200630`,
		`1,Steins;Gate &amp; &#039;x&#039;,Sci-Fi,TV,Unknown,,12`,
		`2,<script>alert(1)</script>,,,,,5`,
		`x,bad id,Action,TV,1,1,1`,
		`3,"unterminated,Action,TV,1,1,1`,
		`4,too,few`,
		`5,Score,Action,TV,12,11.5,100`,
		`6,Neg,Action,TV,-3,-1,-5`,
	} {
		f.Add(row)
	}
	f.Fuzz(func(t *testing.T, row string) {
		data := "anime_id,name,genre,type,episodes,rating,members\r\n" + row + "\r\n"
		checkRecords(t, []byte(data), "anime.csv")
	})
}

func FuzzJSONRecords(f *testing.F) {
	for _, obj := range []string{
		`{"sources":["https://myanimelist.net/anime/1"],"title":"Cowboy Bebop","type":"TV","episodes":26,"status":"FINISHED","animeSeason":{"season":"SPRING","year":1998},"score":{"arithmeticMean":8.7},"tags":["action","space"]}`,
		`{"sources":[],"title":"No source"}`,
		`{"sources":["https://anilist.co/anime/9"],"title":"","type":"MOVIE"}`,
		`{"sources":["https://kitsu.app/anime/x"],"title":"T","episodes":-1,"score":{"arithmeticMean":99}}`,
		`{"title":123}`,
		`[1,2,3]`,
	} {
		f.Add(obj)
	}
	f.Fuzz(func(t *testing.T, obj string) {
		checkRecords(t, []byte(`{"license":{},"repository":"x","lastUpdate":"2026-01-01","data":[`+obj+`]}`), "aod.json")
		checkRecords(t, []byte(`{"license":{},"repository":"x"}`+"\n"+obj+"\n"), "aod.jsonl")
	})
}
