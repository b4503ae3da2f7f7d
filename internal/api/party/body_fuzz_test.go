package party_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/api/party"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform"
)

// FuzzConnectionRequest: the body of POST .../banks/{bankcode}/connections
// never panics the decoder; an accepted one holds calendar dates that
// format back to the dd-MM-yyyy sent, periods of at least one day that
// are the digits sent, non-empty scopes and customer id, and written back
// as a client would it reads to the same parameters; a refused one is a
// 400 (413 when too large) in the Aggregation error format.
func FuzzConnectionRequest(f *testing.F) {
	for _, s := range []string{
		`{"data":{"customer_id":"GB0010001-p","consent":{"from_date":"01-02-2026","period_days":"90","scope":["account_details","transactions_details"]},"attempt":{"from_date":"01-02-2026","period_days":"90","fetch_scope":["accounts","transactions"],"return_to":"https://example.com/back"},"device":"web"}}`,
		`{"data":{"customer_id":"c","consent":{"from_date":"29-02-2024","period_days":"007","scope":["x"]},"attempt":{"from_date":"30-02-2024","period_days":"1","fetch_scope":["y"]}}}`,
		`{"data":{"customer_id":"c","consent":{"from_date":"1-2-2026","period_days":"0","scope":[]},"attempt":{}}}`,
		`{"data":{"customer_id":"c","consent":{"from_date":"01-02-2026","period_days":"999999","scope":["x"]},"attempt":{"from_date":"01-02-2026","period_days":"-1","fetch_scope":["y"]}}}`,
		`{"data":null}`, `{}`, `null`, ``, `{"data":{"customer_id":" "}}`, `{"data":{"Customer_ID":"x"}}`, `{"data":{"customer_id":"a","customer_id":"b"}}`,
		`{"data":{"customer_id":"c","consent":{"from_date":"01-02-2026","period_days":90}}}`, "{\"data\":{\"device\":\"\xff\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		params, err := connectionParams(body)
		if err != nil {
			assertAggregationRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		var req party.ConnectionRequest
		if err := json.Unmarshal(body, &req); err != nil || req.Data == nil || req.Data.Consent == nil || req.Data.Attempt == nil {
			t.Fatalf("accepted %q, which does not hold a data object: %v", body, err)
		}
		d := req.Data
		for _, c := range []struct {
			name, from, days string
			gotFrom          string
			gotDays          int
			scopes           []string
		}{
			{"consent", d.Consent.FromDate, d.Consent.PeriodDays, params.ConsentFrom.Format(connection.DateLayout), params.ConsentPeriodDays, params.ConsentScopes},
			{"attempt", d.Attempt.FromDate, d.Attempt.PeriodDays, params.AttemptFrom.Format(connection.DateLayout), params.AttemptPeriodDays, params.FetchScopes},
		} {
			n, _ := strconv.Atoi(c.days)
			if c.gotFrom != c.from || c.gotDays != n || c.gotDays < 1 || strings.Trim(c.days, "0123456789") != "" || len(c.scopes) == 0 {
				t.Fatalf("%s of %q read as from %s, %d days, scopes %q", c.name, body, c.gotFrom, c.gotDays, c.scopes)
			}
		}
		if strings.TrimSpace(params.CustomerID) == "" || params.CustomerID != d.CustomerID || params.ReturnTo != d.Attempt.ReturnTo || params.Device != d.Device {
			t.Fatalf("%q read as %+v", body, params)
		}
		again, err := connectionParams(mustJSON(t, connectionWire(params)))
		if err != nil || !reflect.DeepEqual(again, params) {
			t.Fatalf("%q read as %+v; written back and read again %+v (%v)", body, params, again, err)
		}
	})
}

// FuzzEmptyBody: the bodies of POST /party/profiles/{partyid}, PUT
// .../refreshConnections, DELETE .../removeConnections (and of POST
// .../accountwithtransactions, decoded the same way) are no body (or only
// white space) or an empty JSON object: whatever else is sent is a 400
// (413 when too large)
// in the Aggregation error format, never accepted (a null, an array, a
// field).
func FuzzEmptyBody(f *testing.F) {
	for _, s := range []string{``, `{}`, ` { } `, `null`, `[]`, `{"a":1}`, `{}{}`, `{}x`, `"{}"`, `0`, "\xef\xbb\xbf{}", `{"":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/party/profiles/p", bytes.NewReader(body))
		present, err := platform.DecodeOptionalJSON(w, r, &party.EmptyRequest{})
		if err != nil {
			assertAggregationRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		var m map[string]json.RawMessage
		switch {
		case !present && len(bytes.TrimSpace(body)) != 0:
			t.Fatalf("body %q taken for no body", body)
		case present && (json.Unmarshal(body, &m) != nil || m == nil || len(m) != 0):
			t.Fatalf("body %q accepted as an empty object", body)
		}
	})
}

// connectionParams decodes body as the handler does.
func connectionParams(body []byte) (connection.ConnectParams, error) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/party/profiles/p/banks/b/connections", bytes.NewReader(body))
	var req party.ConnectionRequest
	if err := platform.DecodeJSON(w, r, &req); err != nil {
		return connection.ConnectParams{}, err
	}
	return req.Params()
}

// connectionWire is the body a client sends for p.
func connectionWire(p connection.ConnectParams) party.ConnectionRequest {
	return party.ConnectionRequest{Data: &party.ConnectionData{
		CustomerID:             p.CustomerID,
		Consent:                &party.ConsentData{FromDate: p.ConsentFrom.Format(connection.DateLayout), PeriodDays: strconv.Itoa(p.ConsentPeriodDays), Scope: p.ConsentScopes},
		Attempt:                &party.AttemptData{FromDate: p.AttemptFrom.Format(connection.DateLayout), PeriodDays: strconv.Itoa(p.AttemptPeriodDays), FetchScope: p.FetchScopes, ReturnTo: p.ReturnTo},
		JavascriptCallbackType: p.JavascriptCallbackType,
		Device:                 p.Device,
	}}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertAggregationRefused: err renders as the Aggregation error body
// with one of the statuses, a code and a message.
func assertAggregationRefused(t *testing.T, err error, statuses ...int) {
	t.Helper()
	w := httptest.NewRecorder()
	aggregation.WriteError(w, httptest.NewRequest(http.MethodPost, "/party/profiles/p", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), err)
	var body aggregation.ErrorBody
	if derr := json.Unmarshal(w.Body.Bytes(), &body); derr != nil {
		t.Fatalf("refusal %v: body %q: %v", err, w.Body.Bytes(), derr)
	}
	for _, s := range statuses {
		if w.Code == s && body.Error.Code != "" && body.Error.Message != "" {
			return
		}
	}
	t.Fatalf("refusal %v answered %d %s, want one of %v in the Aggregation format", err, w.Code, w.Body.Bytes(), statuses)
}
