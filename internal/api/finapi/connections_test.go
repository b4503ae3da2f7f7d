package finapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store"
)

// TestDemoImportFlow: the import answers before the download ends
// (IN_PROGRESS / PENDING), the holdings workers download, the
// categorization follows, and the connection ends READY / READY with the
// demo account; every answer is a valid BankConnection.
func TestDemoImportFlow(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	bankID := e.demoBankID(alice)
	r := e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"name":"Demo"}`, bankID))
	var c connection
	r.json(t, http.StatusCreated, &c)
	mustConformTo(t, "BankConnection", r.body)
	if c.ID <= 0 || c.BankID != bankID || c.Type != "DEMO" || c.UpdateStatus != "IN_PROGRESS" || c.CategorizationStatus != "PENDING" ||
		len(c.AccountIDs) != 0 || c.Name == nil || *c.Name != "Demo" || c.LastManualUpdate == nil || c.LastManualUpdate.Result != "OK" ||
		c.LastManualUpdate.Timestamp != "2026-03-01 12:00:00.000" || c.LastAutoUpdate != nil || c.BankingPin != nil {
		t.Fatalf("import answer %+v", c)
	}
	if got := e.get(alice, c.ID); got.UpdateStatus != "IN_PROGRESS" || got.CategorizationStatus != "PENDING" {
		t.Errorf("before the workers ran: %+v", got)
	}
	e.drain()
	r = e.do("GET", fmt.Sprintf("/api/v1/bankConnections/%d", c.ID), alice, "")
	mustConformTo(t, "BankConnection", r.body)
	var got connection
	r.json(t, http.StatusOK, &got)
	if got.UpdateStatus != "READY" || got.CategorizationStatus != "READY" || len(got.AccountIDs) != 1 {
		t.Fatalf("after the workers: %+v", got)
	}
	// The same data in the other dialects: the connection is one of the
	// user's finAPI party, its account a holdings account.
	party := bankconn.PartyID("alice")
	var accs struct {
		Accounts []struct{ ID, BankCode, Currency string }
	}
	e.do("GET", "/holdings/profiles/"+party+"/accounts", alice, "").json(t, http.StatusOK, &accs)
	if len(accs.Accounts) != 1 || accs.Accounts[0].BankCode != sandbox.BankDemo || accs.Accounts[0].Currency != "EUR" {
		t.Fatalf("Aggregation holdings read: %+v", accs)
	}
	var details struct {
		Connections []struct {
			BankCode string
			Status   string
			Import   struct{ State string }
		}
	}
	e.do("GET", "/party/profiles/"+party+"/connectionDetails", alice, "").json(t, http.StatusOK, &details)
	if len(details.Connections) != 1 || details.Connections[0].Status != "active" || details.Connections[0].Import.State != "done" {
		t.Errorf("Aggregation connection details: %+v", details)
	}
	var private struct{ Accounts []struct{ ID string } }
	e.do("GET", "/obp/v1.2/banks/"+sandbox.BankDemo+"/accounts/private", alice, "").json(t, http.StatusOK, &private)
	if len(private.Accounts) != 1 || private.Accounts[0].ID != accs.Accounts[0].ID {
		t.Errorf("OBP 1.2 private accounts: %+v", private)
	}
	var obpTx struct{ Transactions []struct{ ID string } }
	e.do("GET", "/obp/v1.2/banks/"+sandbox.BankDemo+"/accounts/"+accs.Accounts[0].ID+"/owner/transactions", alice, "",
		"obp_limit", "50").json(t, http.StatusOK, &obpTx)
	if len(obpTx.Transactions) != 16 {
		t.Errorf("OBP 1.2 transactions: %d", len(obpTx.Transactions))
	}
	// Nothing of the PIN-less demo import is logged as a credential, and
	// the get-all read is one store call.
	if r := e.do("GET", "/api/v1/bankConnections", alice, ""); r.code != 200 || r.reads != 1 || r.writes != 0 {
		t.Errorf("get all: %d, %d reads %d writes", r.code, r.reads, r.writes)
	}
}

// TestMSAChallenge: the demo bank named MSA answers 510 with the challenge
// and creates nothing; the same import with the answer succeeds.
func TestMSAChallenge(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	bankID := e.demoBankID(alice)
	body := func(extra string) string { return fmt.Sprintf(`{"bankId":%d,"name":"MSA"%s}`, bankID, extra) }

	r := e.do("POST", "/api/v1/bankConnections/import", alice, body(""), "X-REQUEST-ID", "msa-1")
	r.wantError(t, http.StatusNotExtended, "ADDITIONAL_AUTHENTICATION_REQUIRED")
	mustConformTo(t, "ErrorMessage", r.body)
	if !strings.Contains(r.body, `"message":"Enter the 6-digit code we sent to your phone (sandbox code: 123456)"`) ||
		!strings.Contains(r.body, `"requestId":"msa-1"`) || r.header.Get("X-Request-Id") != "msa-1" {
		t.Errorf("challenge answer: %s", r.body)
	}
	var list struct{ Connections []connection }
	e.do("GET", "/api/v1/bankConnections", alice, "").json(t, http.StatusOK, &list)
	if len(list.Connections) != 0 {
		t.Fatalf("the challenge created a connection: %+v", list)
	}
	if n, err := e.queued(); err != nil || n != 0 {
		t.Fatalf("the challenge queued %d jobs (%v)", n, err)
	}

	e.do("POST", "/api/v1/bankConnections/import", alice, body(`,"challengeResponse":"000000"`)).wantError(t, 422, "BANK_SERVER_REJECTION")
	var c connection
	e.do("POST", "/api/v1/bankConnections/import", alice, body(`,"challengeResponse":"123456"`)).json(t, http.StatusCreated, &c)
	if c.Type != "DEMO" || c.Name == nil || *c.Name != "MSA" {
		t.Fatalf("answered import: %+v", c)
	}
	e.drain()
	if got := e.get(alice, c.ID); got.UpdateStatus != "READY" || got.CategorizationStatus != "READY" {
		t.Errorf("after the download: %+v", got)
	}
	// An answer to a challenge the bank did not ask.
	e.do("POST", "/api/v1/bankConnections/import", e.token("bob"), fmt.Sprintf(`{"bankId":%d,"challengeResponse":"123456"}`, bankID)).
		wantError(t, 422, "NO_EXISTING_CHALLENGE")
	// The update of an MSA connection asks again.
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, c.ID)).
		wantError(t, http.StatusNotExtended, "ADDITIONAL_AUTHENTICATION_REQUIRED")
	var u connection
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d,"challengeResponse":"123456"}`, c.ID)).json(t, 200, &u)
	if u.UpdateStatus != "IN_PROGRESS" {
		t.Errorf("update: %+v", u)
	}
}

