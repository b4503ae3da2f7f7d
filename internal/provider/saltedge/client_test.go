package saltedge_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
)

var t0 = time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)

// Keys are generated once: RSA generation is the slowest part of the suite.
var (
	reqPriv, reqPub string
	cbPriv, cbPub   string
	otherPriv       string
)

func TestMain(m *testing.M) {
	var err error
	if reqPriv, reqPub, err = saltedgetest.GenerateKeyPEM(); err == nil {
		if cbPriv, cbPub, err = saltedgetest.GenerateKeyPEM(); err == nil {
			otherPriv, _, err = saltedgetest.GenerateKeyPEM()
		}
	}
	if err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

type fixture struct {
	srv    *saltedgetest.Server
	client *saltedge.Client
	clock  *clocktest.Clock
}

func setup(t *testing.T, sopts saltedgetest.Options, edit func(*saltedge.Config)) fixture {
	t.Helper()
	clock := clocktest.New(t0)
	sopts.Clock = clock
	if sopts.CallbackPrivateKeyPEM == "" {
		sopts.CallbackPrivateKeyPEM = cbPriv
	}
	srv, err := saltedgetest.New(sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := saltedge.Config{
		BaseURL: srv.URL, AppID: "test-app-id", Secret: "test-secret", HTTPClient: srv.Client(), Clock: clock,
		RetryBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, IncludeSandboxes: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := saltedge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{srv: srv, client: c, clock: clock}
}

func TestNew(t *testing.T) {
	if _, err := saltedge.New(saltedge.Config{BaseURL: "ftp://x"}); err == nil {
		t.Error("bad base URL accepted")
	}
	if _, err := saltedge.New(saltedge.Config{PrivateKeyPEM: "not a key"}); err == nil {
		t.Error("bad private key accepted")
	}
	c, err := saltedge.New(saltedge.Config{})
	if err != nil || c.Name() != "saltedge" {
		t.Errorf("defaults: %v", err)
	}
}

func TestListBanks(t *testing.T) {
	ctx := context.Background()
	for _, sandboxes := range []bool{false, true} {
		f := setup(t, saltedgetest.Options{PageSize: 3}, func(c *saltedge.Config) { c.IncludeSandboxes = sandboxes })
		var banks []provider.Bank
		pages := 0
		for cursor := ""; ; {
			page, err := f.client.ListBanks(ctx, cursor)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			banks = append(banks, page.Banks...)
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		want := 0
		for _, p := range f.srv.Providers() {
			if saltedgetest.Listed(p, sandboxes) {
				want++
			}
		}
		if len(banks) != want || pages != (want+2)/3 {
			t.Errorf("sandboxes=%t: %d banks in %d pages, want %d", sandboxes, len(banks), pages, want)
		}
		for _, b := range banks {
			if b.Status == "disabled" || (!sandboxes && b.CountryCode == "XF") {
				t.Errorf("sandboxes=%t: listed %s (%s, %s)", sandboxes, b.Code, b.Status, b.CountryCode)
			}
		}
		for _, r := range f.srv.Requests() {
			if got := r.Query.Get("include_sandboxes"); got != map[bool]string{false: "", true: "true"}[sandboxes] || r.Query.Has("include_fake_providers") {
				t.Errorf("query %v with sandboxes=%t", r.Query, sandboxes)
			}
		}
		if !sandboxes {
			continue
		}
		byCode := map[string]provider.Bank{}
		for _, b := range banks {
			byCode[b.Code] = b
		}
		b := byCode["bkbklull_oauth_client_lu_xf"]
		if b.Name != "Bankinter PSD2 (Sandbox)" || b.CountryCode != "XF" || b.Mode != "oauth" || b.Status != "active" ||
			b.MaxConsentDays != 90 || strings.Join(b.SupportedFetchScopes, ",") != "accounts,transactions" || b.Timezone != "Europe/Luxembourg" ||
			b.LogoURL == "" || b.UpdatedAt.IsZero() {
			t.Errorf("bank mapping: %+v", b)
		}
		if byCode["bank_of_east_asia_oauth_client_gb_xf"].MaxConsentDays != 0 {
			t.Errorf("null max_consent_days not 0")
		}
		if !byCode["fakebank_interactive_xf"].Interactive {
			t.Errorf("interactive flag lost")
		}
		one, err := f.client.Bank(ctx, "fake_oauth_client_xf")
		if err != nil || one.Code != "fake_oauth_client_xf" {
			t.Errorf("Bank: %+v, %v", one, err)
		}
		if _, err := f.client.Bank(ctx, "nope"); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("unknown bank: %v", err)
		}
	}
}

func TestCustomers(t *testing.T) {
	ctx := context.Background()
	f := setup(t, saltedgetest.Options{}, nil)
	c, err := f.client.CreateCustomer(ctx, "GB0010001-100100")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.Identifier != "GB0010001-100100" {
		t.Errorf("customer %+v", c)
	}
	_, err = f.client.CreateCustomer(ctx, "GB0010001-100100")
	var apiErr *saltedge.APIError
	if !errors.Is(err, provider.ErrDuplicateCustomer) || !errors.As(err, &apiErr) || apiErr.Class != "DuplicatedCustomer" || apiErr.Status != 409 {
		t.Errorf("duplicate: %v", err)
	}
	if err := f.client.DeleteCustomer(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.client.DeleteCustomer(ctx, c.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	// Every request carried the documented headers and a data envelope.
	for _, r := range f.srv.Requests() {
		for h, want := range map[string]string{"App-id": "test-app-id", "Secret": "test-secret", "Accept": "application/json", "Content-Type": "application/json"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s %s: %s = %q", r.Method, r.Path, h, got)
			}
		}
		if r.Method == "POST" && !strings.HasPrefix(string(r.Body), `{"data":`) {
			t.Errorf("body without data envelope: %s", r.Body)
		}
	}
}

func newCustomer(t *testing.T, f fixture, identifier string) string {
	t.Helper()
	c, err := f.client.CreateCustomer(context.Background(), identifier)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func sessionToken(t *testing.T, cs provider.ConnectSession) string {
	t.Helper()
	i := strings.Index(cs.ConnectURL, "token=")
	if i < 0 {
		t.Fatalf("connect URL %q has no token", cs.ConnectURL)
	}
	return cs.ConnectURL[i+len("token="):]
}

func sessionBody(t *testing.T, se saltedgetest.Session) map[string]any {
	t.Helper()
	var body struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(se.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Data
}

func TestCreateConnectSession(t *testing.T) {
	ctx := context.Background()
	f := setup(t, saltedgetest.Options{}, nil)
	cust := newCustomer(t, f, "GB0010001-100200")
	req := provider.ConnectRequest{
		CustomerID: cust, BankCode: "bkbklull_oauth_client_lu_xf",
		ConsentScopes: []string{"account_details", "transactions_details"}, ConsentFrom: time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC), ConsentPeriodDays: 90,
		FetchScopes: []string{"accounts", "transactions"}, AttemptFrom: time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC), AttemptPeriodDays: 90,
		DailyRefresh: true, JavascriptCallbackType: "post_message", ReturnTo: "https://app.example/done",
	}
	cs, err := f.client.CreateConnectSession(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(cs.ConnectURL, strings.TrimSuffix(f.srv.URL, saltedgetest.APIPrefix)+"/connect?token=")
	if !ok || len(token) != 64 || !cs.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("connect session %+v", cs)
	}
	se, ok := f.srv.Session(token)
	if !ok || se.Kind != saltedgetest.SessionConnect {
		t.Fatalf("session %+v", se)
	}
	if f.srv.Calls("POST", "/connections/connect") != 1 {
		t.Errorf("not POST /connections/connect: %+v", f.srv.Requests())
	}
	data := sessionBody(t, se)
	consent := data["consent"].(map[string]any)
	attempt := data["attempt"].(map[string]any)
	prov := data["provider"].(map[string]any)
	widget := data["widget"].(map[string]any)
	// The Aggregation API's v5 consent scopes travel under their v6 names.
	if fmt.Sprint(consent["scopes"]) != "[accounts transactions]" || consent["from_date"] != "2025-03-17" || consent["period_days"] != 90.0 ||
		attempt["from_date"] != "2025-03-17" || attempt["return_to"] != "https://app.example/done" || data["customer_id"] != cust ||
		prov["code"] != req.BankCode || prov["include_sandboxes"] != true || data["automatic_refresh"] != true ||
		widget["javascript_callback_type"] != "post_message" {
		t.Errorf("request body %s", se.Body)
	}
	if slices.ContainsFunc(slices.Collect(maps.Keys(data)), func(k string) bool {
		return k == "include_fake_providers" || k == "daily_refresh" || k == "provider_code" || k == "javascript_callback_type"
	}) {
		t.Errorf("v5 fields in a v6 body: %s", se.Body)
	}

	tests := []struct {
		name string
		edit func(*provider.ConnectRequest)
		want error
	}{
		{"unknown customer", func(r *provider.ConnectRequest) { r.CustomerID = "1" }, provider.ErrNotFound},
		{"unknown bank", func(r *provider.ConnectRequest) { r.BankCode = "nope" }, provider.ErrNotFound},
		{"disabled bank", func(r *provider.ConnectRequest) { r.BankCode = "fakebank_disabled_xf" }, provider.ErrInvalid},
		{"inactive bank", func(r *provider.ConnectRequest) { r.BankCode = "demobank_inactive_gb" }, provider.ErrInvalid},
		{"bad consent scope", func(r *provider.ConnectRequest) { r.ConsentScopes = []string{"string"} }, provider.ErrInvalid},
		{"unsupported fetch scope", func(r *provider.ConnectRequest) { r.FetchScopes = []string{"holder_info"} }, provider.ErrInvalid},
		{"period too long", func(r *provider.ConnectRequest) { r.ConsentPeriodDays = 365 }, provider.ErrInvalid},
		{"future from date", func(r *provider.ConnectRequest) { r.AttemptFrom = t0.AddDate(0, 0, 3) }, provider.ErrInvalid},
		{"reconnect of an unknown connection", func(r *provider.ConnectRequest) { r.ConnectionID = "42" }, provider.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.edit(&r)
			if _, err := f.client.CreateConnectSession(ctx, r); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("default consent scopes", func(t *testing.T) {
		cs, err := f.client.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: cust, BankCode: "fakebank_simple_xf"})
		if err != nil {
			t.Fatal(err)
		}
		se, _ := f.srv.Session(sessionToken(t, cs))
		if fmt.Sprint(sessionBody(t, se)["consent"].(map[string]any)["scopes"]) != "[accounts transactions]" {
			t.Errorf("body %s", se.Body)
		}
	})
	t.Run("sandbox bank needs include_sandboxes", func(t *testing.T) {
		f2 := setup(t, saltedgetest.Options{}, func(c *saltedge.Config) { c.IncludeSandboxes = false })
		cust := newCustomer(t, f2, "x")
		if _, err := f2.client.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: cust, BankCode: "fakebank_simple_xf"}); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("got %v", err)
		}
		if _, err := f2.client.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: cust, BankCode: "demobank_oauth_client_gb"}); err != nil {
			t.Errorf("a real bank: %v", err)
		}
	})
}

