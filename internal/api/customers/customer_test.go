package customers_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/api/customers"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/storetest"
)

// The reference page's example bodies (shared/reference/obp-v2.1.0-customers.txt)
// are in testdata: the answers are compared field by field with them, so a
// renamed or retyped field fails.

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func readJSON(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// customerRequest is a createCustomer body: the reference answer without
// bank_id and customer_id, with user_id, then changed by edit.
func customerRequest(t testing.TB, userID string, edit func(m map[string]any)) string {
	t.Helper()
	m := readJSON(t, "customer.json")
	delete(m, "bank_id")
	delete(m, "customer_id")
	m["user_id"] = userID
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func withNumber(n string) func(map[string]any) {
	return func(m map[string]any) { m["customer_number"] = n }
}

// sameShape compares an answer with a reference body: the same keys at
// every depth, the same JSON types, the same values except where skip
// says (a path like "customer_id" or "customers.0.bank_id").
func sameShape(t testing.TB, got, want any, path string, skip func(path string, got any) bool) {
	t.Helper()
	if skip != nil && skip(path, got) {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", path, got)
			return
		}
		gk, wk := slices.Sorted(maps.Keys(g)), slices.Sorted(maps.Keys(w))
		if !slices.Equal(gk, wk) {
			t.Errorf("%s: keys %v, want %v", path, gk, wk)
			return
		}
		for k := range w {
			sameShape(t, g[k], w[k], strings.TrimPrefix(path+"."+k, "."), skip)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %d items", path, got, len(w))
			return
		}
		for i := range w {
			sameShape(t, g[i], w[i], path+"."+strconv.Itoa(i), skip)
		}
	default:
		if got != want {
			t.Errorf("%s: got %#v, want %#v", path, got, want)
		}
	}
}

func decodeMap(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return m
}

// createCustomer posts body at bank and decodes the 201 strictly.
func (e *env) createCustomer(by caller, bank, body string) customers.CustomerJSON {
	e.t.Helper()
	r := e.do(http.MethodPost, v210+"/banks/"+bank+"/customers", by, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create customer at %s: %d %s", bank, r.status, r.body)
	}
	var c customers.CustomerJSON
	strict(e.t, r.body, &c)
	return c
}

var creator = as("teller", auth.RoleCanCreateCustomer, auth.RoleCanCreateUserCustomerLink)

// seen makes OpenAgg know user as the app does when a connection of theirs
// reports activity (the sink is the customer domain).
func (e *env) seen(user string) {
	e.t.Helper()
	if err := e.cust.Record(context.Background(), activity.Event{Kind: activity.ConnectionCreated, UserID: user, BankCode: bankID, At: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

// customersOf lists user's customers (GET /users/current/customers).
func (e *env) customersOf(user string) []customers.CustomerJSON {
	e.t.Helper()
	r := e.do(http.MethodGet, v210+"/users/current/customers", as(user), "")
	if r.status != http.StatusOK {
		e.t.Fatalf("customers of %s: %d %s", user, r.status, r.body)
	}
	var out customers.CustomersJSON
	strict(e.t, r.body, &out)
	if out.Customers == nil {
		e.t.Fatalf("customers is not an array: %s", r.body)
	}
	return out.Customers
}

func (e *env) expectNoWrite(what string) {
	e.t.Helper()
	if n := e.st.Writes.Load(); n != 0 {
		e.t.Errorf("%s: %d store writes on a refused request", what, n)
	}
}

func TestCreateCustomer(t *testing.T) {
	e := newEnv(t, storeFor(t))
	want := readJSON(t, "customer.json")

	// The reference example, created by a teller for themself (user_id
	// empty): 201 with the whole customer, every field as sent; one
	// BatchGet and one transaction (token roles).
	e.st.Reset()
	r := e.do(http.MethodPost, v210+"/banks/"+bankID+"/customers", creator, customerRequest(t, "", nil))
	if r.status != http.StatusCreated || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 1 || wr != 1 {
		t.Errorf("create with token roles: %d reads %d writes, want 1 and 1", rd, wr)
	}
	got := decodeMap(t, r.body)
	sameShape(t, got, want, "", func(path string, v any) bool {
		switch path {
		case "bank_id":
			if v != bankID {
				t.Errorf("bank_id %v", v)
			}
			return true
		case "customer_id":
			if s, _ := v.(string); !uuidRE.MatchString(s) {
				t.Errorf("customer_id %v", v)
			}
			return true
		}
		return false
	})
	var first customers.CustomerJSON
	strict(t, r.body, &first)
	// The new customer is linked to the caller.
	if list := e.customersOf("teller"); len(list) != 1 || !reflect.DeepEqual(list[0], first) {
		t.Fatalf("teller's customers %+v", list)
	}

	// Stored roles at the bank: the roles query is one more read (3 calls).
	e.grant(as(root), "clerk", bankID, auth.RoleCanCreateCustomer)
	e.grant(as(root), "clerk", bankID, auth.RoleCanCreateUserCustomerLink)
	e.st.Reset()
	e.createCustomer(as("clerk"), bankID, customerRequest(t, "", withNumber("clerk-1")))
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 2 || wr != 1 {
		t.Errorf("create with stored roles: %d reads %d writes, want 2 and 1", rd, wr)
	}

	// Another user OpenAgg has seen (a connection activity of theirs).
	e.seen("carol")
	c := e.createCustomer(creator, bankID, customerRequest(t, "carol", withNumber("carol-1")))
	if list := e.customersOf("carol"); len(list) != 1 || list[0].CustomerID != c.CustomerID {
		t.Fatalf("carol's customers %+v", list)
	}
	// The same number at another bank is another customer.
	e.createCustomer(creator, "otherbank", customerRequest(t, "", withNumber("5987953")))

	valid := customerRequest(t, "", withNumber("new-1"))
	for _, tc := range []struct {
		name   string
		by     caller
		bank   string
		body   string
		status int
		code   string
		text   string
	}{
		// OBP-API's order: login, BANK_ID format, bank, body, roles, number, user, link.
		{"no token", anonymous, bankID, valid, 401, "OBP-20001", "User not logged in. Authentication is required!"},
		{"bad BANK_ID, bad body, no role", as("nobody"), "no%20bank!", `{`, 400, "OBP-30111", "Invalid Bank Id."},
		{"unknown bank, bad body, no role", as("nobody"), "nobank", `{`, 404, "OBP-30001", "Bank not found. Please specify a valid value for BANK_ID."},
		{"malformed body, no role", as("nobody"), bankID, `{"customer_number":`, 400, "OBP-10001", "Incorrect json format."},
		{"missing field", creator, bankID, customerRequest(t, "", func(m map[string]any) { delete(m, "kyc_status") }), 400, "OBP-10001", "kyc_status is required"},
		{"missing nested field", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["face_image"] = map[string]any{"url": "x"} }), 400, "OBP-10001", "face_image.date is required"},
		{"missing user_id", creator, bankID, customerRequest(t, "", func(m map[string]any) { delete(m, "user_id") }), 400, "OBP-10001", "user_id is required"},
		{"null field", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["legal_name"] = nil }), 400, "OBP-10001", "legal_name is required"},
		{"dependants as a string", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["dependants"] = "1" }), 400, "OBP-10001", `"dependants"`},
		{"dependants a fraction", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["dependants"] = 1.5 }), 400, "OBP-10001", `"dependants"`},
		{"kyc_status as a string", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["kyc_status"] = "true" }), 400, "OBP-10001", `"kyc_status"`},
		{"amount as a number", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["credit_limit"] = map[string]any{"currency": "EUR", "amount": 0} }), 400, "OBP-10001", "amount"},
		{"amount not a decimal", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["credit_limit"] = map[string]any{"currency": "EUR", "amount": "1e3"} }), 400, "OBP-10001", "not a decimal amount"},
		{"bad date", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["date_of_birth"] = "2017-09-19" }), 400, "OBP-10001", "date_of_birth \"2017-09-19\" is not a date like 2013-01-21T23:08:00Z"},
		{"bad date of a dependant", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["dob_of_dependants"] = []string{"2017-09-19T00:00:00+01:00"} }), 400, "OBP-10001", "dob_of_dependants[0]"},
		{"number with ::::", creator, bankID, customerRequest(t, "", withNumber("12::::34")), 400, "OBP-10001", `customer_number must not contain "::::"`},
		{"empty number", creator, bankID, customerRequest(t, "", withNumber("")), 400, "OBP-10001", "customer_number must not be empty"},
		{"unknown field", creator, bankID, customerRequest(t, "", func(m map[string]any) { m["title"] = "Dr" }), 400, "OBP-10001", `unknown field "title"`},
		{"no role", as("nobody"), bankID, valid, 403, "OBP-20006", "User is missing one or more roles: CanCreateCustomer and CanCreateUserCustomerLink or CanCreateCustomerAtAnyBank and CanCreateUserCustomerLinkAtAnyBank"},
		{"half the roles", as("half", auth.RoleCanCreateCustomer), bankID, valid, 403, "OBP-20006", "User is missing one or more roles: CanCreateUserCustomerLink or CanCreateCustomerAtAnyBank and CanCreateUserCustomerLinkAtAnyBank"},
		{"roles at another bank", as("clerk"), "otherbank", valid, 403, "OBP-20006", ""},
		{"a bank role and an any-bank role", as("mixed", auth.RoleCanCreateCustomer, auth.RoleCanCreateUserCustomerLinkAtAnyBank), bankID, valid, 403, "OBP-20006", ""},
		{"duplicate number, unknown user", creator, bankID, customerRequest(t, "ghost", withNumber("5987953")), 400, "OBP-30006", "Customer Number already exists. Please specify a different value for BANK_ID or CUSTOMER_NUMBER."},
		{"unknown user", creator, bankID, customerRequest(t, "ghost", withNumber("new-2")), 404, "OBP-20005", "User not found. Please specify a valid value for USER_ID."},
		{"no user id can name", creator, bankID, customerRequest(t, "a b", withNumber("new-3")), 404, "OBP-20005", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.st.Reset()
			r := e.do(http.MethodPost, v210+"/banks/"+tc.bank+"/customers", tc.by, tc.body)
			msg := expectError(t, r, tc.status, tc.code)
			if !strings.Contains(msg, tc.text) {
				t.Errorf("message %q does not say %q", msg, tc.text)
			}
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			e.expectNoWrite(tc.name)
		})
	}
	e.t = t
	if n := len(e.customersOf("teller")); n != 2 { // the example here and at otherbank
		t.Errorf("teller has %d customers after the refusals, want 2", n)
	}

	// Any-bank roles work at every bank; a stored one as well as a token's.
	e.grant(as(root), "hq", "", auth.RoleCanCreateCustomerAtAnyBank)
	e.grant(as(root), "hq", "", auth.RoleCanCreateUserCustomerLinkAtAnyBank)
	for _, bank := range []string{bankID, "otherbank"} {
		e.createCustomer(as("hq"), bank, customerRequest(t, "", withNumber("hq-1")))
	}
	if n := len(e.customersOf("hq")); n != 2 {
		t.Errorf("hq has %d customers, want 2", n)
	}
	// createCustomer is a 2.1.0 operation only.
	expectError(t, e.do(http.MethodPost, v200+"/banks/"+bankID+"/customers", creator, customerRequest(t, "", withNumber("v2"))), 404, "OBP-10404")
}

