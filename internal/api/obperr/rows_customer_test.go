package obperr_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/fault"
)

// TestCustomerRows: every kind of the customer domain renders with its own
// OBP code (none falls back to OBP-50000), wrapped with context or not;
// a row without a fixed text shows the domain's message.
func TestCustomerRows(t *testing.T) {
	want := map[*fault.Kind]string{
		customer.ErrBankNotFound:     "404 OBP-30001: Bank not found. Please specify a valid value for BANK_ID.",
		customer.ErrMissingRoles:     "403 OBP-20006: the domain's words",
		customer.ErrNumberExists:     "400 OBP-30006: Customer Number already exists. Please specify a different value for BANK_ID or CUSTOMER_NUMBER.",
		customer.ErrUserNotFound:     "404 OBP-20005: User not found. Please specify a valid value for USER_ID.",
		customer.ErrLinkExists:       "400 OBP-30007: The User is already linked to a Customer at the bank specified by BANK_ID",
		customer.ErrCustomerNotFound: "404 OBP-30046: Customer not found. Please specify a valid value for CUSTOMER_ID.",
		customer.ErrInvalid:          "400 OBP-10001: the domain's words",
		customer.ErrConflict:         "409 OBP-30255: the domain's words",
	}
	for k, w := range want {
		err := fmt.Errorf("doing something: %w", fault.Errorf(k, "the domain's words"))
		rec := httptest.NewRecorder()
		obperr.Write(rec, httptest.NewRequest(http.MethodGet, "/obp/v2.1.0/x", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), err)
		var body obperr.Body
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%d %s", body.Code, body.Message); got != w || rec.Code != body.Code {
			t.Errorf("%v: %d %q, want %q", k, rec.Code, got, w)
		}
		if strings.Contains(body.Message, "OBP-50000") {
			t.Errorf("%v: rendered as an internal error", k)
		}
	}
}