// connected sets up a customer with a connection whose first fetch ran
// to its end.
func connected(t *testing.T, f fixture, identifier, bank string) (string, string) {
	t.Helper()
	cust := newCustomer(t, f, identifier)
	cs, err := f.client.CreateConnectSession(context.Background(), provider.ConnectRequest{CustomerID: cust, BankCode: bank, DailyRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := f.srv.CompleteSession(sessionToken(t, cs))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Fetch(context.Background(), conn.ID); err != nil {
		t.Fatal(err)
	}
	return cust, conn.ID
}

func TestConnections(t *testing.T) {
	ctx := context.Background()
	f := setup(t, saltedgetest.Options{PageSize: 2}, nil)
	cust, connID := connected(t, f, "GB0010001-100300", "fakebank_simple_xf")
	for _, bank := range []string{"fake_oauth_client_xf", "bkbklull_oauth_client_lu_xf"} {
		if _, err := f.srv.Connect(cust, bank); err != nil {
			t.Fatal(err)
		}
	}
	conns, err := f.client.ListConnections(ctx, cust)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 3 {
		t.Fatalf("%d connections over pages of 2, want 3", len(conns))
	}
	c := conns[0]
	if c.ID != connID || c.CustomerID != cust || c.BankCode != "fakebank_simple_xf" || c.BankName != "Fake Bank Simple" || c.CountryCode != "XF" ||
		c.Status != "active" || !c.DailyRefresh || !c.NextRefreshPossibleAt.Equal(t0.Add(time.Hour)) || !c.LastSuccessAt.Equal(t0) ||
		!c.CreatedAt.Equal(t0) || !c.AttemptAt.Equal(t0) || c.Fetching || c.LastError != "" || c.StopReason != "" {
		t.Errorf("fetched connection %+v", c)
	}
	// A connection whose first fetch has not finished: active, fetching,
	// never fetched.
	if c := conns[1]; c.Status != "active" || !c.Fetching || !c.LastSuccessAt.IsZero() || !c.NextRefreshPossibleAt.IsZero() {
		t.Errorf("fetching connection %+v", c)
	}
	if _, err := f.client.ListConnections(ctx, "42"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown customer: %v", err)
	}

	// A failed last attempt surfaces as LastError; an inactive connection
	// whose consent ended says why.
	stored, _ := f.srv.Connection(connID)
	class, msg := "InvalidCredentials", "wrong password"
	stored.Status, stored.LastAttempt.FailErrorClass, stored.LastAttempt.FailMessage = "inactive", &class, &msg
	f.srv.SetConnection(stored)
	conns, _ = f.client.ListConnections(ctx, cust)
	if conns[0].Status != "inactive" || conns[0].LastError != "InvalidCredentials: wrong password" || conns[0].StopReason != "" {
		t.Errorf("failed connection %+v", conns[0])
	}
	if err := f.srv.ExpireConsent(ctx, connID); err != nil {
		t.Fatal(err)
	}
	conns, _ = f.client.ListConnections(ctx, cust)
	if conns[0].Status != "inactive" || conns[0].StopReason != provider.StopConsentExpired || !strings.HasPrefix(conns[0].LastError, "ConsentExpired: ") {
		t.Errorf("expired consent %+v", conns[0])
	}
	if _, err := f.client.RefreshConnection(ctx, connID); !errors.Is(err, provider.ErrConsentExpired) || provider.StopReasonOf(err) != provider.StopConsentExpired {
		t.Errorf("refresh of an expired consent: %v", err)
	}

	// Background refresh: while the first fetch runs it is that fetch;
	// after it, too early until next_refresh_possible_at; then it only
	// starts a fetch.
	other := conns[1].ID
	rc, err := f.client.RefreshConnection(ctx, other)
	if err != nil || !rc.Fetching || rc.ID != other {
		t.Errorf("refresh during the first fetch: %+v %v", rc, err)
	}
	if err := f.srv.Fetch(ctx, other); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	_, err = f.client.RefreshConnection(ctx, other)
	var early *provider.TooEarlyError
	if !errors.Is(err, provider.ErrTooEarly) || !errors.As(err, &early) || !early.At.Equal(t0.Add(time.Hour)) {
		t.Errorf("early refresh: %v", err)
	}
	f.clock.Advance(time.Hour)
	rc, err = f.client.RefreshConnection(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if !rc.Fetching || !rc.AttemptAt.Equal(t0.Add(time.Hour+time.Minute)) || !rc.LastSuccessAt.Equal(t0) || rc.ID != other {
		t.Errorf("refresh started %+v", rc)
	}
	reqs := f.srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != "POST" || last.Path != "/connections/"+other+"/background_refresh" || string(last.Body) != `{"data":{"attempt":{"fetch_scopes":["accounts","transactions"]}}}` {
		t.Errorf("refresh request %s %s %s", last.Method, last.Path, last.Body)
	}
	if _, err := f.client.RefreshConnection(ctx, "42"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown connection: %v", err)
	}

	// Reconnect: a session of the same connection, which renews the
	// consent and starts a fetch.
	cs, err := f.client.CreateConnectSession(ctx, provider.ConnectRequest{ConnectionID: connID, CustomerID: cust, BankCode: "fakebank_simple_xf",
		ConsentScopes: []string{"account_details", "holder_information", "transactions_details"}, ReturnTo: "https://app.example/back"})
	if err != nil {
		t.Fatal(err)
	}
	se, _ := f.srv.Session(sessionToken(t, cs))
	data := sessionBody(t, se)
	if se.Kind != saltedgetest.SessionReconnect || se.ConnectionID != connID || data["customer_id"] != nil || data["provider"] != nil ||
		fmt.Sprint(data["consent"].(map[string]any)["scopes"]) != "[accounts holder_info transactions]" {
		t.Errorf("reconnect session %+v %s", se, se.Body)
	}
	again, err := f.srv.CompleteSession(sessionToken(t, cs))
	if err != nil || again.ID != connID || again.Status != "active" {
		t.Errorf("reconnected %+v %v", again, err)
	}
	if n := len(f.srv.Connections(cust)); n != 3 {
		t.Errorf("%d connections after the reconnect, want the same 3", n)
	}

	// Delete.
	if err := f.client.DeleteConnection(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := f.client.DeleteConnection(ctx, other); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := f.client.ListAccounts(ctx, other); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("accounts of a deleted connection: %v", err)
	}
}

func TestAccountsAndTransactions(t *testing.T) {
	ctx := context.Background()
	f := setup(t, saltedgetest.Options{PageSize: 1000}, nil)
	conn, err := f.srv.Connect(newCustomer(t, f, "GB0010001-100400"), "fakebank_simple_xf")
	if err != nil {
		t.Fatal(err)
	}
	connID := conn.ID
	// 17 significant digits: float64 would round this balance.
	acc := f.srv.AddAccount(saltedgetest.Account{
		ConnectionID: connID, Name: "Current", Nature: "account", Balance: "12345678901234567.89", CurrencyCode: "EUR",
		Extra: map[string]any{"iban": "LU280019400644750000", "swift": "BKBKLULL", "account_number": "0644750000",
			"client_name": "Alex Morgan", "available_amount": json.Number("12345678901234500.01")},
	})
	other := f.srv.AddAccount(saltedgetest.Account{ConnectionID: connID, Name: "Card", Nature: "card", Balance: "-20.5", CurrencyCode: "JPY"})
	if accs, err := f.client.ListAccounts(ctx, connID); err != nil || len(accs) != 0 {
		t.Fatalf("accounts before any fetch: %+v %v", accs, err)
	}
	for _, stage := range saltedgetest.Stages[:2] { // start, fetch_accounts
		if _, err := f.srv.Step(ctx); err != nil {
			t.Fatalf("stage %s: %v", stage, err)
		}
	}
	accs, err := f.client.ListAccounts(ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != 2 {
		t.Fatalf("%d accounts", len(accs))
	}
	a := accs[0]
	if a.ID != acc.ID || a.ConnectionID != connID || a.Balance.String() != "12345678901234567.89" || a.Available.String() != "12345678901234500.01" ||
		a.IBAN != "LU280019400644750000" || a.SWIFT != "BKBKLULL" || a.AccountNumber != "0644750000" || a.HolderName != "Alex Morgan" || a.CurrencyCode != "EUR" {
		t.Errorf("account %+v", a)
	}
	if accs[1].Available.String() != "-20.5" {
		t.Errorf("available defaults to balance: %+v", accs[1])
	}

	// 2,500 posted transactions over three pages, plus two pending.
	var txs []saltedgetest.Transaction
	sum := decimal.Zero
	for i := range 2500 {
		amt := decimal.New(int64(i%97)-48, -2).Add(decimal.New(1, -1)) // cents that float64 cannot add exactly
		sum = sum.Add(amt)
		tx := saltedgetest.Transaction{
			MadeOn: t0.AddDate(0, 0, -2500+i).Format(time.DateOnly), Amount: json.Number(amt.String()), CurrencyCode: "EUR",
			Description: "tx", Category: "groceries",
			Extra: map[string]any{"account_balance_snapshot": json.Number(sum.String())},
		}
		txs = append(txs, tx)
	}
	txs[0].Extra["payee"], txs[0].Extra["payee_information"] = "Greenleaf Grocers", "GB33BUKB20201555555555"
	txs[0].Amount = "-12.34"
	txs[1].Extra["payer"], txs[1].Extra["payer_information"] = "DE89 3704 0044 0532 0130 00", "Acme Widgets Ltd"
	txs[1].Amount = "2500.00"
	txs[2].Extra["posting_date"], txs[2].Extra["posting_time"] = "2018-09-02", "13:45:07"
	f.srv.AddTransactions(acc.ID, txs...)
	f.srv.AddTransactions(other.ID, saltedgetest.Transaction{MadeOn: "2025-06-01", Amount: "-1500", CurrencyCode: "JPY"})
	pend := f.srv.AddTransactions(acc.ID,
		saltedgetest.Transaction{Status: "pending", MadeOn: "2025-06-14", Amount: "-9.99", CurrencyCode: "EUR", Description: "CARD"},
		saltedgetest.Transaction{Status: "pending", MadeOn: "2025-06-15", Amount: "-0.01", CurrencyCode: "EUR", Description: "CARD"},
	)
	// Stage fetch_recent shows the pending transactions and the last
	// week's posted ones (seven of the 2,500; not the card's, two weeks
	// old); finish shows the rest.
	if _, err := f.srv.Step(ctx); err != nil {
		t.Fatal(err)
	}
	_, recent := f.srv.Visible(connID)
	pending := 0
	for _, tx := range recent {
		if tx.Status == "pending" {
			pending++
		} else if tx.MadeOn < "2025-06-08" {
			t.Errorf("old transaction %s of %s visible at fetch_recent", tx.ID, tx.MadeOn)
		}
	}
	if len(recent) != 9 || pending != 2 {
		t.Fatalf("after fetch_recent: %d transactions visible (%d pending), want 7 posted and 2 pending", len(recent), pending)
	}
	if err := f.srv.Fetch(ctx, connID); err != nil {
		t.Fatal(err)
	}

	var posted []provider.Transaction
	pages := 0
	for cursor := ""; ; {
		page, err := f.client.ListTransactions(ctx, connID, acc.ID, false, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		posted = append(posted, page.Transactions...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(posted) != 2500 || pages != 3 {
		t.Fatalf("%d transactions in %d pages", len(posted), pages)
	}
	for i, tx := range posted {
		want := decimal.RequireFromString(string(txs[i].Amount))
		if !tx.Amount.Equal(want) || tx.AccountID != acc.ID || tx.Status != "posted" || tx.Mode != "normal" {
			t.Fatalf("transaction %d: %+v, amount want %s", i, tx, want)
		}
		if i > 0 && tx.ID <= posted[i-1].ID {
			t.Fatalf("not in id order")
		}
	}
	if p := posted[0]; p.CounterpartyName != "Greenleaf Grocers" || p.CounterpartyIBAN != "GB33BUKB20201555555555" || !p.MadeOn.Equal(t0.Truncate(24*time.Hour).AddDate(0, 0, -2500)) || !p.PostedAt.Equal(p.MadeOn) {
		t.Errorf("debit counterparty / dates: %+v", p)
	}
	if p := posted[1]; p.CounterpartyName != "Acme Widgets Ltd" || p.CounterpartyIBAN != "DE89370400440532013000" {
		t.Errorf("credit counterparty: %+v", p)
	}
	if p := posted[2]; !p.PostedAt.Equal(time.Date(2018, 9, 2, 13, 45, 7, 0, time.UTC)) {
		t.Errorf("posting date/time: %s", p.PostedAt)
	}
	if last := posted[len(posted)-1]; last.BalanceAfter == nil || !last.BalanceAfter.Equal(sum) {
		t.Errorf("balance snapshot %v, want %s", last.BalanceAfter, sum)
	}

	page, err := f.client.ListTransactions(ctx, connID, acc.ID, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Transactions) != 2 || page.Next != "" || page.Transactions[0].ID != pend[0].ID || page.Transactions[1].Amount.String() != "-0.01" ||
		page.Transactions[0].Status != "pending" || !page.Transactions[0].PostedAt.IsZero() {
		t.Errorf("pending %+v", page)
	}
	if r := f.srv.Requests(); r[len(r)-1].Path != "/transactions" || r[len(r)-1].Query.Get("pending") != "true" {
		t.Errorf("pending request %+v", r[len(r)-1])
	}
	// The pending one is booked under a new id: the next fetch drops it.
	f.srv.RemoveTransaction(pend[0].ID)
	f.srv.AddTransactions(acc.ID, saltedgetest.Transaction{MadeOn: "2025-06-14", Amount: "-9.99", CurrencyCode: "EUR", Description: "CARD"})
	f.clock.Advance(time.Hour)
	if _, err := f.client.RefreshConnection(ctx, connID); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Fetch(ctx, connID); err != nil {
		t.Fatal(err)
	}
	page, _ = f.client.ListTransactions(ctx, connID, acc.ID, true, "")
	if len(page.Transactions) != 1 {
		t.Errorf("%d pending after booking", len(page.Transactions))
	}

	if _, err := f.client.ListTransactions(ctx, connID, "404", false, ""); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := f.client.ListTransactions(ctx, connID, acc.ID, false, "not-an-id"); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("5xx then success", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, nil)
		f.srv.Inject(saltedgetest.Fault{Method: "GET", Path: "/providers", Status: 503, Class: "InternalServerError", Message: "busy", Times: 2})
		if _, err := f.client.ListBanks(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if n := f.srv.Calls("GET", "/providers"); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})
	t.Run("429 until the retries run out", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, func(c *saltedge.Config) { c.MaxRetries = 2 })
		f.srv.Inject(saltedgetest.Fault{Method: "GET", Path: "/providers", Status: 429, Class: "RateLimitExceeded", Message: "slow down", Times: 10, RetryAfter: "0"})
		_, err := f.client.ListBanks(ctx, "")
		if !errors.Is(err, provider.ErrUnavailable) {
			t.Errorf("got %v", err)
		}
		if n := f.srv.Calls("GET", "/providers"); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})
	t.Run("4xx is not retried", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, nil)
		f.srv.Inject(saltedgetest.Fault{Method: "POST", Path: "/customers", Status: 400, Class: "WrongRequestFormat", Message: "no", Times: 5})
		if _, err := f.client.CreateCustomer(ctx, "x"); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("got %v", err)
		}
		if n := f.srv.Calls("POST", "/customers"); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
	t.Run("customer create that succeeded before a 5xx", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{PageSize: 2}, nil)
		for i := range 5 { // other customers: the look-up pages past them
			newCustomer(t, f, fmt.Sprintf("GB0010001-9%d", i))
		}
		f.srv.Inject(saltedgetest.Fault{Method: "POST", Path: "/customers", Status: 502, Class: "InternalServerError", Times: 1, AfterHandling: true})
		c, err := f.client.CreateCustomer(ctx, "GB0010001-100600")
		if err != nil {
			t.Fatal(err)
		}
		// 5 others, then the create answered 502 and its retry
		// DuplicatedCustomer; 3 pages of 2 customers looked through.
		if c.Identifier != "GB0010001-100600" || c.ID == "" || f.srv.Calls("POST", "/customers") != 7 || f.srv.Calls("GET", "/customers") != 3 {
			t.Errorf("customer %+v, %d creates, %d list pages", c, f.srv.Calls("POST", "/customers"), f.srv.Calls("GET", "/customers"))
		}
		// The one customer there is that one.
		if _, err := f.client.CreateCustomer(ctx, "GB0010001-100600"); !errors.Is(err, provider.ErrDuplicateCustomer) {
			t.Errorf("a first-attempt duplicate stays a duplicate: %v", err)
		}
		if err := f.client.DeleteCustomer(ctx, c.ID); err != nil {
			t.Errorf("the looked-up id is the customer's: %v", err)
		}
	})
	t.Run("background refresh that started before a 5xx", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, nil)
		_, id := connected(t, f, "GB0010001-100700", "fakebank_simple_xf")
		f.clock.Advance(time.Hour)
		f.srv.Inject(saltedgetest.Fault{Method: "POST", Path: "/connections/" + id + "/background_refresh", Status: 503, Times: 1, AfterHandling: true})
		rc, err := f.client.RefreshConnection(ctx, id)
		if err != nil || !rc.Fetching || f.srv.Calls("POST", "/connections/"+id+"/background_refresh") != 2 {
			t.Errorf("refresh %+v %v", rc, err)
		}
	})
	t.Run("no retries", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, func(c *saltedge.Config) { c.MaxRetries = -1 })
		f.srv.Inject(saltedgetest.Fault{Method: "GET", Path: "/providers", Status: 500, Class: "InternalServerError", Times: 1})
		if _, err := f.client.ListBanks(ctx, ""); !errors.Is(err, provider.ErrUnavailable) {
			t.Errorf("got %v", err)
		}
		if n := f.srv.Calls("GET", "/providers"); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, func(c *saltedge.Config) { c.RetryBackoff, c.MaxBackoff = time.Minute, time.Minute })
		f.srv.Inject(saltedgetest.Fault{Method: "GET", Path: "/providers", Status: 502, Times: 5})
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.client.ListBanks(short, "")
		if !errors.Is(err, provider.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("got %v after %s", err, time.Since(start))
		}
	})
	t.Run("network failure", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		c, err := saltedge.New(saltedge.Config{BaseURL: url, RetryBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListBanks(ctx, ""); !errors.Is(err, provider.ErrUnavailable) {
			t.Errorf("got %v", err)
		}
	})
}

