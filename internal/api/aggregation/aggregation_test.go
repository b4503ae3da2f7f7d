package aggregation_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/webhook"
)

// TestWire pins the status and code of every domain failure (docs/api.md):
// the codes are the wire contract, whatever the table's layout.
func TestWire(t *testing.T) {
	tests := []struct {
		kind   *fault.Kind
		status int
		code   string
	}{
		{party.ErrInvalidID, 400, "INVALID_PARTY_ID"},
		{party.ErrNotFound, 404, "PARTY_NOT_FOUND"},
		{party.ErrForbidden, 403, "PARTY_FORBIDDEN"},
		{party.ErrProfileExists, 409, "PROFILE_EXISTS"},
		{party.ErrCustomerConflict, 409, "PROFILE_CONFLICT"},
		{party.ErrProviderRejected, 400, "PROVIDER_REJECTED"},
		{party.ErrProviderNotFound, 404, "PROVIDER_NOT_FOUND"},
		{party.ErrProviderTooEarly, 409, "REFRESH_TOO_EARLY"},
		{party.ErrProviderUnavailable, 502, "PROVIDER_UNAVAILABLE"},
		{connection.ErrInvalidRequest, 400, "INVALID_REQUEST"},
		{connection.ErrInvalidDate, 400, "INVALID_DATE"},
		{connection.ErrInvalidPeriod, 400, "INVALID_PERIOD"},
		{connection.ErrPeriodTooLong, 400, "PERIOD_TOO_LONG"},
		{connection.ErrInvalidScope, 400, "INVALID_SCOPE"},
		{connection.ErrUnsupportedScope, 400, "UNSUPPORTED_SCOPE"},
		{connection.ErrUnsupportedAccountType, 400, "UNSUPPORTED_ACCOUNT_TYPE"},
		{connection.ErrCustomerMismatch, 400, "CUSTOMER_MISMATCH"},
		{connection.ErrBankDisabled, 403, "BANK_ACCESS_DISABLED"},
		{connection.ErrBankUnavailable, 409, "BANK_UNAVAILABLE"},
		{connection.ErrNotFound, 404, "CONNECTION_NOT_FOUND"},
		{connection.ErrExists, 409, "CONNECTION_EXISTS"},
		{connection.ErrRemoving, 409, "CONNECTION_REMOVING"},
		{connection.ErrBusy, 409, "CONNECTION_CONFLICT"},
		{connection.ErrNotActive, 409, "CONNECTION_NOT_ACTIVE"},
		{connection.ErrRefreshTooEarly, 409, "REFRESH_TOO_EARLY"},
		{connection.ErrUnknownSession, 404, "CONNECTION_NOT_FOUND"},
		{bank.ErrNotFound, 404, "BANK_NOT_FOUND"},
		{bank.ErrUnknownProvider, 404, "PROVIDER_NOT_FOUND"},
		{bank.ErrLoadNotFound, 404, "LOAD_NOT_FOUND"},
		{bank.ErrInvalidCode, 400, "INVALID_BANK_CODE"},
		{bank.ErrInvalidID, 400, "INVALID_BANK_ID"},
		{bank.ErrInvalidCountry, 400, "INVALID_COUNTRY_CODE"},
		{bank.ErrInvalidAccess, 400, "INVALID_ACCESS_VALUE"},
		{bank.ErrBusy, 409, "BANK_BUSY"},
		{holdings.ErrAccountNotFound, 404, "ACCOUNT_NOT_FOUND"},
		{holdings.ErrTransactionNotFound, 404, "TRANSACTION_NOT_FOUND"},
		{holdings.ErrCounterpartyNotFound, 404, "COUNTERPARTY_NOT_FOUND"},
		{holdings.ErrImportNotFound, 404, "IMPORT_NOT_FOUND"},
		{holdings.ErrInvalidLimit, 400, "INVALID_LIMIT"},
		{holdings.ErrInvalidDate, 400, "INVALID_DATE"},
		{holdings.ErrInvalidDateRange, 400, "INVALID_DATE_RANGE"},
		{holdings.ErrInvalidPageToken, 400, "INVALID_PAGE_TOKEN"},
		{holdings.ErrInvalidImport, 400, "INVALID_IMPORT_REQUEST"},
		{holdings.ErrInvalidRemoval, 400, "INVALID_REMOVAL"},
		{holdings.ErrConnectionRemoving, 409, "CONNECTION_REMOVING"},

		{auth.ErrNoToken, 401, "UNAUTHENTICATED"},
		{auth.ErrInvalidToken, 401, "INVALID_TOKEN"},
		{auth.ErrNotAllowed, 403, "MISSING_ROLE"},
		{auth.ErrInvalidRole, 400, "INVALID_ROLE"},
		{auth.ErrBankRole, 400, "BANK_ROLE"},
		{auth.ErrSystemRole, 400, "SYSTEM_ROLE"},
		{auth.ErrInvalidUser, 400, "INVALID_USER"},
		{auth.ErrEntitlementExists, 409, "ENTITLEMENT_EXISTS"},
		{auth.ErrEntitlementNotFound, 404, "ENTITLEMENT_NOT_FOUND"},
		{auth.ErrEntitlementOfOtherUser, 400, "ENTITLEMENT_OF_OTHER_USER"},

		{webhook.ErrNotFound, 404, "WEBHOOK_NOT_FOUND"},
		{webhook.ErrInvalidName, 400, "INVALID_WEBHOOK_NAME"},
		{webhook.ErrInvalidURL, 400, "INVALID_WEBHOOK_URL"},
		{webhook.ErrInvalidEvents, 400, "INVALID_WEBHOOK_EVENTS"},
		{webhook.ErrInvalidLimit, 400, "INVALID_LIMIT"},
		{webhook.ErrConflict, 409, "WEBHOOK_CONFLICT"},
	}
	if len(tests) != len(aggregation.Errors.Kinds) {
		t.Errorf("%d kinds pinned, the table has %d rows", len(tests), len(aggregation.Errors.Kinds))
	}
	for _, tc := range tests {
		t.Run(tc.kind.Error(), func(t *testing.T) {
			err := fmt.Errorf("in context: %w", fault.Errorf(tc.kind, "the message"))
			status, code, message := aggregation.Resolve(err)
			if status != tc.status || code != tc.code || message != "the message" {
				t.Errorf("Resolve = %d %s %q, want %d %s %q", status, code, message, tc.status, tc.code, "the message")
			}
		})
	}
}

