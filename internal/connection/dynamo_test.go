package connection_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

func dynamoStore(t *testing.T) *dynamo.Store {
	return dynamotest.Store(t, "connection", []byte("connection-test-secret-0123"))
}

// TestLifecycleOnDynamoDB runs the whole connection life on the DynamoDB
// driver (moto): profile, connect with a challenge, import, details in one
// query, refresh too early, the scheduler's index query (and its store-call
// budget), removal.
func TestLifecycleOnDynamoDB(t *testing.T) {
	e := partytest.New(t, partytest.Options{Store: dynamoStore(t)})
	tok := e.Token("alice")
	const party = "100100"
	base := "/party/profiles/" + party
	e.CreateProfile(tok, party)
	if r := e.Do(http.MethodPost, "/party/profiles/"+party, tok, "{}"); r.Status != http.StatusConflict {
		t.Fatalf("second profile: %d %s", r.Status, r.Body)
	}
	e.Connected(tok, party, sandbox.BankChallenge)

	before := e.Store.Calls()
	r := e.Do(http.MethodGet, base+"/connectionDetails", tok, "")
	if calls := e.Store.Calls() - before; calls != 1 || r.Status != 200 {
		t.Fatalf("details: %d calls, %d %s", calls, r.Status, r.Body)
	}
	if !strings.Contains(r.Body, `"status":"active"`) || !strings.Contains(r.Body, `"state":"done"`) {
		t.Fatalf("details %s", r.Body)
	}
	if r := e.Do(http.MethodPut, base+"/banks/"+sandbox.BankChallenge+"/refreshConnections", tok, ""); r.Status != http.StatusConflict {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}

	e.Clock.Advance(25 * time.Hour)
	before = e.Store.Calls()
	n, err := e.Conns.RefreshDue(e.Ctx, e.Clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("due: %d %v", n, err)
	}
	// One index query per shard plus one version-guarded update per due
	// connection: the table is never scanned (the budget of the party
	// group's scheduler test, here on DynamoDB).
	if calls := e.Store.Calls() - before; calls != connection.RefreshShards+1 {
		t.Fatalf("scheduler: %d store calls, want %d", calls, connection.RefreshShards+1)
	}
	e.Drain()

	r = e.Do(http.MethodDelete, base+"/banks/"+sandbox.BankChallenge+"/removeConnections", tok, "")
	if r.Status != 200 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodGet, base+"/connectionDetails", tok, ""); r.Body != "{\"connections\":[]}\n" {
		t.Fatalf("after removal %s", r.Body)
	}
	if _, err := e.Store.Get(e.Ctx, connection.Key(party, sandbox.BankChallenge)); err == nil {
		t.Fatal("connection kept")
	}
}
