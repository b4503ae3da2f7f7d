// Package connect is the `connect` API group: the hosted page where an end
// user logs in to a sandbox bank (and answers its challenge), and the
// signed callbacks of Salt Edge. Every route is public: the page is gated
// by the connect session's one-time token, the callbacks by their RSA
// signature.
//
// The page is plain HTML forms (html/template, no JavaScript needed) that
// also work with curl: each answer carries its stage in a data-stage
// attribute of <main> and, with "Accept: application/json", the same facts
// as JSON with the same status code:
//
//	GET  /connect/sessions?token=...            the form of the session's stage
//	POST /connect/sessions            token, username, password   (x-www-form-urlencoded)
//	POST /connect/sessions/challenge  token, answer
//
// Stages: login, challenge, done, failed (the attempt ended), and the error
// pages expired (410), used (400: a token is good for one attempt),
// invalid (400/404) and error (500). A submit for the wrong step answers
// 409 with the form of the session's current stage.
package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// Sessions drives sandbox connect sessions (*sandbox.Provider).
type Sessions interface {
	Session(ctx context.Context, token string) (sandbox.Session, error)
	SubmitLogin(ctx context.Context, token, username, password string) (sandbox.Session, error)
	SubmitChallenge(ctx context.Context, token, answer string) (sandbox.Session, error)
}

// Connections records the outcome of connect sessions and callbacks
// (*connection.Service).
type Connections interface {
	CompleteConnect(ctx context.Context, o connection.Outcome) (connection.Connection, error)
	FailConnect(ctx context.Context, o connection.Outcome, reason string) (connection.Connection, error)
	QueueCallback(ctx context.Context, cb connection.Callback) error
}

// VerifyFunc checks a Salt Edge callback signature
// (saltedge.VerifyCallback): base64 RSA-SHA256 over "callback_url|body".
type VerifyFunc func(pubKeyPEM, callbackURL string, body []byte, signature string) error

// Deps are what the group needs.
type Deps struct {
	Log         *slog.Logger
	Sessions    Sessions
	Connections Connections
	// Verify and CallbackPublicKey check Salt Edge callbacks; without a key
	// every callback is refused (401).
	Verify            VerifyFunc
	CallbackPublicKey string
	// PublicURL is the base URL Salt Edge calls (the signed callback URL
	// is PublicURL + path); empty means the base URL of each request
	// (platform.BaseURL, OPENAGG_PUBLIC_URL=request).
	PublicURL string
	// Clock dates the callbacks' freshness check (default the system
	// clock); CallbackMaxAge is how old a callback's meta.time may be
	// (default DefaultCallbackMaxAge).
	Clock          platform.Clock
	CallbackMaxAge time.Duration
	// FrameAncestors are the origins that may show the page in a frame
	// (CSP frame-ancestors; OPENAGG_CONNECT_FRAME_ANCESTORS); none: no
	// site may, so another site cannot frame the bank login and capture
	// the user's clicks.
	FrameAncestors []string
}

// API is the connect group.
type API struct {
	log       *slog.Logger
	sessions  Sessions
	conns     Connections
	verify    VerifyFunc
	pubKey    string
	publicURL string
	csp       string // the page's Content-Security-Policy
	framing   bool   // some origin may frame the page
	clock     platform.Clock
	maxAge    time.Duration
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, sessions: d.Sessions, conns: d.Connections, verify: d.Verify,
		pubKey: d.CallbackPublicKey, publicURL: strings.TrimRight(d.PublicURL, "/"), clock: d.Clock, maxAge: d.CallbackMaxAge}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.clock == nil {
		a.clock = platform.SystemClock{}
	}
	if a.maxAge <= 0 {
		a.maxAge = DefaultCallbackMaxAge
	}
	ancestors := "'none'"
	if len(d.FrameAncestors) > 0 {
		ancestors, a.framing = strings.Join(d.FrameAncestors, " "), true
	}
	a.csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors
	return a
}

// Routes are the group's endpoints; all public.
func (a *API) Routes() []platform.Route {
	return []platform.Route{
		{Method: http.MethodGet, Path: "/connect/sessions", Public: true, Handler: a.showSession},
		{Method: http.MethodPost, Path: "/connect/sessions", Public: true, Handler: a.submitLogin},
		{Method: http.MethodPost, Path: "/connect/sessions/challenge", Public: true, Handler: a.submitChallenge},
		{Method: http.MethodPost, Path: "/callbacks/saltedge/{kind}", Public: true, Handler: aggregation.Handle(a.log, a.callback)},
	}
}

