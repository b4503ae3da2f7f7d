package holdings_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/aggregation"
	holdingsapi "github.com/openagg/openagg/internal/api/holdings"
	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// env is the real stack (a store driver, embedded queue, sandbox, party
// and connection services, HS256 tokens) with the holdings group on top.
type env struct {
	*partytest.Env
	h http.Handler
}

// newEnv is an environment on the embedded store (partytest.New).
func newEnv(t *testing.T) *env {
	return withAPI(partytest.New(t, partytest.Options{}))
}

// forEachEnv runs fn as one subtest per store driver (bolt, dynamo on
// moto), each on a fresh environment: for the end-to-end set (the main
// flow, the store-call budgets).
func forEachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	partytest.ForEachStore(t, partytest.Options{}, func(t *testing.T, e *partytest.Env) { fn(t, withAPI(e)) })
}

func withAPI(e *partytest.Env) *env { return &env{Env: e, h: e.Handler} }

type response struct {
	status int
	body   string
}

func (e *env) do(method, path, token, body string) response {
	e.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Body.String()}
}

// calls runs fn and returns the store requests it made.
func (e *env) calls(fn func()) int64 {
	before := e.Store.Calls()
	fn()
	return e.Store.Calls() - before
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	var b aggregation.ErrorBody
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.Error.Code == "" {
		t.Fatalf("not an Aggregation error: %d %s", r.status, r.body)
	}
	return b.Error.Code
}

const (
	alice, bob = "alice", "bob"
	partyA     = "100100"
	partyB     = "200200"
)

func importPath(party, bank string) string {
	return "/holdings/profiles/" + party + "/banks/" + bank + "/accountwithtransactions"
}

