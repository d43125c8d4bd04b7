package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// WatchApplicationName names WatchVersion's connection in pg_stat_activity.
const WatchApplicationName = "anigo-watch"

// Timing of WatchVersion.
const (
	pollEvery  = 10 * time.Second // safety net for a notification lost while reconnecting
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// WatchVersion calls onChange with the new catalog version whenever it
// changes, from the goroutine that called WatchVersion. It listens to
// NotifyChannel on a connection of its own, reconnecting with backoff
// when it drops, and also reads the version every 10 seconds, so that a
// change made while disconnected is not missed. It blocks until ctx ends
// and then returns ctx's error.
func (s *Store) WatchVersion(ctx context.Context, onChange func(int64)) error {
	last, _ := s.Version(ctx) // a failure here is retried below
	check := func(v int64) {
		if v != last {
			last = v
			onChange(v)
		}
	}
	backoff := minBackoff
	for {
		// listen returns only when its connection failed (the error is of
		// no use to anyone: the remedy is to connect again) or ctx ended.
		s.listen(ctx, func(v int64) { backoff = minBackoff; check(v) })
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// listen holds one LISTEN connection until it fails or ctx ends, passing
// every version it learns, by notification or by polling, to seen.
func (s *Store) listen(ctx context.Context, seen func(int64)) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = WatchApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	for {
		// Read the version after LISTEN: a change between the two is then
		// seen either way.
		var v int64
		if err := conn.QueryRow(ctx, "SELECT version FROM catalog").Scan(&v); err != nil {
			return err
		}
		seen(v)
		wctx, cancel := context.WithTimeout(ctx, pollEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if v, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil {
				seen(v)
			}
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			// the periodic check: loop and read the version
		default:
			return err
		}
	}
}
