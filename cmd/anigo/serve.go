package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/anigo/anigo/config"
	"github.com/anigo/anigo/handlers"
)

// shutdownTimeout bounds how long in-flight requests may run after SIGTERM.
const shutdownTimeout = 15 * time.Second

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	importIfEmpty := fs.Bool("import-if-empty", false, "import $ANIGO_DATASET in the background when the catalog is empty")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("serve: %w", errUsage)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)

	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	frags, redisClient, closeCache, err := openCache(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeCache()

	// Background work ends with ctx; wait for it before closing what it uses.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	version, err := store.Version(ctx)
	if err != nil {
		return err
	}
	frags.SetVersion(version)
	wg.Go(func() {
		if err := store.WatchVersion(ctx, frags.SetVersion); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("catalog version watch stopped", "err", err)
		}
	})

	if *importIfEmpty {
		info, err := store.Info(ctx)
		if err != nil {
			return err
		}
		if info.Total == 0 {
			wg.Go(func() {
				log.Info("catalog is empty: importing", "dataset", cfg.Dataset)
				if err := runImport(ctx, store, cfg.Dataset, stdout, stderr); err != nil {
					log.Error("first-start import failed; the site stays up and says how to import", "dataset", cfg.Dataset, "err", err)
				}
			})
		}
	}

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := frags.Register(metrics); err != nil {
		return fmt.Errorf("serve: metrics: %w", err)
	}
	opts := handlers.Options{
		Store:      store,
		Fragments:  frags,
		Logger:     log,
		ShowAdult:  cfg.ShowAdult,
		CacheState: func(context.Context) string { return redisState(frags.State()) },
		Admin:      frags,
		AdminToken: cfg.AdminToken,
		Metrics:    promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}),
		ImageHosts: cfg.ImageHosts,

		TrustedProxies: cfg.TrustedProxies,
	}
	if redisClient != nil {
		opts.RateLimitStorage = redisstore.NewFromConnection(redisClient)
		opts.RateLimitShared = func() bool { return frags.State() == "closed" }
		opts.RateLimitPrefix = cfg.Namespace
	}
	app := handlers.New(opts)

	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("serve: listen on port %d: %w (set PORT to a free port)", cfg.Port, err)
	}
	log.Info("AniGo serving", "url", "http://localhost:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	fmt.Fprintf(stdout, "anigo: listening on %s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", shutdownTimeout)
	if err := app.ShutdownWithTimeout(shutdownTimeout); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// redisState names the cache breaker's state for /readyz.
func redisState(breaker string) string {
	switch breaker {
	case "closed":
		return "up"
	case "open":
		return "down"
	}
	return breaker // "disabled"
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // config.Load has validated it
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
