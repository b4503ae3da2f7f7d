package party_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/aggregation"
	partyapi "github.com/openagg/openagg/internal/api/party"
	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

const (
	alice   = "user-alice"
	bob     = "user-bob"
	partyID = "100100"
)

// errorOf decodes an Aggregation error body strictly.
func errorOf(t *testing.T, r partytest.Response) aggregation.ErrorDetail {
	t.Helper()
	var b aggregation.ErrorBody
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an error body (%v): %d %s", err, r.Status, r.Body)
	}
	return b.Error
}

func wantError(t *testing.T, r partytest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if got := errorOf(t, r).Code; got != code {
		t.Fatalf("error code %s, want %s: %s", got, code, r.Body)
	}
}

func decode[T any](t *testing.T, r partytest.Response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	return v
}

func exists(t *testing.T, e *partytest.Env, k store.Key) bool {
	t.Helper()
	_, err := e.Store.Get(e.Ctx, k)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func storedConn(t *testing.T, e *partytest.Env, party, bank string) connection.Connection {
	t.Helper()
	it, err := e.Store.Get(e.Ctx, connection.Key(party, bank))
	if err != nil {
		t.Fatalf("connection %s/%s: %v", party, bank, err)
	}
	c, err := connection.Decode(it)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateProfile(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tokA, tokB := e.Token(alice), e.Token(bob)

	t.Run("errors write nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, token, body string
			status                  int
			code                    string
		}{
			{"no token", "/party/profiles/" + partyID, "", "{}", 401, "UNAUTHENTICATED"},
			{"bad token", "/party/profiles/" + partyID, tokA + "x", "{}", 401, "INVALID_TOKEN"},
			{"bad party id", "/party/profiles/bad%20id", tokA, "{}", 400, aggregation.CodeInvalidPartyID},
			{"party id too long", "/party/profiles/" + strings.Repeat("p", 65), tokA, "{}", 400, aggregation.CodeInvalidPartyID},
			{"unknown field", "/party/profiles/" + partyID, tokA, `{"name":"x"}`, 400, "MALFORMED_JSON"},
			{"malformed", "/party/profiles/" + partyID, tokA, `{`, 400, "MALFORMED_JSON"},
			{"not an object", "/party/profiles/" + partyID, tokA, `[]`, 400, "MALFORMED_JSON"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, e.Do(http.MethodPost, tc.path, tc.token, tc.body), tc.status, tc.code)
				if exists(t, e, party.ProfileKey(partyID)) {
					t.Fatal("profile written")
				}
			})
		}
	})

	r := e.Do(http.MethodPost, "/party/profiles/"+partyID, tokA, "{}")
	if r.Status != http.StatusOK {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	got := decode[partyapi.ProfileResponse](t, r)
	if !regexp.MustCompile(`^[1-9][0-9]{17}$`).MatchString(got.Data.ID) || got.Data.Identifier != "GB0010001-100100" ||
		!regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(got.Data.Secret) {
		t.Fatalf("profile %+v", got.Data)
	}
	prof, err := e.Parties.Get(e.Ctx, partyID)
	if err != nil || prof.OwnerSub != alice || prof.Customers[sandbox.Name] != got.Data.ID {
		t.Fatalf("stored profile %+v %v", prof, err)
	}
	if strings.Contains(mustGet(t, e, party.ProfileKey(partyID)), got.Data.Secret) {
		t.Fatal("customer secret stored")
	}
	pid, err := e.Parties.PartyOfCustomer(e.Ctx, sandbox.Name, got.Data.ID)
	if err != nil || pid != partyID {
		t.Fatalf("customer index: %q %v", pid, err)
	}

	// A body is optional.
	if r := e.Do(http.MethodPost, "/party/profiles/p2", tokA, ""); r.Status != http.StatusOK {
		t.Fatalf("create without body: %d %s", r.Status, r.Body)
	}

	t.Run("twice is 409 and keeps the first", func(t *testing.T) {
		for _, tok := range []string{tokA, tokB} {
			wantError(t, e.Do(http.MethodPost, "/party/profiles/"+partyID, tok, "{}"), 409, aggregation.CodeProfileExists)
		}
		if p, _ := e.Parties.Get(e.Ctx, partyID); p.OwnerSub != alice || p.Version != prof.Version {
			t.Fatalf("profile changed: %+v", p)
		}
	})

	t.Run("customer left at the provider is 409, never a second customer", func(t *testing.T) {
		// A creation that died between the provider call and the store
		// write leaves the customer at the provider only.
		if err := e.Store.Delete(e.Ctx, party.ProfileKey(partyID), store.Condition{}); err != nil {
			t.Fatal(err)
		}
		r := e.Do(http.MethodPost, "/party/profiles/"+partyID, tokA, "{}")
		wantError(t, r, 409, aggregation.CodeProfileExists)
		if exists(t, e, party.ProfileKey(partyID)) {
			t.Fatal("profile written")
		}
	})
}