// Page stages beyond the sandbox's login/challenge/done/failed.
const (
	stageExpired = "expired"
	stageUsed    = "used"
	stageInvalid = "invalid"
	stageError   = "error"
)

// view is what a page shows; its JSON form is the machine-readable answer.
type view struct {
	status       int
	Stage        string `json:"stage"`
	Message      string `json:"message,omitempty"`
	BankCode     string `json:"bankCode,omitempty"`
	BankName     string `json:"bankName,omitempty"`
	Interactive  bool   `json:"interactive,omitempty"`
	Challenge    string `json:"challenge,omitempty"`
	ConnectionID string `json:"connectionId,omitempty"`
	Error        string `json:"error,omitempty"`
	ExpiresAt    string `json:"expiresAt,omitempty"`
	ReturnTo     string `json:"returnTo,omitempty"`
	// Token goes into the forms' hidden field, never into JSON.
	Token string `json:"-"`
	// PostMessage asks the page to report the outcome to the embedding
	// window (javascript_callback_type "post_message").
	PostMessage bool `json:"-"`
}

func sessionView(s sandbox.Session) view {
	v := view{
		status: http.StatusOK, Stage: s.Stage, BankCode: s.BankCode, BankName: s.BankName,
		Interactive: s.Interactive, Challenge: s.Challenge, ConnectionID: s.ConnectionID,
		Error: s.Error, ReturnTo: s.ReturnTo, Token: s.Token,
		PostMessage: s.JavascriptCallbackType == "post_message",
	}
	if !s.ExpiresAt.IsZero() {
		v.ExpiresAt = s.ExpiresAt.UTC().Format(time.RFC3339)
	}
	switch s.Stage {
	case sandbox.StageLogin:
		v.Message = "Log in to " + s.BankName + " to connect your accounts."
	case sandbox.StageChallenge:
		v.Message = s.BankName + " asks for a confirmation."
	case sandbox.StageDone:
		v.Message = "Your accounts at " + s.BankName + " are connected. Their data is being imported; you can close this page."
	case sandbox.StageFailed:
		v.Message = "The connection to " + s.BankName + " failed."
	}
	return v
}

// errorView turns a session error into its page.
func (a *API) errorView(r *http.Request, s sandbox.Session, err error) view {
	v := sessionView(s)
	v.Token = ""
	switch {
	case errors.Is(err, sandbox.ErrSessionNotFound):
		return view{status: http.StatusNotFound, Stage: stageInvalid, Message: "This connect link is not valid. Ask the application for a new one."}
	case errors.Is(err, sandbox.ErrSessionExpired):
		v.status, v.Stage = http.StatusGone, stageExpired
		v.Message = "This connect link has expired. Ask the application for a new one."
	case errors.Is(err, sandbox.ErrSessionUsed):
		v.status, v.Stage = http.StatusBadRequest, stageUsed
		v.Message = "This connect link was already used (the attempt ended: " + s.Stage + "). Ask the application for a new one."
	default:
		a.log.ErrorContext(r.Context(), "connect page failed", "err", err, "requestId", platform.RequestID(r.Context()))
		return view{status: http.StatusInternalServerError, Stage: stageError, Message: "Something went wrong on our side. Please try again."}
	}
	return v
}

// GET /connect/sessions?token=...
func (a *API) showSession(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		a.render(w, r, view{status: http.StatusBadRequest, Stage: stageInvalid, Message: "The connect link has no token."})
		return
	}
	s, err := a.sessions.Session(r.Context(), token)
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return
	}
	a.render(w, r, sessionView(s))
}

// readForm parses an x-www-form-urlencoded body (at most 1 MiB).
func readForm(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		return fmt.Errorf("content type %q: send the form as application/x-www-form-urlencoded", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, platform.MaxBodyBytes)
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(platform.MaxBodyBytes)
	}
	return r.ParseForm()
}

// badForm answers a form that could not be read: 413 over the body limit
// (as every API answers a body over 1 MiB), else 400.
func (a *API) badForm(w http.ResponseWriter, r *http.Request, err error) {
	v := view{status: http.StatusBadRequest, Stage: stageInvalid, Message: "Bad form: " + err.Error()}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		v.status, v.Message = http.StatusRequestEntityTooLarge, fmt.Sprintf("Bad form: the request body exceeds %d bytes.", platform.MaxBodyBytes)
	}
	a.render(w, r, v)
}

