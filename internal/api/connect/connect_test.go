package connect_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

const (
	alice   = "user-alice"
	partyID = "100100"
)

var stageRE = regexp.MustCompile(`<main data-stage="([a-z]+)"`)

func stage(t *testing.T, r partytest.Response) string {
	t.Helper()
	m := stageRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no data-stage in %d %s", r.Status, r.Body)
	}
	return m[1]
}

func wantPage(t *testing.T, r partytest.Response, status int, want string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if got := stage(t, r); got != want {
		t.Fatalf("stage %s, want %s: %s", got, want, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	for h, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
		if r.Header.Get(h) != v {
			t.Fatalf("%s: %q", h, r.Header.Get(h))
		}
	}
}

type pageJSON struct {
	Stage        string `json:"stage"`
	Message      string `json:"message"`
	BankCode     string `json:"bankCode"`
	BankName     string `json:"bankName"`
	Interactive  bool   `json:"interactive"`
	Challenge    string `json:"challenge"`
	ConnectionID string `json:"connectionId"`
	Error        string `json:"error"`
	ExpiresAt    string `json:"expiresAt"`
	ReturnTo     string `json:"returnTo"`
}

func asJSON(t *testing.T, r partytest.Response) pageJSON {
	t.Helper()
	var p pageJSON
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return p
}

func conn(t *testing.T, e *partytest.Env, bank string) connection.Connection {
	t.Helper()
	it, err := e.Store.Get(e.Ctx, connection.Key(partyID, bank))
	if err != nil {
		t.Fatal(err)
	}
	c, err := connection.Decode(it)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setup is an environment on the driver's fresh store with partyID's
// profile, owned by alice (whose token it returns).
func setup(t *testing.T, d partytest.Driver) (*partytest.Env, string) {
	e := partytest.New(t, partytest.Options{Store: d.Open(t)})
	tok := e.Token(alice)
	e.CreateProfile(tok, partyID)
	return e, tok
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestLoginToOrdinaryBank(t *testing.T) {
	partytest.ForEachDriver(t, func(t *testing.T, d partytest.Driver) {
		e, tok := setup(t, d)
		token := e.CreateConnection(tok, partyID, sandbox.BankDefault)

		r := e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "")
		wantPage(t, r, 200, "login")
		for _, s := range []string{`<form method="post" action="/connect/sessions">`, `name="token" value="` + token + `"`, `name="username"`, `name="password" type="password"`, "Sandbox Bank UK"} {
			if !strings.Contains(r.Body, s) {
				t.Fatalf("page lacks %q: %s", s, r.Body)
			}
		}
		j := asJSON(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "", "Accept", "application/json"))
		if j.Stage != "login" || j.BankCode != sandbox.BankDefault || j.ExpiresAt != "2025-03-10T13:00:00Z" {
			t.Fatalf("json %+v", j)
		}

		// An incomplete form is refused without using up the token.
		wantPage(t, e.PostForm("/connect/sessions", form("token", token, "username", "alice")), 400, "login")
		wantPage(t, e.Do(http.MethodPost, "/connect/sessions", "", `{"token":"`+token+`"}`), 400, "invalid")
		wantPage(t, e.PostForm("/connect/sessions", form("username", "alice", "password", "secret")), 400, "invalid")

		r = e.Login(token)
		wantPage(t, r, 200, "done")
		c := conn(t, e, sandbox.BankDefault)
		if c.Status != connection.StatusActive || c.ProviderConnectionID == "" || c.ProviderStatus != "active" ||
			!c.NextRefresh.Equal(partytest.Start.Add(24*time.Hour)) || c.ImportRunID == "" || c.LastError != "" {
			t.Fatalf("connection %+v", c)
		}
		if !strings.Contains(r.Body, `data-connection-id="`+c.ProviderConnectionID+`"`) || !strings.Contains(r.Body, "postMessage") {
			t.Fatalf("done page: %s", r.Body)
		}
		if e.Depth(queue.Holdings) != 1 {
			t.Fatal("import not queued")
		}
		it, _ := c.Item()
		if it.GSI1PK == "" || !strings.HasPrefix(it.GSI1SK, "2025-03-11T12:00:00.000Z#"+partyID+"#") {
			t.Fatalf("refresh index keys %q %q", it.GSI1PK, it.GSI1SK)
		}

		t.Run("reused token changes nothing", func(t *testing.T) {
			wantPage(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", ""), 400, "used")
			wantPage(t, e.Login(token), 400, "used")
			wantPage(t, e.PostForm("/connect/sessions/challenge", form("token", token, "answer", "123456")), 400, "used")
			j := asJSON(t, e.PostForm("/connect/sessions", form("token", token, "username", "a", "password", "secret"), "Accept", "application/json"))
			if j.Stage != "used" {
				t.Fatalf("json %+v", j)
			}
			if got := conn(t, e, sandbox.BankDefault); got.Version != c.Version {
				t.Fatal("connection written")
			}
			if e.Depth(queue.Holdings) != 1 {
				t.Fatal("import queued again")
			}
		})
		e.Drain()
	})
}

func TestChallengeBank(t *testing.T) {
	e, tok := setup(t, partytest.Bolt())
	token := e.CreateConnection(tok, partyID, sandbox.BankChallenge)

	// The answer before the login is the wrong step: the page says so and
	// shows the login form.
	r := e.PostForm("/connect/sessions/challenge", form("token", token, "answer", sandbox.ChallengeAnswer), "Accept", "application/json")
	if j := asJSON(t, r); r.Status != http.StatusConflict || j.Stage != "login" || !strings.Contains(j.Error, "Log in first") {
		t.Fatalf("answer before the login: %d %+v", r.Status, j)
	}

	r = e.Login(token)
	wantPage(t, r, 200, "challenge")
	if !strings.Contains(r.Body, `<form method="post" action="/connect/sessions/challenge">`) || !strings.Contains(r.Body, `name="answer"`) {
		t.Fatalf("challenge page: %s", r.Body)
	}
	if c := conn(t, e, sandbox.BankChallenge); c.Status != connection.StatusPending {
		t.Fatalf("status %s", c.Status)
	}
	// Logging in again is the wrong step: the page shows the challenge.
	r = e.Login(token)
	wantPage(t, r, 409, "challenge")
	if !strings.Contains(r.Body, "waits for the answer to the question") {
		t.Fatalf("second login: %s", r.Body)
	}
	wantPage(t, e.PostForm("/connect/sessions/challenge", form("token", token, "answer", " ")), 400, "challenge")
	j := asJSON(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "", "Accept", "application/json"))
	if j.Stage != "challenge" || !j.Interactive || j.Challenge == "" {
		t.Fatalf("json %+v", j)
	}

	r = e.PostForm("/connect/sessions/challenge", form("token", token, "answer", sandbox.ChallengeAnswer), "Accept", "application/json")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if j := asJSON(t, r); j.Stage != "done" || j.ConnectionID == "" {
		t.Fatalf("json %+v", j)
	}
	if c := conn(t, e, sandbox.BankChallenge); c.Status != connection.StatusActive {
		t.Fatalf("status %s", c.Status)
	}
	e.Drain()
}

func TestFailedAttempts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bank   string
		submit func(e *partytest.Env, token string) partytest.Response
		errSub string
		connID bool
	}{
		{"wrong password", sandbox.BankDefault, func(e *partytest.Env, token string) partytest.Response {
			return e.PostForm("/connect/sessions", form("token", token, "username", "alice", "password", "guess"))
		}, "InvalidCredentials", false},
		{"wrong challenge answer", sandbox.BankChallenge, func(e *partytest.Env, token string) partytest.Response {
			e.Login(token)
			return e.PostForm("/connect/sessions/challenge", form("token", token, "answer", "000000"))
		}, "InvalidInteractiveCredentials", false},
		{"failing bank", sandbox.BankFailing, func(e *partytest.Env, token string) partytest.Response {
			return e.Login(token)
		}, "ProviderError", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tok := setup(t, partytest.Bolt())
			token := e.CreateConnection(tok, partyID, tc.bank)
			r := tc.submit(e, token)
			wantPage(t, r, 200, "failed")
			if !strings.Contains(r.Body, tc.errSub) {
				t.Fatalf("page does not say why: %s", r.Body)
			}
			c := conn(t, e, tc.bank)
			if c.Status != connection.StatusFailed || !strings.Contains(c.LastError, tc.errSub) || (c.ProviderConnectionID != "") != tc.connID {
				t.Fatalf("connection %+v", c)
			}
			if e.Depth(queue.Holdings) != 0 {
				t.Fatal("import queued")
			}
			// A load keeps the failure (the provider agrees) and the
			// details show it.
			e.Do(http.MethodGet, "/party/profiles/"+partyID+"/connections", tok, "")
			e.Drain()
			if got := conn(t, e, tc.bank); got.Status != connection.StatusFailed {
				t.Fatalf("after load %+v", got)
			}
			det := e.Do(http.MethodGet, "/party/profiles/"+partyID+"/connectionDetails", tok, "")
			if !strings.Contains(det.Body, `"status":"failed"`) || !strings.Contains(det.Body, `"lastError":"`) {
				t.Fatalf("details %s", det.Body)
			}
			// A failed connection can be started again.
			if tc.bank != sandbox.BankFailing {
				e.Connected(tok, partyID, tc.bank)
				if got := conn(t, e, tc.bank); got.Status != connection.StatusActive || got.LastError != "" {
					t.Fatalf("retry %+v", got)
				}
			}
		})
	}
}