func mustGet(t *testing.T, e *partytest.Env, k store.Key) string {
	t.Helper()
	it, err := e.Store.Get(e.Ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(it.Data)
}

func TestPartyAccess(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tokA := e.Token(alice)
	e.CreateProfile(tokA, partyID)
	details := "/party/profiles/" + partyID + "/connectionDetails"

	for _, tc := range []struct {
		name   string
		token  string
		path   string
		status int
		code   string
	}{
		{"owner", tokA, details, 200, ""},
		{"another user", e.Token(bob), details, 403, aggregation.CodePartyForbidden},
		{"another user, unknown party", e.Token(bob), "/party/profiles/nope/connectionDetails", 404, aggregation.CodePartyNotFound},
		{"owner, unknown party", tokA, "/party/profiles/nope/connectionDetails", 404, aggregation.CodePartyNotFound},
		{"token role", e.Token("support", party.RoleManageParties), details, 200, ""},
		{"other role", e.Token("support2", "CanCreateCustomer"), details, 403, aggregation.CodePartyForbidden},
		{"no token", "", details, 401, "UNAUTHENTICATED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(http.MethodGet, tc.path, tc.token, "")
			if tc.code == "" {
				if r.Status != tc.status {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				return
			}
			wantError(t, r, tc.status, tc.code)
		})
	}

	t.Run("stored entitlement", func(t *testing.T) {
		carol := "user-carol"
		wantError(t, e.Do(http.MethodGet, details, e.Token(carol), ""), 403, aggregation.CodePartyForbidden)
		admin := auth.Principal{Subject: "admin", Roles: []string{auth.RoleCanCreateEntitlementAtAnyBank}}
		if _, err := e.Ents.Grant(e.Ctx, admin, carol, "", party.RoleManageParties); err != nil {
			t.Fatal(err)
		}
		if r := e.Do(http.MethodGet, details, e.Token(carol), ""); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})

	// Every party route checks the owner.
	tokB := e.Token(bob)
	base := "/party/profiles/" + partyID
	for _, rt := range []struct{ method, path, body string }{
		{http.MethodPost, base + "/banks/" + sandbox.BankDefault + "/connections", partytest.ConnectBody(partyID)},
		{http.MethodGet, base + "/connections", ""},
		{http.MethodPut, base + "/banks/" + sandbox.BankDefault + "/refreshConnections", "{}"},
		{http.MethodDelete, base + "/banks/" + sandbox.BankDefault + "/removeConnections", "{}"},
	} {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			wantError(t, e.Do(rt.method, rt.path, tokB, rt.body), 403, aggregation.CodePartyForbidden)
		})
	}
	if n := e.Depth(queue.Connections); n != 0 {
		t.Fatalf("%d jobs queued by refused requests", n)
	}
}

