// Package pgtest gives each test a PostgreSQL database of its own: created
// fresh, migrated, and dropped when the test ends. The server comes from
// TEST_DATABASE_URL (default DefaultURL); when it does not answer, the
// test fails with a message saying how to start it.
//
//	store := pgtest.NewStore(t, postgres.Options{})
//	pgtest.ImportFixture(t, store, "../testdata/import_small.csv")
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/importer"
	"github.com/anigo/anigo/postgres"
	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server used when TEST_DATABASE_URL is not set. Its
// database is only the one to connect to for creating test databases.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// New creates an empty, migrated database for t and returns its URL. The
// database is dropped (even with connections still open) when t ends.
func New(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: PostgreSQL is not reachable at %s: %v\n"+
			"Start it (service postgresql start) or set TEST_DATABASE_URL.", redact(base), err)
	}
	defer admin.Close(ctx)

	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "anigo_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	dsn := u.String()
	store, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// NewStore returns a Store on a fresh database made by New, closed when t
// ends.
func NewStore(t testing.TB, opts postgres.Options) *postgres.Store {
	t.Helper()
	store, err := postgres.Open(context.Background(), New(t), opts)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(store.Close)
	return store
}

// ImportFixture imports the catalog file at path into store and returns
// the summary; any error or skipped record fails the test.
func ImportFixture(t testing.TB, store *postgres.Store, path string) anigo.ImportSummary {
	t.Helper()
	ctx := context.Background()
	rc, info, err := importer.Open(ctx, path)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer rc.Close()
	dec, err := importer.NewDecoder(rc, info.Name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", path, err)
	}
	defer dec.Close()
	sum, err := store.Import(ctx, dec.Records(func(s anigo.ImportSkip) {
		t.Errorf("pgtest: %s: line %d skipped: %s", path, s.Line, s.Reason)
	}), nil)
	if err != nil {
		t.Fatalf("pgtest: import %s: %v", path, err)
	}
	return sum
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "TEST_DATABASE_URL"
}
