package obp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/storetest"
	"github.com/openagg/openagg/internal/view"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// forEachDriver runs fn on a fresh environment per store driver.
func forEachDriver(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Drivers("obp", []byte("obp-test-secret-0123456789")) {
		t.Run(d.Name, func(t *testing.T) { fn(t, newEnv(t, d.Open(t))) })
	}
}

// staticBanks is the bank directory the tests run against.
type staticBanks []obp.Bank

func (b staticBanks) ListEnabled(context.Context) ([]obp.Bank, error) { return b, nil }
func (b staticBanks) ByCode(_ context.Context, code string) (obp.Bank, bool, error) {
	for _, x := range b {
		if x.ID == code {
			return x, true, nil
		}
	}
	return obp.Bank{}, false, nil
}

// directoryBanks is a bank directory kept in the store: each bank's access
// flag is an item (PK TESTBANK, SK <code>) that tests may change, read by
// ByCode and, through obp.BankRecords, in the account-level BatchGet.
type directoryBanks struct {
	banks staticBanks
	st    store.Store
}

const testBankPK = "TESTBANK"

func (d directoryBanks) enabled(ctx context.Context, code string) (bool, error) {
	it, err := d.st.Get(ctx, store.Key{PK: testBankPK, SK: code})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && string(it.Data) == "true", err
}

func (d directoryBanks) ListEnabled(ctx context.Context) ([]obp.Bank, error) {
	var out []obp.Bank
	for _, b := range d.banks {
		ok, err := d.enabled(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, b)
		}
	}
	return out, nil
}

func (d directoryBanks) ByCode(ctx context.Context, code string) (obp.Bank, bool, error) {
	b, found, _ := d.banks.ByCode(ctx, code)
	if !found {
		return obp.Bank{}, false, nil
	}
	ok, err := d.enabled(ctx, code)
	return b, ok, err
}

func (directoryBanks) RecordKeys(code string) []store.Key {
	return []store.Key{{PK: testBankPK, SK: code}}
}

func (directoryBanks) EnabledIn(code string, items map[store.Key]store.Item) (bool, error) {
	it, ok := items[store.Key{PK: testBankPK, SK: code}]
	return ok && string(it.Data) == "true", nil
}

// setBankAccess enables or disables a bank of the directory.
func (e *env) setBankAccess(code string, enabled bool) {
	e.put(store.Item{PK: testBankPK, SK: code, Data: []byte(strconv.FormatBool(enabled))})
}

const (
	issuer   = "https://issuer.test"
	audience = "openagg"
	bankID   = "testbank"
	acc1     = "acc1"
	acc2     = "acc2"
)

var jwtKey = []byte("obp-test-jwt-key-0123456789abcdef")

// Users of the fixture: alice owns acc1 and acc2, dave also owns acc1, bob
// has views team, none and full on acc1, carol has nothing.
const (
	alice = "alice"
	bob   = "bob"
	carol = "carol"
	dave  = "dave"
)

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	st    *storetest.Counter
	h     http.Handler
	views *view.Service
	meta  *metadata.Service
	clock *platform.FakeClock
	txs   []holdings.Transaction
}

func newEnv(t *testing.T, s store.Store) *env {
	t.Helper()
	cs := &storetest.Counter{Store: s}
	clock := platform.NewFakeClock(t0.Add(48 * time.Hour))
	vs := &view.Service{Store: cs, Provider: issuer}
	ms := &metadata.Service{Store: cs, Clock: clock}
	api := obp.New(obp.Deps{
		Store: cs, Views: vs, Metadata: ms,
		Banks: directoryBanks{st: cs, banks: staticBanks{
			{ID: bankID, ShortName: "Test Bank", FullName: "Test Bank AG", Logo: "https://bank.test/logo.png", Website: "https://bank.test"},
			{ID: "otherbank", ShortName: "Other", FullName: "Other Bank"},
		}},
		HostedBy:  obp.HostedBy{Organisation: "OpenAgg", Email: "ops@openagg.test", Phone: "+49 30 000"},
		GitCommit: "abc123",
	})
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: jwtKey})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.Handler()
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	e := &env{t: t, st: cs, h: authn.Middleware(h), views: vs, meta: ms, clock: clock}
	e.seed()
	return e
}

