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
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/fault"
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

// wire is how the Aggregation dialect shows a kind of failure.
type wire struct {
	status int
	code   string
}

// table maps domain failures to the Aggregation dialect's status and code.
var table = fault.Table[wire]{Kinds: map[*fault.Kind]wire{
	auth.ErrNoToken:                {http.StatusUnauthorized, "UNAUTHENTICATED"},
	auth.ErrInvalidToken:           {http.StatusUnauthorized, "INVALID_TOKEN"},
	auth.ErrNotAllowed:             {http.StatusForbidden, "MISSING_ROLE"},
	auth.ErrInvalidRole:            {http.StatusBadRequest, "INVALID_ROLE"},
	auth.ErrBankRole:               {http.StatusBadRequest, "BANK_ROLE"},
	auth.ErrSystemRole:             {http.StatusBadRequest, "SYSTEM_ROLE"},
	auth.ErrInvalidUser:            {http.StatusBadRequest, "INVALID_USER"},
	auth.ErrEntitlementExists:      {http.StatusConflict, "ENTITLEMENT_EXISTS"},
	auth.ErrEntitlementNotFound:    {http.StatusNotFound, "ENTITLEMENT_NOT_FOUND"},
	auth.ErrEntitlementOfOtherUser: {http.StatusBadRequest, "ENTITLEMENT_OF_OTHER_USER"},
}}

// Resolve is err as the Aggregation dialect shows it: a domain failure
// through the table, an HTTP-layer *platform.Error as it is, anything else
// a 500 without detail.
func Resolve(err error) *platform.Error {
	if w, msg, ok := table.Lookup(err); ok {
		return &platform.Error{Status: w.status, Code: w.code, Message: msg, Err: err}
	}
	return platform.AsError(err)
}

// WriteError renders err in the Aggregation format. Errors that are not a
// domain failure or a *platform.Error are logged and answered as a 500
// without details.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := Resolve(err)
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
	return authn.Require(ctx)
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
