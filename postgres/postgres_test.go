package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/anigo/anigo/postgres"
	"github.com/anigo/anigo/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestEnsureDatabaseAndMigrate creates a database the way `anigo` does on
// a fresh machine, migrating from two processes at once.
func TestEnsureDatabaseAndMigrate(t *testing.T) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = pgtest.DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "anigo_ensure_" + hex.EncodeToString(b)
	u.Path = "/" + name
	dsn := u.String()
	ctx := context.Background()
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	for range 2 { // the second call finds it and does nothing
		if err := postgres.EnsureDatabase(ctx, dsn); err != nil {
			t.Fatal(err)
		}
	}
	stores := make([]*postgres.Store, 2)
	for i := range stores {
		if stores[i], err = postgres.Open(ctx, dsn, postgres.Options{}); err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Migrate: %v", err)
	}
	if err := stores[0].Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	var applied int
	if err := stores[0].Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&applied); err != nil || applied != 3 {
		t.Errorf("schema_migrations has %d rows (%v), want 3", applied, err)
	}
	if v, err := stores[0].Version(ctx); err != nil || v != 0 {
		t.Errorf("Version() = %d, %v; want 0 for an empty catalog", v, err)
	}

	// Migration 002 compresses catalog_order's chunks with lz4 where the
	// server has it, and leaves the default (pglz) where it does not.
	want := "l"
	if _, err := stores[0].Pool().Exec(ctx, "CREATE TEMP TABLE lz4_probe (x text COMPRESSION lz4)"); err != nil {
		t.Logf("this PostgreSQL has no lz4 (%v): expecting the default compression", err)
		want = ""
	}
	var compression string
	if err := stores[0].Pool().QueryRow(ctx, `SELECT attcompression::text FROM pg_attribute
		WHERE attrelid = 'catalog_order'::regclass AND attname = 'ids'`).Scan(&compression); err != nil || compression != want {
		t.Errorf("catalog_order.ids compression = %q (%v), want %q", compression, err, want)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"postgres://postgres@127.0.0.1:1/x?connect_timeout=2", "::not a dsn::"} {
		if s, err := postgres.Open(ctx, dsn, postgres.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
		if err := postgres.EnsureDatabase(ctx, dsn); err == nil {
			t.Errorf("EnsureDatabase(%q) succeeded, want an error", dsn)
		}
	}
}

func TestWatchVersion(t *testing.T) {
	s := pgtest.NewStore(t, postgres.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	versions := make(chan int64, 4)
	done := make(chan error, 1)
	go func() { done <- s.WatchVersion(ctx, func(v int64) { versions <- v }) }()

	// The watcher reads the version right after LISTEN; give it a moment
	// so that the import below is seen by its notification.
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	pgtest.ImportFixture(t, s, "../testdata/import_small.csv")
	select {
	case v := <-versions:
		if v != 1 {
			t.Errorf("onChange(%d), want 1", v)
		}
		// Well under the 10 s poll: the NOTIFY did it.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("change seen after %s, want it by notification", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no version change seen within 5 s of an import")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WatchVersion returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchVersion did not return after cancel")
	}
	if len(versions) != 0 {
		t.Errorf("onChange called again with %d", <-versions)
	}
}

// TestWatchVersionReconnects kills the listening connection: the watcher
// must connect again and still see the next import.
func TestWatchVersionReconnects(t *testing.T) {
	s := pgtest.NewStore(t, postgres.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	versions := make(chan int64, 4)
	go s.WatchVersion(ctx, func(v int64) { versions <- v })
	time.Sleep(300 * time.Millisecond)
	var killed int
	err := s.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, postgres.WatchApplicationName).Scan(&killed)
	if err != nil || killed == 0 {
		t.Fatalf("terminated %d listening connections (%v), want 1 or more", killed, err)
	}
	time.Sleep(time.Second) // the watcher's backoff starts at 0.5 s
	pgtest.ImportFixture(t, s, "../testdata/import_small.csv")
	select {
	case v := <-versions:
		if v != 1 {
			t.Errorf("onChange(%d), want 1", v)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("no version change seen after the connection was killed")
	}
}
