package obperr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"OBP code as is", platform.Errorf(403, "OBP-20006", "User is missing one or more roles: X"), 403, "OBP-20006: User is missing one or more roles: X"},
		{"401 from auth", platform.Unauthorized("UNAUTHENTICATED", "send a token"), 401, "OBP-20001: User not logged in. Authentication is required! send a token"},
		{"routing 404", platform.NotFound("NOT_FOUND", "no route for GET /x"), 404, "OBP-10404: no route for GET /x"},
		{"routing 405", platform.Errorf(405, "METHOD_NOT_ALLOWED", "method PUT is not allowed"), 405, "OBP-10405: method PUT is not allowed"},
		{"body decoding", platform.BadRequest(platform.CodeMalformedJSON, "unknown field \"x\""), 400, "OBP-10001: Incorrect json format. unknown field \"x\""},
		{"internal", errors.New("disk on fire"), 500, "OBP-50000: Unknown Error."},
		// Domain kinds, through the table: OBP's text, the domain's
		// message, or both.
		{"kind with OBP's text", fmt.Errorf("load: %w", fault.Errorf(account.ErrNotFound, "no account %q", "x")), 404,
			"OBP-30003: Account not found. Please specify a valid value for ACCOUNT_ID."},
		{"kind with the domain's message", fault.Errorf(view.ErrTooLong, "Value too long: name is limited to 100 characters."), 400,
			"OBP-20010: Value too long: name is limited to 100 characters."},
		{"kind with OBP's text and detail", fault.Errorf(view.ErrNoPermission, "can_add_tag"), 403,
			"OBP-30022: The current view does not have the permission: can_add_tag"},
		{"kind in a platform error", &platform.Error{Status: 404, Code: "BANK_NOT_FOUND", Message: "bank 'x' not found", Err: bank.ErrNotFound}, 404,
			"OBP-30001: Bank not found. Please specify a valid value for BANK_ID."},
		{"kind by class", fault.Errorf(fault.New(fault.Invalid, "test: invalid"), "bad thing"), 400, "OBP-10001: Incorrect json format. bad thing"},
		{"kind of an internal class", fault.Errorf(fault.New(fault.Unavailable, "test: down"), "upstream down"), 500, "OBP-50000: Unknown Error."},
		{"busy database", fault.Errorf(fault.New(fault.Busy, "test: busy"), "the service is busy"), 503, "OBP-50000: Unknown Error."},
		// internal/auth's kinds.
		{"missing role", fmt.Errorf("grant: %w", auth.MissingRole("CanA", "CanB")), 403, "OBP-20006: User is missing one or more roles: CanA or CanB"},
		{"entitlement exists", fault.Errorf(auth.ErrEntitlementExists, "x"), 400, "OBP-30216: Entitlement already exists for the user."},
		{"entitlement not found", fault.Errorf(auth.ErrEntitlementNotFound, "x"), 404, "OBP-30212: EntitlementId not found"},
		{"bank role", fault.Errorf(auth.ErrBankRole, "x"), 400, "OBP-30205: This entitlement is a Bank Role. Please set bank_id to a valid bank id."},
		{"invalid token", fault.Wrap(auth.ErrInvalidToken, errors.New("token is expired"), "the bearer token is invalid or expired"), 401,
			"OBP-20001: User not logged in. Authentication is required! the bearer token is invalid or expired"},
		{"no token", fault.Errorf(auth.ErrNoToken, "authentication is required: send Authorization: Bearer <token>"), 401,
			"OBP-20001: User not logged in. Authentication is required! authentication is required: send Authorization: Bearer <token>"},
		// The dialect's own errors win over a kind they wrap.
		{"OBP error over a kind", &platform.Error{Status: 400, Code: "OBP-10001", Message: "as is", Err: view.ErrNotFound}, 400, "OBP-10001: as is"},
		{"dialect 401", obperr.NotLoggedIn(), 401, "OBP-20001: User not logged in. Authentication is required!"},
		{"dialect body error", obperr.InvalidJSON("name is required."), 400, "OBP-10001: Incorrect json format. name is required."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			obperr.Write(rec, httptest.NewRequest(http.MethodGet, "/obp/v2.0.0/x", nil), slog.New(slog.NewJSONHandler(&logs, nil)), tc.err)
			var body obperr.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body.Code != tc.status || body.Message != tc.message {
				t.Fatalf("%d %s, want %d %q", rec.Code, rec.Body, tc.status, tc.message)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (got != "") != (tc.status == 401) {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if got := rec.Header().Get("Retry-After"); (got != "") != (tc.status == 503) {
				t.Errorf("Retry-After %q", got)
			}
			// A 500 or a 503 (the database busy) is logged for the operator.
			if logged := strings.Contains(logs.String(), tc.err.Error()); logged != (tc.status >= 500) || (tc.status < 500 && logs.Len() > 0) {
				t.Errorf("logged %v: %s", logged, logs.String())
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct{ A string }
	rec := httptest.NewRecorder()
	err := obperr.DecodeJSON(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"A":1}`)), &v)
	e := platform.AsError(err)
	if e.Status != 400 || e.Code != "OBP-10001" || !strings.HasPrefix(e.Message, "Incorrect json format. wrong type") {
		t.Fatalf("%+v", e)
	}
	if err := obperr.DecodeJSON(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"A":"x"}`)), &v); err != nil || v.A != "x" {
		t.Fatalf("%v %+v", err, v)
	}
}
