package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/anigo/anigo"
)

// A database that cannot be reached must read as EUNAVAILABLE (a 503 with
// Retry-After), and a query's own failure must not.
func TestWrapErrMarksALostDatabase(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"connection refused", refused, anigo.EUNAVAILABLE},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, anigo.EUNAVAILABLE},
		{"connection failure class", &pgconn.PgError{Code: "08006"}, anigo.EUNAVAILABLE},
		{"cut mid-reply", io.ErrUnexpectedEOF, anigo.EUNAVAILABLE},
		{"undefined column", &pgconn.PgError{Code: "42703"}, anigo.EINTERNAL},
		{"caller gave up", context.Canceled, anigo.EINTERNAL},
		{"no connection in time", context.DeadlineExceeded, anigo.EUNAVAILABLE},
		{"other", errors.New("boom"), anigo.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wrapErr("postgres: list anime: %w", tt.err)
			if got := anigo.ErrorCode(err); got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the cause is no longer in the chain: %v", err)
			}
		})
	}
}
