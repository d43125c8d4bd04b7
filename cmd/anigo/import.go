package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/importer"
	"github.com/anigo/anigo/postgres"
	"golang.org/x/term"
)

// How import reports progress.
const (
	maxSkipsShown = 20
	barEvery      = 200 * time.Millisecond // redraw of the terminal bar
	logEvery      = 5 * time.Second        // plain lines when not on a terminal
	barWidth      = 30
)

// runImport imports the catalog file or URL src into store: progress to
// stderr (a bar on a terminal, a line every few seconds otherwise), then a
// summary to stdout. The returned error is one line naming the cause and
// what to do; the catalog is unchanged whenever an error comes back.
func runImport(ctx context.Context, store *postgres.Store, src string, stdout, stderr io.Writer) error {
	start := time.Now()
	rc, info, err := importer.Open(ctx, src)
	if err != nil {
		return fmt.Errorf("import: %w (check the path or URL)", err)
	}
	defer rc.Close()
	counted := &countingReader{r: rc}
	dec, err := importer.NewDecoder(counted, info.Name)
	switch {
	case errors.Is(err, importer.ErrEmpty):
		return fmt.Errorf("import %s: %w: nothing to import (download it again?)", src, err)
	case err != nil:
		return fmt.Errorf("import %s: %w", src, err)
	}
	defer dec.Close()

	var skips []anigo.ImportSkip
	skipped := 0
	onSkip := func(s anigo.ImportSkip) {
		skipped++
		if len(skips) < maxSkipsShown {
			skips = append(skips, s)
		}
	}
	var records atomic.Int64
	var readAll atomic.Bool // the file is read; the database is still at work
	stop := showProgress(stderr, func() progress {
		return progress{done: counted.n.Load(), total: info.Size, records: records.Load(), saving: readAll.Load()}
	})
	all := func(yield func(anigo.ImportRecord, error) bool) {
		for r, err := range dec.Records(onSkip) {
			if !yield(r, err) {
				return
			}
		}
		readAll.Store(true)
	}
	sum, err := store.Import(ctx, all, records.Store)
	stop()
	if err != nil {
		return fmt.Errorf("import %s: %w; the catalog was not changed", src, err)
	}

	kind := string(dec.Format())
	if dec.Compressed() {
		kind += ", zstd"
	}
	fmt.Fprintf(stdout, "import: %s (%s) in %s: %d read, %d inserted, %d updated, %d unchanged, %d skipped\n",
		src, kind, time.Since(start).Round(time.Millisecond), sum.Read, sum.Inserted, sum.Updated, sum.Unchanged, skipped)
	if sum.Changed() {
		fmt.Fprintf(stdout, "import: catalog version is now %d\n", sum.Version)
	} else {
		fmt.Fprintf(stdout, "import: nothing changed; catalog version stays %d\n", sum.Version)
	}
	for _, s := range skips {
		fmt.Fprintf(stdout, "import: skipped line %d: %s\n", s.Line, s.Reason)
	}
	if skipped > len(skips) {
		fmt.Fprintf(stdout, "import: ... and %d more skipped\n", skipped-len(skips))
	}
	return nil
}

// progress is where an import stands.
type progress struct {
	done, total int64 // bytes read, of total (-1 when unknown)
	records     int64 // records sent to the database
	saving      bool  // all read; the database is merging them
}

// showProgress reports progress on w until the returned stop is called:
// a bar redrawn in place on a terminal, a plain line every logEvery
// otherwise.
func showProgress(w io.Writer, read func() progress) (stop func()) {
	f, ok := w.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	every := logEvery
	if tty {
		every = barEvery
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\033[K") // clear the bar
				}
				return
			case <-t.C:
				if tty {
					fmt.Fprint(w, "\r"+progressLine(read(), true))
				} else {
					fmt.Fprintln(w, "import: "+progressLine(read(), false))
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// progressLine renders p, with a bar when bar is set and the size known.
func progressLine(p progress, bar bool) string {
	var s string
	if p.total <= 0 {
		s = fmt.Sprintf("%s read, %d titles", mb(p.done), p.records)
	} else {
		frac := min(float64(p.done)/float64(p.total), 1)
		s = fmt.Sprintf("%3.0f%% %s of %s, %d titles", frac*100, mb(p.done), mb(p.total), p.records)
		if bar {
			filled := int(frac * barWidth)
			s = "[" + strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled) + "] " + s
		}
	}
	if p.saving {
		s += ", saving to the database"
	}
	return s
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// countingReader counts the bytes read through it, for progress read from
// another goroutine.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
