package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// TestCustomersWiring: on the embedded default, as `openagg serve` mounts
// every group, a configured super admin grants a role through the OBP
// 2.0.0 entitlements endpoint and the system group's role check passes for
// the grantee; deleting the entitlement takes the role away again.
func TestCustomersWiring(t *testing.T) {
	a := newTestApp(t, "OPENAGG_SUPERADMINS", "root")
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, sub, body string, roles ...string) (int, string) {
		t.Helper()
		tok := ""
		if sub != "" {
			tok = token(t, a, authn.Claims{Sub: sub, Roles: roles})
		}
		return serve(h, method, path, tok, "", body)
	}

	// The directory, loaded by a token-role admin.
	if code, body := call(http.MethodGet, "/system/banks", "loader", "", bank.RoleManageDirectory); code != http.StatusAccepted {
		t.Fatalf("load: %d %s", code, body)
	}
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	access := "/system/bank/" + sandbox.BankDefault + "/access"
	if code, body := call(http.MethodPut, access, "alice", `{"setAccess":"Yes"}`); code != http.StatusForbidden {
		t.Fatalf("access before the grant: %d %s", code, body)
	}

	// A user without a right cannot grant, not even to themself.
	grant := `{"bank_id":"","role_name":"` + bank.RoleManageDirectory + `"}`
	if code, body := call(http.MethodPost, "/obp/v2.0.0/users/alice/entitlements", "alice", grant); code != http.StatusForbidden || !strings.Contains(body, "OBP-20006") {
		t.Fatalf("self-grant: %d %s", code, body)
	}
	code, body := call(http.MethodPost, "/obp/v2.0.0/users/alice/entitlements", "root", grant)
	var ent struct {
		ID string `json:"entitlement_id"`
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &ent) != nil || ent.ID == "" {
		t.Fatalf("super admin grant: %d %s", code, body)
	}
	if code, body := call(http.MethodPut, access, "alice", `{"setAccess":"Yes"}`); code != http.StatusOK {
		t.Fatalf("access with the stored role: %d %s", code, body)
	}
	// A bank role at a directory bank, and at a code that is no bank.
	if code, body := call(http.MethodPost, "/obp/v2.1.0/users/alice/entitlements", "root", `{"bank_id":"`+sandbox.BankDefault+`","role_name":"CanCreateCustomer"}`); code != http.StatusCreated {
		t.Fatalf("bank role: %d %s", code, body)
	}
	if code, body := call(http.MethodPost, "/obp/v2.1.0/users/alice/entitlements", "root", `{"bank_id":"no_such_bank","role_name":"CanCreateCustomer"}`); code != http.StatusNotFound || !strings.Contains(body, "OBP-30001") {
		t.Fatalf("unknown bank: %d %s", code, body)
	}
	if code, body := call(http.MethodGet, "/obp/v2.0.0/users/alice/entitlements", "alice", ""); code != http.StatusOK || strings.Count(body, "entitlement_id") != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := call(http.MethodDelete, "/obp/v2.0.0/users/alice/entitlement/"+ent.ID, "root", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body := call(http.MethodPut, access, "alice", `{"setAccess":"Yes"}`); code != http.StatusForbidden {
		t.Fatalf("access after the delete: %d %s", code, body)
	}
	// Unknown paths under the group's prefixes answer in OBP's format.
	if code, body := call(http.MethodGet, "/obp/v2.1.0/nope", "alice", ""); code != http.StatusNotFound || !strings.Contains(body, `"message":"OBP-10404: `) {
		t.Fatalf("404: %d %s", code, body)
	}
}

// TestRolesCatalogue: every role a group checks can be granted.
func TestRolesCatalogue(t *testing.T) {
	for _, role := range []string{bank.RoleManageDirectory, party.RoleManageParties} {
		if r, ok := auth.LookupRole(role); !ok || r.BankLevel {
			t.Errorf("%s: in catalogue %v, bank level %v (want a system role)", role, ok, r.BankLevel)
		}
	}
}
