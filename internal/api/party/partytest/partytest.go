// Package partytest builds the real stack behind the Aggregation API groups
// (party, connect, holdings, system) for tests, through the composition
// root (internal/app): a store (bbolt on a temp file, or the driver
// Options.Store gives; Drivers lists both), the embedded queue drained
// synchronously with the production workers, the sandbox provider, the
// bank directory (loaded), real HS256 bearer tokens and the production
// middleware in front of the groups.
package partytest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/party/partytest/fixture"
	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/openapi/openapitest"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/storetest"
)

// Start is the fake clock's start: a fixed instant so that dates in
// requests and answers are stable.
var Start = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// PublicURL is the base URL of the test service.
const PublicURL = "https://openagg.test"

const (
	issuer   = "openagg-test"
	audience = "openagg"
)

// Store is a store driver that counts its round trips (bolt, dynamo).
type Store = storetest.Counted

// Options vary the environment.
type Options struct {
	// Store, when set, holds the records (the DynamoDB driver on moto);
	// default a bbolt file. The embedded queue always lives in a bbolt
	// file of its own.
	Store Store
	// CallbackPublicKey verifies the Salt Edge callbacks (none: every
	// callback is refused).
	CallbackPublicKey string
	// Providers are configured after the sandbox (e.g. a Salt Edge client
	// on saltedgetest); Primary is the provider of new profiles' customers
	// (default sandbox).
	Providers []provider.Provider
	Primary   string
	// PublicURL is the service's base URL (default PublicURL;
	// platform.PublicURLFromRequest: each request's host, as in AWS); Clock
	// its clock (default a FakeClock at Start).
	PublicURL string
	Clock     *clocktest.Clock
	// ProviderStore, when set, holds the sandbox provider's own state
	// (customers, sessions, connections: what Salt Edge keeps on its side),
	// so that Store.Calls counts OpenAgg's requests alone.
	ProviderStore store.Store
	// AppName is the application the connect page names
	// (OPENAGG_APP_NAME; default the configuration's); FrameAncestors the
	// origins that may frame it (OPENAGG_CONNECT_FRAME_ANCESTORS).
	AppName        string
	FrameAncestors []string
	// Sender, when set, wraps the queue the services send to (fault
	// injection in front of the embedded queue; Env.Queue is still the
	// queue itself).
	Sender func(queue.Sender) queue.Sender
	// Worker, when set, wraps each worker's handler (a test observing the
	// deliveries that failed and will be delivered again).
	Worker func(queueName string, h queue.SQSHandler) queue.SQSHandler
}

// Env is one test environment.
type Env struct {
	T        testing.TB
	Ctx      context.Context
	Clock    *clocktest.Clock
	Store    Store
	Queue    *local.Queue
	Sandbox  *sandbox.Provider
	Banks    *bank.Service
	Holdings *holdings.Service
	Parties  *party.Service
	Conns    *connection.Service
	Ents     *auth.Entitlements
	Handler  http.Handler
	key      []byte
}

