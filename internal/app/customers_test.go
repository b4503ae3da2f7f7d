package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/party/partytest/fixture"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
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
	h = checked(t, h)
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

// TestRolesCatalogue: every role a group checks can be granted, in its
// OBP scope.
func TestRolesCatalogue(t *testing.T) {
	for _, role := range []string{bank.RoleManageDirectory, party.RoleManageParties, customer.RoleGetCustomersAtAnyBank} {
		if r, ok := auth.LookupRole(role); !ok || r.BankLevel {
			t.Errorf("%s: in catalogue %v, bank level %v (want a system role)", role, ok, r.BankLevel)
		}
	}
	for _, role := range []string{customer.RoleGetCustomersAtOneBank} {
		if r, ok := auth.LookupRole(role); !ok || !r.BankLevel {
			t.Errorf("%s: in catalogue %v, bank level %v (want a bank role)", role, ok, r.BankLevel)
		}
	}
}

// TestCRMEventsFromSandbox: CRM events have real content. Alice connects
// a sandbox bank through the Aggregation API and the connect page, her
// accounts are imported, refreshed by hand and by the daily schedule, her
// consent nears its end, a connection to the failing bank fails, and she
// removes a connection: each of these becomes a CRM event of the customer
// a teller linked to her at that bank, with its channel, visible to her
// and to the bank's managers, not to others; newest first. The whole stack
// as `openagg serve` runs it, on a clock the test moves.
func TestCRMEventsFromSandbox(t *testing.T) {
	clock := clocktest.New(time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	cfg, err := platform.LoadConfig(func(k string) string {
		return map[string]string{"OPENAGG_DATA_DIR": t.TempDir()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewWith(context.Background(), cfg, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	call := func(method, path, sub, body string, roles ...string) (int, string) {
		t.Helper()
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		return serve(h, method, path, token(t, a, authn.Claims{Sub: sub, Name: sub, Roles: roles, Now: clock.Now()}), ct, body)
	}
	must := func(status int, method, path, sub, body string, roles ...string) string {
		t.Helper()
		code, out := call(method, path, sub, body, roles...)
		if code != status {
			t.Fatalf("%s %s as %s: %d %s", method, path, sub, code, out)
		}
		return out
	}
	login := func(connectBody string, bankCode string) {
		t.Helper()
		_, after, ok := strings.Cut(connectBody, "token=")
		if !ok || len(after) < 64 {
			t.Fatalf("no connect token in %s", connectBody)
		}
		form := url.Values{"token": {after[:64]}, "username": {"alice"}, "password": {sandbox.Password}}
		if code, body := serve(h, http.MethodPost, "/connect/sessions", "", "application/x-www-form-urlencoded", form.Encode()); code != http.StatusOK {
			t.Fatalf("login at %s: %d %.300s", bankCode, code, body)
		}
	}
	type event struct {
		ID, BankID, CustomerName, CustomerNumber, Category, Detail, Channel, Result string
		ScheduledDate                                                               string `json:"scheduled_date"`
		ActualDate                                                                  string `json:"actual_date"`
	}
	events := func(sub, bankCode string, roles ...string) []event {
		t.Helper()
		var out struct {
			CrmEvents []struct {
				ID             string `json:"id"`
				BankID         string `json:"bank_id"`
				CustomerName   string `json:"customer_name"`
				CustomerNumber string `json:"customer_number"`
				Category       string `json:"category"`
				Detail         string `json:"detail"`
				Channel        string `json:"channel"`
				ScheduledDate  string `json:"scheduled_date"`
				ActualDate     string `json:"actual_date"`
				Result         string `json:"result"`
			} `json:"crm_events"`
		}
		body := must(200, http.MethodGet, "/obp/v1.4.0/banks/"+bankCode+"/crm-events", sub, "", roles...)
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		evs := make([]event, len(out.CrmEvents))
		for i, e := range out.CrmEvents {
			evs[i] = event{e.ID, e.BankID, e.CustomerName, e.CustomerNumber, e.Category, e.Detail, e.Channel, e.Result, e.ScheduledDate, e.ActualDate}
		}
		return evs
	}
	summary := func(evs []event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.Category+" / "+e.Channel+" / "+e.Result)
		}
		return out
	}
	const party, bankCode = "crm-alice-1", sandbox.BankDefault
	step := func() { clock.Advance(time.Minute) }

	must(http.StatusAccepted, http.MethodGet, "/system/banks", "admin", "", bank.RoleManageDirectory)
	drain(t, a)
	must(200, http.MethodPost, "/party/profiles/"+party, "alice", "{}")
	// Before she has used OpenAgg, alice is not a user a teller can make a
	// customer for (OBP-20005).
	teller := []string{auth.RoleCanCreateCustomer, auth.RoleCanCreateUserCustomerLink}
	customerBody := func(user, number string) string {
		return `{"user_id":"` + user + `","customer_number":"` + number + `","legal_name":"Alice Liddell","mobile_phone_number":"+44 7000 000001",` +
			`"email":"alice@example.com","face_image":{"url":"https://example.com/alice.png","date":"2025-01-01T00:00:00Z"},` +
			`"date_of_birth":"1990-05-04T00:00:00Z","relationship_status":"single","dependants":0,"dob_of_dependants":[],` +
			`"credit_rating":{"rating":"A","source":"bureau"},"credit_limit":{"currency":"GBP","amount":"2500.00"},` +
			`"highest_education_attained":"Master","employment_status":"employed","kyc_status":true,"last_ok_date":"2025-03-01T00:00:00Z"}`
	}
	if code, body := call(http.MethodPost, "/obp/v2.1.0/banks/"+bankCode+"/customers", "teller", customerBody("alice", "AL-1"), teller...); code != 404 || !strings.Contains(body, "OBP-20005") {
		t.Fatalf("customer of an unknown alice: %d %s", code, body)
	}
	// She starts a connection (Aggregation API): once the activity
	// recorder has run, OpenAgg has seen her; she has no customer yet, so no
	// event is recorded.
	step()
	connect := must(200, http.MethodPost, "/party/profiles/"+party+"/banks/"+bankCode+"/connections", "alice", fixture.ConnectBody(party))
	connectedAt := clock.Now()
	drain(t, a)
	must(201, http.MethodPost, "/obp/v2.1.0/banks/"+bankCode+"/customers", "teller", customerBody("alice", "AL-1"), teller...)
	if evs := events("alice", bankCode); len(evs) != 0 {
		t.Fatalf("events before any activity of a linked customer: %v", summary(evs))
	}

	// The connect page: activated; the import runs (drain) a minute later.
	step()
	login(connect, bankCode)
	step()
	drain(t, a)
	evs := events("alice", bankCode)
	if got, want := summary(evs), []string{
		"Import completed / connect page / done",
		"Connection activated / connect page / active",
	}; !slices.Equal(got, want) {
		t.Fatalf("after the connect: %q, want %q", got, want)
	}
	imp := evs[0]
	if imp.BankID != bankCode || imp.CustomerNumber != "AL-1" || imp.CustomerName != "Alice Liddell" || !regexp.MustCompile(`^Imported 1 account and [0-9]+ transactions from Sandbox Bank UK\.$`).MatchString(imp.Detail) ||
		imp.ActualDate != "2025-03-10T12:03:00Z" || imp.ScheduledDate != imp.ActualDate || len(imp.ID) != 32 {
		t.Fatalf("import event %+v", imp)
	}
	if !strings.Contains(evs[1].Detail, "Sandbox Bank UK") {
		t.Errorf("activation detail %q", evs[1].Detail)
	}
	// Bob sees none; a manager of the bank (role at that bank) sees them;
	// at another bank neither alice nor the manager sees any.
	if evs := events("bob", bankCode); len(evs) != 0 {
		t.Fatalf("bob sees %v", summary(evs))
	}
	if got := summary(events("manager", bankCode, customer.RoleGetCustomersAtOneBank)); len(got) != 2 {
		t.Fatalf("manager sees %v", got)
	}
	if got := events("alice", sandbox.BankChallenge); len(got) != 0 {
		t.Fatalf("alice at another bank: %v", summary(got))
	}

	// A manual refresh (Aggregation API) an hour later (the sandbox's
	// limit): the refresh and the import it queued carry that channel.
	clock.Advance(time.Hour)
	must(200, http.MethodPut, "/party/profiles/"+party+"/banks/"+bankCode+"/refreshConnections", "alice", "")
	step()
	drain(t, a)
	if got := summary(events("alice", bankCode))[:2]; !slices.Equal(got, []string{
		"Import completed / Aggregation API / done",
		"Connection refreshed / Aggregation API / active",
	}) && !slices.Equal(got, []string{
		"Connection refreshed / Aggregation API / active",
		"Import completed / Aggregation API / done",
	}) {
		t.Fatalf("after the refresh: %q", got)
	}

	// Six days before the consent ends (connect date + 90 days) the daily
	// refresh finds it ending: once, with its end as the scheduled date.
	end := connectedAt.AddDate(0, 0, 90)
	clock.Set(end.Add(-6 * 24 * time.Hour))
	tick, err := a.Scheduler()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		drain(t, a)
		clock.Advance(25 * time.Hour)
	}
	evs = events("alice", bankCode)
	var consent []event
	for _, e := range evs {
		if e.Category == "Consent expiring" {
			consent = append(consent, e)
		}
	}
	if len(consent) != 1 || consent[0].ScheduledDate != end.UTC().Format("2006-01-02T15:04:05Z") || consent[0].Channel != "daily refresh" ||
		consent[0].Result != "renewal needed" || !strings.Contains(consent[0].Detail, end.UTC().Format("2006-01-02")) {
		t.Fatalf("consent events %+v (all: %q)", consent, summary(evs))
	}
	if n := strings.Count(strings.Join(summary(evs), "\n"), "Connection refreshed / daily refresh / active"); n != 2 {
		t.Errorf("%d daily refreshes recorded, want 2: %q", n, summary(evs))
	}

	// The failing bank: a customer of alice's there, a connect that fails.
	failing := sandbox.BankFailing
	must(201, http.MethodPost, "/obp/v2.1.0/banks/"+failing+"/customers", "teller", customerBody("alice", "AL-DE"), auth.RoleCanCreateCustomerAtAnyBank, auth.RoleCanCreateUserCustomerLinkAtAnyBank)
	step()
	started := must(200, http.MethodPost, "/party/profiles/"+party+"/banks/"+failing+"/connections", "alice", fixture.ConnectBody(party))
	step()
	for range sandbox.Attempts { // the bank fails every try; the last ends the attempt
		login(started, failing)
	}
	drain(t, a)
	if got := summary(events("alice", failing)); !slices.Equal(got, []string{"Connection failed / connect page / failed", "Connection created / Aggregation API / pending"}) {
		t.Fatalf("failing bank: %q", got)
	}

	// The removal, through the Aggregation API.
	step()
	must(200, http.MethodDelete, "/party/profiles/"+party+"/banks/"+bankCode+"/removeConnections", "alice", "")
	drain(t, a) // the activity recorder
	if got := summary(events("alice", bankCode))[0]; got != "Connection removed / Aggregation API / removed" {
		t.Fatalf("after the removal: %q", got)
	}
}
