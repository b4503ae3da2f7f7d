package platform

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is the one error type that crosses from domain code to the API layer.
// Each dialect renders it in its own format (Aggregation JSON error, OBP
// {"code","message"}, finAPI errors[]), using Status and Code; Message is
// safe to show to the caller. Err keeps the cause for logs only.
type Error struct {
	Status  int    // HTTP status
	Code    string // stable machine code, e.g. BANK_NOT_FOUND
	Message string // human text, no secrets
	Err     error  // cause, never rendered
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common constructors.
func BadRequest(code, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, args...)
}
func NotFound(code, format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, code, format, args...)
}
func Unauthorized(code, format string, args ...any) *Error {
	return Errorf(http.StatusUnauthorized, code, format, args...)
}

// AsError finds an *Error in err's chain; anything else is an internal error
// (500, message hidden).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "INTERNAL", Message: "internal error", Err: err}
}
