package obp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/openapi/openapitest"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/storetest"
	"github.com/openagg/openagg/internal/view"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// drivers are the store drivers the tests run on: the embedded bbolt
// driver first, DynamoDB on moto second.
func drivers() []storetest.Driver {
	return storetest.Drivers("obp", []byte("obp-test-secret-0123456789"))
}

// onBolt runs a handler test on a fresh environment on the embedded store.
// Behaviour is tested once: storetest proves the drivers equal.
func onBolt(t *testing.T, fn func(t *testing.T, e *env)) {
	fn(t, newEnv(t, drivers()[0].Open(t)))
}

// onEveryDriver runs fn on a fresh environment per store driver: the
// focused end-to-end set that also runs on DynamoDB (moto) — the main
// flow, the store-call budgets, the conditional-write and batch paths.
func onEveryDriver(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range drivers() {
		t.Run(d.Name, func(t *testing.T) { fn(t, newEnv(t, d.Open(t))) })
	}
}

// testProvider is a provider whose directory lists the test banks; the
// tests ask nothing else of it.
type testProvider struct {
	provider.Provider
	banks []provider.Bank
}

func (testProvider) Name() string { return "testprovider" }

func (p testProvider) ListBanks(context.Context, string) (provider.BankPage, error) {
	return provider.BankPage{Banks: p.banks}, nil
}

// testBanks are the banks of the directory: access enabled once loaded.
var testBanks = []provider.Bank{
	{Code: bankID, Name: "Test Bank", CountryCode: "DE", Mode: "web", Status: "active"},
	{Code: "otherbank", Name: "Other Bank", CountryCode: "DE", Mode: "web", Status: "active",
		LogoURL: "https://bank.test/logo.png", HomeURL: "https://bank.test"},
}

// jobs keeps the directory jobs a load sends (queue.Sender).
type jobs []queue.Job

func (j *jobs) Send(_ context.Context, _ string, job queue.Job, _ time.Duration) error {
	*j = append(*j, job)
	return nil
}

// directory is the bank directory over st with the test banks loaded, as
// the directory-loader worker loads them.
func directory(t testing.TB, st store.Store) *bank.Service {
	t.Helper()
	ctx := context.Background()
	var sent jobs
	dir, err := bank.New(bank.Deps{Store: st, Queue: &sent, Providers: []provider.Provider{testProvider{banks: testBanks}},
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.StartLoad(ctx); err != nil {
		t.Fatal(err)
	}
	for len(sent) > 0 {
		job := sent[0]
		sent = sent[1:]
		if err := dir.HandleJob(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// accounts is the account query over st and its bank directory.
func accounts(t testing.TB, st store.Store, dir *bank.Service) *account.Service {
	t.Helper()
	svc, err := account.New(account.Deps{Store: st, Banks: dir, Holdings: holdings.New(holdings.Deps{Store: st})})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// setBankAccess enables or disables a bank of the directory.
func (e *env) setBankAccess(code string, enabled bool) {
	e.t.Helper()
	if _, err := e.banks.SetAccess(context.Background(), code, enabled); err != nil {
		e.t.Fatal(err)
	}
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
	t        *testing.T
	st       *storetest.Counter
	h        http.Handler
	banks    *bank.Service
	accounts *account.Service
	views    *view.Service
	meta     *metadata.Service
	clock    *clocktest.Clock
	txs      []holdings.Transaction
}

func newEnv(t *testing.T, s store.Store) *env {
	t.Helper()
	cs := &storetest.Counter{Store: s}
	clock := clocktest.New(t0.Add(48 * time.Hour))
	vs := view.New(view.Deps{Store: cs, Provider: issuer})
	ms := metadata.New(metadata.Deps{Store: cs, Clock: clock})
	dir := directory(t, cs)
	accs := accounts(t, cs, dir)
	api := obp.New(obp.Deps{
		Accounts: accs, Views: vs, Metadata: ms,
		HostedBy:  obp.HostedBy{Organisation: "OpenAgg", Email: "ops@openagg.test", Phone: "+49 30 000"},
		GitCommit: "abc123",
	})
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: jwtKey})
	if err != nil {
		t.Fatal(err)
	}
	h, err := obp.Router(api.Routes(), api.Render)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	e := &env{t: t, st: cs, h: openapitest.Wrap(t, authn.Middleware(h)), banks: dir, accounts: accs, views: vs, meta: ms, clock: clock}
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

// putTxs writes transactions as putTx does, in one BatchWrite (a
// counterparty named by several of them is written once).
func (e *env) putTxs(txs []holdings.Transaction) {
	e.t.Helper()
	var items []store.Item
	seen := map[store.Key]bool{}
	for _, tx := range txs {
		items = append(items, store.Item{PK: holdings.AccountPK(tx.AccountID), SK: holdings.TxSK(tx.ID), GSI1PK: holdings.TxByDateGSI1PK(tx.AccountID),
			GSI1SK: holdings.TxByDateGSI1SK(tx), Data: mustJSON(e.t, tx)})
		if c, ok := holdings.CounterpartyOf(tx); ok && !seen[holdings.CounterpartyKey(tx.AccountID, c.ID)] {
			seen[holdings.CounterpartyKey(tx.AccountID, c.ID)] = true
			items = append(items, store.Item{PK: holdings.AccountPK(tx.AccountID), SK: holdings.CounterpartySK(c.ID), Data: mustJSON(e.t, c)})
		}
	}
	if err := e.st.BatchWrite(context.Background(), items, nil); err != nil {
		e.t.Fatalf("seed transactions: %v", err)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// seed writes two accounts (as the holdings import does), their owners
// (through the import hook), transactions, custom views and grants.
func (e *env) seed() {
	ctx := context.Background()
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
