package finapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

// Wire is how the finAPI dialect shows a failure: HTTP status, finAPI error
// code and type (BUSINESS: a message for the user, e.g. the bank's;
// TECHNICAL: the request or the server).
type Wire struct {
	Status int
	Code   string
	Type   string
}

// Error types of ErrorDetails.
const (
	Business  = "BUSINESS"
	Technical = "TECHNICAL"
)

// Errors is the finAPI dialect's one mapping of domain failures to the
// wire: a row per kind the group meets, a row per class for the others.
var Errors = fault.Table[Wire]{
	Kinds: withRows(sharedRows, map[*fault.Kind]Wire{
		bankconn.ErrNotFound:          {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
		bankconn.ErrMissingField:      {http.StatusBadRequest, "MISSING_FIELD", Business},
		bankconn.ErrInvalidField:      {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
		bankconn.ErrTooManyIDs:        {http.StatusBadRequest, "TOO_MANY_IDS", Business},
		bankconn.ErrPageSize:          {http.StatusBadRequest, "ILLEGAL_PAGE_SIZE", Business},
		bankconn.ErrOrder:             {http.StatusBadRequest, "UNSUPPORTED_ORDER", Business},
		bankconn.ErrFilter:            {http.StatusBadRequest, "INVALID_FILTER_OPTIONS", Business},
		bankconn.ErrExists:            {http.StatusUnprocessableEntity, "ENTITY_EXISTS", Business},
		bankconn.ErrBusy:              {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
		bankconn.ErrForbidden:         {http.StatusForbidden, "FORBIDDEN", Business},
		bankconn.ErrUnsupportedBank:   {http.StatusUnprocessableEntity, "UNSUPPORTED_BANK", Business},
		bankconn.ErrNoAccountsForType: {http.StatusUnprocessableEntity, "NO_ACCOUNTS_FOR_TYPE_LIST", Business},
		bankconn.ErrRejected:          {http.StatusUnprocessableEntity, "BANK_SERVER_REJECTION", Business},
		bankconn.ErrBankFailed:        {http.StatusUnprocessableEntity, "BANK_SERVER_REJECTION", Technical},
		bankconn.ErrChallenge:         {http.StatusNotExtended, "ADDITIONAL_AUTHENTICATION_REQUIRED", Business},
		bankconn.ErrNoChallenge:       {http.StatusUnprocessableEntity, "NO_EXISTING_CHALLENGE", Business},
	}),
	Classes: map[fault.Class]Wire{
		fault.Invalid:         {http.StatusBadRequest, "BAD_REQUEST", Technical},
		fault.NotFound:        {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
		fault.Exists:          {http.StatusUnprocessableEntity, "ENTITY_EXISTS", Business},
		fault.Conflict:        {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
		fault.Forbidden:       {http.StatusForbidden, "FORBIDDEN", Business},
		fault.Unauthenticated: {http.StatusUnauthorized, "UNAUTHORIZED_ACCESS", Technical},
		fault.Unavailable:     {http.StatusUnprocessableEntity, "BANK_SERVER_REJECTION", Technical},
		fault.Rejected:        {http.StatusUnprocessableEntity, "BANK_SERVER_REJECTION", Business},
		fault.Busy:            {http.StatusServiceUnavailable, "UNEXPECTED_ERROR", Technical},
	},
}

// withRows joins the bank connections' own rows and the shared ones.
func withRows(shared, own map[*fault.Kind]Wire) map[*fault.Kind]Wire {
	out := make(map[*fault.Kind]Wire, len(shared)+len(own))
	for k, w := range shared {
		out[k] = w
	}
	for k, w := range own {
		out[k] = w
	}
	return out
}

// statusWire maps the platform's own errors (routing, request decoding,
// and domains that still report a *platform.Error) by status.
var statusWire = map[int]Wire{
	http.StatusBadRequest:            {http.StatusBadRequest, "BAD_REQUEST", Technical},
	http.StatusRequestEntityTooLarge: {http.StatusRequestEntityTooLarge, "BAD_REQUEST", Technical},
	http.StatusNotFound:              {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	http.StatusMethodNotAllowed:      {http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", Technical},
	http.StatusForbidden:             {http.StatusForbidden, "FORBIDDEN", Business},
	http.StatusConflict:              {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	http.StatusUnsupportedMediaType:  {http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", Technical},
}

var unexpected = Wire{http.StatusInternalServerError, "UNEXPECTED_ERROR", Technical}

// wireOf maps err to its wire form and the message to show.
func wireOf(err error) (Wire, string) {
	if w, msg, ok := Errors.Lookup(err); ok {
		return w, msg
	}
	var pe *platform.Error
	if errors.As(err, &pe) {
		if w, ok := statusWire[pe.Status]; ok {
			return w, pe.Message
		}
	}
	return unexpected, "an unexpected error occurred"
}

// WriteError renders err as finAPI's ErrorMessage, with the request id
// the platform echoes in X-Request-Id (the client's X-REQUEST-ID when it
// sent a sane one). Unexpected errors are logged, never shown.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, clock platform.Clock, err error) {
	wire, msg := wireOf(err)
	// A 510 (the bank's challenge) is an answer, not a failure: only the
	// unexpected is logged.
	if wire == unexpected {
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "finapi request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	platform.SetErrorHeaders(w.Header(), wire.Status)
	platform.WriteJSON(w, wire.Status, ErrorMessage{
		Errors:    []ErrorDetails{{Message: msg, Code: wire.Code, Type: wire.Type}},
		Date:      Timestamp(clock.Now()),
		RequestID: platform.RequestID(r.Context()),
	})
}

// Renderer is WriteError as the group's platform.ErrorRenderer.
func Renderer(log *slog.Logger, clock platform.Clock) platform.ErrorRenderer {
	if clock == nil {
		clock = platform.SystemClock{}
	}
	return func(w http.ResponseWriter, r *http.Request, err error) { WriteError(w, r, log, clock, err) }
}