var rfc3339Seconds = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func TestCreateConnection(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tokA := e.Token(alice)
	e.CreateProfile(tokA, partyID)
	const disabled = "sandbox_bank_oauth_client_fr_xf"
	if _, err := e.Banks.SetAccess(e.Ctx, disabled, false); err != nil {
		t.Fatal(err)
	}
	valid := partytest.ConnectBody(partyID)
	path := func(bank string) string { return "/party/profiles/" + partyID + "/banks/" + bank + "/connections" }
	rep := func(old, new string) string {
		if !strings.Contains(valid, old) {
			t.Fatalf("%q not in the body", old)
		}
		return strings.Replace(valid, old, new, 1)
	}
	repAll := func(old, new string) string { return strings.ReplaceAll(valid, old, new) }

	for _, tc := range []struct {
		name   string
		bank   string
		token  string
		body   string
		status int
		code   string
	}{
		{"missing token", sandbox.BankDefault, "", valid, 401, "UNAUTHENTICATED"},
		{"malformed JSON", sandbox.BankDefault, tokA, `{"data":{"customer_id":`, 400, "MALFORMED_JSON"},
		{"trailing data", sandbox.BankDefault, tokA, valid + "{}", 400, "MALFORMED_JSON"},
		{"empty body", sandbox.BankDefault, tokA, "", 400, "EMPTY_BODY"},
		{"no data", sandbox.BankDefault, tokA, `{}`, 400, aggregation.CodeInvalidRequest},
		{"wrong type period", sandbox.BankDefault, tokA, rep(`"period_days":"90"`, `"period_days":90`), 400, "MALFORMED_JSON"},
		{"wrong type scope", sandbox.BankDefault, tokA, rep(`"scope":["account_details","transactions_details"]`, `"scope":"account_details"`), 400, "MALFORMED_JSON"},
		{"wrong type data", sandbox.BankDefault, tokA, `{"data":[]}`, 400, "MALFORMED_JSON"},
		{"unknown field", sandbox.BankDefault, tokA, rep(`"device":"iPad"`, `"device":"iPad","colour":"red"`), 400, "MALFORMED_JSON"},
		{"unknown top field", sandbox.BankDefault, tokA, `{"data":null,"x":1}`, 400, "MALFORMED_JSON"},
		{"field in another case", sandbox.BankDefault, tokA, rep(`"device":"iPad"`, `"DEVICE":"iPad"`), 400, "MALFORMED_JSON"},
		{"top field in another case", sandbox.BankDefault, tokA, rep(`{"data":`, `{"Data":`), 400, "MALFORMED_JSON"},
		{"repeated field", sandbox.BankDefault, tokA, rep(`"device":"iPad"`, `"device":"iPad","device":"iPhone"`), 400, "MALFORMED_JSON"},
		{"repeated nested field", sandbox.BankDefault, tokA, rep(`"period_days":"90","scope"`, `"period_days":"90","period_days":"30","scope"`), 400, "MALFORMED_JSON"},
		{"missing customer", sandbox.BankDefault, tokA, rep(`"customer_id":"GB0010001-100100",`, ``), 400, aggregation.CodeInvalidRequest},
		{"missing consent", sandbox.BankDefault, tokA, `{"data":{"customer_id":"GB0010001-100100","attempt":{"from_date":"10-02-2025","period_days":"90","fetch_scope":["accounts"]}}}`, 400, aggregation.CodeInvalidRequest},
		{"missing attempt", sandbox.BankDefault, tokA, `{"data":{"customer_id":"GB0010001-100100","consent":{"from_date":"10-02-2025","period_days":"90","scope":["account_details"]}}}`, 400, aggregation.CodeInvalidRequest},
		{"missing date", sandbox.BankDefault, tokA, rep(`"from_date":"10-02-2025",`, ``), 400, aggregation.CodeInvalidRequest},
		{"date not in calendar", sandbox.BankDefault, tokA, rep(`"from_date":"10-02-2025"`, `"from_date":"29-02-2023"`), 400, aggregation.CodeInvalidDate},
		{"date ISO", sandbox.BankDefault, tokA, rep(`"from_date":"10-02-2025"`, `"from_date":"2025-02-10"`), 400, aggregation.CodeInvalidDate},
		{"date one digit", sandbox.BankDefault, tokA, rep(`"from_date":"10-02-2025"`, `"from_date":"1-2-2025"`), 400, aggregation.CodeInvalidDate},
		{"date month 13", sandbox.BankDefault, tokA, repAll(`"from_date":"10-02-2025"`, `"from_date":"10-13-2024"`), 400, aggregation.CodeInvalidDate},
		{"date in the future", sandbox.BankDefault, tokA, repAll(`"from_date":"10-02-2025"`, `"from_date":"11-03-2025"`), 400, aggregation.CodeInvalidDate},
		{"attempt before consent", sandbox.BankDefault, tokA, strings.Replace(valid, `"from_date":"10-02-2025"`, `"from_date":"11-02-2025"`, 1), 400, aggregation.CodeInvalidDate},
		{"period too long for the bank", sandbox.BankDefault, tokA, rep(`"period_days":"90"`, `"period_days":"91"`), 400, aggregation.CodePeriodTooLong},
		{"attempt period too long", sandbox.BankDefault, tokA, strings.Replace(valid, `"period_days":"90","fetch_scope"`, `"period_days":"365","fetch_scope"`, 1), 400, aggregation.CodePeriodTooLong},
		{"period huge", sandbox.BankDefault, tokA, rep(`"period_days":"90"`, `"period_days":"99999999999999999999"`), 400, aggregation.CodePeriodTooLong},
		{"period zero", sandbox.BankDefault, tokA, rep(`"period_days":"90"`, `"period_days":"0"`), 400, aggregation.CodeInvalidPeriod},
		{"period not digits", sandbox.BankDefault, tokA, rep(`"period_days":"90"`, `"period_days":"-9"`), 400, aggregation.CodeInvalidPeriod},
		{"empty consent scope", sandbox.BankDefault, tokA, rep(`"scope":["account_details","transactions_details"]`, `"scope":[]`), 400, aggregation.CodeInvalidScope},
		{"unknown consent scope", sandbox.BankDefault, tokA, rep(`"scope":["account_details","transactions_details"]`, `"scope":["string"]`), 400, aggregation.CodeInvalidScope},
		{"empty fetch scope", sandbox.BankDefault, tokA, rep(`"fetch_scope":["accounts","transactions"]`, `"fetch_scope":[]`), 400, aggregation.CodeInvalidScope},
		{"unknown fetch scope", sandbox.BankDefault, tokA, rep(`"fetch_scope":["accounts","transactions"]`, `"fetch_scope":["accounts","payments"]`), 400, aggregation.CodeInvalidScope},
		{"bad callback type", sandbox.BankDefault, tokA, rep(`"post_message"`, `"carrier_pigeon"`), 400, aggregation.CodeInvalidRequest},
		{"device too long", sandbox.BankDefault, tokA, rep(`"iPad"`, `"`+strings.Repeat("d", 257)+`"`), 400, aggregation.CodeInvalidRequest},
		{"customer_id mismatch", sandbox.BankDefault, tokA, rep(`"GB0010001-100100"`, `"GB0010001-100101"`), 400, aggregation.CodeCustomerMismatch},
		{"unknown bank", "no_such_bank_xf", tokA, valid, 404, aggregation.CodeBankNotFound},
		{"bad bank code", "bad%20bank", tokA, valid, 400, aggregation.CodeInvalidBankCode},
		{"disabled bank", disabled, tokA, valid, 403, aggregation.CodeBankAccessDisabled},
		{"inactive bank", sandbox.BankInactive, tokA, valid, 409, aggregation.CodeBankUnavailable},
		{"unsupported fetch scope", "bkbklull_oauth_client_lu_xf", tokA, rep(`"fetch_scope":["accounts","transactions"]`, `"fetch_scope":["accounts","holder_info"]`), 400, aggregation.CodeUnsupportedScope},
		{"business-only bank", "fake_business_bank_api_client_xf_xf", tokA, valid, 400, aggregation.CodeUnsupportedAccountType},
		{"unknown party", sandbox.BankDefault, tokA, valid, 404, aggregation.CodePartyNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := path(tc.bank)
			if tc.name == "unknown party" {
				p = "/party/profiles/nobody/banks/" + tc.bank + "/connections"
			}
			before := e.Store.Calls()
			r := e.Do(http.MethodPost, p, tc.token, tc.body)
			calls := e.Store.Calls() - before
			wantError(t, r, tc.status, tc.code)
			if tc.bank != "bad%20bank" && exists(t, e, connection.Key(partyID, tc.bank)) {
				t.Fatal("connection written")
			}
			if e.Depth(queue.Connections)+e.Depth(queue.Holdings) != 0 {
				t.Fatal("job queued")
			}
			if calls > 2 {
				t.Fatalf("%d store calls for a refused request", calls)
			}
		})
	}

	before := e.Store.Calls()
	r := e.Do(http.MethodPost, path(sandbox.BankDefault), tokA, valid)
	if r.Status != http.StatusOK {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	t.Logf("create connection: %d store calls (profile+connection BatchGet, bank BatchGet, connection put, plus the sandbox's session)", e.Store.Calls()-before)
	got := decode[partyapi.ConnectResponse](t, r)
	if !rfc3339Seconds.MatchString(got.Data.ExpiresAt) {
		t.Fatalf("expires_at %q", got.Data.ExpiresAt)
	}
	if exp, _ := time.Parse(time.RFC3339, got.Data.ExpiresAt); !exp.Equal(partytest.Start.Add(time.Hour)) {
		t.Fatalf("expires_at %s", exp)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(partytest.PublicURL) + `/connect/sessions\?token=[0-9a-f]{64}$`).MatchString(got.Data.ConnectURL) {
		t.Fatalf("connect_url %q", got.Data.ConnectURL)
	}
	c := storedConn(t, e, partyID, sandbox.BankDefault)
	token := got.Data.ConnectURL[len(got.Data.ConnectURL)-64:]
	if c.Status != connection.StatusPending || c.ConnectTokenHash != connection.TokenHash(token) || c.OwnerSub != alice ||
		c.BankName != "Sandbox Bank UK" || c.Country != "GB" || c.Provider != sandbox.Name || !c.DailyRefresh || c.Version != 1 {
		t.Fatalf("stored %+v", c)
	}
	if strings.Contains(mustGet(t, e, connection.Key(partyID, sandbox.BankDefault)), token) {
		t.Fatal("connect token stored in clear")
	}

	// A pending connection can be started again (new token); an active
	// one cannot.
	r2 := e.Do(http.MethodPost, path(sandbox.BankDefault), tokA, valid)
	if r2.Status != http.StatusOK || r2.Body == r.Body {
		t.Fatalf("second create: %d %s", r2.Status, r2.Body)
	}
	if c2 := storedConn(t, e, partyID, sandbox.BankDefault); c2.Version != 2 || c2.ConnectTokenHash == c.ConnectTokenHash {
		t.Fatalf("restarted %+v", c2)
	}
	e.Connected(tokA, partyID, sandbox.BankDefault)
	wantError(t, e.Do(http.MethodPost, path(sandbox.BankDefault), tokA, valid), 409, aggregation.CodeConnectionExists)
}

