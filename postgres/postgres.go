// Package postgres is AniGo's catalog store on PostgreSQL (pgx v5): the
// connection pool, the embedded schema migrations, the import's COPY and
// upsert, and the catalog queries the handlers need.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune a Store.
type Options struct {
	ShowAdult bool // list adult (Hentai) titles too; hidden by default
}

// Store is the catalog in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool      *pgxpool.Pool
	showAdult bool
}

// Pool limits: the web server's queries are short; a few connections per
// core serve them, and imports take one more.
const (
	maxConns          = 16
	minConns          = 2
	maxConnIdleTime   = 5 * time.Minute
	healthCheckPeriod = 30 * time.Second
	connectTimeout    = 5 * time.Second
)

// Open connects to the database of dsn (a postgres:// URL or key=value
// string) and checks that it answers. It returns an error for an invalid
// dsn or a server that cannot be reached; the message names the host.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = maxConns, minConns
	cfg.MaxConnIdleTime, cfg.HealthCheckPeriod = maxConnIdleTime, healthCheckPeriod
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > connectTimeout {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return &Store{pool: pool, showAdult: opts.ShowAdult}, nil
}

// Close closes every connection of the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool returns the connection pool, for tests and tools.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether the database answers, with an error saying why not.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// EnsureDatabase creates the database named in dsn when it does not exist,
// connecting to the "postgres" maintenance database of the same server. It
// returns an error when the server cannot be reached or the role may not
// create databases.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	name := cfg.Database
	if name == "" || name == "postgres" {
		return nil
	}
	cfg.Database = "postgres"
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect to %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return nil // duplicate_database: another process created it meanwhile
	}
	if err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}
