package anigo

import (
	"errors"
	"fmt"
)

// Error codes, mapped to HTTP statuses by the handlers' one error handler.
const (
	EINVALID     = "invalid"     // bad input from the client: 400
	ENOTFOUND    = "not_found"   // no such title or page: 404
	EUNAVAILABLE = "unavailable" // a backing service is down: 503
	EINTERNAL    = "internal"    // a bug or an unexpected failure: 500
)

// Error is a domain error whose Message is safe to show to a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("anigo: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic sentence for any other error, so that internal details
// never reach a page.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Something went wrong on our side. Please try again in a moment."
	}
}
