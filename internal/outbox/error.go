package outbox

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies a domain error. The GraphQL error presenter turns it into
// `extensions.code`; nothing else in the service translates errors.
type Code string

// The codes; the error presenter (graph/errors.go) sends them as extensions.code.
const (
	EUNAUTHENTICATED Code = "UNAUTHENTICATED"
	EFORBIDDEN       Code = "FORBIDDEN"
	ENOTFOUND        Code = "NOT_FOUND"
	EINVALID         Code = "INVALID_INPUT"
	ECONFLICT        Code = "CONFLICT"
	ERATELIMITED     Code = "RATE_LIMITED"
	EBADREQUEST      Code = "BAD_REQUEST"
	EINTERNAL        Code = "INTERNAL"
)

// Error is a domain error with a code a caller can act on. Message is shown to
// the caller as is, so it must never hold secrets or internal details.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, for EINVALID.
	Field string
	// RetryAfter says when to try again, for ERATELIMITED.
	RetryAfter time.Duration
	// Reason refines the code for clients that act on it, such as
	// ReasonNotEntitled on EFORBIDDEN; "" for none.
	Reason string
}

// ReasonNotEntitled is the Reason of an EFORBIDDEN error for something the
// tenant's plan does not include.
const ReasonNotEntitled = "NOT_ENTITLED"

// NotEntitled returns an EFORBIDDEN error with Reason ReasonNotEntitled.
func NotEntitled(format string, args ...any) *Error {
	return &Error{Code: EFORBIDDEN, Message: fmt.Sprintf(format, args...), Reason: ReasonNotEntitled}
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// RateLimited returns an ERATELIMITED error that asks the caller to wait.
func RateLimited(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Code: ERATELIMITED, RetryAfter: retryAfter, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL
// when there is none (an error nobody classified is an internal one).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