// POST /connect/sessions (token, username, password)
func (a *API) submitLogin(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		a.badForm(w, r, err)
		return
	}
	token := r.PostFormValue("token")
	if token == "" {
		a.render(w, r, view{status: http.StatusBadRequest, Stage: stageInvalid, Message: "The form has no token."})
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	if strings.TrimSpace(username) == "" || password == "" {
		// Not sent to the bank: an incomplete form must not use up the
		// one-time token.
		a.incomplete(w, r, token, "Enter both your username and your password.")
		return
	}
	s, err := a.sessions.SubmitLogin(r.Context(), token, username, password)
	a.outcome(w, r, token, s, err)
}

// POST /connect/sessions/challenge (token, answer)
func (a *API) submitChallenge(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		a.badForm(w, r, err)
		return
	}
	token := r.PostFormValue("token")
	if token == "" {
		a.render(w, r, view{status: http.StatusBadRequest, Stage: stageInvalid, Message: "The form has no token."})
		return
	}
	answer := r.PostFormValue("answer")
	if strings.TrimSpace(answer) == "" {
		a.incomplete(w, r, token, "Enter the answer to the question.")
		return
	}
	s, err := a.sessions.SubmitChallenge(r.Context(), token, answer)
	a.outcome(w, r, token, s, err)
}

// wrongStage says why a form was refused: the session waits for another
// step (the one whose form the page shows with it).
func wrongStage(stage string) string {
	switch stage {
	case sandbox.StageLogin:
		return "Log in first: this session waits for the username and password."
	case sandbox.StageChallenge:
		return "The login was already accepted: this session waits for the answer to the question."
	}
	return "This session is at stage " + stage + "."
}

// incomplete shows the session's current form again with a 400.
func (a *API) incomplete(w http.ResponseWriter, r *http.Request, token, msg string) {
	s, err := a.sessions.Session(r.Context(), token)
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return
	}
	v := sessionView(s)
	v.status, v.Error = http.StatusBadRequest, msg
	a.render(w, r, v)
}

// outcome records what a submit led to and renders it.
func (a *API) outcome(w http.ResponseWriter, r *http.Request, token string, s sandbox.Session, err error) {
	if errors.Is(err, sandbox.ErrWrongStage) {
		cur, cerr := a.sessions.Session(r.Context(), token)
		if cerr != nil {
			a.render(w, r, a.errorView(r, cur, cerr))
			return
		}
		v := sessionView(cur)
		v.status, v.Error = http.StatusConflict, wrongStage(cur.Stage)
		a.render(w, r, v)
		return
	}
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return
	}
	o := connection.Outcome{Provider: sandbox.Name, CustomerID: s.CustomerID, BankCode: s.BankCode, ConnectionID: s.ConnectionID, Token: token}
	switch s.Stage {
	case sandbox.StageDone:
		if _, err := a.conns.CompleteConnect(r.Context(), o); err != nil {
			a.settleLater(r, o, "done", err)
		}
	case sandbox.StageFailed:
		if _, err := a.conns.FailConnect(r.Context(), o, s.Error); err != nil {
			a.settleLater(r, o, "fail", err)
		}
	}
	a.render(w, r, sessionView(s))
}

// settleLater handles a failure to record a finished session: the bank side
// is settled (the token is used up), so the page still tells the user the
// outcome, and a connection sync is queued to bring the record in line.
func (a *API) settleLater(r *http.Request, o connection.Outcome, kind string, err error) {
	ctx := r.Context()
	if errors.Is(err, connection.ErrUnknownSession) {
		a.log.WarnContext(ctx, "connect session for an unknown connection", "customer", o.CustomerID, "bank", o.BankCode, "err", err)
		return
	}
	a.log.ErrorContext(ctx, "recording connect outcome failed; queuing a sync", "customer", o.CustomerID, "bank", o.BankCode, "err", err)
	cb := connection.Callback{Provider: o.Provider, Kind: kind, CustomerID: o.CustomerID, ConnectionID: o.ConnectionID,
		SentAt: a.clock.Now(), Key: kind + "/" + connection.TokenHash(o.Token)}
	if qerr := a.conns.QueueCallback(ctx, cb); qerr != nil {
		a.log.ErrorContext(ctx, "queuing the connection sync failed", "customer", o.CustomerID, "err", qerr)
	}
}

// wantsJSON reports whether the client asked for JSON rather than HTML.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}