// New builds an environment through the composition root (app.Assemble),
// so the groups run behind the production middleware (request id, no-store
// headers, access log, panic recovery, authentication, exact paths) with
// the services built the one way the Lambdas and `openagg serve` build
// them. Everything is closed at the end of the test.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	clock := opts.Clock
	if clock == nil {
		clock = clocktest.New(Start)
	}
	publicURL := PublicURL
	if opts.PublicURL != "" {
		publicURL = opts.PublicURL
	}
	db, err := bolt.Open(filepath.Join(t.TempDir(), "openagg.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var st Store = db
	if opts.Store != nil {
		st = opts.Store
	}
	q, err := local.New(db.DB(), local.Options{Clock: clock, Log: log, After: func(d time.Duration) <-chan time.Time {
		clock.Advance(d)
		ch := make(chan time.Time, 1)
		ch <- clock.Now()
		return ch
	}})
	if err != nil {
		t.Fatal(err)
	}
	var sbStore store.Store = st
	if opts.ProviderStore != nil {
		sbStore = opts.ProviderStore
	}
	sandboxURL := publicURL
	if publicURL == platform.PublicURLFromRequest {
		sandboxURL = "" // each request's own base URL
	}
	sb := sandbox.New(sbStore, sandbox.Options{Clock: clock, PublicURL: sandboxURL, SlowDelay: time.Millisecond})
	providers := map[string]provider.Provider{sandbox.Name: sb}
	for _, p := range opts.Providers {
		providers[p.Name()] = p
	}
	env := map[string]string{
		"OPENAGG_DATA_DIR":                t.TempDir(),
		"OPENAGG_JWT_ISSUER":              issuer,
		"OPENAGG_JWT_AUDIENCE":            audience,
		"OPENAGG_PUBLIC_URL":              publicURL,
		"OPENAGG_APP_NAME":                opts.AppName,
		"OPENAGG_CONNECT_FRAME_ANCESTORS": strings.Join(opts.FrameAncestors, " "),
		// Webhook receivers of the tests listen on loopback (httptest).
		"OPENAGG_WEBHOOKS_ALLOW_PRIVATE": "true",
	}
	cfg, err := platform.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if opts.Primary != "" {
		// The provider itself is given (opts.Providers), not configured.
		cfg.Providers = append(cfg.Providers, opts.Primary)
	}
	cfg.CallbackPublicKey = opts.CallbackPublicKey
	key := []byte("0123456789abcdef0123456789abcdef")
	var sender queue.Sender = q
	if opts.Sender != nil {
		sender = opts.Sender(q)
	}
	a, err := app.Assemble(cfg, app.Deps{Log: log, Clock: clock, Store: st, Queue: sender, Providers: providers, JWTKey: key,
		CredentialsKey: []byte("partytest credentials key 32 byt")})
	if err != nil {
		t.Fatal(err)
	}
	// The workers are the production handlers, with fast retries.
	workers, err := a.Workers()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		// The template's maxReceiveCount, which the holdings importer
		// also knows (its last delivery records a failure instead of
		// running), with fast retries.
		fast := local.ConsumerConfig{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
		if c, ok := deploy.ConsumerOf(w.Queue); ok {
			fast.MaxReceiveCount = c.MaxReceiveCount
		}
		h := w.Handler
		if opts.Worker != nil {
			h = opts.Worker(w.Queue, h)
		}
		q.Register(w.Queue, h, fast)
	}
	h, err := a.HandlerFor([]string{"party", "connect", "holdings", "system"})
	if err != nil {
		t.Fatal(err)
	}
	// Every request and answer is checked against the OpenAPI documents.
	h = openapitest.Wrap(t, h)
	e := &Env{T: t, Ctx: ctx, Clock: clock, Store: st, Queue: q, Sandbox: sb, Ents: a.Entitlements, Holdings: a.Holdings(), key: key, Handler: h}
	if e.Banks, err = a.BankDirectory(); err != nil {
		t.Fatal(err)
	}
	if e.Parties, err = a.Parties(); err != nil {
		t.Fatal(err)
	}
	if e.Conns, err = a.Connections(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Banks.StartLoad(ctx); err != nil {
		t.Fatal(err)
	}
	e.Drain()
	return e
}

// Drain runs every queued job (and the jobs they queue) now.
func (e *Env) Drain() {
	e.T.Helper()
	if err := e.Queue.Drain(e.Ctx); err != nil {
		e.T.Fatal(err)
	}
	for _, name := range queue.Names() {
		dead, err := e.Queue.DeadLetters(name)
		if err != nil {
			e.T.Fatal(err)
		}
		for _, m := range dead {
			e.T.Errorf("dead letter on %s: %s %s", name, m.Type, m.Key)
		}
	}
}

// Settle advances the clock by connection.SettleAfter and runs the queues:
// the settle job that every connect page submit queues before the provider
// may spend the session's token (connection.Service.WatchConnect) runs and
// finds the outcome recorded. A test that counts a queue's jobs after
// connect flows runs it first.
func (e *Env) Settle() {
	e.T.Helper()
	e.Clock.Advance(connection.SettleAfter)
	e.Drain()
}

// Depth is the number of live messages on a queue.
func (e *Env) Depth(queueName string) int {
	e.T.Helper()
	n, err := e.Queue.Depth(queueName)
	if err != nil {
		e.T.Fatal(err)
	}
	return n
}

// Token mints a bearer token for sub with roles.
func (e *Env) Token(sub string, roles ...string) string {
	e.T.Helper()
	tok, err := authn.Mint(e.key, authn.Claims{Sub: sub, Name: sub, Roles: roles, Issuer: issuer, Audience: audience, Now: e.Clock.Now(), TTL: 30 * 24 * time.Hour})
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request through the handler stack; token "" sends none, body
// "" sends none.
func (e *Env) Do(method, path, token, body string, header ...string) Response {
	e.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	return Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

// PostForm posts an x-www-form-urlencoded form, as curl -d does; header
// holds extra name/value pairs (e.g. "Accept", "application/json").
func (e *Env) PostForm(path string, form url.Values, header ...string) Response {
	e.T.Helper()
	return e.Do(http.MethodPost, path, "", form.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

// Identifier is the profile identifier of partyID with the default company.
func Identifier(partyID string) string { return fixture.Identifier(partyID) }

// ConnectBody is a valid create-connection body for partyID at a bank
// allowing 90 days (every sandbox bank), dated a month before Start.
func ConnectBody(partyID string) string { return fixture.ConnectBody(partyID) }

// ConnectBodyReturning is ConnectBody with data.attempt.return_to.
func ConnectBodyReturning(partyID, returnTo string) string {
	return fixture.ConnectBodyReturning(partyID, returnTo)
}

// CreateConnectionWith starts a connection with body and returns its
// connect token.
func (e *Env) CreateConnectionWith(tok, partyID, bankCode, body string) string {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/party/profiles/"+partyID+"/banks/"+bankCode+"/connections", tok, body)
	if r.Status != http.StatusOK {
		e.T.Fatalf("create connection %s/%s: %d %s", partyID, bankCode, r.Status, r.Body)
	}
	_, after, ok := strings.Cut(r.Body, "token=")
	if !ok || len(after) < 64 {
		e.T.Fatalf("no token in %s", r.Body)
	}
	return after[:64]
}

// CreateProfile creates partyID's profile as the owner of tok.
func (e *Env) CreateProfile(tok, partyID string) {
	e.T.Helper()
	if r := e.Do(http.MethodPost, "/party/profiles/"+partyID, tok, "{}"); r.Status != http.StatusOK {
		e.T.Fatalf("create profile %s: %d %s", partyID, r.Status, r.Body)
	}
}

// CreateConnection starts a connection and returns its connect token.
func (e *Env) CreateConnection(tok, partyID, bankCode string) string {
	e.T.Helper()
	return e.CreateConnectionWith(tok, partyID, bankCode, ConnectBody(partyID))
}

// Login posts the connect page's login form with the sandbox credentials.
func (e *Env) Login(token string) Response {
	e.T.Helper()
	return e.PostForm("/connect/sessions", url.Values{"token": {token}, "username": {"alice"}, "password": {sandbox.Password}})
}

// Connected runs a connection flow end to end (the profile must exist):
// connection, login (and challenge), then the queues are drained (import
// included).
func (e *Env) Connected(tok, partyID, bankCode string) {
	e.T.Helper()
	token := e.CreateConnection(tok, partyID, bankCode)
	r := e.Login(token)
	if strings.Contains(r.Body, `data-stage="challenge"`) {
		r = e.PostForm("/connect/sessions/challenge", url.Values{"token": {token}, "answer": {sandbox.ChallengeAnswer}})
	}
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-stage="done"`) {
		e.T.Fatalf("connect %s/%s: %d %s", partyID, bankCode, r.Status, r.Body)
	}
	e.Drain()
}
