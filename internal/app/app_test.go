package app

import (
	"github.com/openagg/openagg/internal/openapi/openapitest"

	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openagg/openagg/internal/api/party/partytest/fixture"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// newTestApp builds the embedded default on a fresh data directory, with
// the environment variables of env (name, value pairs) set; it is closed
// when t ends.
func newTestApp(t testing.TB, env ...string) *App {
	t.Helper()
	vars := map[string]string{"OPENAGG_DATA_DIR": t.TempDir()}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	cfg, err := platform.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

// token mints a token the app accepts: c with the app's issuer and
// audience.
func token(t testing.TB, a *App, c authn.Claims) string {
	t.Helper()
	c.Issuer, c.Audience = a.Config.JWTIssuer, a.Config.JWTAudience
	tok, err := authn.Mint(a.JWTKey, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// serve sends a request to h, with a bearer token and a content type when
// not empty, and returns the status and body of the answer.
func serve(h http.Handler, method, path, tok, contentType, body string) (int, string) {
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

// checked wraps h: every request and answer of the test is checked
// against the OpenAPI documents (internal/openapi).
func checked(t testing.TB, h http.Handler) http.Handler { return openapitest.Wrap(t, h) }

// groups builds every API group of a.
func groups(t testing.TB, a *App) []Group {
	t.Helper()
	gs, err := a.Groups()
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

// workers builds every worker of a.
func workers(t testing.TB, a *App) []Worker {
	t.Helper()
	ws, err := a.Workers()
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// drain runs the queued jobs (and the jobs they queue) to the end.
func drain(t testing.TB, a *App) {
	t.Helper()
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// connectSandbox loads the bank directory, then makes party's profile and
// connection to the sandbox bank as alice (her token) through the party and
// connect groups, logging in as a browser would, and drains the queues:
// when it returns, her accounts are imported.
func connectSandbox(t testing.TB, a *App, alice, party string) {
	t.Helper()
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	admin := token(t, a, authn.Claims{Sub: "admin", Roles: []string{bank.RoleManageDirectory}})
	if code, body := serve(h, http.MethodGet, "/system/banks", admin, "", ""); code != http.StatusAccepted {
		t.Fatalf("load directory: %d %s", code, body)
	}
	drain(t, a)
	if code, body := serve(h, http.MethodPost, "/party/profiles/"+party, alice, "application/json", "{}"); code != http.StatusOK {
		t.Fatalf("profile: %d %s", code, body)
	}
	code, body := serve(h, http.MethodPost, "/party/profiles/"+party+"/banks/"+sandbox.BankDefault+"/connections", alice, "application/json", fixture.ConnectBody(party))
	_, after, ok := strings.Cut(body, "token=")
	if code != http.StatusOK || !ok || len(after) < 64 {
		t.Fatalf("connection: %d %s", code, body)
	}
	form := url.Values{"token": {after[:64]}, "username": {"alice"}, "password": {sandbox.Password}}
	if code, body := serve(h, http.MethodPost, "/connect/sessions", "", "application/x-www-form-urlencoded", form.Encode()); code != http.StatusOK || !strings.Contains(body, `data-stage="done"`) {
		t.Fatalf("login: %d %s", code, body)
	}
	drain(t, a) // connection-sync queues the import; holdings-importer runs it
}

func TestNewEmbedded(t *testing.T) {
	a := newTestApp(t)
	if len(a.JWTKey) != authn.KeySize || len(a.PageTokenSecret) != 32 || len(a.CredentialsKey) != 32 {
		t.Fatalf("keys: jwt %d page %d cred %d", len(a.JWTKey), len(a.PageTokenSecret), len(a.CredentialsKey))
	}
	if _, err := a.Provider("sandbox"); err != nil {
		t.Fatalf("sandbox provider: %v", err)
	}
	if _, err := a.Provider("plaid"); platform.AsError(err).Status != 400 {
		t.Fatalf("unknown provider: %v", err)
	}
	// A second App on the same data directory is refused with a clear
	// message (bbolt's file lock), not a hang.
	if _, err := New(context.Background(), a.Config); err == nil || !strings.Contains(err.Error(), "locked by another openagg process") {
		t.Fatalf("second open: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal("second Close must be a no-op:", err)
	}
}

func TestEveryGroupBuilds(t *testing.T) {
	a := newTestApp(t)
	seen := map[string]bool{}
	for _, g := range groups(t, a) {
		if g.Name == "" || seen[g.Name] {
			t.Fatalf("group name %q empty or duplicated", g.Name)
		}
		seen[g.Name] = true
		if _, err := a.Handler(g.Name); err != nil {
			t.Errorf("group %s: %v", g.Name, err)
		}
	}
	if _, err := a.HandlerFor(GroupNames()); err != nil {
		t.Fatalf("all groups on one handler: %v", err)
	}
	if _, err := a.Handler("nope"); err == nil {
		t.Fatal("unknown group: want error")
	}
	for _, w := range workers(t, a) {
		if w.Name == "" || w.Queue == "" || w.Handler == nil {
			t.Errorf("worker %+v incomplete", w)
		}
	}
	for _, name := range FunctionNames() {
		if _, err := a.Function(name); err != nil {
			t.Errorf("function %s: %v", name, err)
		}
	}
}

func TestHealthAndWhoami(t *testing.T) {
	a := newTestApp(t)
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	tok := token(t, a, authn.Claims{Sub: "alice", Name: "Alice", Roles: []string{"R1"}})
	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"health", "GET", "/health", "", 200, `"status":"ok"`},
		{"health ignores a bad token", "GET", "/health", "garbage", 200, `"status":"ok"`},
		{"whoami", "GET", "/whoami", tok, 200, `{"sub":"alice","name":"Alice","provider":"openagg-local","roles":["R1"]}`},
		{"whoami without token", "GET", "/whoami", "", 401, `"UNAUTHENTICATED"`},
		{"whoami with bad token", "GET", "/whoami", tok + "x", 401, `"INVALID_TOKEN"`},
		{"wrong method", "POST", "/health", "", 405, `"METHOD_NOT_ALLOWED"`},
		{"unknown path", "GET", "/definitely/not/here", "", 404, `"NOT_FOUND"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("got %d %s, want %d with %s", w.Code, w.Body, tc.status, tc.body)
			}
			if w.Header().Get(platform.RequestIDHeader) == "" {
				t.Error("no request id")
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestInvokeAPIGatewayEvent(t *testing.T) {
	a := newTestApp(t)
	ev := func(path string, claims map[string]string) []byte {
		e := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "GET " + path, RawPath: path,
			Headers: map[string]string{"x-request-id": "evt-1"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "gw-req", DomainName: "api.example.com",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path, SourceIP: "127.0.0.1"},
			},
		}
		if claims != nil {
			e.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			}
		}
		b, _ := json.Marshal(e)
		return b
	}
	tests := []struct {
		name, fn string
		event    []byte
		status   int
		body     string
	}{
		{"health", "health", ev("/health", nil), 200, `"status":"ok"`},
		{"claims of the authorizer are trusted", "health", ev("/whoami", map[string]string{"sub": "bob", "iss": "https://idp", "roles": "[A B]"}), 200, `"roles":["A","B"]`},
		{"no claims", "health", ev("/whoami", nil), 401, "UNAUTHENTICATED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := a.Invoke(context.Background(), tc.fn, tc.event)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.body) {
				t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
			}
			if resp.Headers[platform.RequestIDHeader] != "evt-1" {
				t.Errorf("request id header %v", resp.Headers)
			}
		})
	}
	if _, err := a.Invoke(context.Background(), "nope", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "unknown function") {
		t.Fatalf("unknown function: %v", err)
	}
	if _, err := a.Invoke(context.Background(), "health", []byte(`not json`)); err == nil {
		t.Fatal("bad event: want error")
	}
}

func TestHandlerForRoutesToTheGroupsDialect(t *testing.T) {
	a := newTestApp(t)
	dialect := func(name string) platform.ErrorRenderer {
		return func(w http.ResponseWriter, r *http.Request, err error) {
			e := platform.AsError(err)
			platform.WriteJSON(w, e.Status, map[string]string{"dialect": name, "code": e.Code})
		}
	}
	ok := func(w http.ResponseWriter, r *http.Request) { platform.WriteJSON(w, 200, "ok") }
	groups := map[string]Group{
		"one": {Name: "one", Render: dialect("one"), Routes: []platform.Route{{Method: "GET", Path: "/one/v1/things/{id}", Public: true, Handler: ok}}},
		"two": {Name: "two", Render: dialect("two"), Routes: []platform.Route{{Method: "POST", Path: "/two/v2/items", Public: true, Handler: ok}}},
	}
	// Build the handlers of test groups through the same code path.
	for name, g := range groups {
		h, err := a.buildGroupHandler(g)
		if err != nil {
			t.Fatal(err)
		}
		a.handlers[name] = h
	}
	top, err := a.handlerForGroups([]Group{groups["one"], groups["two"]})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/one/v1/things/7", 200, "ok"},
		{"POST", "/two/v2/items", 200, "ok"},
		{"DELETE", "/one/v1/things/7", 405, `"dialect":"one"`},
		{"GET", "/one/v1/unknown", 404, `"dialect":"one"`},
		{"GET", "/two/v2/items", 405, `"dialect":"two"`},
		{"GET", "/two/v2/x/y", 404, `"dialect":"two"`},
		{"GET", "/three", 404, `"NOT_FOUND"`},
		// Never a redirect (net/http's ServeMux would send these to the
		// cleaned path or to the subtree's slash): a 404 in the dialect
		// of the group the path is under.
		{"GET", "/one/v1/things/../things/7", 404, `"dialect":"one"`},
		{"POST", "/two/v2/./items", 404, `"dialect":"two"`},
		{"POST", "/two/v2//items", 404, `"dialect":"two"`},
		{"GET", "/one/v1", 404, `"dialect":"one"`},
		{"GET", "/three/../one/v1/things/7", 404, `"NOT_FOUND"`},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		top.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("%s %s: got %d %s, want %d %s", tc.method, tc.path, w.Code, w.Body, tc.status, tc.body)
		}
	}
	// A group served alone (a Lambda function) does not redirect either.
	w := httptest.NewRecorder()
	a.handlers["one"].ServeHTTP(w, httptest.NewRequest("GET", "/one/v1/things/./7", nil))
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"dialect":"one"`) {
		t.Errorf("one alone: got %d %s", w.Code, w.Body)
	}
}

// TestConfigurationErrorFailsAtBuild: a service that cannot be built (here a
// provider registry holding a nil provider, which the bank directory
// refuses) fails the function when it is built — a Lambda's init, the start
// of `openagg serve` — and never turns into per-request errors or
// per-message retries that end in a dead-letter queue.
func TestConfigurationErrorFailsAtBuild(t *testing.T) {
	a := newTestApp(t)
	a.Providers["broken"] = nil
	for _, name := range []string{"directory-loader", "connection-sync", "refresh-scheduler", "system", "party", "connect", "holdings", "obp", "customers"} {
		if _, err := a.Function(name); err == nil {
			t.Errorf("function %s built over a broken provider registry", name)
		}
	}
	if _, err := a.HandlerFor(GroupNames()); err == nil {
		t.Error("serve's handler built over a broken provider registry")
	}
	if _, err := a.Workers(); err == nil {
		t.Error("workers built over a broken provider registry")
	}
	// What needs no provider still builds.
	if _, err := a.Function("health"); err != nil {
		t.Errorf("health: %v", err)
	}
}
