package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/anigo/anigo"
)

// errUnavailable is what a page says while the database cannot be reached.
var errUnavailable = anigo.Errorf(anigo.EUNAVAILABLE, "The catalog is out of reach for a moment. Please try again shortly.")

// wrapErr wraps like fmt.Errorf and marks a lost database as EUNAVAILABLE,
// so that the handlers answer 503 with Retry-After instead of 500.
func wrapErr(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if unreachable(err) {
		return errors.Join(errUnavailable, err)
	}
	return err
}

// unreachable reports a connection that could not be made or was cut, a
// database that did not answer in time (no free connection, or a query past
// the request's deadline), or a server that is shutting down or starting
// (SQLSTATE classes 08, 57P).
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) // a pool or a query that did not answer in time
}
