// Package obperr is the error format the Open Bank Project groups share
// (OBP 1.2 in api/obp, OBP 1.4/2.0/2.1 in api/customers): the body
// {"code": <HTTP status>, "message": "OBP-xxxxx: text"} of OBP-API, with a
// Bearer challenge on 401. A *platform.Error whose Code is an OBP code is
// shown as is; errors from shared code (routing, JSON decoding, auth) get
// the matching OBP code; internal errors are logged and shown as OBP-50000
// without detail.
package obperr

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

// Body is OBP-API's error body.
type Body struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Write renders err in OBP's format.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := platform.AsError(err)
	if status, code, msg, ok := fromFault(err); ok {
		e = &platform.Error{Status: status, Code: code, Message: msg, Err: err}
	}
	code, msg := e.Code, e.Message
	if !strings.HasPrefix(code, "OBP-") {
		switch {
		case e.Status == http.StatusUnauthorized:
			code, msg = view.CodeNotLoggedIn, view.TextNotLoggedIn+" "+msg
		case e.Status == http.StatusNotFound:
			code = view.CodeInvalidURI
		case e.Status == http.StatusMethodNotAllowed:
			code = view.CodeMethodNotAllowed
		case e.Status >= 500:
			code, msg = view.CodeUnknown, view.TextUnknown
		default: // request body problems: malformed JSON, too large, empty
			code, msg = view.CodeInvalidJSON, view.TextInvalidJSON+" "+msg
		}
	}
	if e.Status >= 500 {
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "obp request failed", "method", r.Method, "path", r.URL.Path, "err", err, "requestId", platform.RequestID(r.Context()))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openagg"`)
	}
	platform.WriteJSON(w, e.Status, Body{Code: e.Status, Message: code + ": " + msg})
}

// Renderer is Write as a group's platform.ErrorRenderer.
func Renderer(log *slog.Logger) platform.ErrorRenderer {
	return func(w http.ResponseWriter, r *http.Request, err error) { Write(w, r, log, err) }
}

// DecodeJSON decodes a request body strictly (platform.DecodeJSON): any
// failure is OBP-10001 "Incorrect json format." followed by what is wrong,
// with the decoder's status (400, 413 for a body over 1 MiB).
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := platform.DecodeJSON(w, r, dst); err != nil {
		var e *platform.Error
		if errors.As(err, &e) {
			return &platform.Error{Status: e.Status, Code: view.CodeInvalidJSON, Message: view.TextInvalidJSON + " " + e.Message, Err: err}
		}
		return err
	}
	return nil
}