// queued is the depth of the embedded queues.
func (e *env) queued() (int, error) {
	type depther interface {
		Depth(queueName string) (int, error)
	}
	q, ok := e.a.Queue.(depther)
	if !ok {
		return 0, fmt.Errorf("queue %T has no depth", e.a.Queue)
	}
	n := 0
	for _, name := range []string{"holdings", "connections", "directory"} {
		d, err := q.Depth(name)
		if err != nil {
			return 0, err
		}
		n += d
	}
	return n, nil
}

// TestCredentials: the sandbox checks the credentials (a wrong PIN is the
// bank's rejection), a PIN is stored only with storePin, sealed, returned
// masked, and never logged.
func TestCredentials(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	uk := e.bankID(alice, "Sandbox Bank UK")
	const pin = sandbox.Password

	r := e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"max","bankingPin":"wrong-pin"}`, uk))
	r.wantError(t, 422, "BANK_SERVER_REJECTION")
	if !strings.Contains(r.body, "falscher Benutzername oder falsche PIN") || !strings.Contains(r.body, `"type":"BUSINESS"`) {
		t.Errorf("the bank's message: %s", r.body)
	}
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingPin":"%s"}`, uk, pin)).wantError(t, 400, "MISSING_FIELD")
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"max"}`, uk)).wantError(t, 400, "MISSING_FIELD")

	var c connection
	r = e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"max","bankingPin":"%s","storePin":true}`, uk, pin))
	r.json(t, http.StatusCreated, &c)
	if c.Type != "ONLINE" || c.BankingUserID == nil || *c.BankingUserID != "max" || c.BankingPin == nil || *c.BankingPin != "XXXXXX" {
		t.Fatalf("imported with storePin: %+v", c)
	}
	e.drain()
	// The stored record holds the PIN sealed only.
	party := holdings.PartyPK(bankconn.PartyID("alice"))
	if n := e.containing(party, pin); n != 0 {
		t.Errorf("the PIN is stored in clear in %d items", n)
	}
	if n := e.containing(party, `"pin":{"scheme":"local"`); n != 1 {
		t.Errorf("%d sealed PINs stored, want 1", n)
	}
	// Update with the stored PIN.
	var u connection
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, c.ID)).json(t, 200, &u)
	e.drain()

	// Without storePin nothing is stored: an update needs the PIN.
	de := e.bankID(alice, "Sandbox Bank Deutschland")
	var c2 connection
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"max","bankingPin":"%s"}`, de, pin)).json(t, 201, &c2)
	if c2.BankingPin != nil {
		t.Errorf("a PIN shown without storePin: %+v", c2)
	}
	e.drain()
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, c2.ID)).wantError(t, 400, "MISSING_FIELD")
	r = e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d,"bankingPin":"nope"}`, c2.ID))
	r.wantError(t, 422, "BANK_SERVER_REJECTION")
	if got := e.get(alice, c2.ID); got.LastManualUpdate == nil || got.LastManualUpdate.Result != "BANK_SERVER_REJECTION" ||
		got.LastManualUpdate.ErrorMessage == nil || !strings.Contains(*got.LastManualUpdate.ErrorMessage, "PIN") {
		t.Errorf("a rejected update is the last manual update: %+v", got.LastManualUpdate)
	}
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d,"bankingPin":"%s"}`, c2.ID, pin)).json(t, 200, &u)
	e.drain()

	// Edit: a PIN set by an edit is stored; "" clears it; the user id
	// cannot be cleared (but of the demo connection).
	var ed connection
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", c2.ID), alice, `{"bankingPin":"12345678","name":"Giro","bankingCustomerId":"C-1"}`).json(t, 200, &ed)
	if ed.BankingPin == nil || *ed.BankingPin != "XXXXXXXX" || ed.Name == nil || *ed.Name != "Giro" || ed.BankingCustomerID == nil || *ed.BankingCustomerID != "C-1" {
		t.Fatalf("edit: %+v", ed)
	}
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", c2.ID), alice, `{"bankingPin":"","name":""}`).json(t, 200, &ed)
	if ed.BankingPin != nil || ed.Name != nil || ed.BankingUserID == nil {
		t.Fatalf("edit clearing: %+v", ed)
	}
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", c2.ID), alice, `{"bankingUserId":""}`).wantError(t, 400, "ILLEGAL_FIELD_VALUE")
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", c2.ID), alice, `{"defaultTwoStepProcedureId":"TAN"}`).wantError(t, 400, "ILLEGAL_FIELD_VALUE")
	demo := e.importDemo(alice)
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", demo.ID), alice, `{"bankingUserId":"x"}`).json(t, 200, &ed)
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", demo.ID), alice, `{"bankingUserId":""}`).json(t, 200, &ed)
	if ed.BankingUserID != nil {
		t.Errorf("the demo connection's user id is cleared: %+v", ed)
	}
	// The demo update ignores the PIN.
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d,"bankingPin":"whatever"}`, demo.ID)).json(t, 200, &u)
	e.drain()

	for _, secret := range []string{pin, "12345678", "wrong-pin", "whatever"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log shows the PIN %q", secret)
		}
	}
}

