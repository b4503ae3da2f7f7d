package connect_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
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
	Application  string `json:"application"`
	BankCode     string `json:"bankCode"`
	BankName     string `json:"bankName"`
	Interactive  bool   `json:"interactive"`
	Challenge    string `json:"challenge"`
	ConnectionID string `json:"connectionId"`
	Error        string `json:"error"`
	ErrorClass   string `json:"errorClass"`
	AttemptsLeft int    `json:"attemptsLeft"`
	ExpiresAt    string `json:"expiresAt"`
	Consent      *struct {
		Scopes     []string `json:"scopes"`
		FromDate   string   `json:"fromDate"`
		PeriodDays int      `json:"periodDays"`
	} `json:"consent"`
	ReturnTo string `json:"returnTo"`
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
		for _, s := range []string{`<form method="post" action="/connect/sessions" `, `name="token" value="` + token + `"`, `name="username"`,
			`name="password" type="password"`, "Sandbox Bank UK", `<form method="post" action="/connect/sessions/cancel" `,
			"OpenAgg asks to see", "Your accounts", "Your transactions", "10 February 2025", "90 days", "until 8 June 2025",
			`<time id="expires" datetime="2025-03-10T13:00:00Z">10 March 2025 at 13:00 UTC</time>`} {
			if !strings.Contains(r.Body, s) {
				t.Fatalf("page lacks %q: %s", s, r.Body)
			}
		}
		if strings.Contains(r.Body, "Who holds them") {
			t.Fatal("the page lists a scope the consent does not ask for")
		}
		noExternalAssets(t, r.Body)
		j := asJSON(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "", "Accept", "application/json"))
		if j.Stage != "login" || j.BankCode != sandbox.BankDefault || j.ExpiresAt != "2025-03-10T13:00:00Z" || j.Application != "OpenAgg" ||
			j.AttemptsLeft != sandbox.Attempts || j.Error != "" || j.ReturnTo != "" || j.Consent == nil ||
			!slices.Equal(j.Consent.Scopes, []string{"account_details", "transactions_details"}) || j.Consent.FromDate != "2025-02-10" || j.Consent.PeriodDays != 90 {
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
		if !strings.Contains(r.Body, `data-connection-id="`+c.ProviderConnectionID+`"`) || !strings.Contains(r.Body, "postMessage") ||
			!strings.Contains(r.Body, `\"stage\":\"done\"`) || !strings.Contains(r.Body, "You can close this window.") {
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
	if j := asJSON(t, r); r.Status != http.StatusConflict || j.Stage != "login" || !strings.Contains(j.Error, "Log in first") || j.ErrorClass != "" {
		t.Fatalf("answer before the login: %d %+v", r.Status, j)
	}

	r = e.Login(token)
	wantPage(t, r, 200, "challenge")
	if !strings.Contains(r.Body, `<form method="post" action="/connect/sessions/challenge" `) || !strings.Contains(r.Body, `name="answer"`) ||
		!strings.Contains(r.Body, `autocomplete="one-time-code"`) {
		t.Fatalf("challenge page: %s", r.Body)
	}
	if c := conn(t, e, sandbox.BankChallenge); c.Status != connection.StatusPending {
		t.Fatalf("status %s", c.Status)
	}
	// Logging in again is the wrong step: the page shows the challenge.
	r = e.Login(token)
	wantPage(t, r, 409, "challenge")
	if !strings.Contains(r.Body, "Your login was already accepted") {
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

// A wrong password, a wrong code or a bank failure lets the user try again
// on the same link; the last try ends the session, and only then is the
// connection failed. The page says what happened in words.
func TestFailedAttempts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bank     string
		prepare  func(e *partytest.Env, token string)
		try      func(e *partytest.Env, token string) partytest.Response
		class    string
		text     string // what the page says after a try
		lastText string // ... and after the last
		connID   bool
	}{
		{"wrong password", sandbox.BankDefault, nil, func(e *partytest.Env, token string) partytest.Response {
			return e.PostForm("/connect/sessions", form("token", token, "username", "alice", "password", "guess"))
		}, sandbox.ErrInvalidCredentials, "The username or password is not correct.", "The username or password was wrong 3 times.", false},
		{"wrong code", sandbox.BankChallenge, func(e *partytest.Env, token string) { wantPage(t, e.Login(token), 200, "challenge") },
			func(e *partytest.Env, token string) partytest.Response {
				return e.PostForm("/connect/sessions/challenge", form("token", token, "answer", "000000"))
			}, sandbox.ErrInvalidInteractiveCredentials, "That code is not correct. Check the code and enter it again.", "The code was wrong 3 times.", false},
		{"failing bank", sandbox.BankFailing, nil, func(e *partytest.Env, token string) partytest.Response {
			return e.Login(token)
		}, sandbox.ErrProviderError, "Sandbox Failing Bank did not answer. Please try again.", "Sandbox Failing Bank did not answer after 3 tries.", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tok := setup(t, partytest.Bolt())
			token := e.CreateConnection(tok, partyID, tc.bank)
			if tc.prepare != nil {
				tc.prepare(e, token)
			}
			step := "login"
			if tc.bank == sandbox.BankChallenge {
				step = "challenge"
			}
			for try := 1; try < sandbox.Attempts; try++ {
				r := tc.try(e, token)
				wantPage(t, r, 200, step)
				left := sandbox.Attempts - try
				wantLeft := fmt.Sprintf("You can try %d more times.", left)
				if left == 1 {
					wantLeft = "You can try once more."
				}
				for _, s := range []string{`role="alert"`, tc.text, wantLeft, `aria-invalid="true"`, `data-error-class="` + tc.class + `"`} {
					if !strings.Contains(r.Body, s) {
						t.Fatalf("try %d: page lacks %q: %s", try, s, r.Body)
					}
				}
				noInternalCodes(t, r.Body)
				j := asJSON(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "", "Accept", "application/json"))
				if j.Stage != step || j.ErrorClass != tc.class || j.Error != tc.text || j.AttemptsLeft != left {
					t.Fatalf("try %d: json %+v", try, j)
				}
				if c := conn(t, e, tc.bank); c.Status != connection.StatusPending || c.LastError != "" {
					t.Fatalf("try %d: connection %+v", try, c)
				}
			}
			r := tc.try(e, token)
			wantPage(t, r, 200, "failed")
			if !strings.Contains(r.Body, tc.lastText) || !strings.Contains(r.Body, "This link can no longer be used.") {
				t.Fatalf("page does not say why: %s", r.Body)
			}
			noInternalCodes(t, r.Body)
			c := conn(t, e, tc.bank)
			if c.Status != connection.StatusFailed || !strings.HasPrefix(c.LastError, tc.class+": ") || (c.ProviderConnectionID != "") != tc.connID {
				t.Fatalf("connection %+v", c)
			}
			wantPage(t, tc.try(e, token), 400, "used")
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
			if !strings.Contains(det.Body, `"status":"failed"`) || !strings.Contains(det.Body, `"lastError":"`+tc.class+`: `) {
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

// A wrong password, then the right one, on the same link: connected.
func TestRetryThenSuccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bank  string
		steps []func(e *partytest.Env, token string) partytest.Response
	}{
		{"password", sandbox.BankDefault, []func(e *partytest.Env, token string) partytest.Response{
			func(e *partytest.Env, token string) partytest.Response {
				return e.PostForm("/connect/sessions", form("token", token, "username", "alice", "password", "Secret"))
			},
			func(e *partytest.Env, token string) partytest.Response { return e.Login(token) },
		}},
		{"code", sandbox.BankChallenge, []func(e *partytest.Env, token string) partytest.Response{
			func(e *partytest.Env, token string) partytest.Response { return e.Login(token) },
			func(e *partytest.Env, token string) partytest.Response {
				return e.PostForm("/connect/sessions/challenge", form("token", token, "answer", "654321"))
			},
			func(e *partytest.Env, token string) partytest.Response {
				return e.PostForm("/connect/sessions/challenge", form("token", token, "answer", "12345"))
			},
			func(e *partytest.Env, token string) partytest.Response {
				return e.PostForm("/connect/sessions/challenge", form("token", token, "answer", sandbox.ChallengeAnswer))
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tok := setup(t, partytest.Bolt())
			token := e.CreateConnection(tok, partyID, tc.bank)
			var r partytest.Response
			for _, step := range tc.steps {
				r = step(e, token)
				if r.Status != http.StatusOK {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			}
			wantPage(t, r, 200, "done")
			if c := conn(t, e, tc.bank); c.Status != connection.StatusActive || c.LastError != "" {
				t.Fatalf("connection %+v", c)
			}
			e.Drain()
		})
	}
}

// Cancel spends the link, fails the pending connection with the reason,
// and sends the user back to the application with the outcome.
func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bank    string
		prepare func(e *partytest.Env, token string)
	}{
		{"at the login", sandbox.BankDefault, nil},
		{"after a wrong password", sandbox.BankDefault, func(e *partytest.Env, token string) {
			wantPage(t, e.PostForm("/connect/sessions", form("token", token, "username", "a", "password", "b")), 200, "login")
		}},
		{"at the challenge", sandbox.BankChallenge, func(e *partytest.Env, token string) { wantPage(t, e.Login(token), 200, "challenge") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tok := setup(t, partytest.Bolt())
			token := e.CreateConnectionWith(tok, partyID, tc.bank, partytest.ConnectBodyReturning(partyID, "https://app.example/connected?state=xyz"))
			if tc.prepare != nil {
				tc.prepare(e, token)
			}
			r := e.PostForm("/connect/sessions/cancel", form("token", token))
			wantPage(t, r, 200, "cancelled")
			want := `href="https://app.example/connected?stage=cancelled&amp;state=xyz"`
			if !strings.Contains(r.Body, want) || !strings.Contains(r.Body, "Return to OpenAgg") || !strings.Contains(r.Body, "nothing was shared") {
				t.Fatalf("cancelled page lacks %s: %s", want, r.Body)
			}
			noInternalCodes(t, r.Body)
			c := conn(t, e, tc.bank)
			if c.Status != connection.StatusFailed || !strings.HasPrefix(c.LastError, sandbox.ErrCancelled+": ") {
				t.Fatalf("connection %+v", c)
			}
			for _, try := range []partytest.Response{
				e.Do(http.MethodGet, "/connect/sessions?token="+token, "", ""),
				e.Login(token),
				e.PostForm("/connect/sessions/cancel", form("token", token)),
			} {
				wantPage(t, try, 400, "used")
				if !strings.Contains(try.Body, "This connection was cancelled.") || !strings.Contains(try.Body, "stage=cancelled") {
					t.Fatalf("used page: %s", try.Body)
				}
			}
			if got := conn(t, e, tc.bank); got.Version != c.Version {
				t.Fatal("connection written again")
			}
			wantPage(t, e.PostForm("/connect/sessions/cancel", form()), 400, "invalid")
			wantPage(t, e.PostForm("/connect/sessions/cancel", form("token", strings.Repeat("a", 64))), 404, "invalid")
		})
	}
}

// return_to comes from the connection request; the final page links to
// it with the outcome (and never before the end).
func TestReturnTo(t *testing.T) {
	const back = "https://app.example/back?x=1"
	for _, tc := range []struct {
		name string
		bank string
		run  func(e *partytest.Env, token string) partytest.Response
		want string // the return link's query
	}{
		{"done", sandbox.BankDefault, func(e *partytest.Env, token string) partytest.Response { return e.Login(token) },
			"connection_id=%s&stage=done&x=1"},
		{"failed", sandbox.BankDefault, func(e *partytest.Env, token string) partytest.Response {
			var r partytest.Response
			for range sandbox.Attempts {
				r = e.PostForm("/connect/sessions", form("token", token, "username", "a", "password", "nope"))
			}
			return r
		}, "error_class=InvalidCredentials&stage=failed&x=1"},
		{"failing bank", sandbox.BankFailing, func(e *partytest.Env, token string) partytest.Response {
			var r partytest.Response
			for range sandbox.Attempts {
				r = e.Login(token)
			}
			return r
		}, "connection_id=%s&error_class=ProviderError&stage=failed&x=1"},
		{"expired", sandbox.BankDefault, func(e *partytest.Env, token string) partytest.Response {
			e.Clock.Advance(time.Hour)
			return e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "")
		}, "stage=expired&x=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tok := setup(t, partytest.Bolt())
			token := e.CreateConnectionWith(tok, partyID, tc.bank, partytest.ConnectBodyReturning(partyID, back))
			open := e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "", "Accept", "application/json")
			if j := asJSON(t, open); j.ReturnTo != "" {
				t.Fatalf("a return link before the end: %+v", j)
			}
			r := tc.run(e, token)
			want := tc.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, conn(t, e, tc.bank).ProviderConnectionID)
			}
			want = "https://app.example/back?" + want
			if !strings.Contains(r.Body, `id="return" href="`+html.EscapeString(want)+`"`) {
				t.Fatalf("return link %s not in %s", want, r.Body)
			}
			j := asJSON(t, e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "", "Accept", "application/json"))
			if j.ReturnTo != want {
				t.Fatalf("json returnTo %q, want %q", j.ReturnTo, want)
			}
			e.Drain()
		})
	}

	t.Run("refused", func(t *testing.T) {
		e, tok := setup(t, partytest.Bolt())
		for _, bad := range []string{"javascript:alert(1)", "/relative", "ftp://app.example/x", "https://user:pw@app.example/",
			"https://app.example/#frag", "https://app.example/" + strings.Repeat("a", 2040)} {
			r := e.Do(http.MethodPost, "/party/profiles/"+partyID+"/banks/"+sandbox.BankDefault+"/connections", tok,
				partytest.ConnectBodyReturning(partyID, bad))
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"INVALID_REQUEST"`) || !strings.Contains(r.Body, "return_to") {
				t.Fatalf("%q: %d %s", bad, r.Status, r.Body)
			}
		}
	})
}

// The page names the configured application.
func TestApplicationName(t *testing.T) {
	e := partytest.New(t, partytest.Options{AppName: "Acme <Budget>"})
	tok := e.Token(alice)
	e.CreateProfile(tok, partyID)
	token := e.CreateConnectionWith(tok, partyID, sandbox.BankDefault, partytest.ConnectBodyReturning(partyID, "https://acme.example/"))
	r := e.Do(http.MethodGet, "/connect/sessions?token="+token, "", "")
	if !strings.Contains(r.Body, "Acme &lt;Budget&gt; asks to see") || strings.Contains(r.Body, "<Budget>") {
		t.Fatalf("page: %s", r.Body)
	}
	r = e.Login(token)
	if !strings.Contains(r.Body, "Return to Acme &lt;Budget&gt;") {
		t.Fatalf("done page: %s", r.Body)
	}
	e.Drain()
}

// noInternalCodes fails when the page's visible text shows an error
// class or a Salt Edge style "Class: text" error.
func noInternalCodes(t *testing.T, body string) {
	t.Helper()
	text := visibleText(body)
	for _, code := range []string{sandbox.ErrInvalidCredentials, sandbox.ErrInvalidInteractiveCredentials, sandbox.ErrProviderError,
		sandbox.ErrCancelled, "sandbox:", "wrong username or password ("} {
		if strings.Contains(text, code) {
			t.Fatalf("the page shows %q: %s", code, text)
		}
	}
}

var tagRE = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)

// visibleText is the page's text without tags, scripts and styles.
func visibleText(body string) string { return html.UnescapeString(tagRE.ReplaceAllString(body, " ")) }

// noExternalAssets fails when the page would load anything from
// elsewhere: every src and href is the page's own (or the way back).
func noExternalAssets(t *testing.T, body string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`(?i)\b(src|href|action)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if m[1] == "href" && strings.Contains(body, `id="return" href="`+m[2]+`"`) {
			continue
		}
		if !strings.HasPrefix(m[2], "/connect/") {
			t.Fatalf("the page refers to %s=%q", m[1], m[2])
		}
	}
	if strings.Contains(body, "@import") || strings.Contains(body, "url(") {
		t.Fatal("the page's CSS loads something")
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
	for range sandbox.Attempts - 1 {
		wantPage(t, e.PostForm("/connect/sessions", form("token", old, "username", "a", "password", "wrong")), 200, "login")
	}
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
