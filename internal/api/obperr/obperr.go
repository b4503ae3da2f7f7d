// Package obperr is the error format the Open Bank Project groups share
// (OBP 1.2 in api/obp, OBP 1.4/2.0/2.1 in api/customers): the body
// {"code": <HTTP status>, "message": "OBP-xxxxx: text"} of OBP-API, with a
// Bearer challenge on 401.
//
// Domain failures (internal/fault kinds) are mapped by Table, one row per
// kind (rows_<domain>.go). An error the dialect made itself (a *platform.Error with an OBP
// code: routing, body decoding, paging headers) is shown as is; other
// errors of shared code get the matching OBP code by status; internal
// errors are logged and shown as OBP-50000 without detail.
package obperr

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/openagg/openagg/internal/platform"
)

// Body is OBP-API's error body.
type Body struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Write renders err in OBP's format.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, msg := resolve(err)
	if status >= 500 {
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "obp request failed", "method", r.Method, "path", r.URL.Path, "err", err, "requestId", platform.RequestID(r.Context()))
	}
	platform.SetErrorHeaders(w.Header(), status)
	platform.WriteJSON(w, status, Body{Code: status, Message: msg})
}

// resolve is err's status and message ("OBP-xxxxx: text").
func resolve(err error) (status int, message string) {
	var pe *platform.Error
	isPlatform := errors.As(err, &pe)
	if isPlatform && strings.HasPrefix(pe.Code, "OBP-") {
		return pe.Status, pe.Code + ": " + pe.Message
	}
	if row, m, ok := Table.Lookup(err); ok {
		if roles, ok := missingRoles(err); ok {
			m = roles
		}
		return row.Status, row.message(m)
	}
	if !isPlatform || pe.Status >= 500 {
		return http.StatusInternalServerError, CodeUnknown + ": " + TextUnknown
	}
	switch pe.Status {
	case http.StatusUnauthorized:
		return pe.Status, CodeNotLoggedIn + ": " + TextNotLoggedIn + " " + pe.Message
	case http.StatusNotFound:
		return pe.Status, CodeInvalidURI + ": " + pe.Message
	case http.StatusMethodNotAllowed:
		return pe.Status, CodeMethodNotAllowed + ": " + pe.Message
	}
	// Request body problems: malformed JSON, too large, empty.
	return pe.Status, CodeInvalidJSON + ": " + TextInvalidJSON + " " + pe.Message
}

// DecodeJSON decodes a request body strictly (platform.DecodeJSON): any
// failure is OBP-10001 "Incorrect json format." followed by what is wrong,
// with the decoder's status (400, 413 for a body over 1 MiB).
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := platform.DecodeJSON(w, r, dst); err != nil {
		var e *platform.Error
		if errors.As(err, &e) {
			return &platform.Error{Status: e.Status, Code: CodeInvalidJSON, Message: TextInvalidJSON + " " + e.Message, Err: err}
		}
		return err
	}
	return nil
}

// DecodeJSONBytes decodes a value nested in a request body with the same
// strictness (platform.DecodeJSONBytes): a failure is a 400 OBP-10001.
func DecodeJSONBytes(data []byte, dst any) error {
	if err := platform.DecodeJSONBytes(data, dst); err != nil {
		return &platform.Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: TextInvalidJSON + " " + platform.AsError(err).Message, Err: err}
	}
	return nil
}

// Errors of the dialect itself: requests an OBP group refuses before any
// domain is asked.

// InvalidJSON is a 400 OBP-10001: "Incorrect json format." followed by
// what is wrong with the body.
func InvalidJSON(format string, args ...any) error {
	return platform.BadRequest(CodeInvalidJSON, "%s %s", TextInvalidJSON, fmt.Sprintf(format, args...))
}

// NotLoggedIn is a 401 OBP-20001: the operation needs a user and the
// request names none.
func NotLoggedIn() error {
	return platform.Unauthorized(CodeNotLoggedIn, "%s", TextNotLoggedIn)
}

// InvalidToken is a 401 OBP-20001 for a bearer token that was sent but does
// not verify (also on routes that work anonymously: the client meant to
// authenticate). cause is the verification error (logs only).
func InvalidToken(cause error) error {
	return &platform.Error{Status: http.StatusUnauthorized, Code: CodeNotLoggedIn, Message: TextNotLoggedIn + " The bearer token is invalid or expired.", Err: cause}
}