// items lists a partition of the store.
func (e *env) items(pk string) []store.Item {
	e.t.Helper()
	var out []store.Item
	q := store.Query{PK: pk}
	for {
		page, err := e.st.Query(context.Background(), q)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		q.Token = page.Next
	}
}

// containing counts the items of partition pk whose data contains s
// (outside the sandbox banks' login hint, which quotes their PIN).
func (e *env) containing(pk, s string) int {
	n := 0
	for _, it := range e.items(pk) {
		if strings.Contains(strings.ReplaceAll(string(it.Data), `PIN \"`+sandbox.Password+`\"`, ""), s) {
			n++
		}
	}
	return n
}

// TestBusyRule: while a connection is importing, updating or categorizing,
// update, credential edits and delete are refused; delete-all does nothing
// at all if any connection is busy.
func TestBusyRule(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ready := e.importDemo(alice)
	uk := e.bankID(alice, "Sandbox Bank UK")
	var busy connection
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"max","bankingPin":"secret","storePin":true}`, uk)).json(t, 201, &busy)

	check := func(t *testing.T, id int64) {
		t.Helper()
		path := fmt.Sprintf("/api/v1/bankConnections/%d", id)
		e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, id)).wantError(t, 422, "ILLEGAL_ENTITY_STATE")
		e.do("PATCH", path, alice, `{"bankingPin":"secret"}`).wantError(t, 422, "ILLEGAL_ENTITY_STATE")
		e.do("PATCH", path, alice, `{"bankingUserId":"other"}`).wantError(t, 422, "ILLEGAL_ENTITY_STATE")
		e.do("DELETE", path, alice, "").wantError(t, 422, "ILLEGAL_ENTITY_STATE")
		var renamed connection
		e.do("PATCH", path, alice, `{"name":"renamed while busy"}`).json(t, 200, &renamed)
		var ids struct{ Identifiers []int64 }
		e.do("DELETE", "/api/v1/bankConnections", alice, "").json(t, 200, &ids)
		if len(ids.Identifiers) != 0 {
			t.Fatalf("delete all deleted %v", ids.Identifiers)
		}
		var list struct{ Connections []connection }
		e.do("GET", "/api/v1/bankConnections", alice, "").json(t, 200, &list)
		if len(list.Connections) != 2 {
			t.Fatalf("delete all removed connections: %d left", len(list.Connections))
		}
	}
	t.Run("downloading", func(t *testing.T) { check(t, busy.ID) })
	e.drain()

	// Categorizing: a finished download of the ready connection marks its
	// categorization pending (what the holdings importer's hook does).
	cat := e.a.Categorizer()
	party := bankconn.PartyID("alice")
	req := holdings.ImportRequest{PartyID: party, BankCode: sandbox.BankDemo, RunID: "test-run"}
	if err := cat.ImportFinished(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.get(alice, ready.ID); got.UpdateStatus != "READY" || got.CategorizationStatus != "PENDING" {
		t.Fatalf("categorization pending: %+v", got)
	}
	t.Run("categorizing", func(t *testing.T) { check(t, ready.ID) })
	e.drain()
	for _, id := range []int64{ready.ID, busy.ID} {
		if got := e.get(alice, id); got.UpdateStatus != "READY" || got.CategorizationStatus != "READY" {
			t.Fatalf("connection %d: %+v", id, got)
		}
	}
	// Not busy: everything goes.
	var u connection
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, busy.ID)).json(t, 200, &u)
	if u.UpdateStatus != "IN_PROGRESS" || u.CategorizationStatus != "PENDING" {
		t.Errorf("update answer: %+v", u)
	}
	e.drain()
	var ids struct{ Identifiers []int64 }
	r := e.do("DELETE", "/api/v1/bankConnections", alice, "")
	r.json(t, 200, &ids)
	mustConformTo(t, "IdentifierList", r.body)
	want := []int64{ready.ID, busy.ID}
	slices.Sort(want)
	if !slices.Equal(ids.Identifiers, want) {
		t.Errorf("deleted %v, want %v", ids.Identifiers, want)
	}
}

// TestDelete: one connection with its accounts and transactions; another
// user's id is unknown.
func TestDelete(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	c := e.importDemo(alice)
	var hold struct{ Accounts []struct{ ID string } }
	e.do("GET", "/holdings/profiles/"+bankconn.PartyID("alice")+"/accounts", alice, "").json(t, 200, &hold)
	if len(hold.Accounts) != 1 || e.containing(holdings.AccountPK(hold.Accounts[0].ID), "REWE") != 3 {
		t.Fatalf("the demo account's REWE transaction, counterparty and view: %+v", hold)
	}
	accountPK := holdings.AccountPK(hold.Accounts[0].ID)
	path := fmt.Sprintf("/api/v1/bankConnections/%d", c.ID)
	e.do("DELETE", path, bob, "").wantError(t, 404, "UNKNOWN_ENTITY")
	r := e.do("DELETE", path, alice, "")
	if r.code != 200 || r.body != "" {
		t.Fatalf("delete: %d %q", r.code, r.body)
	}
	e.do("GET", path, alice, "").wantError(t, 404, "UNKNOWN_ENTITY")
	e.do("DELETE", path, alice, "").wantError(t, 404, "UNKNOWN_ENTITY")
	var accs struct{ Accounts []any }
	e.do("GET", "/api/v1/accounts", alice, "").json(t, 200, &accs)
	if len(accs.Accounts) != 0 {
		t.Errorf("accounts left: %+v", accs)
	}
	e.do("GET", "/holdings/profiles/"+bankconn.PartyID("alice")+"/accounts", alice, "").json(t, 200, &hold)
	if len(hold.Accounts) != 0 {
		t.Errorf("holdings accounts left: %+v", hold)
	}
	if left := e.items(accountPK); len(left) != 0 {
		t.Errorf("%d items of the deleted account left", len(left))
	}
	if n := e.containing(holdings.PartyPK(bankconn.PartyID("alice")), "FINAPI"); n != 0 {
		t.Errorf("%d finAPI records of the deleted connection left", n)
	}
	// The bank can be imported again, with a new id.
	again := e.importDemo(alice)
	if again.ID == c.ID || again.UpdateStatus != "READY" || len(again.AccountIDs) != 1 || again.AccountIDs[0] == c.AccountIDs[0] {
		t.Errorf("imported again: %+v (was %+v)", again, c)
	}
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d}`, again.BankID)).wantError(t, 422, "ENTITY_EXISTS")
}

