// Package partytest builds the real stack behind the party and connect API
// groups for tests: a store (bbolt on a temp file, or the driver
// Options.Store gives; Drivers lists both), the embedded queue
// drained synchronously, the sandbox provider, the bank directory (loaded),
// the holdings importer, real HS256 bearer tokens and the auth middleware
// in front of the groups' routes on a ServeMux.
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

	"github.com/openagg/openagg/internal/api/aggregation"
	connectapi "github.com/openagg/openagg/internal/api/connect"
	partyapi "github.com/openagg/openagg/internal/api/party"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
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
	// Verify and CallbackPublicKey configure the Salt Edge callbacks.
	Verify            connectapi.VerifyFunc
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
	Clock     *platform.FakeClock
	// ProviderStore, when set, holds the sandbox provider's own state
	// (customers, sessions, connections: what Salt Edge keeps on its side),
	// so that Store.Calls counts OpenAgg's requests alone.
	ProviderStore store.Store
}

// Env is one test environment.
type Env struct {
	T        testing.TB
	Ctx      context.Context
	Clock    *platform.FakeClock
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

// New builds an environment; everything is closed at the end of the test.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	clock := opts.Clock
	if clock == nil {
		clock = platform.NewFakeClock(Start)
	}
	publicURL := PublicURL
	switch opts.PublicURL {
	case "":
	case platform.PublicURLFromRequest:
		publicURL = "" // each request's own base URL
	default:
		publicURL = opts.PublicURL
	}
	primary := sandbox.Name
	if opts.Primary != "" {
		primary = opts.Primary
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
	sb := sandbox.New(sbStore, sandbox.Options{Clock: clock, PublicURL: publicURL, SlowDelay: time.Millisecond})
	providers := map[string]provider.Provider{sandbox.Name: sb}
	ordered := []provider.Provider{sb}
	for _, p := range opts.Providers {
		providers[p.Name()] = p
		ordered = append(ordered, p)
	}
	banks, err := bank.NewService(bank.Deps{Store: st, Queue: q, Providers: ordered, Clock: clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	hold := holdings.New(holdings.Config{Store: st, Queue: q, Clock: clock, Log: log, RunGuard: connection.Key,
		Providers: func(name string) (provider.Provider, error) {
			if p, ok := providers[name]; ok {
				return p, nil
			}
			return nil, platform.BadRequest("UNKNOWN_PROVIDER", "unknown provider %q", name)
		}})
	ents := &auth.Entitlements{Store: st, Clock: clock}
	parties, err := party.NewService(st, providers, ents, clock, party.Config{CompanyID: platform.DefaultCompanyID, Provider: primary})
	if err != nil {
		t.Fatal(err)
	}
	conns, err := connection.NewService(connection.Deps{Store: st, Queue: q, Providers: providers, Parties: parties,
		Banks: banks, Data: hold, Clock: clock, Log: log}, connection.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fast := local.ConsumerConfig{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, MaxReceiveCount: 3}
	q.Register(queue.Directory, queue.Consumer(log, banks.HandleJob), fast)
	q.Register(queue.Connections, queue.Consumer(log, conns.HandleJob), fast)
	q.Register(queue.Holdings, queue.Consumer(log, hold.HandleJob), fast)

	key := []byte("0123456789abcdef0123456789abcdef")
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: key, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	pa := partyapi.New(partyapi.Deps{Log: log, Profiles: parties, Connections: conns})
	ca := connectapi.New(connectapi.Deps{Log: log, Sessions: sb, Connections: conns, Verify: opts.Verify,
		CallbackPublicKey: opts.CallbackPublicKey, PublicURL: publicURL, Clock: clock})
	routes := append(pa.Routes(), ca.Routes()...)
	mux, err := platform.Mux(routes, func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, log, err) })
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Ctx: ctx, Clock: clock, Store: st, Queue: q, Sandbox: sb, Banks: banks, Holdings: hold,
		Parties: parties, Conns: conns, Ents: ents, key: key,
		Handler: platform.Chain(mux, platform.RequestIDMiddleware, platform.BaseURLMiddleware, authn.Middleware)}

	if _, err := banks.StartLoad(ctx); err != nil {
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
	for _, name := range []string{queue.Directory, queue.Connections, queue.Holdings} {
		dead, err := e.Queue.DeadLetters(name)
		if err != nil {
			e.T.Fatal(err)
		}
		for _, m := range dead {
			e.T.Errorf("dead letter on %s: %s %s", name, m.Type, m.Key)
		}
	}
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
func Identifier(partyID string) string { return platform.DefaultCompanyID + "-" + partyID }

// ConnectBody is a valid create-connection body for partyID at a bank
// allowing 90 days (every sandbox bank), dated a month before Start.
func ConnectBody(partyID string) string {
	return `{"data":{"customer_id":"` + Identifier(partyID) + `",` +
		`"consent":{"from_date":"10-02-2025","period_days":"90","scope":["account_details","transactions_details"]},` +
		`"attempt":{"from_date":"10-02-2025","period_days":"90","fetch_scope":["accounts","transactions"]},` +
		`"javascript_callback_type":"post_message","device":"iPad"}}`
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
	r := e.Do(http.MethodPost, "/party/profiles/"+partyID+"/banks/"+bankCode+"/connections", tok, ConnectBody(partyID))
	if r.Status != http.StatusOK {
		e.T.Fatalf("create connection %s/%s: %d %s", partyID, bankCode, r.Status, r.Body)
	}
	_, after, ok := strings.Cut(r.Body, "token=")
	if !ok || len(after) < 64 {
		e.T.Fatalf("no token in %s", r.Body)
	}
	return after[:64]
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
