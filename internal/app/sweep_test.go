package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/party/partytest/fixture"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/webhook"
)

// TestSweepEveryRoute is the generic safety net over every route of every
// group (a.Groups() → g.Routes, nothing listed by hand), served as
// `openagg serve` serves them (HandlerFor(GroupNames())) on the embedded
// default. Alice owns a party with an imported sandbox connection, so every
// path parameter is filled with one of her real ids. Then:
//
//   - anonymous: every non-public route (and every OBP route through a
//     private view) answers 401 with WWW-Authenticate;
//   - cross-user: bob (valid token, no roles, no grants) is refused
//     everything of alice's except the routes public by design and the
//     exceptions listed in bobMay / bobStatus;
//   - bad input as alice, who may act: broken bodies on every body route,
//     garbage in every path parameter, bad query strings and OBP headers.
//
// Every answer: never a 5xx (nor a redirect), the error body in the
// dialect of the group that served it, and a refused request (status ≥
// 400) writes nothing to the store and queues nothing.
func TestSweepEveryRoute(t *testing.T) {
	start := time.Now()
	s := newSweep(t)
	setup := time.Since(start)
	calls := s.calls()
	phase := func(name string, run func(*testing.T)) {
		s.statuses = map[int]int{}
		t.Run(name, run)
		t.Logf("%s: statuses %v", name, s.statuses)
	}
	phase("anonymous", func(t *testing.T) { s.anonymous(t, calls) })
	phase("cross-user", func(t *testing.T) { s.crossUser(t, calls) })
	// As alice, some requests succeed, deletes included: each phase runs
	// the DELETEs last and is followed by a restore.
	calls = deletesLast(calls)
	phase("bad bodies", func(t *testing.T) { s.badBodies(t, calls) })
	s.restore(s.alice)
	phase("bad path parameters", func(t *testing.T) { s.badPaths(t, calls) })
	s.restore(s.alice)
	phase("bad queries and headers", func(t *testing.T) { s.badQueries(t, calls) })
	t.Logf("sweep: %d routes (%d calls with view variants), %d requests, setup %v, total %v",
		s.routeCount, len(calls), s.requests, setup.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// Who may do what, beyond Route.Public. Keys are Route.Method + " " +
// Route.Path.
var (
	// bobMay: non-public routes a user with no rights may use on alice's
	// ids, because they show nothing of hers.
	bobMay = map[string]string{
		"GET /whoami": "shows the caller's own principal",
		"GET /obp/v1.2/banks/{BANK_ID}/accounts/private":   "lists the caller's own accounts (none for bob)",
		"GET /system/banks/{bank}/provider/{providername}": "the bank directory is shared: any authenticated user (docs/api.md)",
		"GET /system/banks/{bank}":                         "the bank directory is shared: any authenticated user (docs/api.md)",
		"GET /system/countries/{countrycode}/banks":        "the bank directory is shared: any authenticated user (docs/api.md)",
		"GET /obp/v2.1.0/users/current/customers":          "lists the caller's own customers (none for bob)",
		"GET /obp/v2.1.0/banks/{BANK_ID}/customers":        "lists the caller's own customers at the bank (none for bob)",
		"GET /obp/v1.4.0/banks/{BANK_ID}/crm-events":       "lists the CRM events of the caller's own customers (none for bob)",
		"GET /obp/v2.0.0/banks/{BANK_ID}/crm-events":       "lists the CRM events of the caller's own customers (none for bob)",
		"GET /obp/v2.1.0/banks/{BANK_ID}/crm-events":       "lists the CRM events of the caller's own customers (none for bob)",
		"GET /api/v1/banks":                                "finAPI: the bank directory is shared",
		"GET /api/v1/banks/{id}":                           "finAPI: the bank directory is shared",
		"GET /api/v1/categories":                           "finAPI: the category tree is shared",
		"GET /api/v1/categories/{id}":                      "finAPI: the category tree is shared",
		"GET /api/v1/bankConnections":                      "finAPI: lists the caller's own connections (none of alice's)",
		"DELETE /api/v1/bankConnections":                   "finAPI: deletes the caller's own connections (never alice's)",
		"GET /api/v1/accounts":                             "finAPI: lists the caller's own accounts",
		"POST /api/v1/bankConnections/import":              "finAPI: imports a connection of the caller's own (bob's demo connection)",
	}
	// bobStatus: the status bob gets where it is neither 2xx nor 401/403/404.
	bobStatus = map[string]int{
		// Party ids are one namespace: creating a profile with alice's id
		// says it exists (409 PROFILE_EXISTS, docs/api.md "Party access":
		// the 403s reveal nothing the 409 of a profile creation does not).
		"POST /party/profiles/{partyid}": http.StatusConflict,
		// finAPI: view is a required parameter, checked before anything.
		"GET /api/v1/transactions": http.StatusBadRequest,
	}
	// noBody: POST/PUT routes that take no request body and ignore one
	// (every DELETE may; the party group's removeConnections reads its
	// optional `{}`).
	noBody = map[string]string{
		"POST /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/permissions/{USER_ID}/views/{VIEW_ID}": "OBP 1.2 grants one view by its path alone",
	}
)

// aliceStatus: alice's own valid call with her real ids where it is not
// a 2xx, as the last phase makes it (DELETEs last, owner view before her
// custom one, OBP 2.0.0 before 2.1.0). Every other route succeeds, which
// proves the sweep's ids are real.
var aliceStatus = map[string]int{
	// The setup made the profile and its connection, and just imported
	// it (REFRESH_TOO_EARLY).
	"POST /party/profiles/{partyid}":                                    http.StatusConflict,
	"POST /party/profiles/{partyid}/banks/{bankcode}/connections":       http.StatusConflict,
	"PUT /party/profiles/{partyid}/banks/{bankcode}/refreshConnections": http.StatusConflict,
	// The connect session's token is spent ("used").
	"GET /connect/sessions":            http.StatusBadRequest,
	"POST /connect/sessions":           http.StatusBadRequest,
	"POST /connect/sessions/challenge": http.StatusBadRequest,
	"POST /connect/sessions/cancel":    http.StatusBadRequest,
	// The owner view cannot be changed (OBP-20021); alice is its last
	// holder (OBP-30064).
	"PUT /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/views/{VIEW_ID} [owner]":                          http.StatusBadRequest,
	"DELETE /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/permissions/{USER_ID}/views/{VIEW_ID} [owner]": http.StatusBadRequest,
	"DELETE /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/permissions/{USER_ID}/views":                   http.StatusBadRequest,
	// The same item through the owner view went just before.
	"DELETE /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/{VIEW_ID}/transactions/{TRANSACTION_ID}/metadata/comments/{COMMENT_ID} [sweep_private]": http.StatusNotFound,
	"DELETE /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/{VIEW_ID}/transactions/{TRANSACTION_ID}/metadata/tags/{TAG_ID} [sweep_private]":         http.StatusNotFound,
	"DELETE /obp/v1.2/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/{VIEW_ID}/transactions/{TRANSACTION_ID}/metadata/images/{IMAGE_ID} [sweep_private]":     http.StatusNotFound,
	// The same operation under /obp/v2.0.0 went just before (OBP-30216,
	// OBP-30212).
	"POST /obp/v2.1.0/users/{USER_ID}/entitlements":                   http.StatusBadRequest,
	"DELETE /obp/v2.1.0/users/{USER_ID}/entitlement/{ENTITLEMENT_ID}": http.StatusNotFound,
	// The link went under /obp/v2.0.0 just before (OBP-30007).
	"POST /obp/v2.1.0/banks/{BANK_ID}/user_customer_links": http.StatusBadRequest,
	// finAPI: alice's demo connection exists (ENTITY_EXISTS); view is a
	// required parameter; her update just queued a download, so the
	// connection is busy when the DELETE comes (ILLEGAL_ENTITY_STATE).
	"POST /api/v1/bankConnections/import": http.StatusUnprocessableEntity,
	"GET /api/v1/transactions":            http.StatusBadRequest,
	"DELETE /api/v1/bankConnections/{id}": http.StatusUnprocessableEntity,
}

// anyUserID is the path parameter where garbage may name something that
// can be created: USER_ID is a token's sub and OpenAgg keeps no user
// registry, so any id auth.ValidUserID takes is a user ("any other id is
// a user", docs/api.md) who may be granted a view or a role.
const anyUserID = "userid"

// The actor of the bad-input phases: alice with the rights every route
// may ask for (the directory role for the system group, the entitlement
// and customer roles for the customers group), so that a refusal comes
// from the input.
var aliceRoles = []string{
	bank.RoleManageDirectory,
	auth.RoleCanCreateEntitlementAtAnyBank,
	auth.RoleCanDeleteEntitlementAtAnyBank,
	auth.RoleCanGetEntitlementsForAnyUser,
	auth.RoleCanCreateCustomerAtAnyBank,
	auth.RoleCanCreateUserCustomerLinkAtAnyBank,
	auth.RoleCanAddSocialMediaHandle,
	auth.RoleCanGetSocialMediaHandles,
	webhook.RoleManage,
}

// sweep is the app under test with its counters.
type sweep struct {
	t          *testing.T
	a          *App
	h          http.Handler
	st         *countingStore
	log        *captureLog
	alice      string // alice's token (with aliceRoles)
	bob        string
	ids        map[string]string // normalized parameter name → alice's value (path-escaped)
	finIDs     map[string]string // finAPI: the segment before {id} → alice's id there
	localQ     *local.Queue      // the embedded queue (a.Queue is wrapped after the setup)
	customView string
	account    string   // alice's account under /obp/v1.2
	meta       string   // her transaction's metadata under the owner view
	leaks      []string // alice's ids that no 2xx answer to bob may contain
	bodies     map[string]string
	connect    url.Values // the form of alice's (used) connect session
	privPEM    string     // signs Salt Edge callbacks
	routeCount int
	requests   int
	failures   int
	statuses   map[int]int // of the current phase
}

// call is one route with its path filled; routes with a VIEW_ID come once
// per private view of alice's (owner and her custom view).
type call struct {
	rt   platform.Route
	key  string // rt.Method + " " + rt.Path
	view string // the VIEW_ID used, "" without one
}

func newSweep(t *testing.T) *sweep {
	t.Helper()
	priv, pub, err := saltedgetest.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vars := map[string]string{
		"OPENAGG_DATA_DIR":            dir,
		"OPENAGG_SUPERADMINS":         "root",
		"OPENAGG_CALLBACK_PUBLIC_KEY": pub,
		"OPENAGG_LOG_LEVEL":           "error", // the setup's; the sweep captures its own
		// Alice's webhook endpoint is on loopback (nothing listens: its
		// deliveries fail at once).
		"OPENAGG_WEBHOOKS_ALLOW_PRIVATE": "true",
	}
	cfg, err := platform.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	records, err := bolt.Open(filepath.Join(dir, "records.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: records}
	a, err := NewWith(context.Background(), cfg, Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
		if err := records.Close(); err != nil {
			t.Error(err)
		}
	})
	s := &sweep{t: t, a: a, st: st, privPEM: priv}
	s.setup()
	return s
}

// setup builds alice's world through the API, then wraps the queue and
// the log and rebuilds the handlers on them.
func (s *sweep) setup() {
	t, a := s.t, s.a
	const party = "sweep-alice-1"
	plain := token(t, a, authn.Claims{Sub: "alice", Name: "Alice"})
	connectSandbox(t, a, plain, party)
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	must := func(status int, method, path, tok, body string) string {
		t.Helper()
		code, out := serve(h, method, path, tok, "application/json", body)
		if code != status {
			t.Fatalf("setup %s %s: %d %s", method, path, code, out)
		}
		return out
	}
	field := func(body, name string) string {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("setup: %v in %s", err, body)
		}
		v, ok := m[name].(string)
		if !ok || v == "" {
			t.Fatalf("setup: no %q in %s", name, body)
		}
		return v
	}
	first := func(body, list string) map[string]any {
		t.Helper()
		var m map[string][]map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || len(m[list]) == 0 {
			t.Fatalf("setup: no %s in %.300s (%v)", list, body, err)
		}
		return m[list][0]
	}

	var accounts struct {
		Accounts []struct{ ID, BankCode string } `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(must(200, "GET", "/holdings/profiles/"+party+"/accounts", plain, "")), &accounts); err != nil || len(accounts.Accounts) == 0 {
		t.Fatalf("setup: accounts %+v %v", accounts, err)
	}
	acc, code := accounts.Accounts[0].ID, accounts.Accounts[0].BankCode
	b := must(200, "GET", "/system/banks/"+code+"/provider/"+sandbox.Name, plain, "")
	internalID, country := field(b, "internalBankId"), field(b, "countryCode")

	obp := "/obp/v1.2/banks/" + code + "/accounts/" + url.PathEscape(acc)
	tx := first(must(200, "GET", obp+"/owner/transactions", plain, ""), "transactions")["id"].(string)
	other := first(must(200, "GET", obp+"/owner/other_accounts", plain, ""), "other_accounts")["id"].(string)

	// Alice's custom private view has every flag of the owner view, so
	// her requests through it reach as deep as through owner; she grants
	// it to herself (an owner holds only the owner view).
	owner := first(must(200, "GET", obp+"/views", plain, ""), "views")
	var actions []string
	for k, v := range owner {
		if strings.HasPrefix(k, "can_") && v == true {
			actions = append(actions, k)
		}
	}
	slices.Sort(actions)
	flags, _ := json.Marshal(actions)
	s.customView = field(must(201, "POST", obp+"/views", plain,
		`{"name":"sweep private","description":"alice's","is_public":false,"which_alias_to_use":"private","hide_metadata_if_alias_used":false,"allowed_actions":`+string(flags)+`}`), "id")
	s.account = obp
	s.meta = obp + "/owner/transactions/" + url.PathEscape(tx) + "/metadata"

	s.connect = s.spentSession(h, plain)

	esc := url.PathEscape
	s.ids = map[string]string{
		"partyid": party, "bankcode": code, "bankid": code, "providername": sandbox.Name,
		"countrycode": country, "kind": "success", "accountid": esc(acc),
		"transactionid": esc(tx), "otheraccountid": esc(other),
		"userid": "alice",
		"name":   "sweep-hook", // alice's webhook endpoint (restore)
		// {bank} is the internal id, except before /provider/ (see path).
		"bank": internalID,
	}
	// Alice's customer at her bank (she is its linked user), and carol, a
	// user OpenAgg has seen (she started a connection), for the link body.
	withRoles := token(t, a, authn.Claims{Sub: "alice", Name: "Alice", Roles: aliceRoles})
	customerID := field(must(201, "POST", "/obp/v2.1.0/banks/"+code+"/customers", withRoles, sweepCustomer("", "sweep-1")), "customer_id")
	carol := token(t, a, authn.Claims{Sub: "sweep-carol", Name: "Carol"})
	must(200, "POST", "/party/profiles/sweep-carol-1", carol, "{}")
	must(200, "POST", "/party/profiles/sweep-carol-1/banks/"+code+"/connections", carol, fixture.ConnectBody("sweep-carol-1"))
	drain(t, a) // the activity recorder has seen carol
	s.ids["customerid"] = customerID

	s.leaks = []string{acc, tx, other, fixture.Identifier(party), s.customView, customerID, "sweep-1"}
	s.bodies = sweepBodies(party, code, s.customView, string(flags))
	s.bodies["customers"] = sweepCustomer("", "sweep-2")
	s.bodies["user_customer_links"] = `{"user_id":"sweep-carol","customer_id":"` + customerID + `"}`
	s.bodies["social_media_handles"] = `{"customer_number":"sweep-1","type":"twitter","handle":"@alice","date_added":"2026-01-02T03:04:05Z","date_activated":"2026-01-02T03:04:05Z"}`
	s.h = h
	s.localQ = a.Queue.(*local.Queue)
	s.restore(plain)

	// From here on every write and send is counted per request, and the
	// access log tells which group answered.
	a.Queue = &countingSender{Sender: a.Queue, st: s.st}
	s.log = &captureLog{}
	a.Log = slog.New(s.log)
	a.handlers = map[string]http.Handler{}
	if s.h, err = a.HandlerFor(GroupNames()); err != nil {
		t.Fatal(err)
	}
	s.h = checked(t, s.h)
	s.alice = token(t, a, authn.Claims{Sub: "alice", Name: "Alice", Roles: aliceRoles})
	s.bob = token(t, a, authn.Claims{Sub: "bob", Name: "Bob"})
}

// restore gives alice back what a phase's successful DELETEs took: her
// grant of the custom view; a comment, a tag, an image, a narrative and a
// where tag on the transaction; an entitlement, granted by a super admin
// (new ids for the items and the entitlement).
func (s *sweep) restore(tok string) {
	s.t.Helper()
	s.restoreFinAPI(tok)
	must := func(method, path, tok, body string) string {
		s.t.Helper()
		code, out := serve(s.h, method, path, tok, "application/json", body)
		if code == http.StatusBadRequest && strings.Contains(out, "OBP-30216") {
			return "" // the phase left the entitlement: keep its id
		}
		if code != http.StatusCreated {
			s.t.Fatalf("restore %s %s: %d %s", method, path, code, out)
		}
		var m struct {
			ID            string
			EntitlementID string `json:"entitlement_id"`
		}
		_ = json.Unmarshal([]byte(out), &m)
		return m.ID + m.EntitlementID
	}
	root := token(s.t, s.a, authn.Claims{Sub: "root"})
	hooks := token(s.t, s.a, authn.Claims{Sub: "alice", Roles: []string{webhook.RoleManage}})
	if code, out := serve(s.h, "PUT", "/system/webhooks/sweep-hook", hooks, "application/json", s.bodies["webhooks/{name}"]); code != http.StatusCreated && code != http.StatusOK {
		s.t.Fatalf("restore the webhook endpoint: %d %s", code, out)
	}
	must("POST", s.account+"/permissions/alice/views/"+s.customView, tok, "")
	for name, id := range map[string]string{
		"commentid":     must("POST", s.meta+"/comments", tok, `{"value":"sweep comment"}`),
		"tagid":         must("POST", s.meta+"/tags", tok, `{"value":"sweep"}`),
		"imageid":       must("POST", s.meta+"/images", tok, `{"label":"receipt","URL":"https://example.com/r.png"}`),
		"entitlementid": must("POST", "/obp/v2.0.0/users/alice/entitlements", root, `{"bank_id":"`+s.ids["bankcode"]+`","role_name":"CanCreateCustomer"}`),
	} {
		if id != "" {
			s.ids[name] = url.PathEscape(id)
			s.leaks = append(s.leaks, id)
		}
	}
	must("POST", s.meta+"/narrative", tok, `{"narrative":"sweep narrative"}`)
	must("POST", s.meta+"/where", tok, `{"where":{"latitude":51.5,"longitude":-0.1}}`)
}

// spentSession is the form of a connect session alice completed: the
// connect page's routes get a real token, spent. (connectSandbox keeps its
// token to itself, and her party's connection, active, cannot be started
// again: she connects a second party.)
func (s *sweep) spentSession(h http.Handler, tok string) url.Values {
	const spare = "sweep-alice-2"
	if code, body := serve(h, "POST", "/party/profiles/"+spare, tok, "application/json", "{}"); code != 200 {
		s.t.Fatalf("setup spare profile: %d %s", code, body)
	}
	code, body := serve(h, "POST", "/party/profiles/"+spare+"/banks/"+sandbox.BankDefault+"/connections", tok, "application/json", fixture.ConnectBody(spare))
	_, after, ok := strings.Cut(body, "token=")
	if code != 200 || !ok || len(after) < 64 {
		s.t.Fatalf("setup spare connection: %d %s", code, body)
	}
	form := url.Values{"token": {after[:64]}, "username": {"alice"}, "password": {sandbox.Password}}
	if code, body := serve(h, "POST", "/connect/sessions", "", "application/x-www-form-urlencoded", form.Encode()); code != 200 {
		s.t.Fatalf("setup spare login: %d %.200s", code, body)
	}
	drain(s.t, s.a)
	form.Set("answer", "123456")
	return form
}

// sweepCustomer is a valid createCustomer body.
func sweepCustomer(userID, number string) string {
	return `{"user_id":"` + userID + `","customer_number":"` + number + `","legal_name":"Alice Sweep","mobile_phone_number":"+44 7000 000000",` +
		`"email":"alice@example.com","face_image":{"url":"https://example.com/a.png","date":"2026-01-02T03:04:05Z"},` +
		`"date_of_birth":"1990-01-02T00:00:00Z","relationship_status":"single","dependants":0,"dob_of_dependants":[],` +
		`"credit_rating":{"rating":"A","source":"sweep"},"credit_limit":{"currency":"GBP","amount":"1000.00"},` +
		`"highest_education_attained":"Master","employment_status":"worker","kyc_status":true,"last_ok_date":"2026-01-02T03:04:05Z"}`
}

// sweepBodies are the valid request bodies of the body routes, by the
// last static segment of the path (POST/PUT not listed take `{}`).
func sweepBodies(party, code, customView, flags string) map[string]string {
	return map[string]string{
		"connections":         fixture.ConnectBody(party),
		"access":              `{"setAccess":"Yes"}`,
		"entitlements":        `{"bank_id":"","role_name":"CanManageParties"}`,
		"views":               `{"name":"sweep extra","description":"x","is_public":false,"which_alias_to_use":"none","hide_metadata_if_alias_used":false,"allowed_actions":["can_see_transaction_amount"]}`,
		"views/{VIEW_ID}":     `{"description":"updated","is_public":false,"which_alias_to_use":"private","hide_metadata_if_alias_used":false,"allowed_actions":` + flags + `}`,
		"permissions/views":   `{"views":["` + customView + `"]}`,
		"narrative":           `{"narrative":"n"}`,
		"comments":            `{"value":"c"}`,
		"tags":                `{"value":"t"}`,
		"images":              `{"label":"l","URL":"https://example.com/i.png"}`,
		"where":               `{"where":{"latitude":1.5,"longitude":2.5}}`,
		"public_alias":        `{"alias":"a"}`,
		"private_alias":       `{"alias":"a"}`,
		"more_info":           `{"more_info":"m"}`,
		"url":                 `{"URL":"https://example.com"}`,
		"image_url":           `{"image_URL":"https://example.com/i.png"}`,
		"open_corporates_url": `{"open_corporates_URL":"https://example.com"}`,
		"corporate_location":  `{"corporate_location":{"latitude":1,"longitude":2}}`,
		"physical_location":   `{"physical_location":{"latitude":1,"longitude":2}}`,
		// A v6 callback sent now (older ones are refused).
		"saltedge/{kind}": `{"data":{"customer_id":"` + code + `-customer","connection_id":"1","stage":"finish"},"meta":{"version":"6","time":"` + time.Now().UTC().Format(time.RFC3339) + `"}}`,
		"webhooks/{name}": `{"url":"http://127.0.0.1:9/sweep","events":["import.completed","connection.status_changed"]}`,
		// finAPI (the ids are filled in by restoreFinAPI).
		"bankConnections/{id}": `{"name":"sweep"}`,
	}
}

// calls lists every route of every group, the VIEW_ID routes once per
// private view of alice's.
func (s *sweep) calls() []call {
	var out []call
	for _, g := range groups(s.t, s.a) {
		for _, rt := range g.Routes {
			s.routeCount++
			c := call{rt: rt, key: rt.Method + " " + rt.Path}
			if !strings.Contains(rt.Path, "{VIEW_ID}") {
				out = append(out, c)
				continue
			}
			for _, v := range []string{"owner", s.customView} {
				c.view = v
				out = append(out, c)
			}
		}
	}
	if s.routeCount == 0 {
		s.t.Fatal("no routes")
	}
	return out
}

// param normalizes a path parameter's name: "ACCOUNT_ID" and "accountId"
// are both "accountid".
func param(seg string) (string, bool) {
	if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
		return "", false
	}
	return strings.ToLower(strings.ReplaceAll(strings.Trim(seg, "{}"), "_", "")), true
}

// path fills c's parameters with alice's ids; the parameter at index
// replace (of the path's segments) gets raw instead.
func (s *sweep) path(c call, replace int, raw string) string {
	segs := strings.Split(c.rt.Path, "/")
	for i, seg := range segs {
		name, ok := param(seg)
		switch {
		case !ok:
			continue
		case i == replace:
			segs[i] = raw
		case name == "viewid":
			segs[i] = c.view
		case name == "bank" && i+1 < len(segs) && segs[i+1] == "provider":
			// /system/banks/{bank}/provider/{providername}: the bank code.
			segs[i] = s.ids["bankcode"]
		case name == "id" && s.finIDs[segs[i-1]] != "":
			// finAPI: {id} is a connection, bank, account, transaction or
			// category id, by the segment before it.
			segs[i] = s.finIDs[segs[i-1]]
		default:
			v, ok := s.ids[name]
			if !ok {
				v = "sweep-" + name // a plausible value
			}
			segs[i] = v
		}
	}
	return strings.Join(segs, "/")
}

// params are the segment indexes of c's path parameters.
func params(c call) []int {
	var out []int
	for i, seg := range strings.Split(c.rt.Path, "/") {
		if _, ok := param(seg); ok {
			out = append(out, i)
		}
	}
	return out
}

// body is c's valid body and its content type ("" for none).
func (s *sweep) body(c call) (string, string) {
	switch {
	case c.rt.Method == http.MethodGet || c.rt.Method == http.MethodDelete:
		return "", ""
	case c.rt.Path == "/connect/sessions":
		f := url.Values{"token": s.connect["token"], "username": s.connect["username"], "password": s.connect["password"]}
		return "application/x-www-form-urlencoded", f.Encode()
	case c.rt.Path == "/connect/sessions/challenge":
		f := url.Values{"token": s.connect["token"], "answer": s.connect["answer"]}
		return "application/x-www-form-urlencoded", f.Encode()
	case c.rt.Path == "/connect/sessions/cancel":
		return "application/x-www-form-urlencoded", url.Values{"token": s.connect["token"]}.Encode()
	}
	segs := strings.Split(c.rt.Path, "/")
	last, prev := segs[len(segs)-1], segs[len(segs)-2]
	for _, k := range []string{prev + "/" + last, last} {
		if strings.Contains(c.rt.Path, "/permissions/") && k == "views" {
			k = "permissions/views"
		}
		if b, ok := s.bodies[k]; ok {
			return "application/json", b
		}
	}
	return "application/json", "{}"
}

// answer is what one request got, and what it wrote.
type answer struct {
	label, method, path string
	code                int
	header              http.Header
	body                string
	group               string   // the group whose access log line the request wrote
	writes              []string // store writes and queue sends
	errs                []string // error-level log messages
}

// do sends one request through the handler.
func (s *sweep) do(method, target, tok, contentType, body string, header map[string]string) answer {
	s.requests++
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if strings.HasPrefix(req.URL.Path, "/callbacks/") {
		// Signed as Salt Edge signs, so the body is what gets refused.
		sig, err := saltedgetest.SignCallback(s.privPEM, s.a.Config.PublicURL+req.URL.Path, []byte(body))
		if err != nil {
			s.t.Fatal(err)
		}
		req.Header.Set("Signature", sig)
	}
	s.st.reset()
	s.log.reset()
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	group, errs := s.log.get()
	s.statuses[rec.Code]++
	return answer{method: method, path: req.URL.Path, code: rec.Code, header: rec.Header(), body: rec.Body.String(),
		group: group, writes: s.st.ops(), errs: errs}
}

// fail reports a finding (the first 60 in detail).
func (s *sweep) fail(t *testing.T, a answer, format string, args ...any) {
	t.Helper()
	s.failures++
	if s.failures <= 60 {
		t.Errorf("%s: %s %s → %d %.300s: %s", a.label, a.method, a.path, a.code, a.body, fmt.Sprintf(format, args...))
	} else if s.failures == 61 {
		t.Error("more findings not shown")
	}
}

// check asserts what holds for every answer: no 5xx, no redirect, the
// dialect of the group that answered, and nothing written when refused.
func (s *sweep) check(t *testing.T, a answer) {
	t.Helper()
	if a.code >= 500 || (a.code >= 300 && a.code < 400) {
		s.fail(t, a, "status %d (log: %v)", a.code, a.errs)
	}
	if a.code >= 400 && len(a.writes) > 0 {
		s.fail(t, a, "refused, yet wrote %v", a.writes)
	}
	if err := dialect(a); err != nil {
		s.fail(t, a, "group %q: %v", a.group, err)
	}
}

// dialect checks the body against the answering group's format: the
// Aggregation groups' {"error":{code,message,requestId}}, OBP's
// {"code":<status>,"message":"OBP-…"}, the platform's {"code","message"},
// and the connect page's HTML (its routing errors are Aggregation JSON).
// A success is JSON (or empty, or the connect page).
func dialect(a answer) error {
	ct := a.header.Get("Content-Type")
	if strings.HasPrefix(ct, "text/html") {
		if a.group != "connect" || !strings.Contains(a.body, `<main data-stage="`) {
			return fmt.Errorf("HTML answer %q", ct)
		}
		return nil
	}
	if a.code < 400 {
		if a.body != "" && !json.Valid([]byte(a.body)) {
			return fmt.Errorf("success is not JSON")
		}
		return nil
	}
	if !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error content type %q", ct)
	}
	if a.code == http.StatusUnauthorized && a.header.Get("WWW-Authenticate") == "" && !strings.HasPrefix(a.path, "/callbacks/") {
		return fmt.Errorf("401 without WWW-Authenticate")
	}
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.DisallowUnknownFields()
	switch a.group {
	case "system", "party", "holdings", "connect":
		var e struct {
			Error struct {
				Code, Message, RequestID string
				NextRefreshAt            string `json:"nextRefreshAt"` // REFRESH_TOO_EARLY
			} `json:"error"`
		}
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("not the Aggregation error format: %v", err)
		}
		if e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" || e.Error.RequestID != a.header.Get(platform.RequestIDHeader) {
			return fmt.Errorf("incomplete Aggregation error %+v", e.Error)
		}
	case "finapi":
		var e struct {
			Errors []struct {
				Message, Code, Type string
			} `json:"errors"`
			Date      string `json:"date"`
			RequestID string `json:"requestId"`
		}
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("not finAPI's ErrorMessage: %v", err)
		}
		if len(e.Errors) != 1 || e.Errors[0].Code == "" || e.Errors[0].Message == "" || (e.Errors[0].Type != "BUSINESS" && e.Errors[0].Type != "TECHNICAL") ||
			e.Date == "" || e.RequestID == "" || e.RequestID != a.header.Get(platform.RequestIDHeader) {
			return fmt.Errorf("incomplete finAPI error %+v", e)
		}
	case "obp", "customers":
		var e struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("not the OBP error format: %v", err)
		}
		if e.Code == nil || *e.Code != a.code || e.Message == nil || !strings.HasPrefix(*e.Message, "OBP-") {
			return fmt.Errorf("incomplete OBP error")
		}
	case "health", "none":
		var e struct{ Code, Message string }
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("not the platform error format: %v", err)
		}
		if e.Code == "" || e.Message == "" {
			return fmt.Errorf("incomplete platform error %+v", e)
		}
	default:
		return fmt.Errorf("no access log line names the group")
	}
	return nil
}

