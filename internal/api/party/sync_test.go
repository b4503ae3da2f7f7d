package party_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// A connection the party made at the provider without OpenAgg (no record
// of it here) is found by a connections load, becomes active and is
// imported: its import job waits for the record the sync writes, since the
// importer starts a run only while the connection exists.
func TestLoadImportsAConnectionMadeElsewhere(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tok := e.Token(alice)
	e.CreateProfile(tok, partyID)
	prof, err := e.Parties.Get(e.Ctx, partyID)
	if err != nil {
		t.Fatal(err)
	}
	customerID, _ := prof.CustomerID(sandbox.Name)
	sess, err := e.Sandbox.CreateConnectSession(e.Ctx, provider.ConnectRequest{
		CustomerID: customerID, BankCode: sandbox.BankDefault,
		ConsentScopes: []string{"account_details", "transactions_details"}, ConsentPeriodDays: 90,
		FetchScopes: []string{"accounts", "transactions"}, ConsentFrom: partytest.Start.AddDate(0, 0, -30),
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(sess.ConnectURL)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := e.Sandbox.SubmitLogin(e.Ctx, u.Query().Get("token"), "alice", sandbox.Password); err != nil || s.Stage != sandbox.StageDone {
		t.Fatalf("login at the provider: %+v %v", s, err)
	}

	if r := e.Do(http.MethodGet, "/party/profiles/"+partyID+"/connections", tok, ""); r.Status != http.StatusAccepted {
		t.Fatalf("load: %d %s", r.Status, r.Body)
	}
	e.Drain()
	if c := storedConn(t, e, partyID, sandbox.BankDefault); c.Status != connection.StatusActive {
		t.Fatalf("connection %+v", c)
	}
	p, err := e.Holdings.Progress(e.Ctx, partyID, sandbox.BankDefault)
	if err != nil || p.State != holdings.StateDone || p.Accounts == 0 || p.Transactions == 0 {
		t.Fatalf("import of the discovered connection: %+v %v", p, err)
	}
}