func TestConnectionsLifecycle(t *testing.T) {
	partytest.ForEachStore(t, partytest.Options{}, func(t *testing.T, e *partytest.Env) {
		tokA := e.Token(alice)
		e.CreateProfile(tokA, partyID)
		base := "/party/profiles/" + partyID

		// Details of a party without connections.
		r := e.Do(http.MethodGet, base+"/connectionDetails", tokA, "")
		if r.Status != 200 || r.Body != "{\"connections\":[]}\n" {
			t.Fatalf("empty details: %d %q", r.Status, r.Body)
		}

		e.Connected(tokA, partyID, sandbox.BankDefault)
		e.Connected(tokA, partyID, sandbox.BankChallenge)
		e.CreateConnection(tokA, partyID, "sandbox_bank_oauth_client_de_xf") // left pending

		before := e.Store.Calls()
		r = e.Do(http.MethodGet, base+"/connectionDetails", tokA, "")
		if calls := e.Store.Calls() - before; calls != 1 {
			t.Fatalf("details: %d store calls, want 1", calls)
		}
		if r.Status != 200 {
			t.Fatalf("details: %d %s", r.Status, r.Body)
		}
		det := decode[partyapi.DetailsResponse](t, r)
		if len(det.Connections) != 3 {
			t.Fatalf("details: %s", r.Body)
		}
		byBank := map[string]partyapi.ConnectionDetail{}
		for _, c := range det.Connections {
			byBank[c.BankCode] = c
		}
		def := byBank[sandbox.BankDefault]
		next := partytest.Start.Add(24 * time.Hour).Format(time.RFC3339)
		if def.DigitalProfileID != "GB0010001-100100" || def.Provider != "sandbox" || def.BankName != "Sandbox Bank UK" ||
			def.Status != "active" || def.ProviderConnectionStatus != "active" || def.CountryCode != "GB" ||
			def.NextRefresh != next || !rfc3339Seconds.MatchString(def.CreatedAt) {
			t.Fatalf("default bank detail %+v", def)
		}
		if def.Import == nil || def.Import.State != "done" || def.Import.Accounts < 1 || def.Import.Transactions < 1 || def.Import.LastImportAt == "" {
			t.Fatalf("import progress %+v", def.Import)
		}
		if ch := byBank[sandbox.BankChallenge]; ch.Status != "active" || ch.Import.State != "done" {
			t.Fatalf("challenge bank %+v %+v", ch, ch.Import)
		}
		if pe := byBank["sandbox_bank_oauth_client_de_xf"]; pe.Status != "pending" || pe.NextRefresh != "" || pe.Import.State != "none" {
			t.Fatalf("pending %+v %+v", pe, pe.Import)
		}
		accounts, err := e.Holdings.Accounts(e.Ctx, partyID)
		if err != nil || len(accounts) < 2 {
			t.Fatalf("imported accounts %d %v", len(accounts), err)
		}

		t.Run("load connections", func(t *testing.T) {
			e.Settle()
			r := e.Do(http.MethodGet, base+"/connections", tokA, "")
			if r.Status != http.StatusAccepted || r.Body != "{\"status\":\"Initiated : Loading Connections for Customer\"}\n" {
				t.Fatalf("%d %q", r.Status, r.Body)
			}
			if e.Depth(queue.Connections) != 1 {
				t.Fatal("no load job")
			}
			v := storedConn(t, e, partyID, sandbox.BankDefault).Version
			e.Drain()
			// Nothing changed at the provider: nothing is written.
			if c := storedConn(t, e, partyID, sandbox.BankDefault); c.Version != v {
				t.Fatalf("unchanged connection rewritten: %d → %d", v, c.Version)
			}
			// A connection the table lost is loaded back from the provider.
			if err := e.Store.Delete(e.Ctx, connection.Key(partyID, sandbox.BankChallenge), store.Condition{}); err != nil {
				t.Fatal(err)
			}
			e.Do(http.MethodGet, base+"/connections", tokA, "")
			e.Drain()
			if c := storedConn(t, e, partyID, sandbox.BankChallenge); c.Status != connection.StatusActive || c.ProviderConnectionID == "" || c.OwnerSub != alice {
				t.Fatalf("reloaded %+v", c)
			}
		})

		t.Run("refresh", func(t *testing.T) {
			path := base + "/banks/" + sandbox.BankDefault + "/refreshConnections"
			r := e.Do(http.MethodPut, path, tokA, "{}")
			wantError(t, r, 409, aggregation.CodeRefreshTooEarly)
			if !strings.Contains(errorOf(t, r).Message, "2025-03-10T13:00:00Z") {
				t.Fatalf("message does not say when: %s", r.Body)
			}
			// The time is a field too, and a Retry-After header (an HTTP date),
			// so a client need not parse the prose (issue 12, finding 8).
			var body struct {
				Error struct {
					NextRefreshAt string `json:"nextRefreshAt"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Error.NextRefreshAt != "2025-03-10T13:00:00Z" {
				t.Fatalf("nextRefreshAt %q (%v): %s", body.Error.NextRefreshAt, err, r.Body)
			}
			if got := r.Header.Get("Retry-After"); got != "Mon, 10 Mar 2025 13:00:00 GMT" {
				t.Fatalf("Retry-After %q", got)
			}
			// The domain carries the time as a typed detail, for dialects
			// that show it as a field.
			var early *connection.TooEarlyError
			if _, err := e.Conns.Refresh(e.Ctx, auth.Principal{Subject: alice}, partyID, sandbox.BankDefault); !errors.Is(err, connection.ErrRefreshTooEarly) ||
				!errors.As(err, &early) || !early.At.Equal(time.Date(2025, 3, 10, 13, 0, 0, 0, time.UTC)) {
				t.Fatalf("domain refresh too early: %v (detail %+v)", err, early)
			}
			wantError(t, e.Do(http.MethodPut, path, tokA, `{"x":1}`), 400, "MALFORMED_JSON")
			wantError(t, e.Do(http.MethodPut, base+"/banks/sandbox_bank_oauth_client_de_xf/refreshConnections", tokA, ""), 409, aggregation.CodeConnectionNotActive)
			wantError(t, e.Do(http.MethodPut, base+"/banks/"+sandbox.BankBig+"/refreshConnections", tokA, ""), 404, aggregation.CodeConnectionNotFound)
			if e.Depth(queue.Connections) != 0 {
				t.Fatal("refused refresh queued a job")
			}

			e.Clock.Advance(61 * time.Minute)
			now := e.Clock.Now()
			r = e.Do(http.MethodPut, path, tokA, "{}")
			if r.Status != 200 {
				t.Fatalf("refresh: %d %s", r.Status, r.Body)
			}
			got := decode[partyapi.RefreshResponse](t, r)
			if got.DailyRefresh != "true" || got.NextRefreshAt != now.Add(24*time.Hour).Format(time.RFC3339) || got.Message == "" {
				t.Fatalf("refresh answer %+v", got)
			}
			e.Drain()
			c := storedConn(t, e, partyID, sandbox.BankDefault)
			if !c.LastRefreshAt.Equal(now) || c.NextRefreshPossibleAt.Before(now.Add(time.Hour)) || c.ImportRunID == "" {
				t.Fatalf("after refresh %+v", c)
			}
			wantError(t, e.Do(http.MethodPut, path, tokA, ""), 409, aggregation.CodeRefreshTooEarly)
		})

		t.Run("remove", func(t *testing.T) {
			path := base + "/banks/" + sandbox.BankDefault + "/removeConnections"
			c := storedConn(t, e, partyID, sandbox.BankDefault)
			r := e.Do(http.MethodDelete, path, tokA, "{}")
			if r.Status != 200 {
				t.Fatalf("remove: %d %s", r.Status, r.Body)
			}
			got := decode[partyapi.RefreshResponse](t, r)
			if got.Message != "success" || got.DailyRefresh != "true" || got.NextRefreshAt != c.NextRefresh.Format(time.RFC3339) {
				t.Fatalf("remove answer %+v", got)
			}
			if exists(t, e, connection.Key(partyID, sandbox.BankDefault)) {
				t.Fatal("connection kept")
			}
			accounts, _ := e.Holdings.Accounts(e.Ctx, partyID)
			for _, a := range accounts {
				if a.BankCode == sandbox.BankDefault {
					t.Fatalf("account %s kept", a.ID)
				}
			}
			if _, err := e.Sandbox.RefreshConnection(e.Ctx, c.ProviderConnectionID); err == nil {
				t.Fatal("connection kept at the provider")
			}
			wantError(t, e.Do(http.MethodDelete, path, tokA, ""), 404, aggregation.CodeConnectionNotFound)
			// Gone from the details, the other connections stay.
			det := decode[partyapi.DetailsResponse](t, e.Do(http.MethodGet, base+"/connectionDetails", tokA, ""))
			if len(det.Connections) != 2 {
				t.Fatalf("details after removal: %+v", det)
			}
		})

		t.Run("remove re-runs after a partial failure", func(t *testing.T) {
			// A first run that died after marking the connection and deleting
			// it at the provider, before the data went.
			c := storedConn(t, e, partyID, sandbox.BankChallenge)
			c.Status = connection.StatusRemoving
			it, err := c.Item()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Store.Update(e.Ctx, it); err != nil {
				t.Fatal(err)
			}
			if err := e.Sandbox.DeleteConnection(e.Ctx, c.ProviderConnectionID); err != nil {
				t.Fatal(err)
			}
			// Meanwhile nothing else writes it: a load leaves it alone.
			e.Do(http.MethodGet, base+"/connections", tokA, "")
			e.Drain()
			if s := storedConn(t, e, partyID, sandbox.BankChallenge).Status; s != connection.StatusRemoving {
				t.Fatalf("status %s", s)
			}
			wantError(t, e.Do(http.MethodPost, base+"/banks/"+sandbox.BankChallenge+"/connections", tokA, partytest.ConnectBody(partyID)), 409, aggregation.CodeConnectionRemoving)
			r := e.Do(http.MethodDelete, base+"/banks/"+sandbox.BankChallenge+"/removeConnections", tokA, "")
			if r.Status != 200 {
				t.Fatalf("re-run: %d %s", r.Status, r.Body)
			}
			accounts, _ := e.Holdings.Accounts(e.Ctx, partyID)
			if len(accounts) != 0 {
				t.Fatalf("%d accounts kept", len(accounts))
			}
		})
	})
}

func TestLoadMarksConnectionsGoneAtTheProvider(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tokA := e.Token(alice)
	e.CreateProfile(tokA, partyID)
	e.Connected(tokA, partyID, sandbox.BankDefault)
	c := storedConn(t, e, partyID, sandbox.BankDefault)
	if err := e.Sandbox.DeleteConnection(e.Ctx, c.ProviderConnectionID); err != nil {
		t.Fatal(err)
	}
	e.Do(http.MethodGet, "/party/profiles/"+partyID+"/connections", tokA, "")
	e.Drain()
	got := storedConn(t, e, partyID, sandbox.BankDefault)
	if got.Status != connection.StatusRemoved || got.LastError == "" || !got.NextRefresh.IsZero() {
		t.Fatalf("after load %+v", got)
	}
	// Out of the refresh index, and connectable again.
	if it, _ := got.Item(); it.GSI1PK != "" {
		t.Fatal("still in the refresh index")
	}
	e.Connected(tokA, partyID, sandbox.BankDefault)
	if s := storedConn(t, e, partyID, sandbox.BankDefault).Status; s != connection.StatusActive {
		t.Fatalf("reconnected: %s", s)
	}
}

func TestRefreshScheduler(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tokA := e.Token(alice)
	e.CreateProfile(tokA, partyID)
	e.Connected(tokA, partyID, sandbox.BankDefault)
	e.CreateConnection(tokA, partyID, sandbox.BankChallenge) // pending: never scheduled
	for i := range 3 {
		p := "p" + string(rune('a'+i))
		e.CreateProfile(tokA, p)
		e.Connected(tokA, p, "sandbox_bank_oauth_client_de_xf")
	}
	e.Settle()

	n, err := e.Conns.RefreshDue(e.Ctx, e.Clock.Now())
	if err != nil || n != 0 {
		t.Fatalf("nothing due yet: %d %v", n, err)
	}
	e.Clock.Advance(24*time.Hour + time.Minute)
	now := e.Clock.Now()
	before := e.Store.Calls()
	n, err = e.Conns.RefreshDue(e.Ctx, now)
	if err != nil || n != 4 {
		t.Fatalf("due: %d %v", n, err)
	}
	// One index query per shard plus one version-guarded update per due
	// connection: the table is never scanned.
	if calls := e.Store.Calls() - before; calls != connection.RefreshShards+4 {
		t.Fatalf("%d store calls", calls)
	}
	c := storedConn(t, e, partyID, sandbox.BankDefault)
	if !c.NextRefresh.After(now) {
		t.Fatalf("next refresh not advanced: %s", c.NextRefresh)
	}
	if n, _ := e.Conns.RefreshDue(e.Ctx, now); n != 0 {
		t.Fatalf("queued again: %d", n)
	}
	if d := e.Depth(queue.Connections); d != 4 {
		t.Fatalf("%d refresh jobs", d)
	}
	e.Drain()
	c = storedConn(t, e, partyID, sandbox.BankDefault)
	if !c.LastRefreshAt.Equal(now) {
		t.Fatalf("not refreshed: %+v", c)
	}
	if s := storedConn(t, e, partyID, sandbox.BankChallenge); !s.LastRefreshAt.IsZero() {
		t.Fatal("pending connection refreshed")
	}
	if e.Depth(queue.Holdings) != 0 {
		t.Fatal("imports left")
	}
}

// Concurrent creations of one profile make exactly one profile and one
// customer; concurrent connection creations at one bank leave one
// connection, each answer a 200 or a clean 409.
func TestConcurrentCreations(t *testing.T) {
	partytest.ForEachStore(t, partytest.Options{}, func(t *testing.T, e *partytest.Env) {
		tokA := e.Token(alice)
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { statuses <- e.Do(http.MethodPost, "/party/profiles/"+partyID, tokA, "{}").Status })
		}
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for s := range statuses {
			counts[s]++
		}
		if counts[200] != 1 || counts[409] != n-1 {
			t.Fatalf("profile creations: %v", counts)
		}

		results := make(chan partytest.Response, n)
		for range n {
			wg.Go(func() {
				results <- e.Do(http.MethodPost, "/party/profiles/"+partyID+"/banks/"+sandbox.BankDefault+"/connections", tokA, partytest.ConnectBody(partyID))
			})
		}
		wg.Wait()
		close(results)
		ok := 0
		for r := range results {
			switch r.Status {
			case 200:
				ok++
			case 409:
				if code := errorOf(t, r).Code; code != aggregation.CodeConnectionConflict {
					t.Fatalf("409 %s", r.Body)
				}
			default:
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
		c := storedConn(t, e, partyID, sandbox.BankDefault)
		if ok == 0 || c.Status != connection.StatusPending || c.Version != int64(ok) {
			t.Fatalf("%d successes, stored %+v", ok, c)
		}
	})
}