// send sends c with its path filled (and query), its valid body.
func (s *sweep) send(c call, label, tok, query string, header map[string]string) answer {
	ct, body := s.body(c)
	target := s.path(c, -1, "")
	if query == "" && c.key == "GET /connect/sessions" {
		query = url.Values{"token": s.connect["token"]}.Encode() // the page's one parameter
	}
	if query != "" {
		target += "?" + query
	}
	a := s.do(c.rt.Method, target, tok, ct, body, header)
	a.label = label + " " + c.key + viewNote(c)
	return a
}

func viewNote(c call) string {
	if c.view == "" {
		return ""
	}
	return " [" + c.view + "]"
}

// private reports whether c needs a user: a non-public route, or an OBP
// route through one of alice's private views.
func private(c call) bool { return !c.rt.Public || c.view != "" }

// anonymous: no token, and a token that does not verify. In the OBP
// dialects the latter is a 401 on public routes too ("the client meant to
// authenticate", docs/api.md); elsewhere a public route ignores it.
func (s *sweep) anonymous(t *testing.T, calls []call) {
	for _, c := range calls {
		for _, tok := range []string{"", "not-a-jwt"} {
			a := s.send(c, "anonymous", tok, "", nil)
			s.check(t, a)
			obpBadToken := tok != "" && strings.HasPrefix(c.rt.Path, "/obp/")
			if (private(c) || obpBadToken) && (a.code != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "") {
				s.fail(t, a, "want 401 with WWW-Authenticate")
			}
		}
	}
}

