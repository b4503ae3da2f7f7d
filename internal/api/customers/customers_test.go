package customers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/customers"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/openapi/openapitest"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

const (
	issuer   = "https://issuer.test"
	audience = "openagg"
	bankID   = "testbank"
	root     = "root" // the configured super admin
)

var (
	jwtKey = []byte("customers-test-jwt-key-0123456789")
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// banks is the bank directory of the tests: the enabled bank codes.
type banks []string

func (b banks) Exists(_ context.Context, id string) (bool, error) { return slices.Contains(b, id), nil }

// CodeKeys and EnabledIn make banks the customer domain's directory: a
// record key is read in each request's BatchGet (as the directory's are),
// the answer comes from the list.
func (b banks) CodeKeys(code string) []store.Key { return []store.Key{{PK: "TESTBANK", SK: code}} }
func (b banks) EnabledIn(code string, _ map[store.Key]store.Item) (bank.Bank, bool, error) {
	return bank.Bank{Code: code, AccessEnabled: true}, slices.Contains(b, code), nil
}

type env struct {
	t     *testing.T
	st    *storetest.Counter
	ents  *auth.Entitlements
	cust  *customer.Service
	clock *clocktest.Clock
	h     http.Handler
}

// newEnv serves the group as the app does: its routes on platform.Mux
// (404/405 in OBP format) behind the auth middleware.
func newEnv(t *testing.T, s store.Store) *env {
	t.Helper()
	cs := &storetest.Counter{Store: s}
	clock := clocktest.New(t0)
	ents := auth.NewEntitlements(auth.EntitlementsDeps{Store: cs, SuperAdmins: []string{root}, Clock: clock})
	dir := banks{bankID, "otherbank"}
	cust := customer.New(customer.Deps{Store: cs, Roles: ents, Banks: dir, Clock: clock})
	api := customers.New(customers.Deps{Entitlements: ents, Banks: dir, Customers: cust})
	mux, err := platform.Mux(api.Routes(), api.Render)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: jwtKey})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: cs, ents: ents, cust: cust, clock: clock, h: openapitest.Wrap(t, authn.Middleware(mux))}
}

func forEachDriver(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Drivers("customers", []byte("customers-test-secret-0123456789")) {
		t.Run(d.Name, func(t *testing.T) { fn(t, newEnv(t, d.Open(t))) })
	}
}

// caller is a token: a subject and the roles of its roles claim.
type caller struct {
	sub   string
	roles []string
}

func as(sub string, roles ...string) caller { return caller{sub: sub, roles: roles} }

var anonymous = caller{}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (e *env) do(method, path string, c caller, body string) resp {
	e.t.Helper()
	return e.doWith(method, path, c, body, nil)
}

