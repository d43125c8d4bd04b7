package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
)

func TestRunImport(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir("../../testdata")))
	defer srv.Close()

	// 25 malformed rows: the summary lists 20 and counts the rest.
	manyBad := filepath.Join(t.TempDir(), "many_bad.csv")
	var b strings.Builder
	b.WriteString("anime_id,name,genre,type,episodes,rating,members\r\n1,Good,Action,TV,1,7.0,100\r\n")
	for i := range 25 {
		fmt.Fprintf(&b, "x%d,Bad,Action,TV,1,7.0,100\r\n", i)
	}
	if err := os.WriteFile(manyBad, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	store := pgtest.NewStore(t, postgres.Options{})
	tests := []struct {
		name    string
		src     string
		stdout  []string // lines the summary must hold
		errText string
	}{
		{"csv", "../../testdata/import_small.csv", []string{
			"import: ../../testdata/import_small.csv (csv) in ",
			": 11 read, 11 inserted, 0 updated, 0 unchanged, 0 skipped",
			"import: catalog version is now 1"}, ""},
		{"again", "../../testdata/import_small.csv", []string{
			": 11 read, 0 inserted, 0 updated, 11 unchanged, 0 skipped",
			"import: nothing changed; catalog version stays 1"}, ""},
		{"url", srv.URL + "/import_aod.jsonl", []string{
			"(jsonl) in", ": 5 read, 4 inserted, 1 updated, 0 unchanged, 0 skipped",
			"import: catalog version is now 2"}, ""},
		{"skips", "../../testdata/import_bad_rows.csv", []string{
			"6 skipped",
			`import: skipped line 4: bad anime_id "abc": want a positive whole number`,
			"import: skipped line 9: empty name"}, ""},
		{"many skips", manyBad, []string{
			"25 skipped", "import: skipped line 22: bad anime_id", "import: ... and 5 more skipped"}, ""},
		{"missing", "../../testdata/nope.csv", nil, "import: importer: open ../../testdata/nope.csv: no such file (check the path or URL)"},
		{"404", srv.URL + "/nope.json", nil, "HTTP 404 Not Found (check the path or URL)"},
		{"empty", "../../testdata/import_empty.csv", nil, "the file is empty: nothing to import"},
		{"unknown", "../../testdata/import_unknown.txt", nil, "importer: unknown format"},
		{"damaged", "../../testdata/import_broken.csv", nil, "csv line 5"},
		{"truncated", "../../testdata/import_truncated.json", nil, "is the file truncated?); the catalog was not changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runImport(context.Background(), store, tc.src, &stdout, &stderr)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errText)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if strings.Contains(stderr.String(), "\r") {
				t.Errorf("stderr is not a terminal but got a bar: %q", stderr.String())
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p    progress
		bar  bool
		want string
	}{
		{progress{done: 512 << 10, total: 1 << 20, records: 6000}, true, "[===============               ]  50% 0.5 MB of 1.0 MB, 6000 titles"},
		{progress{done: 1 << 20, total: 1 << 20, records: 12294, saving: true}, false, "100% 1.0 MB of 1.0 MB, 12294 titles, saving to the database"},
		{progress{done: 2 << 20, total: -1, records: 10}, true, "2.0 MB read, 10 titles"},
		{progress{done: 3 << 20, total: 1 << 20, records: 10}, false, "100% 3.0 MB of 1.0 MB, 10 titles"}, // a server that lied about its size
	}
	for _, tc := range tests {
		if got := progressLine(tc.p, tc.bar); got != tc.want {
			t.Errorf("progressLine(%+v, %v) = %q, want %q", tc.p, tc.bar, got, tc.want)
		}
	}
}