func (s *sweep) crossUser(t *testing.T, calls []call) {
	leak := func(a answer) {
		t.Helper()
		for _, id := range s.leaks {
			if strings.Contains(a.body, id) {
				s.fail(t, a, "shows bob alice's %q", id)
			}
		}
	}
	for _, c := range calls {
		a := s.send(c, "bob", s.bob, "", nil)
		s.check(t, a)
		if a.code < 400 {
			leak(a)
		}
		switch want, fixed := bobStatus[c.key]; {
		case fixed:
			if a.code != want {
				s.fail(t, a, "want %d", want)
			}
		case !private(c):
			// Public by design (OBP root, banks and account lists, the
			// connect page, signed callbacks, /health): anything but a 5xx.
		case bobMay[c.key] != "":
			if a.code >= 300 {
				s.fail(t, a, "bob may: %s", bobMay[c.key])
			}
		default:
			if a.code != http.StatusUnauthorized && a.code != http.StatusForbidden && a.code != http.StatusNotFound {
				s.fail(t, a, "want 401, 403 or 404")
			}
		}
	}
	// Bob's own resources: a party of his own, his own entitlements.
	for _, own := range []struct{ method, path, body string }{
		{"POST", "/party/profiles/sweep-bob-1", "{}"},
		{"GET", "/party/profiles/sweep-bob-1/connectionDetails", ""},
		{"GET", "/obp/v2.0.0/users/bob/entitlements", ""},
		{"GET", "/obp/v2.1.0/users/bob/entitlements", ""},
		{"GET", "/obp/v1.2/banks/" + s.ids["bankcode"] + "/accounts/private", ""},
	} {
		ct := ""
		if own.body != "" {
			ct = "application/json"
		}
		a := s.do(own.method, own.path, s.bob, ct, own.body, nil)
		a.label = "bob's own"
		s.check(t, a)
		leak(a)
		if a.code >= 300 {
			s.fail(t, a, "bob may act on his own")
		}
	}
}

