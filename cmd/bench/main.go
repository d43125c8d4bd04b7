// Command bench is AniGo's load benchmark (`make bench`). It starts every
// piece itself: a fresh PostgreSQL database with the catalog of
// $ANIGO_DATASET, AniGo's server, an in-memory upper bound and a peer
// (Fiber's cache middleware over the same Redis storage), private Redis
// servers to kill and freeze; it drives each from a separate load process
// pinned to its own core, prints a markdown table of the goals of issue 5,
// and writes the raw numbers (JSON) and a p99 chart (SVG) to bench-results/.
//
//	go run ./cmd/bench [-quick] [-duration 4s] [-rounds 3] [-concurrency 16]
//
// It runs itself in hidden modes for its other processes:
// -load (the load generator: loadtest options on stdin, the result on
// stdout), -serve-upper FILE and -serve-peer.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings are the command line of a benchmark run.
type settings struct {
	quick       bool
	duration    time.Duration // one case's measured time
	rounds      int           // rounds of the page-by-page comparison
	warmup      time.Duration
	concurrency int
	skipScale   bool
	dataset     string
	out         string // results directory
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	fs.BoolVar(&s.quick, "quick", false, "short cases (2s) and no 1M-title catalog")
	fs.DurationVar(&s.duration, "duration", 0, "measured time of each load case (default 4s, 2s with -quick)")
	fs.IntVar(&s.rounds, "rounds", 0, "rounds of the page-by-page comparison; each ratio is the median of the rounds' ratios (default 3, 1 with -quick)")
	fs.IntVar(&s.concurrency, "concurrency", 16, "connections of the throughput cases")
	fs.BoolVar(&s.skipScale, "skip-scale", false, "skip the 1,000,000-title catalog")
	fs.StringVar(&s.out, "out", "bench-results", "directory for the JSON, the SVG and the servers' logs")
	load := fs.Bool("load", false, "internal: run the load generator (options on stdin, result on stdout)")
	upper := fs.String("serve-upper", "", "internal: serve the bodies of this JSON file from memory")
	peer := fs.Bool("serve-peer", false, "internal: serve AniGo live behind Fiber's cache middleware")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *load:
		return runLoad(ctx, stdin, stdout)
	case *upper != "":
		return serveUpper(ctx, *upper, getenv, stdout)
	case *peer:
		return servePeer(ctx, getenv, stdout)
	}

	s.dataset = getenv("ANIGO_DATASET")
	if s.dataset == "" {
		return fmt.Errorf("ANIGO_DATASET is not set: point it at the catalog CSV, e.g. ANIGO_DATASET=../shared/data/anime.csv")
	}
	if _, err := os.Stat(s.dataset); err != nil {
		return fmt.Errorf("ANIGO_DATASET: %w", err)
	}
	if s.duration <= 0 {
		s.duration = 4 * time.Second
		if s.quick {
			s.duration = 2 * time.Second
		}
	}
	if s.rounds <= 0 {
		s.rounds = 3
		if s.quick {
			s.rounds = 1
		}
	}
	s.warmup = min(s.duration/4, 2*time.Second)
	s.skipScale = s.skipScale || s.quick
	if s.concurrency < 1 {
		return fmt.Errorf("-concurrency %d: want at least 1", s.concurrency)
	}
	return benchmark(ctx, s, getenv, stdout)
}
