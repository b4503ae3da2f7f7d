package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/webhook"
)

// TestSyncAndWebhooksOfAFinAPIConnection: a connection made through the
// finAPI dialect is in its party's change log and in the webhooks like any
// other (the log and the events are the import's, whatever API asked for
// it), and the Aggregation sync reads its transactions.
func TestSyncAndWebhooksOfAFinAPIConnection(t *testing.T) {
	a := newTestApp(t, "OPENAGG_WEBHOOKS_ALLOW_PRIVATE", "true")
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var secret string
	var got []webhook.Payload
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery: %v", err)
		}
		var p webhook.Payload
		_ = json.Unmarshal(body, &p)
		got = append(got, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	ops := token(t, a, authn.Claims{Sub: "ops", Roles: []string{webhook.RoleManage, bank.RoleManageDirectory}})
	code, body := serve(h, http.MethodPut, "/system/webhooks/crm", ops, "application/json",
		`{"url":"`+rcv.URL+`","events":["import.completed","transactions.sync_available"]}`)
	var reg struct{ Secret string }
	if err := json.Unmarshal([]byte(body), &reg); err != nil || code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	mu.Lock()
	secret = reg.Secret
	mu.Unlock()
	if code, body := serve(h, http.MethodGet, "/system/banks", ops, "", ""); code != http.StatusAccepted {
		t.Fatalf("load directory: %d %s", code, body)
	}
	drain(t, a)

	alice := token(t, a, authn.Claims{Sub: "alice"})
	code, body = serve(h, http.MethodGet, "/api/v1/banks?search=00000000", alice, "", "")
	id, _, _ := strings.Cut(strings.TrimPrefix(body, `{"banks":[{"id":`), ",")
	if code != http.StatusOK || id == "" {
		t.Fatalf("demo bank: %d %s", code, body)
	}
	if code, body := serve(h, http.MethodPost, "/api/v1/bankConnections/import", alice, "application/json", `{"bankId":`+id+`}`); code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, body)
	}
	drain(t, a)

	party := bankconn.PartyID("alice")
	var stored int
	accs, err := a.Holdings().Accounts(t.Context(), party)
	if err != nil || len(accs) == 0 {
		t.Fatalf("accounts of %s: %v %v", party, accs, err)
	}
	for _, acc := range accs {
		page, err := a.Holdings().Transactions(t.Context(), acc.ID, holdings.TxQuery{Limit: holdings.MaxTxLimit})
		if err != nil {
			t.Fatal(err)
		}
		stored += len(page.Transactions)
	}
	code, body = serve(h, http.MethodGet, "/holdings/profiles/"+party+"/transactions/sync?count=500", alice, "", "")
	var page struct {
		Added   []json.RawMessage `json:"added"`
		HasMore bool              `json:"has_more"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || code != http.StatusOK || page.HasMore || len(page.Added) != stored || stored == 0 {
		t.Fatalf("sync of the finAPI party: %d, %d added of %d stored: %.300s", code, len(page.Added), stored, body)
	}
	mu.Lock()
	defer mu.Unlock()
	types := map[string]string{}
	for _, p := range got {
		types[p.Type] = p.Data.PartyID
	}
	if types[webhook.EventImportCompleted] != party || types[webhook.EventSyncAvailable] != party {
		t.Fatalf("webhooks received %v, want import.completed and transactions.sync_available of %s", types, party)
	}
}