// storeFor is the embedded driver: behaviour is tested on it, the drivers'
// agreement by storetest (and the few moto tests below).
func storeFor(t *testing.T) store.Store {
	t.Helper()
	return storetest.Drivers("customers", []byte("customers-test-secret-0123456789"))[0].Open(t)
}

func TestCustomersOfTheCaller(t *testing.T) {
	e := newEnv(t, storeFor(t))
	a1 := e.createCustomer(creator, bankID, customerRequest(t, "", withNumber("t-1")))
	e.clock.Advance(time.Minute)
	e.seen("alice")
	a2 := e.createCustomer(creator, bankID, customerRequest(t, "alice", withNumber("a-1")))
	a3 := e.createCustomer(creator, "otherbank", customerRequest(t, "alice", withNumber("a-1")))
	ids := func(cs []customers.CustomerJSON) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.CustomerID)
		}
		return out
	}
	atBank := func(by caller, bank string) resp {
		return e.do(http.MethodGet, v210+"/banks/"+bank+"/customers", by, "")
	}

	// Every bank: one query of the caller's link lists, one BatchGet.
	e.st.Reset()
	// By bank code ("otherbank" < "testbank"), then link date.
	if got := ids(e.customersOf("alice")); !slices.Equal(got, []string{a3.CustomerID, a2.CustomerID}) {
		t.Fatalf("alice's customers %v", got)
	}
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 2 || wr != 0 {
		t.Errorf("customers of the caller: %d reads %d writes, want 2 and 0", rd, wr)
	}
	if got := ids(e.customersOf("teller")); !slices.Equal(got, []string{a1.CustomerID}) {
		t.Fatalf("teller's customers %v", got)
	}
	e.st.Reset()
	if got := e.customersOf("bob"); len(got) != 0 {
		t.Fatalf("bob's customers %v", got)
	}
	if rd := e.st.Reads.Load(); rd != 1 {
		t.Errorf("no customers: %d reads, want 1", rd)
	}

	// One bank: one BatchGet (bank and link list), one of the customers;
	// the answer is the reference page's shape.
	e.st.Reset()
	r := atBank(as("alice"), bankID)
	if r.status != http.StatusOK {
		t.Fatalf("at bank: %d %s", r.status, r.body)
	}
	if rd := e.st.Reads.Load(); rd != 2 {
		t.Errorf("customers at a bank: %d reads, want 2", rd)
	}
	want := readJSON(t, "customers.json")
	sameShape(t, decodeMap(t, r.body), want, "", func(path string, v any) bool {
		switch path {
		case "customers.0.bank_id":
			return v == bankID
		case "customers.0.customer_id":
			return v == a2.CustomerID
		case "customers.0.customer_number":
			return v == "a-1"
		}
		return false
	})
	for _, tc := range []struct {
		name   string
		by     caller
		bank   string
		status int
		code   string
	}{
		{"no token", anonymous, bankID, 401, "OBP-20001"},
		{"bad BANK_ID", as("alice"), "a%2Fb", 400, "OBP-30111"},
		{"unknown bank", as("alice"), "nobank", 404, "OBP-30001"},
	} {
		expectError(t, atBank(tc.by, tc.bank), tc.status, tc.code)
	}
	expectError(t, e.do(http.MethodGet, v210+"/users/current/customers", anonymous, ""), 401, "OBP-20001")
	// None at a bank: an empty list, one read.
	e.st.Reset()
	if r := atBank(as("bob"), bankID); r.status != 200 || string(r.body) != "{\"customers\":[]}\n" {
		t.Fatalf("bob at bank: %d %s", r.status, r.body)
	}
	if rd := e.st.Reads.Load(); rd != 1 {
		t.Errorf("no customers at a bank: %d reads, want 1", rd)
	}
}