// badBody is one broken body for a route whose valid body is valid.
type badBody struct {
	name, contentType, body string
	want                    int // 400: the dialect's decoding error; 413; 0: any answer but a 5xx
}

func badJSON(valid string) []badBody {
	const ct = "application/json"
	big := `{"value":"` + strings.Repeat("a", platform.MaxBodyBytes) + `"}`
	out := []badBody{
		{"malformed", ct, `{"value": "x",`, 400},
		{"array", ct, "[" + valid + "]", 400},
		// A JSON null would decode as "nothing" and pass for {} or for no
		// body (issue 12, finding 3).
		{"null", ct, "null", 400},
		{"wrong type", ct, `{"data":123}`, 400},
		{"trailing data", ct, valid + ` {}`, 400},
		{"unknown field", ct, strings.TrimSuffix(strings.TrimSpace(valid), "}") + sep(valid) + `"sweep_unknown":true}`, 400},
		{"over 1 MiB", ct, big, 413},
		// Odd values in the right places: refused or taken, never a 5xx.
		{"2100-character strings", ct, mapStrings(valid, func(string) string { return strings.Repeat("x", 2100) }), 0},
		{"control and markup strings", ct, mapStrings(valid, func(v string) string { return v + "\x00\u202e<b>'\"%00" }), 0},
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal([]byte(valid), &fields)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, badBody{"wrong type of " + k, ct, replaceField(fields, k, wrongType(fields[k])), 400})
	}
	if len(keys) > 0 {
		k, _ := json.Marshal(keys[0])
		out = append(out, badBody{"duplicate key", ct, "{" + string(k) + ":" + string(fields[keys[0]]) + "," + strings.TrimPrefix(strings.TrimSpace(valid), "{"), 400})
	} else {
		out = append(out, badBody{"duplicate key", ct, `{"a":1,"a":1}`, 400})
	}
	return out
}