func TestErrorMapping(t *testing.T) {
	ctx := context.Background()
	f := setup(t, saltedgetest.Options{}, func(c *saltedge.Config) { c.MaxRetries = -1 })
	tests := []struct {
		status int
		class  string
		want   error
	}{
		{404, "ConnectionNotFound", provider.ErrNotFound},
		{404, "CustomerNotFound", provider.ErrNotFound},
		{404, "", provider.ErrNotFound},
		{409, "DuplicatedCustomer", provider.ErrDuplicateCustomer},
		{406, "ConnectionCannotBeRefreshed", provider.ErrTooEarly},
		{406, "ConsentExpired", provider.ErrConsentExpired},
		{406, "ConsentRevoked", provider.ErrConsentRevoked},
		{400, "WrongRequestFormat", provider.ErrInvalid},
		{401, "ApiKeyNotFound", provider.ErrInvalid},
		{406, "ProviderInactive", provider.ErrInvalid},
		{429, "RateLimitExceeded", provider.ErrUnavailable},
		{500, "InternalServerError", provider.ErrUnavailable},
		{503, "", provider.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.class+"/"+http.StatusText(tc.status), func(t *testing.T) {
			f.srv.Inject(saltedgetest.Fault{Method: "GET", Path: "/providers", Status: tc.status, Class: tc.class, Message: "m", Times: 1})
			_, err := f.client.ListBanks(ctx, "")
			var apiErr *saltedge.APIError
			if !errors.Is(err, tc.want) || !errors.As(err, &apiErr) || apiErr.Status != tc.status || apiErr.Class != tc.class {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong secret", func(t *testing.T) {
		f := setup(t, saltedgetest.Options{}, func(c *saltedge.Config) { c.Secret = "nope" })
		var apiErr *saltedge.APIError
		if _, err := f.client.ListBanks(ctx, ""); !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Class != "ApiKeyNotFound" {
			t.Errorf("got %v", err)
		}
	})
	signing := []struct {
		name  string
		key   string
		skew  time.Duration
		class string
	}{
		{"signed", reqPriv, 0, ""},
		{"PKCS#1 key", pkcs1(t, reqPriv), 0, ""},
		{"unsigned", "", 0, "MissingExpiresAt"},
		{"other key", otherPriv, 0, "SignatureNotMatch"},
		{"client clock late", reqPriv, -2 * time.Hour, "RequestExpired"},
		{"client clock early", reqPriv, 2 * time.Hour, "ExpiresAtInvalid"},
	}
	for _, tc := range signing {
		t.Run(tc.name, func(t *testing.T) {
			clientClock := clocktest.New(t0.Add(tc.skew))
			f := setup(t, saltedgetest.Options{RequestPublicKeyPEM: reqPub}, func(c *saltedge.Config) {
				c.PrivateKeyPEM, c.Clock = tc.key, clientClock
			})
			// A GET with a query and a POST with a body, both signed.
			_, err1 := f.client.ListBanks(ctx, "")
			_, err2 := f.client.CreateCustomer(ctx, "GB0010001-100500")
			for _, err := range []error{err1, err2} {
				var apiErr *saltedge.APIError
				switch {
				case tc.class == "" && err != nil:
					t.Errorf("signed request refused: %v", err)
				case tc.class != "" && (!errors.As(err, &apiErr) || apiErr.Class != tc.class || !errors.Is(err, provider.ErrInvalid)):
					t.Errorf("got %v, want %s", err, tc.class)
				}
			}
		})
	}
}

func pkcs1(t *testing.T, pkcs8 string) string {
	block, _ := pem.Decode([]byte(pkcs8))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}))
}

