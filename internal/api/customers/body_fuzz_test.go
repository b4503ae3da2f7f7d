package customers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/customer"
)

// writeLayout writes a decoded date back as a client may send it: OBP's
// layout with the fraction of a second the decoder keeps.
const writeLayout = "2006-01-02T15:04:05.999999999Z"

// FuzzCustomerBody: the body of POST /obp/v2.1.0/banks/BANK_ID/customers
// never panics the decoder; an accepted one is in range (a customer
// number of 1 to 50 bytes without "::::" or control characters, text
// fields within their limits, 0 to 100 dependants, a decimal credit
// limit) and, written back as a client would, reads the same; a refused
// one is a 400 (413 when too large) OBP-10001 in OBP's format.
func FuzzCustomerBody(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"","customer_number":"n-1","legal_name":"A","mobile_phone_number":"+44","email":"a@b","face_image":{"url":"https://x/a.png","date":"2026-01-02T03:04:05Z"},"date_of_birth":"1990-01-02T00:00:00Z","relationship_status":"single","dependants":1,"dob_of_dependants":["2010-01-02T00:00:00Z"],"credit_rating":{"rating":"A","source":"s"},"credit_limit":{"currency":"GBP","amount":"1000.00"},"highest_education_attained":"M","employment_status":"w","kyc_status":true,"last_ok_date":"2026-01-02T03:04:05.5Z"}`,
		`{"user_id":"","customer_number":"a::::b","legal_name":"A","mobile_phone_number":"","email":"","face_image":{"url":"","date":"2026-01-02T03:04:05Z"},"date_of_birth":"1990-01-02T00:00:00Z","relationship_status":"","dependants":-1,"dob_of_dependants":[],"credit_rating":{"rating":"","source":""},"credit_limit":{"currency":"","amount":"1e3"},"highest_education_attained":"","employment_status":"","kyc_status":false,"last_ok_date":"2026-01-02"}`,
		`{}`, `null`, ``, `{"customer_number":null}`, `{"dependants":1.5}`, `{"face_image":null}`, `{"dob_of_dependants":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := decode(body, newCustomer)
		if in.Err != nil {
			assertOBPRefused(t, in.Err)
			return
		}
		c := in.Value
		if c.Number == "" || len(c.Number) > customer.MaxNumberLen || strings.Contains(c.Number, "::::") || hasControl(c.Number) ||
			c.Dependants < 0 || c.Dependants > customer.MaxDates || len(c.DobOfDependants) > customer.MaxDates ||
			!decimalAmount.MatchString(c.CreditLimit.Amount) || len(c.UserID) > 255 || len(c.FaceImage.URL) > customer.MaxURLLen {
			t.Fatalf("%q accepted as %+v", body, c)
		}
		for _, s := range []string{c.LegalName, c.MobilePhoneNumber, c.Email, c.RelationshipStatus, c.CreditRating.Rating, c.CreditRating.Source,
			c.CreditLimit.Currency, c.HighestEducationAttained, c.EmploymentStatus} {
			if len(s) > customer.MaxTextLen {
				t.Fatalf("%q accepted with a field of %d bytes", body, len(s))
			}
		}
		again := decode(mustJSON(t, customerWire(c)), newCustomer)
		if again.Err != nil || !reflect.DeepEqual(again.Value, c) {
			t.Fatalf("%q read as %+v; written back and read again %+v (%v)", body, c, again.Value, again.Err)
		}
	})
}

// FuzzLinkBody: POST /obp/v2.0.0/banks/BANK_ID/user_customer_links: an
// accepted body names a user and a customer (non-empty, at most 255
// bytes) and reads the same written back; a refused one is an OBP-10001.
func FuzzLinkBody(f *testing.F) {
	for _, s := range []string{`{"user_id":"alice","customer_id":"c-1"}`, `{"user_id":"","customer_id":"c"}`, `{"user_id":"a"}`, `{}`, `null`, ``, `{"user_id":1,"customer_id":"c"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := decode(body, newLink)
		if in.Err != nil {
			assertOBPRefused(t, in.Err)
			return
		}
		l := in.Value
		if l.UserID == "" || l.CustomerID == "" || len(l.UserID) > 255 || len(l.CustomerID) > 255 {
			t.Fatalf("%q accepted as %+v", body, l)
		}
		again := decode(mustJSON(t, postLinkJSON{UserID: &l.UserID, CustomerID: &l.CustomerID}), newLink)
		if again.Err != nil || again.Value != l {
			t.Fatalf("%q read as %+v; written back and read again %+v (%v)", body, l, again.Value, again.Err)
		}
	})
}

// FuzzSocialMediaBody: POST .../customers/CUSTOMER_ID/social_media_handles:
// an accepted body has a type and a handle of 1 to 255 bytes, a customer
// number of at most 50, two dates, and reads the same written back; a
// refused one is an OBP-10001.
func FuzzSocialMediaBody(f *testing.F) {
	for _, s := range []string{
		`{"customer_number":"n","type":"mastodon","handle":"@a","date_added":"2026-01-02T03:04:05Z","date_activated":"2026-01-02T03:04:05Z"}`,
		`{"customer_number":"n","type":"","handle":"@a","date_added":"2026-01-02T03:04:05Z","date_activated":"x"}`, `{}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := decode(body, newHandle)
		if in.Err != nil {
			assertOBPRefused(t, in.Err)
			return
		}
		h := in.Value
		if h.Type == "" || h.Handle == "" || len(h.Type) > customer.MaxHandleLen || len(h.Handle) > customer.MaxHandleLen || len(h.CustomerNumber) > customer.MaxNumberLen {
			t.Fatalf("%q accepted as %+v", body, h)
		}
		added, activated := h.DateAdded.Format(writeLayout), h.DateActivated.Format(writeLayout)
		again := decode(mustJSON(t, postSocialMediaJSON{CustomerNumber: &h.CustomerNumber, Type: &h.Type, Handle: &h.Handle,
			DateAdded: &added, DateActivated: &activated}), newHandle)
		if again.Err != nil || !reflect.DeepEqual(again.Value, h) {
			t.Fatalf("%q read as %+v; written back and read again %+v (%v)", body, h, again.Value, again.Err)
		}
	})
}