// TestImportGolden decodes the reference document's example of operation
// 12 and checks our answer byte for byte.
func TestImportGolden(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		tok := e.Token(alice)
		e.CreateProfile(tok, partyA)
		e.Connected(tok, partyA, sandbox.BankDefault)

		reqBody, err := os.ReadFile(filepath.Join("testdata", "accountwithtransactions_request.json"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "accountwithtransactions_response.json"))
		if err != nil {
			t.Fatal(err)
		}
		var r response
		n := e.calls(func() { r = e.do(http.MethodPost, importPath(partyA, sandbox.BankDefault), tok, string(reqBody)) })
		if r.status != http.StatusAccepted {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		var got, exp any
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &exp); err != nil {
			t.Fatal(err)
		}
		if g, _ := json.Marshal(got); !bytes.Equal(g, mustJSON(t, exp)) {
			t.Fatalf("body %s, reference %s", r.body, want)
		}
		if n > 3 {
			t.Fatalf("the import request made %d store round trips (limit 3)", n)
		}
		// Queued, then done once the worker ran.
		if p, err := e.Holdings.Progress(e.Ctx, partyA, sandbox.BankDefault); err != nil || p.State != holdings.StateQueued {
			t.Fatalf("progress %+v %v", p, err)
		}
		e.Drain()
		p, err := e.Holdings.Progress(e.Ctx, partyA, sandbox.BankDefault)
		if err != nil || p.State != holdings.StateDone || p.Transactions == 0 {
			t.Fatalf("progress %+v %v", p, err)
		}
		// Without a body too.
		if r := e.do(http.MethodPost, importPath(partyA, sandbox.BankDefault), tok, ""); r.status != http.StatusAccepted {
			t.Fatalf("no body: %d %s", r.status, r.body)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportErrors(t *testing.T) {
	e := newEnv(t)
	tokA, tokB := e.Token(alice), e.Token(bob)
	e.CreateProfile(tokA, partyA)
	e.CreateProfile(tokB, partyB)
	e.Connected(tokA, partyA, sandbox.BankDefault)
	e.CreateConnection(tokA, partyA, sandbox.BankChallenge) // pending: never logged in

	cases := []struct {
		name, path, token, body string
		status                  int
		code                    string
	}{
		{"no token", importPath(partyA, sandbox.BankDefault), "", "{}", 401, ""},
		{"unknown field", importPath(partyA, sandbox.BankDefault), tokA, `{"x":1}`, 400, "MALFORMED_JSON"},
		{"not an object", importPath(partyA, sandbox.BankDefault), tokA, `[]`, 400, "MALFORMED_JSON"},
		{"broken JSON", importPath(partyA, sandbox.BankDefault), tokA, `{`, 400, "MALFORMED_JSON"},
		{"another user's party", importPath(partyA, sandbox.BankDefault), tokB, "{}", 403, "PARTY_FORBIDDEN"},
		{"unknown party", importPath("999999", sandbox.BankDefault), tokA, "{}", 404, "PARTY_NOT_FOUND"},
		{"no connection at the bank", importPath(partyA, "sandbox_bank_oauth_client_fr_xf"), tokA, "{}", 404, "CONNECTION_NOT_FOUND"},
		{"connection not active", importPath(partyA, sandbox.BankChallenge), tokA, "{}", 409, "CONNECTION_NOT_ACTIVE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Depth("holdings")
			r := e.do(http.MethodPost, tc.path, tc.token, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" && errorCode(t, r) != tc.code {
				t.Fatalf("code %s, want %s", errorCode(t, r), tc.code)
			}
			if e.Depth("holdings") != before {
				t.Fatal("a refused request queued an import")
			}
		})
	}
}

type wireAccount struct {
	ID         string    `json:"id"`
	BankCode   string    `json:"bankCode"`
	BankName   string    `json:"bankName"`
	Name       string    `json:"name"`
	Nature     string    `json:"nature"`
	Currency   string    `json:"currency"`
	IBAN       string    `json:"iban"`
	Number     string    `json:"number"`
	HolderName string    `json:"holderName"`
	Balance    string    `json:"balance"`
	Available  string    `json:"available"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

type wireTx struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"`
	MadeOn       string     `json:"madeOn"`
	PostedAt     *time.Time `json:"postedAt"`
	Amount       string     `json:"amount"`
	Currency     string     `json:"currency"`
	Description  string     `json:"description"`
	Category     string     `json:"category"`
	Counterparty *struct {
		Name string `json:"name"`
		IBAN string `json:"iban"`
	} `json:"counterparty"`
	BalanceAfter *string `json:"balanceAfter"`
}

type txBody struct {
	Transactions  []wireTx `json:"transactions"`
	NextPageToken string   `json:"nextPageToken"`
}

func TestReadEndpoints(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		tokA, tokB := e.Token(alice), e.Token(bob)
		e.CreateProfile(tokA, partyA)
		e.CreateProfile(tokB, partyB)
		// Import at a time with a fraction of a second: the wire shows whole
		// seconds all the same.
		e.Clock.Advance(1234567890 * time.Nanosecond)
		e.Connected(tokA, partyA, sandbox.BankDefault) // the connection imports at once
		e.Connected(tokB, partyB, sandbox.BankDefault)

		var r response
		n := e.calls(func() { r = e.do(http.MethodGet, "/holdings/profiles/"+partyA+"/accounts", tokA, "") })
		wantSecondTimes(t, r.body, "updatedAt")
		if r.status != http.StatusOK || n > 2 {
			t.Fatalf("accounts: %d after %d store calls: %s", r.status, n, r.body)
		}
		accs := decode[struct {
			Accounts []wireAccount `json:"accounts"`
		}](t, r).Accounts
		stored, err := e.Holdings.Accounts(e.Ctx, partyA)
		if err != nil || len(accs) == 0 || len(accs) != len(stored) {
			t.Fatalf("%d accounts on the wire, %d stored (%v)", len(accs), len(stored), err)
		}
		for i, a := range accs {
			s := stored[i]
			if a.ID != s.ID || a.BankCode != sandbox.BankDefault || a.BankName == "" || a.Currency != s.Currency || a.IBAN != s.IBAN ||
				a.Balance != holdings.Amount(s.Balance, s.Currency) || a.Available != holdings.Amount(s.Available, s.Currency) || !a.UpdatedAt.Equal(s.UpdatedAt.Truncate(time.Second)) {
				t.Fatalf("wire account %+v, stored %+v", a, s)
			}
			if _, err := decimal.NewFromString(a.Balance); err != nil {
				t.Fatalf("balance %q is not a decimal string", a.Balance)
			}
		}
		if !strings.Contains(r.body, `"balance":"`) {
			t.Fatalf("balance is not a JSON string: %s", r.body)
		}

		// The account with most transactions, read in pages of 10, newest first.
		var acc string
		var total int
		for _, a := range accs {
			page, err := e.Holdings.Transactions(e.Ctx, a.ID, holdings.TxQuery{Limit: holdings.MaxTxLimit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Transactions) > total {
				acc, total = a.ID, len(page.Transactions)
			}
		}
		if total < 25 {
			t.Fatalf("need an account with transactions (%d)", total)
		}
		base := "/holdings/profiles/" + partyA + "/accounts/" + acc + "/transactions"
		var all []wireTx
		token := ""
		for pages := 0; ; pages++ {
			path := base + "?limit=10"
			if token != "" {
				path += "&pageToken=" + url.QueryEscape(token)
			}
			n := e.calls(func() { r = e.do(http.MethodGet, path, tokA, "") })
			if r.status != http.StatusOK || n > 2 {
				t.Fatalf("transactions: %d after %d store calls: %s", r.status, n, r.body)
			}
			wantSecondTimes(t, r.body, "postedAt")
			b := decode[txBody](t, r)
			if len(b.Transactions) > 10 {
				t.Fatalf("page of %d", len(b.Transactions))
			}
			all = append(all, b.Transactions...)
			if b.NextPageToken == "" {
				break
			}
			token = b.NextPageToken
		}
		if len(all) != total {
			t.Fatalf("paged %d transactions, stored %d", len(all), total)
		}
		ids := map[string]bool{}
		for i, tx := range all {
			if ids[tx.ID] {
				t.Fatalf("transaction %s listed twice", tx.ID)
			}
			ids[tx.ID] = true
			if _, err := time.Parse(holdingsapi.DateLayout, tx.MadeOn); err != nil {
				t.Fatalf("madeOn %q", tx.MadeOn)
			}
			if _, err := decimal.NewFromString(tx.Amount); err != nil || tx.Currency == "" || tx.Status == "" {
				t.Fatalf("transaction %+v", tx)
			}
			if (tx.Status == "posted") != (tx.PostedAt != nil) {
				t.Fatalf("postedAt of a %s transaction: %v", tx.Status, tx.PostedAt)
			}
			if i > 0 && completed(tx).After(completed(all[i-1])) {
				t.Fatalf("not newest first at %d", i)
			}
		}

		// A range ending before every transaction is empty, even on the first
		// day of the calendar (Go's zero time).
		for _, to := range []string{"0001-01-01", "1999-12-31"} {
			r = e.do(http.MethodGet, base+"?to="+to, tokA, "")
			if b := decode[txBody](t, r); r.status != http.StatusOK || len(b.Transactions) != 0 {
				t.Fatalf("to=%s: %d, %d transactions", to, r.status, len(b.Transactions))
			}
		}

		// A date range (inclusive) keeps what falls inside it.
		mid := completed(all[len(all)/2]).Format(holdingsapi.DateLayout)
		r = e.do(http.MethodGet, base+"?from="+mid+"&to="+mid+"&limit=1000", tokA, "")
		if r.status != http.StatusOK {
			t.Fatalf("range: %d %s", r.status, r.body)
		}
		inRange := decode[txBody](t, r).Transactions
		want := 0
		for _, tx := range all {
			if completed(tx).Format(holdingsapi.DateLayout) == mid {
				want++
			}
		}
		if len(inRange) != want || want == 0 {
			t.Fatalf("range %s lists %d, want %d", mid, len(inRange), want)
		}

		// Bad input, someone else's data.
		bList, err := e.Holdings.Accounts(e.Ctx, partyB)
		if err != nil || len(bList) == 0 {
			t.Fatalf("party B accounts: %d %v", len(bList), err)
		}
		bAcc := bList[0].ID
		cases := []struct {
			name, path, token string
			status            int
			code              string
		}{
			{"bad from", base + "?from=2025-13-01", tokA, 400, aggregation.CodeInvalidDate},
			{"bad to", base + "?to=yesterday", tokA, 400, aggregation.CodeInvalidDate},
			{"to before from", base + "?from=2025-03-02&to=2025-03-01", tokA, 400, aggregation.CodeInvalidDate},
			{"zero limit", base + "?limit=0", tokA, 400, aggregation.CodeInvalidLimit},
			{"limit too big", base + "?limit=1001", tokA, 400, aggregation.CodeInvalidLimit},
			{"limit not a number", base + "?limit=ten", tokA, 400, aggregation.CodeInvalidLimit},
			{"forged page token", base + "?pageToken=abc", tokA, 400, "INVALID_PAGE_TOKEN"},
			{"page token of another query", base + "?from=2025-01-01&pageToken=" + url.QueryEscape(token), tokA, 400, "INVALID_PAGE_TOKEN"},
			{"unknown account", "/holdings/profiles/" + partyA + "/accounts/nope/transactions", tokA, 404, "ACCOUNT_NOT_FOUND"},
			{"another party's account", "/holdings/profiles/" + partyA + "/accounts/" + bAcc + "/transactions", tokA, 404, "ACCOUNT_NOT_FOUND"},
			{"another user's account", "/holdings/profiles/" + partyB + "/accounts/" + bAcc + "/transactions", tokA, 403, "PARTY_FORBIDDEN"},
			{"another user's accounts", "/holdings/profiles/" + partyB + "/accounts", tokA, 403, "PARTY_FORBIDDEN"},
			{"unknown party's accounts", "/holdings/profiles/999999/accounts", tokA, 404, "PARTY_NOT_FOUND"},
			{"no token", base, "", 401, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(http.MethodGet, tc.path, tc.token, "")
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if tc.code != "" && errorCode(t, r) != tc.code {
					t.Fatalf("code %s, want %s", errorCode(t, r), tc.code)
				}
			})
		}

		// A party manager may read another user's party, in as many store
		// round trips as the owner.
		admin := e.Token("carol", "CanManageParties")
		n = e.calls(func() {
			r = e.do(http.MethodGet, "/holdings/profiles/"+partyB+"/accounts/"+bAcc+"/transactions?limit=5", admin, "")
		})
		if r.status != http.StatusOK || n > 2 {
			t.Fatalf("manager: %d after %d store calls: %s", r.status, n, r.body)
		}
		// A malformed party id is a 400, like on every other route.
		if r := e.do(http.MethodGet, "/holdings/profiles/a%20b/accounts/"+bAcc+"/transactions", tokA, ""); r.status != http.StatusBadRequest || errorCode(t, r) != "INVALID_PARTY_ID" {
			t.Fatalf("bad party id: %d %s", r.status, r.body)
		}
		// Routes answer 405 in the Aggregation format.
		if r := e.do(http.MethodDelete, "/holdings/profiles/"+partyA+"/accounts", tokA, ""); r.status != http.StatusMethodNotAllowed || errorCode(t, r) == "" {
			t.Fatalf("405: %d %s", r.status, r.body)
		}
	})
}