// mapStrings replaces every string value of the JSON document valid (at
// any depth; keys stay) with f's.
func mapStrings(valid string, f func(string) string) string {
	var v any
	if err := json.Unmarshal([]byte(valid), &v); err != nil {
		return valid
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return f(x)
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
}

func sep(valid string) string {
	if strings.TrimSpace(valid) == "{}" {
		return ""
	}
	return ","
}

// wrongType is a JSON value of another type than v.
func wrongType(v json.RawMessage) json.RawMessage {
	switch strings.TrimSpace(string(v))[0] {
	case '"':
		return json.RawMessage(`123`)
	case '{', '[':
		return json.RawMessage(`"x"`)
	default:
		return json.RawMessage(`{"x":1}`)
	}
}

func replaceField(fields map[string]json.RawMessage, k string, v json.RawMessage) string {
	m := make(map[string]json.RawMessage, len(fields))
	for kk, vv := range fields {
		m[kk] = vv
	}
	m[k] = v
	b, _ := json.Marshal(m)
	return string(b)
}

func badForm() []badBody {
	const ct = "application/x-www-form-urlencoded"
	return []badBody{
		{"malformed form", ct, "token=%zz&username=a", 400},
		{"JSON instead of a form", "application/json", `{"token":"x"}`, 400},
		{"no content type", "", "token=x&username=a&password=b", 400},
		{"over 1 MiB", ct, "token=" + strings.Repeat("a", platform.MaxBodyBytes), 413},
		{"invalid UTF-8 token", ct, "token=%FF%FEx&username=a&password=b&answer=1", 0},
		{"2100-character token", ct, "token=" + strings.Repeat("d", 2100) + "&username=a&password=b&answer=1", 0},
		{"NUL token", ct, "token=%00&username=%00&password=%00&answer=%00", 0},
	}
}

// decodeError reports an answer refusing a body as such: the platform's
// decoding codes in the Aggregation format, OBP-10001, the connect page's
// "Bad form".
func decodeError(a answer) bool {
	return a.code == http.StatusRequestEntityTooLarge ||
		(a.code == http.StatusBadRequest && (strings.Contains(a.body, `"code":"`+platform.CodeMalformedJSON+`"`) ||
			strings.Contains(a.body, "OBP-10001") || strings.Contains(a.body, "Bad form") ||
			(a.group == "finapi" && strings.Contains(a.body, `"code":"BAD_REQUEST"`))))
}

func (s *sweep) badBodies(t *testing.T, calls []call) {
	for _, c := range calls {
		m := c.rt.Method
		if m != http.MethodPost && m != http.MethodPut && m != http.MethodDelete {
			continue
		}
		ct, valid := s.body(c)
		if valid == "" {
			valid = "{}"
		}
		cases := badJSON(valid)
		if ct == "application/x-www-form-urlencoded" {
			cases = badForm()
		}
		target := s.path(c, -1, "")
		reads := false
		for _, bb := range cases {
			if bb.body == valid {
				continue // no string to vary: a valid call, not bad input
			}
			a := s.do(m, target, s.alice, bb.contentType, bb.body, nil)
			a.label = "bad body (" + bb.name + ") " + c.key + viewNote(c)
			s.check(t, a)
			if bb.name == "malformed" || bb.name == "malformed form" {
				reads = decodeError(a)
			}
			switch {
			case bb.want == 0:
			case noBody[c.key] != "" || (m == http.MethodDelete && !reads):
				// Takes no body: what it does with one is not a bad-input case.
			case bb.name == "unknown field" && strings.HasPrefix(c.rt.Path, "/callbacks/"):
				// Salt Edge adds fields over time; the signature proved the
				// sender (internal/api/connect callbackBody).
			case bb.want == http.StatusRequestEntityTooLarge:
				if a.code != http.StatusRequestEntityTooLarge {
					s.fail(t, a, "want 413")
				}
			case !decodeError(a):
				s.fail(t, a, "want the dialect's 400 for a bad body")
			}
		}
	}
}

// garbage replaces one path parameter at a time.
var garbage = []struct{ name, raw string }{
	{"dot-dot", ".."},
	{"dot", "."},
	{"300 characters", strings.Repeat("a1", 150)},
	// Past DynamoDB's sort and partition key limits (1024, 2048 bytes),
	// which the store drivers enforce.
	{"1100 characters", strings.Repeat("b2", 550)},
	{"2100 characters", strings.Repeat("c3", 1050)},
	{"invalid UTF-8", "%FF%FEx"},
	{"NUL", "%00"},
	{"unicode", url.PathEscape("ünï€😀")},
	{"encoded slash", "a%2Fb"},
	{"markup", url.PathEscape(`<x>"'`)},
	{"space", "%20"},
	{"percent", "%25"},
}

func (s *sweep) badPaths(t *testing.T, calls []call) {
	for _, c := range calls {
		ct, body := s.body(c)
		for _, i := range params(c) {
			name, _ := param(strings.Split(c.rt.Path, "/")[i])
			for _, g := range garbage {
				a := s.do(c.rt.Method, s.path(c, i, g.raw), s.alice, ct, body, nil)
				a.label = "garbage " + g.name + " in {" + name + "} " + c.key + viewNote(c)
				s.check(t, a)
				if raw, _ := url.PathUnescape(g.raw); a.code < 400 && (name != anyUserID || !auth.ValidUserID(raw)) {
					s.fail(t, a, "garbage in a path parameter accepted")
				}
			}
		}
	}
}

var badQueries = []string{
	"limit=abc&from=garbage&to=2020-13-45&pageToken=garbage&token=garbage",
	"limit=0&from=2025-02-10&to=2020-01-01",
	"limit=1000000&pageToken=" + strings.Repeat("A", 300),
	"limit=%zz&%zz=1&from=%00",
	"limit=1&limit=2&from=&to=&token=",
	"token=" + url.QueryEscape("ü\x00<x>"),
	"token=%FF%FE&from=%FF&to=%FF&limit=%FF&pageToken=%FF",
	"token=" + strings.Repeat("e", 2100) + "&pageToken=" + strings.Repeat("e", 2100),
}

var badHeaders = []map[string]string{
	{"obp_limit": "-1"}, {"obp_limit": "abc"}, {"obp_limit": "100000"},
	{"obp_offset": "-1"}, {"obp_offset": "99999999999999999999"},
	{"obp_sort_direction": "sideways"}, {"obp_sort_by": "nope"},
	{"obp_from_date": "garbage"}, {"obp_to_date": "2020-13-45T00:00:00.000Z"},
	{"obp_from_date": "2030-01-01T00:00:00.000Z", "obp_to_date": "2000-01-01T00:00:00.000Z"},
	{"X-Request-Id": strings.Repeat("x", 300) + "\t"},
}

func (s *sweep) badQueries(t *testing.T, calls []call) {
	for _, c := range calls {
		// First alice's own valid call: it succeeds (her ids are real)
		// but where aliceStatus says why not.
		a := s.send(c, "alice", s.alice, "", nil)
		s.check(t, a)
		if want, ok := aliceStatus[c.key+viewNote(c)]; (ok && a.code != want) || (!ok && a.code >= 300) {
			s.fail(t, a, "alice's valid call: want %d (0: a 2xx)", want)
		}
		for _, q := range badQueries {
			s.check(t, s.send(c, "bad query "+q[:min(len(q), 40)], s.alice, q, nil))
		}
		for _, h := range badHeaders {
			s.check(t, s.send(c, fmt.Sprintf("bad header %.60v", h), s.alice, "", h))
		}
	}
}

// deletesLast orders the calls of a phase acting as alice: a DELETE that
// succeeds takes away what later calls would use, so the DELETEs come
// last, children before parents: the data seen through a view, then the
// rest by path depth (a view grant before removing the connection, which
// deletes every account).
func deletesLast(calls []call) []call {
	calls = slices.Clone(calls)
	rank := func(c call) int {
		switch {
		case c.rt.Method != http.MethodDelete:
			return 0
		case strings.Contains(c.rt.Path, "/{VIEW_ID}/"):
			return 1 // data seen through a view, before the view grants
		default:
			return 200 - strings.Count(c.rt.Path, "/")
		}
	}
	slices.SortStableFunc(calls, func(x, y call) int { return rank(x) - rank(y) })
	return calls
}

// countingStore records every write that changed the store: a Put,
// Update, Delete, BatchWrite or Transact that succeeded. A conditional
// write whose condition failed wrote nothing (the uniqueness rules are
// conditional writes, not read-then-write: DESIGN.md), so a refusal may
// come from one.
type countingStore struct {
	store.Store
	mu     sync.Mutex
	writes []string
}

func (c *countingStore) record(op string, err error) {
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, op)
}

