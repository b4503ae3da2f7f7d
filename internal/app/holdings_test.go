package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/view"
)

// TestHoldingsWiring: on the embedded default as `openagg serve` builds
// it, a connection made through the party and connect groups is imported
// by the holdings-importer worker (the OBP owner view granted through the
// hook), and the holdings group queues a new import and reads the result.
func TestHoldingsWiring(t *testing.T) {
	cfg, err := platform.LoadConfig(func(k string) string {
		if k == "OPENAGG_DATA_DIR" {
			return t.TempDir()
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	mint := func(sub string, roles ...string) string {
		tok, err := auth.Mint(a.JWTKey, auth.Claims{Sub: sub, Roles: roles, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	call := func(group, method, path, tok, contentType, body string) (int, string) {
		t.Helper()
		h, err := a.Handler(group)
		if err != nil {
			t.Fatal(err)
		}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, rd)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	drain := func() {
		t.Helper()
		if err := a.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}

	if code, body := call("system", http.MethodGet, "/system/banks", mint("admin", bank.RoleManageDirectory), "", ""); code != http.StatusAccepted {
		t.Fatalf("load directory: %d %s", code, body)
	}
	drain()
	const party = "100100"
	alice := mint("alice")
	if code, body := call("party", http.MethodPost, "/party/profiles/"+party, alice, "application/json", "{}"); code != http.StatusOK {
		t.Fatalf("profile: %d %s", code, body)
	}
	code, body := call("party", http.MethodPost, "/party/profiles/"+party+"/banks/"+sandbox.BankDefault+"/connections", alice, "application/json", partytest.ConnectBody(party))
	_, after, ok := strings.Cut(body, "token=")
	if code != http.StatusOK || !ok || len(after) < 64 {
		t.Fatalf("connection: %d %s", code, body)
	}
	form := url.Values{"token": {after[:64]}, "username": {"alice"}, "password": {sandbox.Password}}
	if code, body := call("connect", http.MethodPost, "/connect/sessions", "", "application/x-www-form-urlencoded", form.Encode()); code != http.StatusOK || !strings.Contains(body, `data-stage="done"`) {
		t.Fatalf("login: %d %s", code, body)
	}
	drain() // connection-sync queues the import; holdings-importer runs it

	accounts, err := a.Holdings().Accounts(ctx, party)
	if err != nil || len(accounts) == 0 {
		t.Fatalf("accounts after connecting: %d %v", len(accounts), err)
	}
	views := &view.Service{Store: a.Store, Provider: cfg.JWTIssuer}
	for _, acc := range accounts {
		acl, err := views.LoadACL(ctx, acc.ID, acc.BankCode)
		if err != nil || !acl.IsOwner("alice") {
			t.Fatalf("account %s: owner view not granted through the hook (%v)", acc.ID, err)
		}
	}

	path := "/holdings/profiles/" + party + "/banks/" + sandbox.BankDefault + "/accountwithtransactions"
	if code, body := call("holdings", http.MethodPost, path, alice, "application/json", "{}"); code != http.StatusAccepted || !strings.Contains(body, `"Initiated Accounts and Transaction Processing"`) {
		t.Fatalf("import: %d %s", code, body)
	}
	drain()
	if p, err := a.Holdings().Progress(ctx, party, sandbox.BankDefault); err != nil || p.State != holdings.StateDone || p.Transactions == 0 {
		t.Fatalf("progress %+v %v", p, err)
	}
	code, body = call("holdings", http.MethodGet, "/holdings/profiles/"+party+"/accounts/"+accounts[0].ID+"/transactions?limit=5", alice, "", "")
	var txs struct {
		Transactions []map[string]any `json:"transactions"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &txs) != nil || len(txs.Transactions) == 0 {
		t.Fatalf("transactions: %d %s", code, body)
	}
	var found bool
	for _, w := range a.Workers() {
		found = found || (w.Name == "holdings-importer" && w.Queue == queue.Holdings)
	}
	if !found {
		t.Error("holdings-importer worker not registered on the holdings queue")
	}
}
