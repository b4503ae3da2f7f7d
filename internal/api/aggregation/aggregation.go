// Package aggregation holds what the three Aggregation-microservice API groups
// (party, system, holdings) share on the wire: the error format, the
// authentication requirement and the response helpers. The original document
// shows no errors; our format (shared/contracts/aggregation.md, "Errors") is
//
//	{"error":{"code":"BANK_NOT_FOUND","message":"...","requestId":"..."}}
//
// The status and code of every domain failure are in one table (errors.go);
// the message is the domain's.
package aggregation

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
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
	// NextRefreshAt is when a refresh refused as too early (409
	// REFRESH_TOO_EARLY) is next allowed, RFC 3339 UTC.
	NextRefreshAt string `json:"nextRefreshAt,omitempty"`
}

// WriteError renders err in the Aggregation format (Resolve). Internal
// errors are logged and answered as a 500 without details.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code, message := Resolve(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	platform.SetErrorHeaders(w.Header(), status)
	detail := ErrorDetail{Code: code, Message: message, RequestID: platform.RequestID(r.Context())}
	if at, ok := retryAt(err); ok {
		detail.NextRefreshAt = at.UTC().Format(time.RFC3339)
		// The HTTP-date form (RFC 9110): the dialect needs no clock.
		w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
	}
	platform.WriteJSON(w, status, ErrorBody{Error: detail})
}

// retryAt is when a refused refresh is next allowed: the domain's or the
// provider's detail of a too-early refusal.
func retryAt(err error) (time.Time, bool) {
	var conn *connection.TooEarlyError
	if errors.As(err, &conn) {
		return conn.At, true
	}
	var prov *provider.TooEarlyError
	if errors.As(err, &prov) {
		return prov.At, true
	}
	return time.Time{}, false
}

// User returns the authenticated principal or a 401 error: UNAUTHENTICATED
// without a token, INVALID_TOKEN for a token that does not verify.
func User(ctx context.Context) (auth.Principal, error) {
	return authn.Require(ctx)
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