func linkBody(user, customerID string) string {
	b, _ := json.Marshal(map[string]string{"user_id": user, "customer_id": customerID})
	return string(b)
}

func TestCreateUserCustomerLinks(t *testing.T) {
	e := newEnv(t, storeFor(t))
	c := e.createCustomer(creator, bankID, customerRequest(t, "", withNumber("c-1")))
	other := e.createCustomer(creator, "otherbank", customerRequest(t, "", withNumber("o-1")))
	e.seen("dave")
	linker := as("linker", auth.RoleCanCreateUserCustomerLink)
	path := func(bank string) string { return v200 + "/banks/" + bank + "/user_customer_links" }

	// The reference page's request fields; 200 as OBP-API answers, with
	// the contract's fields. A stored role at the bank: 2 reads, 1 write.
	var req map[string]string
	if err := json.Unmarshal(mustRead(t, "user_customer_link_request.json"), &req); err != nil || len(req) != 2 || req["user_id"] == "" || req["customer_id"] == "" {
		t.Fatalf("reference request %v %v", req, err)
	}
	e.grant(as(root), "clerk", bankID, auth.RoleCanCreateUserCustomerLink)
	e.st.Reset()
	r := e.do(http.MethodPost, path(bankID), as("clerk"), linkBody("dave", c.CustomerID))
	if r.status != http.StatusOK {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 2 || wr != 1 {
		t.Errorf("link with a stored role: %d reads %d writes, want 2 and 1", rd, wr)
	}
	var link customers.UserCustomerLinkJSON
	strict(t, r.body, &link)
	if !uuidRE.MatchString(link.UserCustomerLinkID) || link.CustomerID != c.CustomerID || link.UserID != "dave" || link.DateInserted != "2026-03-01T12:00:00Z" || !link.IsActive {
		t.Fatalf("link %s", r.body)
	}
	for k := range req {
		if _, ok := decodeMap(t, r.body)[k]; !ok {
			t.Errorf("answer has no %q", k)
		}
	}
	if got := e.customersOf("dave"); len(got) != 1 || got[0].CustomerID != c.CustomerID {
		t.Fatalf("dave's customers %+v", got)
	}

	valid := linkBody("erin", c.CustomerID)
	e.seen("erin")
	for _, tc := range []struct {
		name   string
		by     caller
		bank   string
		body   string
		status int
		code   string
		text   string
	}{
		{"no token", anonymous, bankID, valid, 401, "OBP-20001", ""},
		{"bad BANK_ID, bad body, no role", as("nobody"), "no%20bank", `[`, 400, "OBP-30111", ""},
		{"unknown bank, bad body, no role", as("nobody"), "nobank", `[`, 404, "OBP-30001", ""},
		{"bad body, no role", as("nobody"), bankID, `[`, 400, "OBP-10001", ""},
		{"missing user_id", linker, bankID, `{"customer_id":"` + c.CustomerID + `"}`, 400, "OBP-10001", "user_id is required"},
		{"empty customer_id", linker, bankID, linkBody("erin", ""), 400, "OBP-10001", "Field customer_id is not defined in the posted json!"},
		{"wrong type", linker, bankID, `{"user_id":1,"customer_id":"x"}`, 400, "OBP-10001", `"user_id"`},
		{"no role, unknown user and customer", as("nobody"), bankID, linkBody("ghost", "nope"), 403, "OBP-20006", "User is missing one or more roles: CanCreateUserCustomerLink or CanCreateUserCustomerLinkAtAnyBank"},
		{"role at another bank", as("clerk"), "otherbank", linkBody("erin", other.CustomerID), 403, "OBP-20006", ""},
		{"unknown user, unknown customer", linker, bankID, linkBody("ghost", "nope"), 404, "OBP-20005", "User not found."},
		{"unknown customer", linker, bankID, linkBody("erin", "1f0e3dad-9990-4a07-8b3e-2d2d2d2d2d2d"), 404, "OBP-30046", "Customer not found. Please specify a valid value for CUSTOMER_ID."},
		{"a customer of another bank", linker, bankID, linkBody("erin", other.CustomerID), 404, "OBP-30046", ""},
		{"garbage customer id", linker, bankID, linkBody("erin", strings.Repeat("x", 255)), 404, "OBP-30046", ""},
		{"linked already", linker, bankID, linkBody("dave", c.CustomerID), 400, "OBP-30007", "The User is already linked to a Customer at the bank specified by BANK_ID"},
		{"the creator is linked already", linker, bankID, linkBody("teller", c.CustomerID), 400, "OBP-30007", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.st.Reset()
			msg := expectError(t, e.do(http.MethodPost, path(tc.bank), tc.by, tc.body), tc.status, tc.code)
			if !strings.Contains(msg, tc.text) {
				t.Errorf("message %q does not say %q", msg, tc.text)
			}
			e.expectNoWrite(tc.name)
		})
	}
	e.t = t
	if got := e.customersOf("erin"); len(got) != 0 {
		t.Fatalf("erin linked by a refused request: %+v", got)
	}

	// A token's role at any bank, under /obp/v2.1.0 as well; a user may
	// link themself (they exist: they are logged in).
	anyBank := as("hq", auth.RoleCanCreateUserCustomerLinkAtAnyBank)
	e.st.Reset()
	if r := e.do(http.MethodPost, v210+"/banks/otherbank/user_customer_links", anyBank, linkBody("erin", other.CustomerID)); r.status != http.StatusOK {
		t.Fatalf("any-bank link: %d %s", r.status, r.body)
	}
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 1 || wr != 1 {
		t.Errorf("link with a token role: %d reads %d writes, want 1 and 1", rd, wr)
	}
	if r := e.do(http.MethodPost, path(bankID), as("frank", auth.RoleCanCreateUserCustomerLink), linkBody("frank", c.CustomerID)); r.status != http.StatusOK {
		t.Fatalf("self link: %d %s", r.status, r.body)
	}
	// frank is known now: another teller may create a customer for him.
	e.createCustomer(creator, bankID, customerRequest(t, "frank", withNumber("f-1")))
	if got := e.customersOf("frank"); len(got) != 2 {
		t.Fatalf("frank's customers %+v", got)
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func handleBody(number, typ, handle, added string) string {
	b, _ := json.Marshal(map[string]string{"customer_number": number, "type": typ, "handle": handle, "date_added": added, "date_activated": "2017-09-20T10:00:00Z"})
	return string(b)
}

func TestSocialMediaHandles(t *testing.T) {
	e := newEnv(t, storeFor(t))
	c := e.createCustomer(creator, bankID, customerRequest(t, "", withNumber("5987953")))
	other := e.createCustomer(creator, "otherbank", customerRequest(t, "", withNumber("o-1")))
	path := func(bank, customerID string) string {
		return v200 + "/banks/" + bank + "/customers/" + customerID + "/social_media_handles"
	}
	adder := as("adder", auth.RoleCanAddSocialMediaHandle)
	getter := as("getter", auth.RoleCanGetSocialMediaHandles)

	// The reference answer: {"success":"Success"}, 201. A stored role at
	// the bank: one BatchGet, the roles, one Put.
	e.grant(as(root), "clerk", bankID, auth.RoleCanAddSocialMediaHandle)
	e.st.Reset()
	r := e.do(http.MethodPost, path(bankID, c.CustomerID), as("clerk"), handleBody("5987953", "PlaceholderString", "PlaceholderString", "2017-09-19T00:00:00Z"))
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	sameShape(t, decodeMap(t, r.body), readJSON(t, "success.json"), "", nil)
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 2 || wr != 1 {
		t.Errorf("add with a stored role: %d reads %d writes, want 2 and 1", rd, wr)
	}
	// A second handle, older; the first again (same type and handle: its
	// dates are replaced, not a second record).
	if r := e.do(http.MethodPost, path(bankID, c.CustomerID), adder, handleBody("5987953", "twitter", "@eveline", "2016-01-01T00:00:00Z")); r.status != http.StatusCreated {
		t.Fatalf("add 2: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, v210+"/banks/"+bankID+"/customers/"+c.CustomerID+"/social_media_handles", adder, handleBody("5987953", "PlaceholderString", "PlaceholderString", "2017-09-19T00:00:00Z")); r.status != http.StatusCreated {
		t.Fatalf("add again under 2.1.0: %d %s", r.status, r.body)
	}

	// The list: the reference answer's shape (key "checks"), by date added.
	e.st.Reset()
	r = e.do(http.MethodGet, path(bankID, c.CustomerID), getter, "")
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if rd := e.st.Reads.Load(); rd != 2 {
		t.Errorf("get with a token role: %d reads, want 2", rd)
	}
	var list customers.SocialMediasJSON
	strict(t, r.body, &list)
	if len(list.Checks) != 2 || list.Checks[0].Handle != "@eveline" {
		t.Fatalf("handles %s", r.body)
	}
	want := readJSON(t, "social_media_handles.json")
	got := decodeMap(t, r.body)
	got["checks"] = got["checks"].([]any)[1:]
	want["checks"].([]any)[0].(map[string]any)["date_activated"] = "2017-09-20T10:00:00Z"
	sameShape(t, got, want, "", nil)

	okBody := handleBody("5987953", "x", "y", "2017-09-19T00:00:00Z")
	for _, tc := range []struct {
		name   string
		method string
		by     caller
		path   string
		body   string
		status int
		code   string
		text   string
	}{
		{"add: no token", "POST", anonymous, path(bankID, c.CustomerID), okBody, 401, "OBP-20001", ""},
		{"add: bad BANK_ID", "POST", as("nobody"), path("x%20y", c.CustomerID), `{`, 400, "OBP-30111", ""},
		{"add: unknown bank", "POST", as("nobody"), path("nobank", c.CustomerID), `{`, 404, "OBP-30001", ""},
		{"add: bad body, no role", "POST", as("nobody"), path(bankID, c.CustomerID), `{`, 400, "OBP-10001", ""},
		{"add: missing field", "POST", adder, path(bankID, c.CustomerID), `{"customer_number":"5987953","type":"x","handle":"y","date_added":"2017-09-19T00:00:00Z"}`, 400, "OBP-10001", "date_activated is required"},
		{"add: bad date", "POST", adder, path(bankID, c.CustomerID), handleBody("5987953", "x", "y", "19/09/2017"), 400, "OBP-10001", "date_added"},
		{"add: no role", "POST", as("nobody"), path(bankID, c.CustomerID), okBody, 403, "OBP-20006", "User is missing one or more roles: CanAddSocialMediaHandle"},
		{"add: role at another bank", "POST", as("clerk"), path("otherbank", other.CustomerID), handleBody("o-1", "x", "y", "2017-09-19T00:00:00Z"), 403, "OBP-20006", ""},
		{"add: the getter's role", "POST", getter, path(bankID, c.CustomerID), okBody, 403, "OBP-20006", ""},
		{"add: unknown customer", "POST", adder, path(bankID, "1f0e3dad-9990-4a07-8b3e-2d2d2d2d2d2d"), okBody, 404, "OBP-30046", "Customer not found."},
		{"add: a customer of another bank", "POST", adder, path(bankID, other.CustomerID), handleBody("o-1", "x", "y", "2017-09-19T00:00:00Z"), 404, "OBP-30046", ""},
		{"add: garbage customer id", "POST", adder, path(bankID, strings.Repeat("z", 300)), okBody, 404, "OBP-30046", ""},
		{"add: another customer's number", "POST", adder, path(bankID, c.CustomerID), handleBody("o-1", "x", "y", "2017-09-19T00:00:00Z"), 400, "OBP-10001", `customer_number "o-1" is not the number of customer`},
		{"get: no token", "GET", anonymous, path(bankID, c.CustomerID), "", 401, "OBP-20001", ""},
		{"get: bad BANK_ID", "GET", getter, path("x%20y", c.CustomerID), "", 400, "OBP-30111", ""},
		{"get: unknown bank", "GET", getter, path("nobank", c.CustomerID), "", 404, "OBP-30001", ""},
		{"get: no role", "GET", adder, path(bankID, c.CustomerID), "", 403, "OBP-20006", "User is missing one or more roles: CanGetSocialMediaHandles"},
		{"get: unknown customer", "GET", getter, path(bankID, "nope"), "", 404, "OBP-30046", ""},
		{"get: a customer of another bank", "GET", getter, path(bankID, other.CustomerID), "", 404, "OBP-30046", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.st.Reset()
			msg := expectError(t, e.do(tc.method, tc.path, tc.by, tc.body), tc.status, tc.code)
			if !strings.Contains(msg, tc.text) {
				t.Errorf("message %q does not say %q", msg, tc.text)
			}
			e.expectNoWrite(tc.name)
		})
	}
	e.t = t
	// A stored role at one bank reads the handles there only.
	e.grant(as(root), "viewer", bankID, auth.RoleCanGetSocialMediaHandles)
	if r := e.do(http.MethodGet, path(bankID, c.CustomerID), as("viewer"), ""); r.status != http.StatusOK {
		t.Fatalf("stored role: %d %s", r.status, r.body)
	}
	expectError(t, e.do(http.MethodGet, path("otherbank", other.CustomerID), as("viewer"), ""), 403, "OBP-20006")
	// Another customer has none: an empty list.
	if r := e.do(http.MethodGet, path("otherbank", other.CustomerID), getter, ""); r.status != 200 || string(r.body) != "{\"checks\":[]}\n" {
		t.Fatalf("no handles: %d %s", r.status, r.body)
	}
}

// crmEvents gets the CRM events at bank as by, with OBP's paging headers.
func (e *env) crmEvents(prefix string, by caller, bank string, header map[string]string) ([]customers.CrmEventJSON, resp) {
	e.t.Helper()
	r := e.doWith(http.MethodGet, prefix+"/banks/"+bank+"/crm-events", by, "", header)
	if r.status != http.StatusOK {
		return nil, r
	}
	var out customers.CrmEventsJSON
	strict(e.t, r.body, &out)
	if out.CrmEvents == nil {
		e.t.Fatalf("crm_events is not an array: %s", r.body)
	}
	return out.CrmEvents, r
}

func TestCrmEvents(t *testing.T) {
	e := newEnv(t, storeFor(t))
	e.seen("alice")
	e.seen("bob")
	ca := e.createCustomer(creator, bankID, customerRequest(t, "alice", withNumber("alice-1")))
	cb := e.createCustomer(creator, bankID, customerRequest(t, "bob", withNumber("bob-1")))
	co := e.createCustomer(creator, "otherbank", customerRequest(t, "alice", withNumber("alice-o")))
	// Activity of alice's and bob's connections, a minute apart: a CRM
	// event of each customer linked to the user at that bank.
	record := func(user, bank string, kind activity.Kind, detail string) {
		t.Helper()
		e.clock.Advance(time.Minute)
		err := e.cust.Record(context.Background(), activity.Event{Kind: kind, UserID: user, PartyID: "p-" + user, BankCode: bank,
			Channel: activity.ChannelConnectPage, Detail: detail, Result: "active", At: e.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	record("alice", bankID, activity.ConnectionActivated, "alice 1")
	record("bob", bankID, activity.ConnectionActivated, "bob 1")
	record("alice", bankID, activity.ImportCompleted, "alice 2")
	record("alice", "otherbank", activity.ConnectionActivated, "alice other")
	record("carol", bankID, activity.ConnectionActivated, "carol has no customer")
	details := func(evs []customers.CrmEventJSON) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Detail)
		}
		return out
	}

	// Alice sees her customer's events at the bank, newest first, in the
	// reference page's shape; one BatchGet, her stored roles (none), one
	// query of her customer's events.
	e.st.Reset()
	evs, r := e.crmEvents("/obp/v1.4.0", as("alice"), bankID, nil)
	if got := details(evs); !slices.Equal(got, []string{"alice 2", "alice 1"}) {
		t.Fatalf("alice's events %v (%d %s)", got, r.status, r.body)
	}
	if rd, wr := e.st.Reads.Load(), e.st.Writes.Load(); rd != 3 || wr != 0 {
		t.Errorf("events of a linked user: %d reads %d writes, want 3 and 0", rd, wr)
	}
	want := readJSON(t, "crm_events.json")
	sameShape(t, decodeMap(t, r.body)["crm_events"].([]any)[:1], want["crm_events"], "crm_events", func(path string, v any) bool {
		wantValue := map[string]any{
			"crm_events.0.bank_id": bankID, "crm_events.0.customer_name": "Eveline Tripman", "crm_events.0.customer_number": "alice-1",
			"crm_events.0.category": "Import completed", "crm_events.0.detail": "alice 2", "crm_events.0.channel": "connect page",
			"crm_events.0.scheduled_date": "2026-03-01T12:03:00Z", "crm_events.0.actual_date": "2026-03-01T12:03:00Z", "crm_events.0.result": "active",
		}
		if path == "crm_events.0.id" {
			if s, _ := v.(string); len(s) != 32 {
				t.Errorf("id %v", v)
			}
			return true
		}
		if w, ok := wantValue[path]; ok {
			if v != w {
				t.Errorf("%s: %v, want %v", path, v, w)
			}
			return true
		}
		return false
	})
	if evs[0].ID == evs[1].ID || evs[1].CustomerNumber != ca.CustomerNumber {
		t.Errorf("alice's events %+v", evs)
	}
	// Bob his own; someone without a customer nothing.
	if evs, _ := e.crmEvents("/obp/v2.0.0", as("bob"), bankID, nil); !slices.Equal(details(evs), []string{"bob 1"}) || evs[0].CustomerNumber != cb.CustomerNumber {
		t.Fatalf("bob's events %+v", evs)
	}
	if evs, r := e.crmEvents(v210, as("carol"), bankID, nil); len(evs) != 0 {
		t.Fatalf("carol's events %d %s", r.status, r.body)
	}

	// Holders of CanGetCustomersAtOneBank (at that bank) or
	// CanGetCustomersAtAnyBank see every customer's; from the token: one
	// BatchGet and one index query.
	all := []string{"alice 2", "bob 1", "alice 1"}
	e.st.Reset()
	if evs, _ := e.crmEvents("/obp/v1.4.0", as("manager", customer.RoleGetCustomersAtOneBank), bankID, nil); !slices.Equal(details(evs), all) {
		t.Fatalf("manager's events %v", details(evs))
	}
	if rd := e.st.Reads.Load(); rd != 2 {
		t.Errorf("events of the bank, token role: %d reads, want 2", rd)
	}
	e.grant(as(root), "branch", bankID, customer.RoleGetCustomersAtOneBank)
	e.grant(as(root), "hq", "", customer.RoleGetCustomersAtAnyBank)
	for _, tc := range []struct {
		name string
		by   caller
		bank string
		want []string
	}{
		{"stored role at the bank", as("branch"), bankID, all},
		{"stored role at another bank sees only its own (none)", as("branch"), "otherbank", nil},
		{"stored any-bank role", as("hq"), "otherbank", []string{"alice other"}},
		{"alice at the other bank", as("alice"), "otherbank", []string{"alice other"}},
	} {
		evs, r := e.crmEvents("/obp/v1.4.0", tc.by, tc.bank, nil)
		if !slices.Equal(details(evs), tc.want) {
			t.Errorf("%s: %v (%d %s)", tc.name, details(evs), r.status, r.body)
		}
	}
	if evs, _ := e.crmEvents("/obp/v1.4.0", as("alice"), "otherbank", nil); evs[0].CustomerNumber != co.CustomerNumber {
		t.Errorf("event of %s, want %s", evs[0].CustomerNumber, co.CustomerNumber)
	}

	// Paging: obp_limit and obp_offset.
	for _, tc := range []struct {
		header map[string]string
		want   []string
	}{
		{map[string]string{"obp_limit": "1"}, []string{"alice 2"}},
		{map[string]string{"obp_limit": "1", "obp_offset": "1"}, []string{"bob 1"}},
		{map[string]string{"obp_offset": "2"}, []string{"alice 1"}},
		{map[string]string{"obp_offset": "3"}, nil},
	} {
		if evs, r := e.crmEvents("/obp/v1.4.0", as("hq"), bankID, tc.header); !slices.Equal(details(evs), tc.want) {
			t.Errorf("page %v: %v (%d %s)", tc.header, details(evs), r.status, r.body)
		}
	}
	for _, tc := range []struct {
		name   string
		by     caller
		bank   string
		header map[string]string
		status int
		code   string
	}{
		{"no token", anonymous, bankID, nil, 401, "OBP-20001"},
		{"bad BANK_ID", as("alice"), "a%20b", nil, 400, "OBP-30111"},
		{"unknown bank", as("alice"), "nobank", nil, 404, "OBP-30001"},
		{"limit 0", as("alice"), bankID, map[string]string{"obp_limit": "0"}, 400, "OBP-10025"},
		{"limit too big", as("alice"), bankID, map[string]string{"obp_limit": "501"}, 400, "OBP-10025"},
		{"offset negative", as("alice"), bankID, map[string]string{"obp_offset": "-1"}, 400, "OBP-10024"},
	} {
		_, r := e.crmEvents("/obp/v1.4.0", tc.by, tc.bank, tc.header)
		expectError(t, r, tc.status, tc.code)
	}
}

// TestConcurrentCreates: tellers create the same customer number at
// once, and link the same user to the same customer: exactly one wins each
// race, the others get OBP-30006 / OBP-30007. On the embedded driver,
// which serialises writers as DynamoDB serialises transactions on an item
// (moto_server does not: its TransactWriteItems checks conditions and
// writes without a lock, so two concurrent IfNotExists puts of one new
// item can both succeed there); TestUniquenessByConditionalWrites proves
// the same rule on both drivers deterministically.
func TestConcurrentCreates(t *testing.T) {
	e := newEnv(t, storeFor(t))
	e.seen("alice")
	const n = 4
	statuses := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.do(http.MethodPost, v210+"/banks/"+bankID+"/customers", creator, customerRequest(t, "alice", withNumber("race-1")))
			statuses[i], bodies[i] = r.status, string(r.body)
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{201, 400, 400, 400}) {
		t.Fatalf("concurrent creates: %v %v", statuses, bodies)
	}
	for _, b := range bodies {
		if !strings.Contains(b, "OBP-30006") && !strings.Contains(b, `"customer_number":"race-1"`) {
			t.Errorf("answer %s", b)
		}
	}
	list := e.customersOf("alice")
	if len(list) != 1 {
		t.Fatalf("alice has %d customers", len(list))
	}
	e.seen("bob")
	linker := as("linker", auth.RoleCanCreateUserCustomerLinkAtAnyBank)
	for i := range n {
		wg.Go(func() {
			r := e.do(http.MethodPost, v200+"/banks/"+bankID+"/user_customer_links", linker, linkBody("bob", list[0].CustomerID))
			statuses[i], bodies[i] = r.status, string(r.body)
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{200, 400, 400, 400}) {
		t.Fatalf("concurrent links: %v %v", statuses, bodies)
	}
	if got := e.customersOf("bob"); len(got) != 1 || got[0].CustomerID != list[0].CustomerID {
		t.Fatalf("bob's customers %+v", got)
	}
}

// blindStore hides from BatchGet the items hide names, as if another
// request wrote them just after this one read: the write's conditions
// alone must then refuse.
type blindStore struct {
	store.Store
	hide func(store.Key) bool
}

func (b blindStore) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	items, err := b.Store.BatchGet(ctx, keys)
	return slices.DeleteFunc(items, func(it store.Item) bool { return b.hide(it.Key()) }), err
}

// TestUniquenessByConditionalWrites: a customer number taken, and a link
// made, between a request's read and its transaction are refused by the
// transaction's conditions (OBP-30006, OBP-30007), which write nothing;
// on both drivers. CRM events come through the bank's index there too.
func TestUniquenessByConditionalWrites(t *testing.T) {
	for _, d := range storetest.Drivers("customers", []byte("customers-test-secret-0123456789")) {
		t.Run(d.Name, func(t *testing.T) {
			blind := false
			e := newEnv(t, blindStore{Store: d.Open(t), hide: func(k store.Key) bool {
				return blind && (strings.HasPrefix(k.SK, "CUSTNO#") || strings.HasPrefix(k.SK, "OBPLINK#"))
			}})
			e.seen("alice")
			c := e.createCustomer(creator, bankID, customerRequest(t, "alice", withNumber("n-1")))
			blind = true
			e.st.Reset()
			expectError(t, e.do(http.MethodPost, v210+"/banks/"+bankID+"/customers", creator, customerRequest(t, "alice", withNumber("n-1"))), 400, "OBP-30006")
			expectError(t, e.do(http.MethodPost, v200+"/banks/"+bankID+"/user_customer_links", creator, linkBody("alice", c.CustomerID)), 400, "OBP-30007")
			if w := e.st.Writes.Load(); w != 2 {
				t.Errorf("%d writes, want the 2 refused transactions", w)
			}
			blind = false
			if got := e.customersOf("alice"); len(got) != 1 || got[0].CustomerID != c.CustomerID {
				t.Fatalf("alice's customers %+v", got)
			}
			if got := e.customersOf("teller"); len(got) != 0 {
				t.Fatalf("teller's customers %+v", got)
			}
			for i := range 3 {
				e.clock.Advance(time.Second)
				if err := e.cust.Record(context.Background(), activity.Event{Kind: activity.ConnectionRefreshed, UserID: "alice", BankCode: bankID, Detail: strconv.Itoa(i), At: e.clock.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			evs, r := e.crmEvents(v210, as("viewer", customer.RoleGetCustomersAtAnyBank), bankID, map[string]string{"obp_limit": "2"})
			if len(evs) != 2 || evs[0].Detail != "2" || evs[1].Detail != "1" {
				t.Fatalf("events %d %s", r.status, r.body)
			}
		})
	}
}
