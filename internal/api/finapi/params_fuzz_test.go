package finapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/platform"
)

// FuzzQueryParams: whatever query string a client sends to GET
// /transactions, /accounts, /banks or /categories, the parsers never
// panic; what they accept holds exactly what the query says (ids in
// range, dates and times that format back to the value sent, amounts
// equal to the decimal sent, booleans true or false, paging as sent, order
// fields without a direction word); what they refuse is a 400 in finAPI's
// error format.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{
		"", "view=userView", "view=bankView&ids=1,2,3&ids=4", "view=userView&accountIds=9007199254740991",
		"view=userView&accountIds=9007199254740992", "view=x", "view=userView&view=bankView", "ids=0", "ids=,,1, 2 ,",
		"view=userView&minBankBookingDate=2024-02-29&maxFinapiBookingDate=2024-02-30", "view=userView&minAmount=-1.50&maxAmount=1e3",
		"view=userView&minAmount=123456789012345678901234567890123", "view=userView&order=amount,desc&order=id", "order=desc",
		"view=userView&isNew=true&isPotentialDuplicate=TRUE", "page=2&perPage=500", "page=-1", "perPage=99999999999999999999",
		"minBalance=0.01&minLastSuccessfulUpdate=2024-01-02%2003:04:05.678", "minLastSuccessfulUpdate=2024-01-02T03:04:05",
		"accountTypeIds=1,x", "view=userView&categoryIds=0,5&includeChildCategories=false", "%zz", "a=1;b=2", "search=%00%ff",
		"isSupported=true&location=DE,AT&supportedDataSources=WEB_SCRAPER&isTestBank=false&order=name,asc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u := &url.URL{RawQuery: raw}
		vals, malformed := url.ParseQuery(raw)

		tq, err := transactionQuery(u)
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest)
		} else {
			if malformed != nil {
				t.Fatalf("malformed query %q accepted", raw)
			}
			if v := vals.Get("view"); v != "bankView" && v != "userView" {
				t.Fatalf("view %q accepted", v)
			}
			checkIDs(t, vals, "ids", tq.IDs, 1)
			checkIDs(t, vals, "accountIds", tq.AccountIDs, 1)
			checkIDs(t, vals, "categoryIds", tq.CategoryIDs, 0)
			checkIDs(t, vals, "labelIds", tq.LabelIDs, 1)
			checkTime(t, vals, "minImportDate", time.DateOnly, tq.MinImported)
			checkTime(t, vals, "maxImportDate", time.DateOnly, tq.MaxImported)
			for _, name := range []string{"minBankBookingDate", "minFinapiBookingDate"} {
				if v := vals.Get(name); v != "" && tq.MinBooked.Before(mustDate(t, v)) {
					t.Fatalf("%s=%s but the lower booking bound is %s", name, v, tq.MinBooked)
				}
			}
			for _, name := range []string{"maxBankBookingDate", "maxFinapiBookingDate"} {
				if v := vals.Get(name); v != "" && tq.MaxBooked.After(mustDate(t, v)) {
					t.Fatalf("%s=%s but the upper booking bound is %s", name, v, tq.MaxBooked)
				}
			}
			checkDecimal(t, vals, "minAmount", tq.MinAmount)
			checkDecimal(t, vals, "maxAmount", tq.MaxAmount)
			checkBool(t, vals, "isNew", tq.IsNew)
			checkBool(t, vals, "isPotentialDuplicate", tq.IsPotentialDuplicate)
			checkBool(t, vals, "isAdjustingEntry", tq.IsAdjustingEntry)
			if v := vals.Get("includeChildCategories"); tq.IncludeChildren != (v != "false") {
				t.Fatalf("includeChildCategories=%q read as %v", v, tq.IncludeChildren)
			}
			checkPage(t, vals, tq.Page)
			checkOrder(t, tq.Order)
		}

		aq, err := accountQuery(u)
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest)
		} else {
			checkIDs(t, vals, "ids", aq.IDs, 1)
			checkIDs(t, vals, "bankConnectionIds", aq.ConnectionIDs, 1)
			checkDecimal(t, vals, "minBalance", aq.MinBalance)
			checkDecimal(t, vals, "maxBalance", aq.MaxBalance)
			checkTime(t, vals, "minLastSuccessfulUpdate", TimeLayout, aq.MinUpdated)
			checkTime(t, vals, "maxLastSuccessfulUpdate", TimeLayout, aq.MaxUpdated)
			for _, n := range aq.TypeIDs {
				if !strings.Contains(strings.Join(vals["accountTypeIds"], ","), strconv.Itoa(n)) {
					t.Fatalf("accountTypeIds %v read as %v", vals["accountTypeIds"], aq.TypeIDs)
				}
			}
		}

		bq, err := bankQuery(u)
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest)
		} else {
			checkIDs(t, vals, "ids", bq.IDs, 1)
			checkBool(t, vals, "isSupported", bq.Supported)
			checkBool(t, vals, "pinsAreVolatile", bq.PINsAreVolatile)
			checkBool(t, vals, "isTestBank", bq.TestBank)
			if vs, ok := vals["search"]; ok && bq.Search != vs[0] {
				t.Fatalf("search %q read as %q", vs[0], bq.Search)
			}
			for _, l := range bq.Locations {
				if l == "" || strings.Contains(l, ",") || l != strings.TrimSpace(l) {
					t.Fatalf("location element %q", l)
				}
			}
			checkPage(t, vals, bq.Page)
			checkOrder(t, bq.Order)
		}

		cq, err := categoryQuery(u)
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest)
		} else {
			checkIDs(t, vals, "ids", cq.IDs, 1)
			checkBool(t, vals, "isCustom", cq.IsCustom)
			checkPage(t, vals, cq.Page)
			checkOrder(t, cq.Order)
		}
	})
}

