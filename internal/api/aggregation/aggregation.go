// Package aggregation holds what the three Aggregation-microservice API groups
// (party, system, holdings) share on the wire: the error format, the
// authentication requirement and the response helpers. The original document
// shows no errors; our format (shared/contracts/aggregation.md, "Errors") is
//
//	{"error":{"code":"BANK_NOT_FOUND","message":"...","requestId":"..."}}
package aggregation

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/platform"
)

// ErrorBody is the wire form of every Aggregation API error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner error object.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

// WriteError renders err in the Aggregation format. Errors that are not a
// *platform.Error are logged and answered as a 500 without details.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := platform.AsError(err)
	if e.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openagg"`)
	}
	platform.WriteJSON(w, e.Status, ErrorBody{Error: ErrorDetail{
		Code:      e.Code,
		Message:   e.Message,
		RequestID: platform.RequestID(r.Context()),
	}})
}

// User returns the authenticated principal or a 401 error: UNAUTHENTICATED
// without a token, INVALID_TOKEN for a token that does not verify.
func User(ctx context.Context) (auth.Principal, error) {
	return auth.Require(ctx)
}

// NotFoundHandler answers unknown paths of an Aggregation group.
func NotFoundHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, log, platform.NotFound("ROUTE_NOT_FOUND", "no route for %s %s", r.Method, r.URL.Path))
	})
}

// Handle adapts a handler that returns an error to http.HandlerFunc: a nil
// error means the handler wrote its response.
func Handle(log *slog.Logger, h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	}
}

// IsNotFound reports whether err is a platform.Error with status 404.
func IsNotFound(err error) bool {
	var e *platform.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
