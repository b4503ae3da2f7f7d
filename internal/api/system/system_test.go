package system_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/api/system"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/storetest"
)

const (
	issuer   = "openagg-test"
	audience = "openagg"
	// bankinter is the bank the reference document prints; the sandbox
	// lists it with the same details.
	bankinter = "bkbklull_oauth_client_lu_xf"
)

var (
	discard = slog.New(slog.NewTextHandler(io.Discard, nil))
	jwtKey  = []byte("system-api-test-key-0123456789ab")
)

// server is the group's routes on the platform mux, behind the request id
// and auth middlewares, over a bolt store, the embedded queue and the
// sandbox provider.
type server struct {
	t       *testing.T
	st      store.Store
	q       *local.Queue
	clock   *clocktest.Clock
	banks   *bank.Service
	ents    *auth.Entitlements
	authn   *authn.Authenticator
	handler http.Handler
}

// forEachDriver runs fn as one subtest per driver, on a server over a fresh
// store of that driver: for the end-to-end set (the directory load, the
// access writes). The other tests run on bolt (boltStore); the drivers are
// proven equal by storetest.
func forEachDriver(t *testing.T, fn func(t *testing.T, s *server)) {
	for _, d := range storetest.Drivers("system", nil) {
		t.Run(d.Name, func(t *testing.T) { fn(t, newServer(t, d.Open(t))) })
	}
}

// boltStore is a fresh embedded store.
func boltStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "system.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newServer serves the group over st; the embedded queue lives in a bbolt
// file of its own, whatever the driver.
func newServer(t *testing.T, st store.Store) *server {
	t.Helper()
	qdb, err := bolt.Open(filepath.Join(t.TempDir(), "queue.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qdb.Close() })
	q, err := local.New(qdb.DB(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: jwtKey})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, st: st, q: q, authn: authn,
		clock: clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)),
		ents:  auth.NewEntitlements(auth.EntitlementsDeps{Store: st, SuperAdmins: []string{"root"}})}
	s.useProvider(sandbox.New(st, sandbox.Options{Clock: s.clock}))
	return s
}

// useProvider (re)builds the directory and the handler over p.
func (s *server) useProvider(p provider.Provider) {
	s.t.Helper()
	banks, err := bank.New(bank.Deps{Store: s.st, Queue: s.q, Providers: []provider.Provider{p}, Clock: s.clock, Log: discard})
	if err != nil {
		s.t.Fatal(err)
	}
	s.banks = banks
	s.q.Register(queue.Directory, queue.Consumer(discard, banks.HandleJob), local.ConsumerConfig{MaxReceiveCount: 1})
	api := system.New(system.Deps{Log: discard, Banks: banks, Roles: s.ents})
	render := func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, discard, err) }
	mux, err := platform.Mux(api.Routes(), render)
	if err != nil {
		s.t.Fatal(err)
	}
	s.handler = platform.Chain(mux, platform.RequestIDMiddleware, platform.Recover(discard, render), s.authn.Middleware)
}