func TestExpiredAndUnknownTokens(t *testing.T) {
	e, tok := setup(t, partytest.Bolt())
	token := e.CreateConnection(tok, partyID, sandbox.BankDefault)
	before := conn(t, e, sandbox.BankDefault)

	wantPage(t, e.Do(http.MethodGet, "/connect/sessions", "", ""), 400, "invalid")
	wantPage(t, e.Do(http.MethodGet, "/connect/sessions?token="+strings.Repeat("0", 64), "", ""), 404, "invalid")
	wantPage(t, e.Do(http.MethodGet, "/connect/sessions?token=%3Cscript%3E", "", ""), 404, "invalid")

	e.Clock.Advance(time.Hour)
	wantPage(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", ""), 410, "expired")
	wantPage(t, e.Login(token), 410, "expired")
	if after := conn(t, e, sandbox.BankDefault); after.Version != before.Version || after.Status != connection.StatusPending {
		t.Fatalf("connection changed: %+v", after)
	}
	if e.Depth(queue.Holdings)+e.Depth(queue.Connections) != 0 {
		t.Fatal("job queued")
	}
}

func TestStaleSessionCannotFailNewerOne(t *testing.T) {
	e, tok := setup(t, partytest.Bolt())
	old := e.CreateConnection(tok, partyID, sandbox.BankDefault)
	e.CreateConnection(tok, partyID, sandbox.BankDefault)
	wantPage(t, e.PostForm("/connect/sessions", form("token", old, "username", "a", "password", "wrong")), 200, "failed")
	if c := conn(t, e, sandbox.BankDefault); c.Status != connection.StatusPending || c.LastError != "" {
		t.Fatalf("newer session failed by the old one: %+v", c)
	}
}

func TestOutcomeOfUnknownConnectionStillAnswers(t *testing.T) {
	e, tok := setup(t, partytest.Bolt())
	token := e.CreateConnection(tok, partyID, sandbox.BankDefault)
	// The connection record vanished (removed) while the user logged in:
	// the page still tells the outcome, and the login is recorded as the
	// connection the provider now has.
	if err := e.Store.Delete(e.Ctx, connection.Key(partyID, sandbox.BankDefault), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	wantPage(t, e.Login(token), 200, "done")
	if c := conn(t, e, sandbox.BankDefault); c.Status != connection.StatusActive || c.OwnerSub != alice {
		t.Fatalf("%+v", c)
	}
	e.Drain()
}

// A form over the 1 MiB body limit is a 413, like a JSON body anywhere,
// and changes nothing.
func TestFormBodyLimit(t *testing.T) {
	e, tok := setup(t, partytest.Bolt())
	token := e.CreateConnection(tok, partyID, sandbox.BankDefault)
	before := conn(t, e, sandbox.BankDefault)
	big := strings.Repeat("a", 1<<20)
	for _, path := range []string{"/connect/sessions", "/connect/sessions/challenge"} {
		r := e.PostForm(path, form("token", token, "username", big, "password", sandbox.Password, "answer", big))
		wantPage(t, r, http.StatusRequestEntityTooLarge, "invalid")
		if !strings.Contains(r.Body, "exceeds 1048576 bytes") {
			t.Fatalf("%s: %s", path, r.Body)
		}
		multipart := "--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + token + "\r\n" +
			"--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n" + big + "\r\n--x--\r\n"
		r = e.Do(http.MethodPost, path, "", multipart, "Content-Type", "multipart/form-data; boundary=x")
		wantPage(t, r, http.StatusRequestEntityTooLarge, "invalid")
	}
	if after := conn(t, e, sandbox.BankDefault); after.Version != before.Version || after.Status != connection.StatusPending {
		t.Fatalf("connection changed: %+v", after)
	}
	wantPage(t, e.Login(token), http.StatusOK, "done") // the token was not used up
}