func (e *env) put(it store.Item) {
	e.t.Helper()
	if err := e.st.Put(context.Background(), it, store.Condition{}); err != nil {
		e.t.Fatalf("seed %s %s: %v", it.PK, it.SK, err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) putAccount(a holdings.Account) {
	e.put(store.Item{PK: holdings.AccountPK(a.ID), SK: holdings.AccountSK, GSI1PK: holdings.PartyAccountsGSI1PK(a.PartyID),
		GSI1SK: holdings.PartyAccountsGSI1SK(a.BankCode, a.ID), Data: mustJSON(e.t, a)})
}

// putTx writes a transaction and, as the holdings importer does, its
// counterparty's entry in the account's counterparty directory.
func (e *env) putTx(tx holdings.Transaction) {
	e.put(store.Item{PK: holdings.AccountPK(tx.AccountID), SK: holdings.TxSK(tx.ID), GSI1PK: holdings.TxByDateGSI1PK(tx.AccountID),
		GSI1SK: holdings.TxByDateGSI1SK(tx), Data: mustJSON(e.t, tx)})
	if c, ok := holdings.CounterpartyOf(tx); ok {
		e.put(store.Item{PK: holdings.AccountPK(tx.AccountID), SK: holdings.CounterpartySK(c.ID), Data: mustJSON(e.t, c)})
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// seed writes two accounts (as the holdings import does), their owners
// (through the import hook), transactions, custom views and grants.
func (e *env) seed() {
	ctx := context.Background()
	e.setBankAccess(bankID, true)
	e.setBankAccess("otherbank", true)
	accounts := []holdings.Account{
		{ID: acc1, PartyID: "party1", OwnerSub: alice, BankCode: bankID, BankName: "Test Bank", Provider: "sandbox", Name: "Main account",
			Nature: "account", Currency: "EUR", IBAN: "DE89370400440532013000", Number: "0532013000", HolderName: "Alice Example",
			Balance: dec("1234.56"), Available: dec("1200.00")},
		{ID: acc2, PartyID: "party1", OwnerSub: alice, BankCode: bankID, BankName: "Test Bank", Provider: "sandbox", Name: "Savings",
			Nature: "savings", Currency: "EUR", Balance: dec("10.00")},
	}
	for _, a := range accounts {
		e.putAccount(a)
	}
	if err := e.views.AccountsImported(ctx, accounts); err != nil {
		e.t.Fatalf("import hook: %v", err)
	}
	cps := []struct{ name, iban string }{{"Shop One", "DE02120300000000202051"}, {"Power Co", ""}}
	for i := range 5 {
		bal := dec("1000").Add(decimal.NewFromInt(int64(i * 10)))
		if i == 3 {
			bal = dec("-5.00")
		}
		tx := holdings.Transaction{ID: fmt.Sprintf("tx%d", i+1), AccountID: acc1, Status: "posted",
			MadeOn: t0.Add(time.Duration(i) * time.Hour), PostedAt: t0.Add(time.Duration(i)*time.Hour + time.Minute),
			Amount: dec("-1.45").Add(decimal.NewFromInt(int64(-i))), Currency: "EUR", Description: fmt.Sprintf("payment %d", i+1),
			Mode: "normal", BalanceAfter: &bal}
		if i < 4 {
			cp := cps[i%2]
			tx.CounterpartyName, tx.CounterpartyIBAN = cp.name, cp.iban
			tx.CounterpartyID = holdings.CounterpartyID(cp.name, cp.iban)
		}
		e.txs = append(e.txs, tx)
		e.putTx(tx)
	}
	acl := e.acl(acc1)
	all := view.ActionNames()
	specs := []view.Spec{
		{Name: "Team", Description: "the team", WhichAliasToUse: "private", AllowedActions: []string{"can_see_transaction_label", "can_see_transaction_amount", "can_see_transaction_other_bank_account", "can_see_transaction_metadata", "can_see_comments", "can_add_comment"}},
		{Name: "None", Description: "sees nothing"},
		{Name: "Full", Description: "sees everything", WhichAliasToUse: "none", AllowedActions: all},
		{Name: "Everyone", Description: "public view", IsPublic: true, WhichAliasToUse: "public", AllowedActions: all},
		{Name: "Counterparty", Description: "the other party only", AllowedActions: []string{"can_see_transaction_other_bank_account"}},
	}
	for _, s := range specs {
		if _, err := e.views.CreateView(ctx, acl, s); err != nil {
			e.t.Fatalf("create view %s: %v", s.Name, err)
		}
		acl = e.acl(acc1)
	}
	if _, err := e.views.Grant(ctx, acl, view.User{ID: bob, DisplayName: "Bob"}, []string{"team", "none", "full", "counterparty"}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.views.Grant(ctx, e.acl(acc1), view.User{ID: dave}, []string{view.Owner}); err != nil {
		e.t.Fatal(err)
	}
	e.st.Reset()
}

func (e *env) acl(accountID string) view.ACL {
	e.t.Helper()
	a, err := e.views.LoadACL(context.Background(), accountID, bankID)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func token(t testing.TB, sub string) string {
	t.Helper()
	tok, err := authn.Mint(jwtKey, authn.Claims{Sub: sub, Name: strings.ToUpper(sub[:1]) + sub[1:], Issuer: issuer, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// resp is a recorded response.
type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request as user ("" = anonymous) with an optional body and
// headers (name, value pairs).
func (e *env) do(method, path, user, body string, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(e.t, user))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return resp{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

// expectError checks an OBP error: status, {"code": status, "message":
// "<code>: ..."}.
func expectError(t testing.TB, r resp, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body: %v: %s", err, r.body)
	}
	if body.Code != status || !strings.HasPrefix(body.Message, code+": ") {
		t.Fatalf("error body %s, want code %d and message %q...", r.body, status, code)
	}
}

func golden(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const base = obp.Prefix + "/banks/" + bankID + "/accounts/"
