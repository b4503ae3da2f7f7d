package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/view"
)

// TestHoldingsWiring: on the embedded default as `openagg serve` builds
// it, a connection made through the party and connect groups is imported
// by the holdings-importer worker (the OBP owner view granted through the
// hook), and the holdings group queues a new import and reads the result.
func TestHoldingsWiring(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	holdingsGroup, err := a.Handler("holdings")
	if err != nil {
		t.Fatal(err)
	}
	holdingsGroup = checked(t, holdingsGroup)
	const party = "100100"
	alice := token(t, a, authn.Claims{Sub: "alice"})
	connectSandbox(t, a, alice, party)

	accounts, err := a.Holdings().Accounts(ctx, party)
	if err != nil || len(accounts) == 0 {
		t.Fatalf("accounts after connecting: %d %v", len(accounts), err)
	}
	views := view.New(view.Deps{Store: a.Store, Provider: a.Config.JWTIssuer})
	for _, acc := range accounts {
		acl, err := views.LoadACL(ctx, acc.ID, acc.BankCode)
		if err != nil || !acl.IsOwner("alice") {
			t.Fatalf("account %s: owner view not granted through the hook (%v)", acc.ID, err)
		}
	}

	path := "/holdings/profiles/" + party + "/banks/" + sandbox.BankDefault + "/accountwithtransactions"
	if code, body := serve(holdingsGroup, http.MethodPost, path, alice, "application/json", "{}"); code != http.StatusAccepted || !strings.Contains(body, `"Initiated Accounts and Transaction Processing"`) {
		t.Fatalf("import: %d %s", code, body)
	}
	drain(t, a)
	if p, err := a.Holdings().Progress(ctx, party, sandbox.BankDefault); err != nil || p.State != holdings.StateDone || p.Transactions == 0 {
		t.Fatalf("progress %+v %v", p, err)
	}
	code, body := serve(holdingsGroup, http.MethodGet, "/holdings/profiles/"+party+"/accounts/"+accounts[0].ID+"/transactions?limit=5", alice, "", "")
	var txs struct {
		Transactions []map[string]any `json:"transactions"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &txs) != nil || len(txs.Transactions) == 0 {
		t.Fatalf("transactions: %d %s", code, body)
	}
	var found bool
	for _, w := range workers(t, a) {
		found = found || (w.Name == "holdings-importer" && w.Queue == queue.Holdings)
	}
	if !found {
		t.Error("holdings-importer worker not registered on the holdings queue")
	}
}