// TestGetManyAndAll: ids filters leave out unknown and other users' ids;
// the deprecated /{ids} form is a list.
func TestGetManyAndAll(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	a1 := e.importDemo(alice)
	var a2 connection
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"m","bankingPin":"secret"}`, e.bankID(alice, "Sandbox Bank UK"))).json(t, 201, &a2)
	b1 := e.importDemo(bob)

	ids := func(path, tok string) []int64 {
		t.Helper()
		r := e.do("GET", path, tok, "")
		var list struct{ Connections []connection }
		r.json(t, 200, &list)
		mustConformTo(t, "BankConnectionList", r.body)
		var out []int64
		for _, c := range list.Connections {
			out = append(out, c.ID)
		}
		return out
	}
	cases := []struct {
		name, path, tok string
		want            []int64
	}{
		{"all of alice", "/api/v1/bankConnections", alice, []int64{a1.ID, a2.ID}},
		{"all of bob", "/api/v1/bankConnections", bob, []int64{b1.ID}},
		{"ids, foreign and unknown left out", fmt.Sprintf("/api/v1/bankConnections?ids=%d,%d,999", a2.ID, b1.ID), alice, []int64{a2.ID}},
		{"repeated ids", fmt.Sprintf("/api/v1/bankConnections?ids=%d&ids=%d", a1.ID, a2.ID), alice, []int64{a1.ID, a2.ID}},
		{"deprecated get many", fmt.Sprintf("/api/v1/bankConnections/%d,%d,%d", a1.ID, b1.ID, a2.ID), alice, []int64{a1.ID, a2.ID}},
		{"deprecated get many, none mine", fmt.Sprintf("/api/v1/bankConnections/%d,999", b1.ID), alice, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.path, tc.tok); !slices.Equal(got, tc.want) {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
		})
	}
	e.do("GET", fmt.Sprintf("/api/v1/bankConnections/%d", b1.ID), alice, "").wantError(t, 404, "UNKNOWN_ENTITY")
	e.do("PATCH", fmt.Sprintf("/api/v1/bankConnections/%d", b1.ID), alice, `{"name":"mine"}`).wantError(t, 404, "UNKNOWN_ENTITY")
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, b1.ID)).wantError(t, 404, "UNKNOWN_ENTITY")
	many := strings.Repeat("1,", 1000) + "1"
	e.do("GET", "/api/v1/bankConnections?ids="+many, alice, "").wantError(t, 400, "TOO_MANY_IDS")
	e.do("GET", "/api/v1/bankConnections/"+many, alice, "").wantError(t, 400, "TOO_MANY_IDS")
	if got := e.get(bob, b1.ID); got.Name != nil || got.UpdateStatus != "READY" {
		t.Errorf("bob's connection changed: %+v", got)
	}
}

// plain is a provider that cannot take credentials directly: the
// sandbox's banks under another name, without provider.DirectLogin.
type plain struct{ provider.Provider }

func (plain) Name() string { return "plain" }

// TestUnsupportedBank: banks whose provider logs users in on its own page,
// and banks not available (access disabled, inactive), are not imported.
func TestUnsupportedBank(t *testing.T) {
	e := newEnv(t, func(a *app.App) { a.Providers["plain"] = plain{a.Providers[sandbox.Name]} })
	alice := e.token("alice")
	var page struct {
		Banks []struct {
			ID          int64
			Name        string
			IsSupported bool
		}
	}
	e.do("GET", "/api/v1/banks?search=Sandbox%20Bank%20UK&perPage=10", alice, "").json(t, 200, &page)
	if len(page.Banks) != 2 || page.Banks[0].IsSupported == page.Banks[1].IsSupported {
		t.Fatalf("the sandbox bank at both providers: %+v", page)
	}
	unsupported := page.Banks[0].ID
	if page.Banks[0].IsSupported {
		unsupported = page.Banks[1].ID
	}
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"m","bankingPin":"secret"}`, unsupported)).
		wantError(t, 422, "UNSUPPORTED_BANK")
	var inactives struct{ Banks []struct{ ID int64 } }
	e.do("GET", "/api/v1/banks?search=Fake%20Inactive", alice, "").json(t, 200, &inactives)
	if len(inactives.Banks) != 2 {
		t.Fatalf("the inactive bank at both providers: %+v", inactives)
	}
	inactive := inactives.Banks[0].ID
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"m","bankingPin":"secret"}`, inactive)).
		wantError(t, 422, "UNSUPPORTED_BANK")
	e.do("POST", "/api/v1/bankConnections/import", alice, `{"bankId":4242}`).wantError(t, 404, "UNKNOWN_ENTITY")
	// The failing bank accepts the credentials, then its service fails.
	failing := e.bankID(alice, "Sandbox Failing Bank")
	r := e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"m","bankingPin":"secret"}`, failing))
	r.wantError(t, 422, "BANK_SERVER_REJECTION")
	if !strings.Contains(r.body, `"type":"TECHNICAL"`) {
		t.Errorf("a failed bank service is technical: %s", r.body)
	}
	// No account of the types asked for: nothing imported.
	e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"accountTypeIds":[5,8]}`, e.demoBankID(alice))).
		wantError(t, 422, "NO_ACCOUNTS_FOR_TYPE_LIST")
	var list struct{ Connections []connection }
	e.do("GET", "/api/v1/bankConnections", alice, "").json(t, 200, &list)
	if len(list.Connections) != 0 {
		t.Errorf("refused imports created %+v", list)
	}
}

// TestAutoUpdate: the scheduled refresh is an automatic update; the user's
// import stays the last manual one.
func TestAutoUpdate(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	c := e.importDemo(alice)
	e.clock.Advance(25 * time.Hour)
	tick, err := e.a.Scheduler()
	if err != nil {
		t.Fatal(err)
	}
	if err := tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.drain()
	got := e.get(alice, c.ID)
	if got.LastAutoUpdate == nil || got.LastAutoUpdate.Result != "OK" || got.LastAutoUpdate.Timestamp != "2026-03-02 13:00:00.000" ||
		got.LastManualUpdate == nil || got.LastManualUpdate.Timestamp != "2026-03-01 12:00:00.000" ||
		got.UpdateStatus != "READY" || got.CategorizationStatus != "READY" {
		t.Fatalf("after the scheduled refresh: %+v auto %+v manual %+v", got, got.LastAutoUpdate, got.LastManualUpdate)
	}
	var u connection
	e.do("POST", "/api/v1/bankConnections/update", alice, fmt.Sprintf(`{"bankConnectionId":%d}`, c.ID)).json(t, 200, &u)
	if u.LastManualUpdate == nil || u.LastManualUpdate.Timestamp != "2026-03-02 13:00:00.000" || u.LastAutoUpdate == nil {
		t.Errorf("a manual update: %+v", u)
	}
}
