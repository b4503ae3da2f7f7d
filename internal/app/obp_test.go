package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/view"
)

// TestOBPWiring: on the embedded default, a sandbox connection imported
// through the party, connect and holdings-importer path is readable through
// the OBP 1.2 group by its owner (granted the owner view by the import
// hook), and the group is served on one handler with the others.
func TestOBPWiring(t *testing.T) {
	a := newTestApp(t)
	all, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	all = checked(t, all)
	call := func(method, path, tok, contentType, body string) (int, string) {
		t.Helper()
		return serve(all, method, path, tok, contentType, body)
	}
	const party = "100100"
	alice := token(t, a, authn.Claims{Sub: "alice", Name: "Alice"})
	connectSandbox(t, a, alice, party)
	code, body := call(http.MethodGet, "/obp/v1.2/banks/"+sandbox.BankDefault, "", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"id":"`+sandbox.BankDefault+`"`) {
		t.Fatalf("OBP bank: %d %s", code, body)
	}

	code, body = call(http.MethodGet, "/obp/v1.2/banks/"+sandbox.BankDefault+"/accounts/private", alice, "", "")
	var accounts struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &accounts) != nil || len(accounts.Accounts) == 0 {
		t.Fatalf("private accounts: %d %s", code, body)
	}
	base := "/obp/v1.2/banks/" + sandbox.BankDefault + "/accounts/" + accounts.Accounts[0].ID
	code, body = call(http.MethodGet, base+"/owner/transactions", alice, "", "")
	var txs struct {
		Transactions []struct {
			ID string `json:"id"`
		} `json:"transactions"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &txs) != nil || len(txs.Transactions) == 0 {
		t.Fatalf("transactions: %d %.300s", code, body)
	}
	if code, body := call(http.MethodPost, base+"/owner/transactions/"+url.PathEscape(txs.Transactions[0].ID)+"/metadata/tags", alice, "application/json", `{"value":"wired"}`); code != http.StatusCreated {
		t.Fatalf("tag: %d %s", code, body)
	}
	// The other accounts come from the counterparty directory the import
	// wrote beside the transactions.
	code, body = call(http.MethodGet, base+"/owner/other_accounts", alice, "", "")
	var others struct {
		OtherAccounts []struct {
			ID string `json:"id"`
		} `json:"other_accounts"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &others) != nil || len(others.OtherAccounts) == 0 {
		t.Fatalf("other accounts: %d %.300s", code, body)
	}
	if code, body := call(http.MethodGet, base+"/owner/other_accounts/"+others.OtherAccounts[0].ID, alice, "", ""); code != http.StatusOK {
		t.Fatalf("other account: %d %.300s", code, body)
	}
	// The owner granted at import carries the display name the profile
	// recorded from alice's token, not only her id.
	it, err := a.Store.Get(context.Background(), view.ACLKey(accounts.Accounts[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	acl, err := view.DecodeACL(it)
	if o := acl.Owners(); err != nil || len(o) != 1 || o[0].ID != "alice" || o[0].DisplayName != "Alice" {
		t.Fatalf("owners after import: %+v %v", acl.Owners(), err)
	}
	// The conflicting shapes both route, errors answer in OBP's format.
	if code, body := call(http.MethodGet, base+"/permissions/alice", alice, "", ""); code != http.StatusOK || !strings.Contains(body, `"id":"owner"`) {
		t.Fatalf("permissions: %d %s", code, body)
	}
	if code, body := call(http.MethodGet, base+"/owner/account", "", "", ""); code != http.StatusUnauthorized || !strings.Contains(body, `"message":"OBP-20001: `) {
		t.Fatalf("anonymous owner view: %d %s", code, body)
	}
	if code, body := call(http.MethodGet, "/obp/v1.2/nothing/here", "", "", ""); code != http.StatusNotFound || !strings.Contains(body, `"message":"OBP-10404: `) {
		t.Fatalf("unknown OBP route: %d %s", code, body)
	}
	// The banks are the directory banks with access enabled: disabling a
	// bank's access takes its accounts out of the API too (OBP-30001), the
	// directory records being read in the account's BatchGet.
	admin := token(t, a, authn.Claims{Sub: "admin", Roles: []string{bank.RoleManageDirectory}})
	access := func(v string) {
		t.Helper()
		if code, body := call(http.MethodPut, "/system/bank/"+sandbox.BankDefault+"/access", admin, "application/json", `{"setAccess":"`+v+`"}`); code != http.StatusOK {
			t.Fatalf("access %s: %d %s", v, code, body)
		}
	}
	access("No")
	for _, path := range []string{"", "/accounts/private", "/accounts/" + accounts.Accounts[0].ID + "/owner/account", "/accounts/" + accounts.Accounts[0].ID + "/owner/transactions"} {
		if code, body := call(http.MethodGet, "/obp/v1.2/banks/"+sandbox.BankDefault+path, alice, "", ""); code != http.StatusNotFound || !strings.Contains(body, `"message":"OBP-30001: `) {
			t.Errorf("%s of a disabled bank: %d %.200s", path, code, body)
		}
	}
	access("Yes")
	if code, body := call(http.MethodGet, base+"/owner/account", alice, "", ""); code != http.StatusOK {
		t.Fatalf("account of an enabled bank: %d %.200s", code, body)
	}
}