// doWith is do with request headers.
func (e *env) doWith(method, path string, c caller, body string, header map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if c.sub != "" {
		tok, err := authn.Mint(jwtKey, authn.Claims{Sub: c.sub, Roles: c.roles, Issuer: issuer, Audience: audience})
		if err != nil {
			e.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return resp{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

const (
	v200 = "/obp/v2.0.0"
	v210 = "/obp/v2.1.0"
)

func grantBody(bank, role string) string {
	return fmt.Sprintf(`{"bank_id":%q,"role_name":%q}`, bank, role)
}

// grant posts a grant and decodes the 201 entitlement strictly.
func (e *env) grant(by caller, user, bank, role string) customers.EntitlementJSON {
	e.t.Helper()
	r := e.do(http.MethodPost, v200+"/users/"+user+"/entitlements", by, grantBody(bank, role))
	if r.status != http.StatusCreated {
		e.t.Fatalf("grant %s to %s at %q: %d %s", role, user, bank, r.status, r.body)
	}
	var ent customers.EntitlementJSON
	strict(e.t, r.body, &ent)
	if ent.EntitlementID == "" || ent.RoleName != role || ent.BankID != bank {
		e.t.Fatalf("grant answer %s", r.body)
	}
	return ent
}

func (e *env) list(by caller, user string) []customers.EntitlementJSON {
	e.t.Helper()
	r := e.do(http.MethodGet, v200+"/users/"+user+"/entitlements", by, "")
	if r.status != http.StatusOK {
		e.t.Fatalf("list %s: %d %s", user, r.status, r.body)
	}
	var out customers.EntitlementsJSON
	strict(e.t, r.body, &out)
	if out.List == nil {
		e.t.Fatalf("list is not an array: %s", r.body)
	}
	return out.List
}

func strict(t testing.TB, body []byte, dst any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// expectError checks an OBP error: status, {"code": status, "message":
// "<code>: ..."} and nothing else.
func expectError(t testing.TB, r resp, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	strict(t, r.body, &body)
	if body.Code != status || !strings.HasPrefix(body.Message, code+": ") {
		t.Fatalf("error body %s, want code %d and message %q...", r.body, status, code)
	}
	return body.Message
}

// stored lists user's stored entitlements straight from the domain.
func (e *env) stored(user string) []auth.Entitlement {
	e.t.Helper()
	list, err := e.ents.List(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func TestRoutes(t *testing.T) {
	api := customers.New(customers.Deps{})
	var got []string
	for _, r := range api.Routes() {
		if r.Public {
			t.Errorf("%s is public: every customers route needs a token", r.Pattern())
		}
		got = append(got, r.Pattern())
	}
	want := []string{
		"POST /obp/v2.0.0/users/{USER_ID}/entitlements",
		"POST /obp/v2.1.0/users/{USER_ID}/entitlements",
		"GET /obp/v2.0.0/users/{USER_ID}/entitlements",
		"GET /obp/v2.1.0/users/{USER_ID}/entitlements",
		"DELETE /obp/v2.0.0/users/{USER_ID}/entitlement/{ENTITLEMENT_ID}",
		"DELETE /obp/v2.1.0/users/{USER_ID}/entitlement/{ENTITLEMENT_ID}",
		// Each operation under its own version and every newer one.
		"GET /obp/v1.4.0/banks/{BANK_ID}/crm-events",
		"GET /obp/v2.0.0/banks/{BANK_ID}/crm-events",
		"GET /obp/v2.1.0/banks/{BANK_ID}/crm-events",
		"POST /obp/v2.0.0/banks/{BANK_ID}/user_customer_links",
		"POST /obp/v2.1.0/banks/{BANK_ID}/user_customer_links",
		"POST /obp/v2.0.0/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles",
		"POST /obp/v2.1.0/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles",
		"GET /obp/v2.0.0/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles",
		"GET /obp/v2.1.0/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles",
		"POST /obp/v2.1.0/banks/{BANK_ID}/customers",
		"GET /obp/v2.1.0/users/current/customers",
		"GET /obp/v2.1.0/banks/{BANK_ID}/customers",
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAddEntitlement(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		// A super admin grants a system role: 201, exactly OBP's fields.
		r := e.do(http.MethodPost, v200+"/users/alice/entitlements", as(root), grantBody("", "CanManageParties"))
		if r.status != http.StatusCreated || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("grant: %d %s", r.status, r.body)
		}
		var raw map[string]any
		if err := json.Unmarshal(r.body, &raw); err != nil || len(raw) != 3 || raw["role_name"] != "CanManageParties" || raw["bank_id"] != "" || raw["entitlement_id"] == "" {
			t.Fatalf("entitlement JSON %s", r.body)
		}
		if s := e.stored("alice"); len(s) != 1 || s[0].ID != raw["entitlement_id"] || s[0].GrantedBy != root {
			t.Fatalf("stored %+v", s)
		}

		// Every refusal writes nothing.
		for _, tc := range []struct {
			name   string
			by     caller
			path   string
			body   string
			status int
			code   string
			text   string // in the message
		}{
			{"no token", anonymous, "/users/bob/entitlements", grantBody("", "CanManageParties"), 401, "OBP-20001", "User not logged in"},
			{"invalid user id", as(root), "/users/a%20b/entitlements", grantBody("", "CanManageParties"), 404, "OBP-20005", "USER_ID"},
			{"malformed JSON", as(root), "/users/bob/entitlements", `{"bank_id":`, 400, "OBP-10001", "Incorrect json format."},
			{"unknown field", as(root), "/users/bob/entitlements", `{"bank_id":"","role_name":"CanManageParties","x":1}`, 400, "OBP-10001", `unknown field "x"`},
			{"wrong type", as(root), "/users/bob/entitlements", `{"bank_id":"","role_name":7}`, 400, "OBP-10001", "role_name"},
			{"missing field", as(root), "/users/bob/entitlements", `{"role_name":"CanManageParties"}`, 400, "OBP-10001", "bank_id and role_name are required"},
			{"empty body", as(root), "/users/bob/entitlements", "", 400, "OBP-10001", ""},
			{"unknown role", as(root), "/users/bob/entitlements", grantBody("", "CanFly"), 400, "OBP-10007", "Incorrect Role name: CanFly. Possible roles are CanAddSocialMediaHandle, "},
			{"bank role without bank", as(root), "/users/bob/entitlements", grantBody("", "CanCreateCustomer"), 400, "OBP-30205", "Bank Role"},
			{"system role at a bank", as(root), "/users/bob/entitlements", grantBody(bankID, "CanManageParties"), 400, "OBP-30206", "System Role"},
			{"no right", as("carol"), "/users/bob/entitlements", grantBody("", "CanManageParties"), 403, "OBP-20006", "User is missing one or more roles: CanCreateEntitlementAtAnyBank or CanCreateEntitlementAtOneBank"},
			{"no right, unknown bank: the right comes first", as("carol"), "/users/bob/entitlements", grantBody("nobank", "CanCreateCustomer"), 403, "OBP-20006", ""},
			{"self-grant", as("bob"), "/users/bob/entitlements", grantBody("", "CanCreateEntitlementAtAnyBank"), 403, "OBP-20006", ""},
			{"unknown bank", as(root), "/users/bob/entitlements", grantBody("nobank", "CanCreateCustomer"), 404, "OBP-30001", "Bank not found"},
			{"malformed bank id", as(root), "/users/bob/entitlements", grantBody("no bank!", "CanCreateCustomer"), 404, "OBP-30001", ""},
			{"duplicate", as(root), "/users/alice/entitlements", grantBody("", "CanManageParties"), 400, "OBP-30216", "Entitlement already exists for the user."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				msg := expectError(t, e.do(http.MethodPost, v200+tc.path, tc.by, tc.body), tc.status, tc.code)
				if !strings.Contains(msg, tc.text) {
					t.Errorf("message %q does not say %q", msg, tc.text)
				}
				if s := e.stored("bob"); len(s) != 0 {
					t.Errorf("written on error: %+v", s)
				}
				if s := e.stored("alice"); len(s) != 1 {
					t.Errorf("alice's grants changed: %+v", s)
				}
			})
		}
		if r := e.do(http.MethodPost, v200+"/users/bob/entitlements", anonymous, grantBody("", "CanManageParties")); r.header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}

		// A token's CanCreateEntitlementAtAnyBank grants any role anywhere.
		e.grant(as("tokenadmin", auth.RoleCanCreateEntitlementAtAnyBank), "bob", bankID, "CanCreateCustomer")

		// A stored CanCreateEntitlementAtOneBank grants at that bank only,
		// in 3 store round trips: the granter's right (one BatchGet), no
		// read for the bank here (a static directory), the conditional put.
		e.grant(as(root), "manager", bankID, auth.RoleCanCreateEntitlementAtOneBank)
		e.st.Reset()
		e.grant(as("manager"), "carol", bankID, "CanAddSocialMediaHandle")
		if r, w := e.st.Reads.Load(), e.st.Writes.Load(); r != 1 || w != 1 {
			t.Errorf("one-bank grant: %d reads %d writes, want 1 and 1", r, w)
		}
		expectError(t, e.do(http.MethodPost, v200+"/users/carol/entitlements", as("manager"), grantBody("otherbank", "CanAddSocialMediaHandle")), 403, "OBP-20006")
		expectError(t, e.do(http.MethodPost, v200+"/users/carol/entitlements", as("manager"), grantBody("", "CanCreateCustomerAtAnyBank")), 403, "OBP-20006")

		// The same operation under /obp/v2.1.0; not under /obp/v1.4.0 (it is
		// a 2.0.0 operation).
		ent := e.do(http.MethodPost, v210+"/users/dave/entitlements", as(root), grantBody("", "CanManageBankDirectory"))
		if ent.status != http.StatusCreated {
			t.Fatalf("v2.1.0 grant: %d %s", ent.status, ent.body)
		}
		expectError(t, e.do(http.MethodPost, "/obp/v1.4.0/users/dave/entitlements", as(root), grantBody("", "CanManageParties")), 404, "OBP-10404")
		expectError(t, e.do(http.MethodPut, v200+"/users/dave/entitlements", as(root), ""), 405, "OBP-10405")
	})
}

func TestGetEntitlements(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		a1 := e.grant(as(root), "alice", "", "CanManageParties")
		a2 := e.grant(as(root), "alice", bankID, "CanCreateCustomer")
		want := []customers.EntitlementJSON{a2, a1} // by role name, then bank
		for _, tc := range []struct {
			name string
			by   caller
		}{
			{"self", as("alice")},
			{"super admin", as(root)},
			{"token role", as("auditor", auth.RoleCanGetEntitlementsForAnyUser)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.st.Reset()
				for _, prefix := range []string{v200, v210} {
					r := e.do(http.MethodGet, prefix+"/users/alice/entitlements", tc.by, "")
					var out customers.EntitlementsJSON
					if r.status != http.StatusOK {
						t.Fatalf("%s: %d %s", prefix, r.status, r.body)
					}
					strict(t, r.body, &out)
					if !slices.Equal(out.List, want) {
						t.Fatalf("%s list %s, want %+v", prefix, r.body, want)
					}
				}
				if n := e.st.Reads.Load(); n != 2 {
					t.Errorf("store reads for two lists: %d, want 2", n)
				}
			})
		}
		// A stored CanGetEntitlementsForAnyUserAtAnyBank: one Get more.
		e.grant(as(root), "auditor", "", auth.RoleCanGetEntitlementsForAnyUser)
		e.st.Reset()
		if got := e.list(as("auditor"), "alice"); len(got) != 2 {
			t.Fatalf("stored-role reader: %+v", got)
		}
		if n := e.st.Reads.Load(); n != 2 {
			t.Errorf("store reads: %d, want 2", n)
		}
		// Someone else's list needs the role.
		msg := expectError(t, e.do(http.MethodGet, v200+"/users/alice/entitlements", as("bob"), ""), 403, "OBP-20006")
		if !strings.Contains(msg, auth.RoleCanGetEntitlementsForAnyUser) {
			t.Errorf("message %q", msg)
		}
		expectError(t, e.do(http.MethodGet, v200+"/users/alice/entitlements", anonymous, ""), 401, "OBP-20001")
		// No entitlement: an empty array.
		if got := e.list(as("nobody"), "nobody"); len(got) != 0 {
			t.Fatalf("empty list: %+v", got)
		}
		// A super admin's list ends with OBP's SuperAdmin entry.
		if got := e.list(as(root), root); !slices.Equal(got, []customers.EntitlementJSON{{RoleName: customers.SuperAdminRole}}) {
			t.Fatalf("super admin list: %+v", got)
		}
	})
}

func TestDeleteEntitlement(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		a1 := e.grant(as(root), "alice", "", "CanManageParties")
		b1 := e.grant(as(root), "bob", "", "CanManageParties")
		e.grant(as(root), "deleter", "", auth.RoleCanDeleteEntitlementAtAnyBank)
		path := func(user, id string) string { return v200 + "/users/" + user + "/entitlement/" + id }

		for _, tc := range []struct {
			name   string
			by     caller
			path   string
			status int
			code   string
		}{
			{"no token", anonymous, path("alice", a1.EntitlementID), 401, "OBP-20001"},
			{"no right", as("alice"), path("alice", a1.EntitlementID), 403, "OBP-20006"},
			{"no right, unknown id: the right comes first", as("alice"), path("alice", "nope"), 403, "OBP-20006"},
			{"entitlement creators do not delete", as("creator", auth.RoleCanCreateEntitlementAtAnyBank), path("alice", a1.EntitlementID), 403, "OBP-20006"},
			{"unknown id", as("deleter"), path("alice", "nope"), 404, "OBP-30212"},
			{"another user's entitlement", as("deleter"), path("alice", b1.EntitlementID), 400, "OBP-30213"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				expectError(t, e.do(http.MethodDelete, tc.path, tc.by, ""), tc.status, tc.code)
				if len(e.stored("alice")) != 1 || len(e.stored("bob")) != 1 {
					t.Fatal("deleted on error")
				}
			})
		}

		// A stored CanDeleteEntitlementAtAnyBank: 204 with no body, in 3
		// store round trips (the right, the user's entitlements, the delete).
		e.st.Reset()
		r := e.do(http.MethodDelete, path("alice", a1.EntitlementID), as("deleter"), "")
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 2 || wr != 1 {
			t.Errorf("delete: %d reads %d writes, want 2 and 1", rd, wr)
		}
		if s := e.stored("alice"); len(s) != 0 {
			t.Fatalf("still stored: %+v", s)
		}
		expectError(t, e.do(http.MethodDelete, path("alice", a1.EntitlementID), as("deleter"), ""), 404, "OBP-30212")
		// A super admin deletes under /obp/v2.1.0.
		if r := e.do(http.MethodDelete, v210+"/users/bob/entitlement/"+b1.EntitlementID, as(root), ""); r.status != http.StatusNoContent {
			t.Fatalf("super admin delete: %d %s", r.status, r.body)
		}
		// Re-granting gives a new id.
		if again := e.grant(as(root), "alice", "", "CanManageParties"); again.EntitlementID == a1.EntitlementID {
			t.Error("a new grant reuses the revoked id")
		}
	})
}