// TestWriteError renders domain failures, the platform's own errors and
// internal errors, byte for byte.
func TestWriteError(t *testing.T) {
	tooEarly := time.Date(2025, 3, 10, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		auth   string // WWW-Authenticate
	}{
		{"domain failure", fmt.Errorf("refresh: %w", fault.Wrap(connection.ErrRefreshTooEarly, &connection.TooEarlyError{At: tooEarly}, "not before %s", tooEarly.Format(time.RFC3339))),
			409, `{"error":{"code":"REFRESH_TOO_EARLY","message":"not before 2025-03-10T13:00:00Z","requestId":"req-1","nextRefreshAt":"2025-03-10T13:00:00Z"}}`, ""},
		{"provider too early", party.ProviderError("saltedge", "refresh", fmt.Errorf("no: %w", &provider.TooEarlyError{At: tooEarly})),
			409, `{"error":{"code":"REFRESH_TOO_EARLY","message":"refresh: provider saltedge refused the request","requestId":"req-1","nextRefreshAt":"2025-03-10T13:00:00Z"}}`, ""},
		{"provider failure", party.ProviderError("sandbox", "create customer", fmt.Errorf("boom: %w", provider.ErrUnavailable)),
			502, `{"error":{"code":"PROVIDER_UNAVAILABLE","message":"create customer: provider sandbox is unavailable, retry later","requestId":"req-1"}}`, ""},
		{"provider refusal", party.ProviderError("sandbox", "create connect session", fmt.Errorf("no: %w", provider.ErrInvalid)),
			400, `{"error":{"code":"PROVIDER_REJECTED","message":"create connect session: provider sandbox refused the request","requestId":"req-1"}}`, ""},
		{"platform error", &platform.Error{Status: 400, Code: platform.CodeMalformedJSON, Message: "malformed JSON"},
			400, `{"error":{"code":"MALFORMED_JSON","message":"malformed JSON","requestId":"req-1"}}`, ""},
		{"unauthenticated", platform.Unauthorized("UNAUTHENTICATED", "a bearer token is required"),
			401, `{"error":{"code":"UNAUTHENTICATED","message":"a bearer token is required","requestId":"req-1"}}`, `Bearer realm="openagg"`},
		{"internal", fmt.Errorf("store: %w", errors.New("disk on fire")),
			500, `{"error":{"code":"INTERNAL","message":"internal error","requestId":"req-1"}}`, ""},
		{"kind without a row", fault.Errorf(fault.New(fault.NotFound, "other: not found"), "secret detail"),
			500, `{"error":{"code":"INTERNAL","message":"internal error","requestId":"req-1"}}`, ""},
		{"busy database", fmt.Errorf("load: %w", fault.Wrap(fault.New(fault.Busy, "store: busy"), errors.New("ThrottlingException"), "the service is busy; retry in a moment")),
			503, `{"error":{"code":"SERVICE_BUSY","message":"the service is busy; retry in a moment","requestId":"req-1"}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/party/profiles/x", nil)
			r = r.WithContext(platform.WithRequestID(r.Context(), "req-1"))
			w := httptest.NewRecorder()
			aggregation.WriteError(w, r, slog.New(slog.DiscardHandler), tc.err)
			if w.Code != tc.status || w.Body.String() != tc.body+"\n" || w.Header().Get("WWW-Authenticate") != tc.auth {
				t.Errorf("got %d %s (WWW-Authenticate %q), want %d %s", w.Code, w.Body, w.Header().Get("WWW-Authenticate"), tc.status, tc.body)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Errorf("invalid JSON %s", w.Body)
			}
		})
	}
}