// secondTime is a time as every Aggregation group writes it: RFC 3339 UTC
// with whole seconds.
var secondTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// wantSecondTimes checks every value of the field in a JSON body.
func wantSecondTimes(t *testing.T, body, field string) {
	t.Helper()
	values := regexp.MustCompile(`"`+field+`":"([^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(values) == 0 {
		t.Fatalf("no %s in %s", field, body)
	}
	for _, v := range values {
		if !secondTime.MatchString(v[1]) {
			t.Fatalf("%s %q is not RFC 3339 UTC with whole seconds", field, v[1])
		}
	}
}

func completed(tx wireTx) time.Time {
	if tx.PostedAt != nil {
		return *tx.PostedAt
	}
	d, _ := time.Parse(holdingsapi.DateLayout, tx.MadeOn)
	return d
}

func TestRoutes(t *testing.T) {
	api := holdingsapi.New(holdingsapi.Deps{})
	var got []string
	for _, r := range api.Routes() {
		if r.Public {
			t.Fatalf("route %s is public", r.Pattern())
		}
		got = append(got, r.Pattern())
	}
	want := []string{
		"POST /holdings/profiles/{partyid}/banks/{bankcode}/accountwithtransactions",
		"GET /holdings/profiles/{partyid}/accounts",
		"GET /holdings/profiles/{partyid}/accounts/{accountId}/transactions",
		"GET /holdings/profiles/{partyid}/transactions/sync",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("routes %v", got)
	}
}