func TestVerifyCallback(t *testing.T) {
	f := setup(t, saltedgetest.Options{}, nil)
	type received struct {
		url  string
		body []byte
		sig  string
	}
	got := make(chan received, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{"http://" + r.Host + r.URL.RequestURI(), body, r.Header.Get("Signature")}
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()
	cbURL := hook.URL + "/callbacks/saltedge/success"
	sent, err := f.srv.SendCallback(context.Background(), hook.Client(), cbURL, map[string]any{
		"connection_id": "111", "customer_id": "222", "custom_fields": map[string]any{}, "stage": "finish",
	})
	if err != nil || sent.Status != http.StatusOK || sent.Kind != "success" {
		t.Fatalf("%+v %v", sent, err)
	}
	rc := <-got
	var meta struct {
		Meta struct{ Version, Time string } `json:"meta"`
	}
	if err := json.Unmarshal(rc.body, &meta); err != nil || meta.Meta.Version != "6" || meta.Meta.Time != t0.Format(time.RFC3339) {
		t.Errorf("callback meta %s", rc.body)
	}
	if rc.url != cbURL {
		t.Fatalf("callback went to %s", rc.url)
	}
	if err := saltedge.VerifyCallback(f.srv.CallbackPublicKeyPEM(), rc.url, rc.body, rc.sig); err != nil {
		t.Errorf("valid callback refused: %v", err)
	}
	if err := saltedge.VerifyCallback(cbPub, rc.url, rc.body, rc.sig); err != nil {
		t.Errorf("valid callback refused with the configured key: %v", err)
	}
	bad := []struct {
		name           string
		url, sig, body string
	}{
		{"tampered body", rc.url, rc.sig, strings.Replace(string(rc.body), "111", "112", 1)},
		{"other URL", hook.URL + "/callbacks/saltedge/fail", rc.sig, string(rc.body)},
		{"no signature", rc.url, "", string(rc.body)},
		{"not base64", rc.url, "%%%", string(rc.body)},
	}
	for _, tc := range bad {
		if err := saltedge.VerifyCallback(cbPub, tc.url, []byte(tc.body), tc.sig); !errors.Is(err, saltedge.ErrInvalidSignature) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
	if err := saltedge.VerifyCallback("garbage", rc.url, rc.body, rc.sig); err == nil || errors.Is(err, saltedge.ErrInvalidSignature) {
		t.Errorf("bad key: %v", err)
	}
	// SignCallback makes the same signature a client can check.
	sig, err := saltedgetest.SignCallback(reqPriv, "https://openagg.example/callbacks/saltedge/notify", []byte(`{"data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := saltedge.VerifyCallback(reqPub, "https://openagg.example/callbacks/saltedge/notify", []byte(`{"data":{}}`), sig); err != nil {
		t.Errorf("SignCallback: %v", err)
	}
}