func (c *countingStore) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = nil
}

func (c *countingStore) ops() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writes)
}

func (c *countingStore) Put(ctx context.Context, it store.Item, cond store.Condition) error {
	err := c.Store.Put(ctx, it, cond)
	c.record("Put "+it.Key().String(), err)
	return err
}

func (c *countingStore) Update(ctx context.Context, it store.Item) (int64, error) {
	v, err := c.Store.Update(ctx, it)
	c.record("Update "+it.Key().String(), err)
	return v, err
}

func (c *countingStore) Delete(ctx context.Context, k store.Key, cond store.Condition) error {
	err := c.Store.Delete(ctx, k, cond)
	c.record("Delete "+k.String(), err)
	return err
}

func (c *countingStore) BatchWrite(ctx context.Context, puts []store.Item, deletes []store.Key) error {
	err := c.Store.BatchWrite(ctx, puts, deletes)
	c.record(fmt.Sprintf("BatchWrite %d puts %d deletes", len(puts), len(deletes)), err)
	return err
}

func (c *countingStore) Transact(ctx context.Context, ops []store.TxOp) error {
	err := c.Store.Transact(ctx, ops)
	keys := make([]string, 0, len(ops))
	for _, op := range ops {
		keys = append(keys, op.OpKey().String())
	}
	c.record("Transact "+strings.Join(keys, ", "), err)
	return err
}