// FuzzEntitlementBody: POST /obp/v2.0.0/users/USER_ID/entitlements: an
// accepted body has both bank_id and role_name (strings, bank_id may be
// empty) and reads the same written back; a refused one is an OBP-10001.
func FuzzEntitlementBody(f *testing.F) {
	for _, s := range []string{`{"bank_id":"","role_name":"CanManageBankDirectory"}`, `{"bank_id":"b","role_name":"CanCreateCustomer"}`,
		`{"role_name":"x"}`, `{"bank_id":null,"role_name":"x"}`, `{}`, `null`, ``, `{"bank_id":"","role_name":"x","x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		bankID, role, err := entitlementBody(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/obp/v2.0.0/users/u/entitlements", bytes.NewReader(body)))
		if err != nil {
			assertOBPRefused(t, err)
			return
		}
		var sent map[string]string
		if json.Unmarshal(body, &sent) != nil || len(sent) != 2 || sent["bank_id"] != bankID || sent["role_name"] != role {
			t.Fatalf("%q read as bank %q, role %q", body, bankID, role)
		}
		again := mustJSON(t, createEntitlementJSON{BankID: &bankID, RoleName: &role})
		b2, r2, err := entitlementBody(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/obp/v2.0.0/users/u/entitlements", bytes.NewReader(again)))
		if err != nil || b2 != bankID || r2 != role {
			t.Fatalf("%q read as bank %q, role %q; written back %q, %q (%v)", body, bankID, role, b2, r2, err)
		}
	})
}

// customerWire is the body a client sends for c.
func customerWire(c customer.NewCustomer) postCustomerJSON {
	date := func(t time.Time) *string { s := t.Format(writeLayout); return &s }
	dobs := make([]string, len(c.DobOfDependants))
	for i, d := range c.DobOfDependants {
		dobs[i] = *date(d)
	}
	return postCustomerJSON{
		UserID: &c.UserID, CustomerNumber: &c.Number, LegalName: &c.LegalName, MobilePhoneNumber: &c.MobilePhoneNumber, Email: &c.Email,
		FaceImage:   &postFaceImage{URL: &c.FaceImage.URL, Date: date(c.FaceImage.Date)},
		DateOfBirth: date(c.DateOfBirth), RelationshipStatus: &c.RelationshipStatus, Dependants: &c.Dependants, DobOfDependants: &dobs,
		CreditRating:             &postCreditRating{Rating: &c.CreditRating.Rating, Source: &c.CreditRating.Source},
		CreditLimit:              &postAmount{Currency: &c.CreditLimit.Currency, Amount: &c.CreditLimit.Amount},
		HighestEducationAttained: &c.HighestEducationAttained, EmploymentStatus: &c.EmploymentStatus, KYCStatus: &c.KYCStatus,
		LastOKDate: date(c.LastOKDate),
	}
}

// decode runs the handlers' decodeBody on body.
func decode[B, T any](body []byte, validate func(B) (T, error)) customer.Input[T] {
	return decodeBody(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/obp/v2.1.0/banks/b/customers", bytes.NewReader(body)), validate)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertOBPRefused: err renders as OBP's error body, a 400 (413 when the
// body is too large) OBP-10001 whose code field is the status.
func assertOBPRefused(t *testing.T, err error) {
	t.Helper()
	w := httptest.NewRecorder()
	obperr.Write(w, httptest.NewRequest(http.MethodPost, "/obp/v2.1.0/x", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), err)
	var body obperr.Body
	if derr := json.Unmarshal(w.Body.Bytes(), &body); derr != nil {
		t.Fatalf("refusal %v: body %q: %v", err, w.Body.Bytes(), derr)
	}
	if (w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge) || body.Code != w.Code ||
		!strings.HasPrefix(body.Message, obperr.CodeInvalidJSON+": ") {
		t.Fatalf("refusal %v answered %d %s, want a 400 or 413 %s", err, w.Code, w.Body.Bytes(), obperr.CodeInvalidJSON)
	}
}