func (s *server) token(sub string, roles ...string) string {
	s.t.Helper()
	tok, err := authn.Mint(jwtKey, authn.Claims{Sub: sub, Roles: roles, Issuer: issuer, Audience: audience})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *server) do(method, path, token, body string) *httptest.ResponseRecorder {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

// drain runs the directory-loader until the queue is idle.
func (s *server) drain() {
	s.t.Helper()
	if err := s.q.Drain(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	if dead, _ := s.q.DeadLetters(queue.Directory); len(dead) > 0 {
		s.t.Fatalf("directory jobs failed: %+v", dead)
	}
}

// load asks for a directory load as an admin and runs it.
func (s *server) load(adminToken string) {
	s.t.Helper()
	s.clock.Advance(time.Minute)
	rec := s.do(http.MethodGet, "/system/banks", adminToken, "")
	if rec.Code != http.StatusAccepted || rec.Body.String() != `{"Status":"Initiated: Loading all providers"}`+"\n" {
		s.t.Fatalf("load: %d %s", rec.Code, rec.Body)
	}
	s.drain()
}

func decodeBank(t *testing.T, rec *httptest.ResponseRecorder) system.Bank {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var b system.Bank
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e aggregation.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	if e.Error.Message == "" || e.Error.RequestID == "" || e.Error.RequestID != rec.Header().Get(platform.RequestIDHeader) {
		t.Errorf("error body without message or request id: %s", rec.Body)
	}
	return e.Error.Code
}

// TestGoldenBank decodes the reference document's bank object strictly and
// encodes it back: a renamed, missing or extra field fails.
func TestGoldenBank(t *testing.T) {
	golden, err := os.ReadFile("testdata/bank.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var b system.Bank
	if err := platform.DecodeJSONBytes(golden, &b); err != nil {
		t.Fatalf("reference bank object does not decode strictly: %v", err)
	}
	if b.InternalBankID != "BD2009400598" || !bank.ValidInternalID(b.InternalBankID) || b.IsActive != "active" ||
		!slices.Equal(b.SupportedFetchScopess, []string{"accounts", "transactions"}) {
		t.Errorf("decoded %+v", b)
	}
	again, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %s\nwant %s", again, golden)
	}
	// Empty lists are arrays, never null.
	empty, _ := json.Marshal(system.ToWire(bank.Bank{}))
	for _, f := range []string{"supportedAccountNaturess", "supportedFetchScopess", "supportedAccountTypess"} {
		if !bytes.Contains(empty, []byte(`"`+f+`":[]`)) {
			t.Errorf("%s is not [] in %s", f, empty)
		}
	}
}

// TestDirectoryFlow: load → read three ways → disable → reload keeps ids and
// the access flag → a bank hidden by the provider becomes inactive.
func TestDirectoryFlow(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *server) {
		admin := s.token("admin", bank.RoleManageDirectory)
		user := s.token("alice")
		s.load(admin)

		// By code and provider: the sandbox mirrors the reference document.
		byCode := decodeBank(t, s.do(http.MethodGet, "/system/banks/"+bankinter+"/provider/sandbox", user, ""))
		golden, _ := os.ReadFile("testdata/bank.golden.json")
		var want system.Bank
		if err := json.Unmarshal(golden, &want); err != nil {
			t.Fatal(err)
		}
		want.InternalBankID, want.Provider = byCode.InternalBankID, "sandbox"
		if !reflect.DeepEqual(byCode, want) {
			t.Errorf("bankinter:\n got %+v\nwant %+v", byCode, want)
		}
		if !bank.ValidInternalID(byCode.InternalBankID) {
			t.Errorf("internal id %q", byCode.InternalBankID)
		}

		// By internal id.
		byID := decodeBank(t, s.do(http.MethodGet, "/system/banks/"+byCode.InternalBankID, user, ""))
		if !reflect.DeepEqual(byID, byCode) {
			t.Errorf("by id %+v", byID)
		}

		// By country: sorted by name, contains the same object.
		country := func(cc string) []system.Bank {
			t.Helper()
			rec := s.do(http.MethodGet, "/system/countries/"+cc+"/banks", user, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("country %s: %d %s", cc, rec.Code, rec.Body)
			}
			var out []system.Bank
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		xf := country("xf")
		if len(xf) != 5 || !slices.IsSortedFunc(xf, func(a, b system.Bank) int {
			return strings.Compare(strings.ToLower(a.BankName), strings.ToLower(b.BankName))
		}) {
			t.Errorf("XF banks: %+v", xf)
		}
		i := slices.IndexFunc(xf, func(b system.Bank) bool { return b.BankCode == bankinter })
		if i < 0 || !reflect.DeepEqual(xf[i], byCode) {
			t.Errorf("bankinter in XF: %d", i)
		}
		if rec := s.do(http.MethodGet, "/system/countries/ZZ/banks", user, ""); rec.Code != http.StatusOK || rec.Body.String() != "[]\n" {
			t.Errorf("unknown country: %d %q", rec.Code, rec.Body)
		}

		// Disable, reload: same ids, still disabled.
		ids := map[string]string{}
		for _, b := range append(country("GB"), xf...) {
			ids[b.BankCode] = b.InternalBankID
		}
		if rec := s.do(http.MethodPut, "/system/bank/"+bankinter+"/access", admin, `{"setAccess":"No"}`); rec.Code != http.StatusOK ||
			rec.Body.String() != `{"Status":" Successfully modified Record, Disabled access"}`+"\n" {
			t.Fatalf("disable: %d %s", rec.Code, rec.Body)
		}
		s.load(admin)
		for _, b := range append(country("GB"), country("XF")...) {
			if ids[b.BankCode] != b.InternalBankID {
				t.Errorf("%s: id %s became %s", b.BankCode, ids[b.BankCode], b.InternalBankID)
			}
			wantActive := "active"
			if b.BankCode == bankinter {
				wantActive = "inactive"
			}
			if b.IsActive != wantActive {
				t.Errorf("%s: isActive %q after reload, want %q", b.BankCode, b.IsActive, wantActive)
			}
		}

		// The provider stops listing a bank: inactive, same id, same access.
		s.useProvider(sandbox.New(s.st, sandbox.Options{Clock: s.clock, Hidden: []string{bankinter}}))
		s.load(admin)
		hidden := decodeBank(t, s.do(http.MethodGet, "/system/banks/"+bankinter+"/provider/sandbox", user, ""))
		if hidden.ProviderStatus != "inactive" || hidden.InternalBankID != byCode.InternalBankID || hidden.IsActive != "inactive" {
			t.Errorf("hidden bank: %+v", hidden)
		}
		other := decodeBank(t, s.do(http.MethodGet, "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", user, ""))
		if other.ProviderStatus != "active" || other.IsActive != "active" {
			t.Errorf("listed bank: %+v", other)
		}
	})
}

func TestSetAccess(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *server) {
		admin := s.token("admin", bank.RoleManageDirectory)
		s.load(admin)
		// A user holding the role as a stored entitlement, granted by a super admin.
		if _, err := s.ents.Grant(context.Background(), auth.Principal{Subject: "root"}, "bob", "", bank.RoleManageDirectory); err != nil {
			t.Fatal(err)
		}
		bob := s.token("bob")
		alice := s.token("alice")
		path := "/system/bank/" + sandbox.BankDefault + "/access"
		stored := func() (int64, bool) {
			it, err := s.st.Get(context.Background(), store.Key{PK: bank.ProviderPK(sandbox.Name), SK: bank.BankSK(sandbox.BankDefault)})
			if err != nil {
				t.Fatal(err)
			}
			var b bank.Bank
			if err := json.Unmarshal(it.Data, &b); err != nil {
				t.Fatal(err)
			}
			return it.Version, b.AccessEnabled
		}

		tests := []struct {
			name     string
			token    string
			path     string
			body     string
			status   int
			wantBody string // exact, for successes
			wantCode string // error code, for failures
			enabled  bool   // stored access afterwards (successes)
		}{
			{"disable with token role", admin, path, `{"setAccess":"No"}`, 200, `{"Status":" Successfully modified Record, Disabled access"}`, "", false},
			{"disable again", admin, path, `{"setAccess":"No"}`, 200, `{"Status":" Successfully modified Record, Disabled access"}`, "", false},
			{"enable with stored entitlement", bob, path, `{"setAccess":"Yes"}`, 200, `{"Status":" Successfully modified Record, Enabled access"}`, "", true},
			{"disable with stored entitlement", bob, path, `{"setAccess":"No"}`, 200, `{"Status":" Successfully modified Record, Disabled access"}`, "", false},
			{"enable with token role", admin, path, `{"setAccess":"Yes"}`, 200, `{"Status":" Successfully modified Record, Enabled access"}`, "", true},
			{"without the role", alice, path, `{"setAccess":"No"}`, 403, "", "MISSING_ROLE", false},
			{"without the role, bad body", alice, path, `{`, 403, "", "MISSING_ROLE", false},
			{"no token", "", path, `{"setAccess":"No"}`, 401, "", "UNAUTHENTICATED", false},
			{"bad token", "not.a.jwt", path, `{"setAccess":"No"}`, 401, "", "INVALID_TOKEN", false},
			{"bad JSON", admin, path, `{"setAccess":`, 400, "", platform.CodeMalformedJSON, false},
			{"unknown field", admin, path, `{"setAccess":"No","x":1}`, 400, "", platform.CodeMalformedJSON, false},
			// encoding/json alone would take "setaccess" for setAccess and keep
			// the last value: access disabled by a body that also says "Yes".
			{"key in another case", admin, path, `{"setAccess":"Yes","setaccess":"No"}`, 400, "", platform.CodeMalformedJSON, false},
			{"only key in another case", admin, path, `{"SETACCESS":"No"}`, 400, "", platform.CodeMalformedJSON, false},
			{"repeated key", admin, path, `{"setAccess":"Yes","setAccess":"No"}`, 400, "", platform.CodeMalformedJSON, false},
			{"wrong type", admin, path, `{"setAccess":false}`, 400, "", platform.CodeMalformedJSON, false},
			{"empty body", admin, path, ``, 400, "", platform.CodeEmptyBody, false},
			{"missing setAccess", admin, path, `{}`, 400, "", "INVALID_ACCESS_VALUE", false},
			{"maybe", admin, path, `{"setAccess":"maybe"}`, 400, "", "INVALID_ACCESS_VALUE", false},
			{"lower-case yes", admin, path, `{"setAccess":"yes"}`, 400, "", "INVALID_ACCESS_VALUE", false},
			{"unknown bank", admin, "/system/bank/no_such_bank_xf/access", `{"setAccess":"No"}`, 404, "", "BANK_NOT_FOUND", false},
			{"bad bank code", admin, "/system/bank/bad%20code/access", `{"setAccess":"No"}`, 400, "", "INVALID_BANK_CODE", false},
			{"wrong method", admin, path, ``, 405, "", "METHOD_NOT_ALLOWED", false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				version, access := stored()
				method := http.MethodPut
				if tc.status == 405 {
					method = http.MethodPost
				}
				rec := s.do(method, tc.path, tc.token, tc.body)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				if tc.wantCode != "" {
					if got := errorCode(t, rec); got != tc.wantCode {
						t.Errorf("code %s, want %s", got, tc.wantCode)
					}
					if v, a := stored(); v != version || a != access {
						t.Errorf("a refused request wrote: version %d→%d, access %v→%v", version, v, access, a)
					}
					return
				}
				if rec.Body.String() != tc.wantBody+"\n" {
					t.Errorf("body %q, want %q", rec.Body, tc.wantBody)
				}
				if _, a := stored(); a != tc.enabled {
					t.Errorf("stored access %v, want %v", a, tc.enabled)
				}
				got := decodeBank(t, s.do(http.MethodGet, "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", alice, ""))
				if want := map[bool]string{true: "active", false: "inactive"}[tc.enabled]; got.IsActive != want {
					t.Errorf("isActive %q, want %q", got.IsActive, want)
				}
			})
		}
	})
}

