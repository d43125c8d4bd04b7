package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/anigo/anigo/cache"
	"github.com/anigo/anigo/config"
	"github.com/anigo/anigo/postgres"
)

// openStore creates the database when it is missing, connects and migrates.
func openStore(ctx context.Context, cfg config.Config) (*postgres.Store, error) {
	if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{ShowAdult: cfg.ShowAdult})
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// openCache builds the fragment cache and returns it with the function
// that closes it and its Redis client. Redis being down is not an error:
// the cache starts with its breaker open and renders live until Redis
// answers. Only REDIS_URL=off turns it off for good.
// The Redis client is nil when the cache is off.
func openCache(ctx context.Context, cfg config.Config, log *slog.Logger) (*cache.Cache, *redis.Client, func(), error) {
	opts := cache.Options{TTLs: cfg.TTLs, Grace: cfg.Grace, Namespace: cfg.Namespace, Logger: log}
	closeClient := func() {}
	if !cfg.Redis.Disabled {
		client, err := cache.NewRedisClient(cache.RedisOptions{
			URL: cfg.Redis.URL, Addr: cfg.Redis.Addr, DB: cfg.Redis.DB, Password: cfg.Redis.Password,
		})
		if err != nil {
			return nil, nil, nil, err
		}
		opts.Client = client
		closeClient = func() { _ = client.Close() }
	}
	c := cache.New(opts)
	c.Connect(ctx)
	return c, opts.Client, func() { c.Close(); closeClient() }, nil
}

// openStoreFromEnv loads the configuration and opens the store.
func openStoreFromEnv(ctx context.Context, getenv func(string) string) (*postgres.Store, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}

func runMigrate(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	store, err := openStoreFromEnv(ctx, getenv)
	if err != nil {
		return err
	}
	store.Close()
	fmt.Fprintln(stdout, "anigo: database is up to date")
	return nil
}

func runImportCommand(ctx context.Context, src string, getenv func(string) string, stdout, stderr io.Writer) error {
	store, err := openStoreFromEnv(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	return runImport(ctx, store, src, stdout, stderr)
}

func runCacheCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.Redis.Disabled {
		return fmt.Errorf("cache: REDIS_URL=off: there is no cache to inspect")
	}
	c, _, closeCache, err := openCache(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer closeCache()
	return runCache(ctx, c, args, stdout)
}

// runHealthcheck asks the server on $PORT for /healthz: Docker's
// HEALTHCHECK runs it, since the distroless image has no curl.
func runHealthcheck(ctx context.Context, getenv func(string) string) error {
	port := getenv("PORT")
	if _, err := strconv.Atoi(port); err != nil {
		port = "3000"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}