// countingSender records queue sends beside the store's writes.
type countingSender struct {
	queue.Sender
	st *countingStore
}

func (c *countingSender) Send(ctx context.Context, queueName string, job queue.Job, delay time.Duration) error {
	err := c.Sender.Send(ctx, queueName, job, delay)
	c.st.record("Send "+queueName+" "+job.Type, err)
	return err
}

// captureLog keeps, per request, the group of the access log line and the
// error-level messages.
type captureLog struct {
	mu    sync.Mutex
	group string
	errs  []string
}

func (c *captureLog) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.group, c.errs = "", nil
}

func (c *captureLog) get() (string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.group, slices.Clone(c.errs)
}

func (c *captureLog) Enabled(context.Context, slog.Level) bool { return true }

func (c *captureLog) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Message == "request" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "group" {
				c.group = a.Value.String()
			}
			return true
		})
	}
	if r.Level >= slog.LevelError {
		var b bytes.Buffer
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		c.errs = append(c.errs, b.String())
	}
	return nil
}

func (c *captureLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captureLog) WithGroup(string) slog.Handler      { return c }

// restoreFinAPI gives alice a finAPI demo connection, downloaded and
// categorized, when she has none (a phase's DELETEs removed it), and points
// the finAPI path ids and bodies at it: the connection, its account, its
// first transaction, the demo bank, a category.
func (s *sweep) restoreFinAPI(tok string) {
	s.t.Helper()
	get := func(path string, v any) {
		s.t.Helper()
		code, out := serve(s.h, "GET", path, tok, "", "")
		if code != http.StatusOK {
			s.t.Fatalf("restore finAPI: GET %s: %d %s", path, code, out)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			s.t.Fatalf("restore finAPI: %v in %s", err, out)
		}
	}
	var banks struct{ Banks []struct{ ID int64 } }
	get("/api/v1/banks?search=00000000", &banks)
	if len(banks.Banks) != 1 {
		s.t.Fatalf("restore finAPI: demo bank %+v", banks)
	}
	demo := banks.Banks[0].ID
	var list struct {
		Connections []struct {
			ID         int64
			AccountIDs []int64
		}
	}
	get("/api/v1/bankConnections", &list)
	if len(list.Connections) == 0 {
		if code, out := serve(s.h, "POST", "/api/v1/bankConnections/import", tok, "application/json", fmt.Sprintf(`{"bankId":%d}`, demo)); code != http.StatusCreated {
			s.t.Fatalf("restore finAPI: import: %d %s", code, out)
		}
		for _, w := range workers(s.t, s.a) {
			s.localQ.Register(w.Queue, w.Handler, consumerConfig(w.Queue))
		}
		if err := s.localQ.Drain(context.Background()); err != nil {
			s.t.Fatal(err)
		}
		get("/api/v1/bankConnections", &list)
	}
	if len(list.Connections) != 1 || len(list.Connections[0].AccountIDs) != 1 {
		s.t.Fatalf("restore finAPI: connections %+v", list)
	}
	c := list.Connections[0]
	var txs struct{ Transactions []struct{ ID int64 } }
	get("/api/v1/transactions?view=bankView&perPage=1", &txs)
	if len(txs.Transactions) != 1 {
		s.t.Fatalf("restore finAPI: transactions %+v", txs)
	}
	s.finIDs = map[string]string{
		"bankConnections": fmt.Sprint(c.ID), "accounts": fmt.Sprint(c.AccountIDs[0]),
		"transactions": fmt.Sprint(txs.Transactions[0].ID), "banks": fmt.Sprint(demo), "categories": "301",
	}
	s.bodies["import"] = fmt.Sprintf(`{"bankId":%d}`, demo)
	s.bodies["update"] = fmt.Sprintf(`{"bankConnectionId":%d}`, c.ID)
}