func TestReadsAndLoadErrors(t *testing.T) {
	s := newServer(t, boltStore(t))
	admin := s.token("admin", bank.RoleManageDirectory)
	user := s.token("alice")
	s.load(admin)
	tests := []struct {
		name     string
		method   string
		path     string
		token    string
		status   int
		wantCode string
	}{
		{"load without token", "GET", "/system/banks", "", 401, "UNAUTHENTICATED"},
		{"load without role", "GET", "/system/banks", user, 403, "MISSING_ROLE"},
		{"load with wrong method", "POST", "/system/banks", admin, 405, "METHOD_NOT_ALLOWED"},
		{"bank without token", "GET", "/system/banks/" + bankinter + "/provider/sandbox", "", 401, "UNAUTHENTICATED"},
		{"unknown provider", "GET", "/system/banks/" + bankinter + "/provider/nope", user, 404, "PROVIDER_NOT_FOUND"},
		{"unknown bank", "GET", "/system/banks/no_such_bank/provider/sandbox", user, 404, "BANK_NOT_FOUND"},
		{"bad bank code", "GET", "/system/banks/a%23b/provider/sandbox", user, 400, "INVALID_BANK_CODE"},
		{"id without token", "GET", "/system/banks/BD0000000000", "", 401, "UNAUTHENTICATED"},
		{"malformed id", "GET", "/system/banks/BD123", user, 400, "INVALID_BANK_ID"},
		{"unknown id", "GET", "/system/banks/BD0000000000", user, 404, "BANK_NOT_FOUND"},
		{"country without token", "GET", "/system/countries/GB/banks", "", 401, "UNAUTHENTICATED"},
		{"three-letter country", "GET", "/system/countries/GBR/banks", user, 400, "INVALID_COUNTRY_CODE"},
		{"numeric country", "GET", "/system/countries/12/banks", user, 400, "INVALID_COUNTRY_CODE"},
		{"unknown route", "GET", "/system/nope", user, 404, "NOT_FOUND"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.do(tc.method, tc.path, tc.token, "")
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := errorCode(t, rec); got != tc.wantCode {
				t.Errorf("code %s, want %s", got, tc.wantCode)
			}
			if tc.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	// Refused loads enqueued nothing.
	if n, err := s.q.Depth(queue.Directory); err != nil || n != 0 {
		t.Errorf("queue depth %d after refused loads: %v", n, err)
	}
}
