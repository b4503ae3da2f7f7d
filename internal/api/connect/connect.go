// Package connect is the `connect` API group: the hosted page where an end
// user logs in to a sandbox bank (and answers its challenge), and the
// signed callbacks of Salt Edge. Every route is public: the page is gated
// by the connect session's one-time token, the callbacks by their RSA
// signature.
//
// The page is plain HTML forms (html/template; a little inline script
// adds the busy state and local times, nothing needs it) that also work
// with curl: each answer carries its stage in a data-stage attribute of
// <main> and, with "Accept: application/json", the same facts as JSON with
// the same status code:
//
//	GET  /connect/sessions?token=...            the form of the session's stage
//	POST /connect/sessions            token, username, password   (x-www-form-urlencoded)
//	POST /connect/sessions/challenge  token, answer
//	POST /connect/sessions/cancel     token
//
// Stages: login, challenge (a wrong password or code shows the form again
// with the error, sandbox.Attempts tries per step), done, failed (out of
// tries), cancelled, and the error pages expired (410), used (400: the
// session is over), invalid (400/404) and error (500). A submit for the
// wrong step answers 409 with the form of the session's current stage.
// Once the session is over the page links back to the application
// (return_to with the outcome) and, with post_message, tells the
// embedding window.
package connect

import (
	"cmp"
	"context"
	"io"
	"log/slog"
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
	Cancel(ctx context.Context, token string) (sandbox.Session, error)
}

// Connections records the outcome of connect sessions and callbacks
// (*connection.Service).
type Connections interface {
	WatchConnect(ctx context.Context, o connection.Outcome) error
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
	// Application is the name of the application the page connects the
	// user's bank to (OPENAGG_APP_NAME; default DefaultApplication).
	Application string
}

// DefaultApplication is the application name the page shows when none is
// configured.
const DefaultApplication = "OpenAgg"

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
	appName   string
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, sessions: d.Sessions, conns: d.Connections, verify: d.Verify,
		pubKey: d.CallbackPublicKey, publicURL: strings.TrimRight(d.PublicURL, "/"), clock: d.Clock, maxAge: d.CallbackMaxAge,
		appName: cmp.Or(strings.TrimSpace(d.Application), DefaultApplication)}
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
		{Method: http.MethodPost, Path: "/connect/sessions/cancel", Public: true, Handler: a.cancel},
		{Method: http.MethodPost, Path: "/callbacks/saltedge/{kind}", Public: true, Handler: aggregation.Handle(a.log, a.callback)},
	}
}

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