// render writes the page, or its JSON with Accept: application/json.
func (a *API) render(w http.ResponseWriter, r *http.Request, v view) {
	h := w.Header()
	// The URL carries a bearer token: never cache it, never leak it in a
	// Referer, never let another origin read the page through a script.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept")
	if wantsJSON(r) {
		platform.WriteJSON(w, v.status, v)
		return
	}
	h.Set("Content-Security-Policy", a.csp)
	if !a.framing {
		h.Set("X-Frame-Options", "DENY") // browsers without CSP level 2
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(v.status)
	if err := pageTemplate.Execute(w, v); err != nil {
		a.log.ErrorContext(r.Context(), "render connect page", "err", err)
	}
}

// PostMessageData is what the page posts to the embedding window at the
// end of a session (Salt Edge's post_message callback shape).
func (v view) PostMessageData() (string, error) {
	b, err := json.Marshal(map[string]any{"data": map[string]string{"connection_id": v.ConnectionID, "stage": v.Stage, "error": v.Error}})
	return string(b), err
}

// Terminal reports whether the session is over.
func (v view) Terminal() bool { return v.Stage == sandbox.StageDone || v.Stage == sandbox.StageFailed }

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{if .BankName}}{{.BankName}} – {{end}}OpenAgg Connect</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#a00}.note{color:#666;font-size:.9rem}
</style>
</head>
<body>
<main data-stage="{{.Stage}}"{{if .BankCode}} data-bank="{{.BankCode}}"{{end}}{{if .ConnectionID}} data-connection-id="{{.ConnectionID}}"{{end}}>
<h1>{{if .BankName}}{{.BankName}}{{else}}OpenAgg Connect{{end}}</h1>
<p id="message">{{.Message}}</p>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
{{if eq .Stage "login"}}
<form method="post" action="/connect/sessions">
<input type="hidden" name="token" value="{{.Token}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
<p class="note">Sandbox bank: any username, password <code>secret</code>.</p>
{{else if eq .Stage "challenge"}}
<form method="post" action="/connect/sessions/challenge">
<input type="hidden" name="token" value="{{.Token}}">
<label for="answer">{{.Challenge}}</label>
<input id="answer" name="answer" autocomplete="one-time-code" inputmode="numeric" required>
<button type="submit">Confirm</button>
</form>
{{end}}
{{if and .Terminal .ReturnTo}}<p><a href="{{.ReturnTo}}">Return to the application</a></p>{{end}}
{{if .ExpiresAt}}{{if not .Terminal}}<p class="note">This link expires at {{.ExpiresAt}}.</p>{{end}}{{end}}
</main>
{{if and .Terminal .PostMessage}}<script>
(function(){var t=window.opener||(window.parent!==window?window.parent:null);if(t){t.postMessage({{.PostMessageData}},"*");}})();
</script>{{end}}
</body>
</html>
`))

// Salt Edge callbacks (API v6).

// CallbackKinds are the Salt Edge callback routes.
var CallbackKinds = []string{"success", "fail", "notify", "destroy", "service"}

// FinalStage is the stage of the last success callback of a fetch: the
// connection's data is complete (Salt Edge sends one to three success
// callbacks per fetch as more data arrives).
const FinalStage = "finish"

// intermediateStages are the stages of a fetch before FinalStage. A
// success callback at one of them syncs the connection's state; any other
// success callback (finish, none as in v5, or a stage this list does not
// know) imports: an extra import costs a little, a missed one leaves data
// out.
var intermediateStages = []string{"start", "connect", "interactive", "fetch_holder_info", "fetch_accounts", "fetch_recent", "fetch_full", "disconnect"}

// DefaultCallbackMaxAge is how old (meta.time) a callback may be. A
// signature never expires by itself, so an older callback is refused: a
// captured callback cannot be replayed later, and Salt Edge's own retries
// of a callback that failed arrive well within the hour. A callback may
// also be at most callbackSkew ahead of OpenAgg's clock.
const DefaultCallbackMaxAge = time.Hour

const callbackSkew = 5 * time.Minute

// callbackBody is a Salt Edge v6 callback (unknown fields are ignored:
// Salt Edge adds fields over time, and the signature already proved the
// sender; a repeated key or a known name in another case is still
// refused).
type callbackBody struct {
	Data struct {
		ConnectionID string `json:"connection_id"`
		CustomerID   string `json:"customer_id"`
		Stage        string `json:"stage"`
		ErrorClass   string `json:"error_class"`
		ErrorMessage string `json:"error_message"`
	} `json:"data"`
	Meta struct {
		Version string `json:"version"`
		Time    string `json:"time"`
	} `json:"meta"`
}

// CallbackResponse acknowledges a callback.
type CallbackResponse struct {
	Status string `json:"status"`
}

// POST /callbacks/saltedge/{kind}: verify the signature over the raw body
// before looking at it (401 otherwise), refuse a callback of another API
// version (400) or older than the window (401), then queue a connection
// sync (a success callback of the final stage also imports the
// connection; a consent end stops it).
func (a *API) callback(w http.ResponseWriter, r *http.Request) error {
	kind := r.PathValue("kind")
	if !slices.Contains(CallbackKinds, kind) {
		return platform.NotFound("NOT_FOUND", "no callback %q (known: %s)", kind, strings.Join(CallbackKinds, ", "))
	}
	sig := r.Header.Get("Signature")
	switch {
	case a.pubKey == "" || a.verify == nil:
		return platform.Unauthorized("CALLBACK_NOT_CONFIGURED", "callbacks are refused: no callback public key is configured")
	case sig == "":
		return platform.Unauthorized("SIGNATURE_MISSING", "the Signature header is required")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, platform.MaxBodyBytes))
	if err != nil {
		return &platform.Error{Status: http.StatusRequestEntityTooLarge, Code: platform.CodeBodyTooLarge, Message: "callback body too large", Err: err}
	}
	base := a.publicURL
	if base == "" {
		// OPENAGG_PUBLIC_URL=request: Salt Edge posts to the API's own URL,
		// the host this request arrived on.
		base = strings.TrimRight(platform.BaseURL(r.Context()), "/")
	}
	if err := a.verify(a.pubKey, base+r.URL.Path, body, sig); err != nil {
		return &platform.Error{Status: http.StatusUnauthorized, Code: "SIGNATURE_INVALID", Message: "the callback signature does not verify", Err: err}
	}
	var cb callbackBody
	if err := platform.DecodeJSONBytesAllowUnknown(body, &cb); err != nil {
		return &platform.Error{Status: http.StatusBadRequest, Code: platform.CodeMalformedJSON, Message: "callback body: " + platform.AsError(err).Message, Err: err}
	}
	if v := cb.Meta.Version; v != "6" && !strings.HasPrefix(v, "6.") {
		return platform.BadRequest("CALLBACK_VERSION", "meta.version %q: this endpoint takes Salt Edge API v6 callbacks (set the app's API version to v6)", platform.Truncate(v, 20))
	}
	sentAt, err := time.Parse(time.RFC3339, cb.Meta.Time)
	if err != nil {
		return platform.BadRequest("CALLBACK_TIME", "meta.time %q is not an RFC 3339 time", platform.Truncate(cb.Meta.Time, 40))
	}
	now := a.clock.Now()
	if age := now.Sub(sentAt); age > a.maxAge || age < -callbackSkew {
		return platform.Unauthorized("CALLBACK_EXPIRED", "the callback was sent at %s, outside the %s window OpenAgg accepts (now %s)",
			sentAt.UTC().Format(time.RFC3339), a.maxAge, now.UTC().Format(time.RFC3339))
	}
	if cb.Data.CustomerID == "" {
		// Service callbacks may concern no customer: nothing to sync.
		a.log.InfoContext(r.Context(), "saltedge callback without customer", "kind", kind)
		platform.WriteJSON(w, http.StatusOK, CallbackResponse{Status: "ignored"})
		return nil
	}
	c := connection.Callback{
		Provider: saltedge.Name, Kind: kind, CustomerID: cb.Data.CustomerID, ConnectionID: cb.Data.ConnectionID,
		Stage: cb.Data.Stage, SentAt: sentAt,
		Final: kind == "success" && !slices.Contains(intermediateStages, cb.Data.Stage),
		// The signed body identifies the callback: a duplicate or a replay
		// inside the window is the same work.
		Key: kind + "/" + platform.DeterministicID(string(body)),
	}
	if cb.Data.ErrorClass != "" {
		c.Error = platform.Truncate(cb.Data.ErrorClass+": "+cb.Data.ErrorMessage, 500)
		if kind == "fail" || kind == "notify" {
			c.StopReason = saltedge.StopReason(cb.Data.ErrorClass)
		}
	}
	if err := a.conns.QueueCallback(r.Context(), c); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "saltedge callback queued", "kind", kind, "customer", cb.Data.CustomerID, "connection", cb.Data.ConnectionID,
		"stage", cb.Data.Stage, "final", c.Final, "stop", c.StopReason)
	platform.WriteJSON(w, http.StatusOK, CallbackResponse{Status: "queued"})
	return nil
}