// FuzzPathIDs: a path's {id} is one id or a comma list of ids, each 1 to
// MaxID, read as the decimal it is; anything else is a 400 in finAPI's
// format.
func FuzzPathIDs(f *testing.F) {
	for _, s := range []string{"1", "1,2", " 3 , 4", "0", "", ",", "007", "9007199254740991", "9007199254740992", "-1", "1e3", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ids, list, err := pathIDs(raw)
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest)
			return
		}
		parts := strings.Split(raw, ",")
		if list != (len(parts) > 1) || len(ids) != len(parts) {
			t.Fatalf("%q read as %v (list %v)", raw, ids, list)
		}
		for i, p := range parts {
			n, perr := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if perr != nil || n != ids[i] || n < 1 || n > bankconn.MaxID || strings.ContainsAny(p, "+-") {
				t.Fatalf("%q: element %q read as %d", raw, p, ids[i])
			}
		}
	})
}

// FuzzConnectionBodies: the bodies of POST /bankConnections/import and
// /update and PATCH /bankConnections/{id} never panic the decoders; what
// they accept decodes again, written back as the client would, to the
// same parameters (nothing invented, nothing lost), with the required
// ids present; what they refuse is a 400 (413 when too large) in
// finAPI's error format.
func FuzzConnectionBodies(f *testing.F) {
	for _, s := range []string{
		`{"bankId":280001}`, `{"bankId":1,"bankingUserId":"u","bankingPin":"secret","storePin":true,"name":"n","maxDaysForDownload":90,"accountTypeIds":[1,2],"challengeResponse":"123","skipPositionsDownload":false}`,
		`{"bankConnectionId":5,"bankingPin":"p","importNewAccounts":true}`, `{"bankingUserId":"","name":"x","defaultTwoStepProcedureId":"1"}`,
		`{}`, `null`, ``, `[]`, `{"bankId":"1"}`, `{"bankId":1.5}`, `{"bankId":1,"bankId":2}`, `{"BankId":1}`, `{"bankId":1,"extra":1}`,
		`{"bankId":99999999999999999999}`, `{"bankId":1,"accountTypeIds":null}`, "{\"name\":\"\xff\"}", `{"bankConnectionId":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := importParams(decodeRequest(body))
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		} else {
			again, err := importParams(decodeRequest(mustJSON(t, importWire(in))))
			if err != nil || !reflect.DeepEqual(again, in) {
				t.Fatalf("import %q: %#v, written back and read again %#v (%v)", body, in, again, err)
			}
		}

		up, err := updateParams(decodeRequest(body))
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		} else {
			again, err := updateParams(decodeRequest(mustJSON(t, updateWire(up))))
			if err != nil || !reflect.DeepEqual(again, up) {
				t.Fatalf("update %q: %#v, written back and read again %#v (%v)", body, up, again, err)
			}
		}

		ed, err := editParams(decodeRequest(body))
		if err != nil {
			assertFinRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		} else {
			again, err := editParams(decodeRequest(mustJSON(t, editWire(ed))))
			if err != nil || !reflect.DeepEqual(again, ed) {
				t.Fatalf("edit %q: %#v, written back and read again %#v (%v)", body, ed, again, err)
			}
		}
	})
}

func decodeRequest(body []byte) (http.ResponseWriter, *http.Request) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/bankConnections/import", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return httptest.NewRecorder(), r
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reveal(s *credential.Secret) *string {
	if s == nil {
		return nil
	}
	v := s.Reveal()
	return &v
}

// importWire is the body a client sends for in.
func importWire(in bankconn.ImportParams) ImportBankConnectionParams {
	return ImportBankConnectionParams{BankID: &in.BankID, BankingUserID: in.UserID, BankingCustomerID: in.CustomerNo,
		BankingPIN: reveal(in.PIN), StorePIN: &in.StorePIN, Name: in.Name, MaxDaysForDownload: &in.MaxDays,
		AccountTypeIDs: in.AccountTypes, ChallengeResponse: &in.ChallengeResponse}
}

func updateWire(in bankconn.UpdateParams) UpdateBankConnectionParams {
	return UpdateBankConnectionParams{BankConnectionID: &in.ID, BankingPIN: reveal(in.PIN), ChallengeResponse: &in.ChallengeResponse}
}

func editWire(in bankconn.EditParams) EditBankConnectionParams {
	return EditBankConnectionParams{BankingUserID: in.UserID, BankingCustomerID: in.CustomerNo, BankingPIN: reveal(in.PIN),
		DefaultTwoStepProcedureID: in.DefaultTwoStep, Name: in.Name}
}

// assertFinRefused: err renders as finAPI's ErrorMessage with one of the
// statuses, one error with a code, a message and a type.
func assertFinRefused(t *testing.T, err error, statuses ...int) {
	t.Helper()
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest(http.MethodGet, "/api/v1/x", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), platform.SystemClock{}, err)
	var body ErrorMessage
	if derr := json.Unmarshal(w.Body.Bytes(), &body); derr != nil {
		t.Fatalf("refusal %v: body %q: %v", err, w.Body.Bytes(), derr)
	}
	ok := false
	for _, s := range statuses {
		ok = ok || w.Code == s
	}
	if !ok || len(body.Errors) != 1 || body.Errors[0].Code == "" || body.Errors[0].Message == "" || body.Errors[0].Type == "" || body.Date == "" {
		t.Fatalf("refusal %v answered %d %s, want one of %v in finAPI's format", err, w.Code, w.Body.Bytes(), statuses)
	}
}

// checkIDs: each id read is in [lo, MaxID] and is the value of one
// element of the parameter.
func checkIDs(t *testing.T, vals url.Values, name string, ids []int64, lo int64) {
	t.Helper()
	var want []int64
	for _, v := range vals[name] {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				n, err := strconv.ParseInt(e, 10, 64)
				if err != nil {
					t.Fatalf("%s element %q accepted", name, e)
				}
				want = append(want, n)
			}
		}
	}
	if len(want) == 0 && len(ids) == 0 {
		return
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("%s=%q read as %v", name, vals[name], ids)
	}
	for _, id := range ids {
		if id < lo || id > bankconn.MaxID {
			t.Fatalf("%s: id %d out of range", name, id)
		}
	}
}

// checkTime: a date or time parameter accepted formats back to the value
// sent (and absent is the zero time).
func checkTime(t *testing.T, vals url.Values, name, layout string, got time.Time) {
	t.Helper()
	v := vals.Get(name)
	if (v == "" && !got.IsZero()) || (v != "" && got.Format(layout) != v) {
		t.Fatalf("%s=%q read as %s", name, v, got.Format(layout))
	}
}

func mustDate(t *testing.T, v string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		t.Fatalf("date %q accepted: %v", v, err)
	}
	return d
}

func checkDecimal(t *testing.T, vals url.Values, name string, got *decimal.Decimal) {
	t.Helper()
	v := vals.Get(name)
	switch {
	case v == "" && got == nil:
	case v == "" || got == nil:
		t.Fatalf("%s=%q read as %v", name, v, got)
	default:
		want, err := decimal.NewFromString(v)
		if err != nil || !want.Equal(*got) || len(v) > 32 {
			t.Fatalf("%s=%q read as %s", name, v, got)
		}
	}
}

func checkBool(t *testing.T, vals url.Values, name string, got *bool) {
	t.Helper()
	v := vals.Get(name)
	switch {
	case v == "" && got == nil:
	case got == nil || (v != "true" && v != "false") || *got != (v == "true"):
		t.Fatalf("%s=%q read as %v", name, v, got)
	}
}

func checkPage(t *testing.T, vals url.Values, p bankconn.Page) {
	t.Helper()
	for name, got := range map[string]int{"page": p.Page, "perPage": p.PerPage} {
		v := vals.Get(name)
		if v == "" {
			if got != 0 {
				t.Fatalf("absent %s read as %d", name, got)
			}
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n != got || n < 0 {
			t.Fatalf("%s=%q read as %d", name, v, got)
		}
	}
}

func checkOrder(t *testing.T, order []bankconn.Order) {
	t.Helper()
	for _, o := range order {
		f := strings.ToLower(o.Field)
		if o.Field == "" || f == "asc" || f == "desc" || utf8.RuneCountInString(o.Field) > maxParam || strings.Contains(o.Field, ",") {
			t.Fatalf("order field %q", o.Field)
		}
	}
}
