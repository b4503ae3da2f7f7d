package connect_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
)

var (
	requestKeysOnce         sync.Once
	requestPriv, requestPub string // OpenAgg's key pair signing requests to Salt Edge
)

// seEnv is OpenAgg on a real HTTP server with Salt Edge as the primary
// provider, the Salt Edge fake signing its callbacks to it and checking
// that every request OpenAgg sends is signed.
type seEnv struct {
	*partytest.Env
	fake *saltedgetest.Server
	srv  *httptest.Server
	tok  string
}

func newSaltEdgeEnv(t *testing.T, st partytest.Store) *seEnv {
	t.Helper()
	requestKeysOnce.Do(func() {
		var err error
		if requestPriv, requestPub, err = saltedgetest.GenerateKeyPEM(); err != nil {
			panic(err)
		}
	})
	clock := clocktest.New(partytest.Start)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	fake, err := saltedgetest.New(saltedgetest.Options{Clock: clock, RequestPublicKeyPEM: requestPub,
		CallbackURL: srv.URL + "/callbacks/saltedge", CallbackClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	client, err := saltedge.New(saltedge.Config{BaseURL: fake.URL, AppID: "test-app-id", Secret: "test-secret", PrivateKeyPEM: requestPriv,
		HTTPClient: fake.Client(), Clock: clock, IncludeSandboxes: true})
	if err != nil {
		t.Fatal(err)
	}
	// No public URL is configured (as in AWS): the callbacks' signed URL
	// and the sandbox connect URL come from the request's host.
	e := partytest.New(t, partytest.Options{
		Store: st, Clock: clock, Providers: []provider.Provider{client}, Primary: saltedge.Name, PublicURL: platform.PublicURLFromRequest,
		CallbackPublicKey: fake.CallbackPublicKeyPEM(),
	})
	handler = e.Handler
	env := &seEnv{Env: e, fake: fake, srv: srv, tok: e.Token(alice)}
	t.Cleanup(func() {
		// Every request OpenAgg sent to Salt Edge was signed, and Salt
		// Edge's every callback was accepted (the refused ones the tests
		// send themselves are not the fake's).
		for _, r := range fake.Requests() {
			if !r.Signed {
				t.Errorf("unsigned request %s %s", r.Method, r.Path)
			}
		}
		for _, cb := range fake.Callbacks() {
			if cb.Status != http.StatusOK {
				t.Errorf("%s callback answered %d: %s", cb.Kind, cb.Status, cb.Body)
			}
		}
	})
	return env
}

// connectURL creates the party's connection to bank over HTTP and returns
// the connect session's token.
func (s *seEnv) connectToken(t *testing.T, bank string) string {
	t.Helper()
	r := s.Do(http.MethodPost, "/party/profiles/"+partyID+"/banks/"+bank+"/connections", s.tok, partytest.ConnectBody(partyID))
	if r.Status != 200 || !strings.Contains(r.Body, `"connect_url":"`+strings.TrimSuffix(s.fake.URL, saltedgetest.APIPrefix)+`/connect?token=`) {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var resp struct {
		Data struct {
			ConnectURL string `json:"connect_url"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.Body), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Data.ConnectURL[strings.Index(resp.Data.ConnectURL, "token=")+len("token="):]
}

// step moves Salt Edge's fetches one stage on (its callbacks reach
// OpenAgg over HTTP) and runs the jobs they queued.
func (s *seEnv) step(t *testing.T) {
	t.Helper()
	if _, err := s.fake.Step(s.Ctx); err != nil {
		t.Fatal(err)
	}
	s.Drain()
}

// finish runs Salt Edge's fetches to their end, then OpenAgg's jobs.
func (s *seEnv) finish(t *testing.T) {
	t.Helper()
	if err := s.fake.RunFetches(s.Ctx); err != nil {
		t.Fatal(err)
	}
	s.Drain()
}

// imported lists the provider ids of the party's imported accounts and of
// their transactions (id → status).
func (s *seEnv) imported(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	accs, err := s.Holdings.Accounts(s.Ctx, partyID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	txs := map[string]string{}
	for _, a := range accs {
		ids = append(ids, a.ProviderAccountID)
		q := holdings.TxQuery{Limit: holdings.MaxTxLimit}
		for {
			page, err := s.Holdings.Transactions(s.Ctx, a.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range page.Transactions {
				txs[tx.ID] = tx.Status
			}
			if page.Next == "" {
				break
			}
			q.Token = page.Next
		}
	}
	slices.Sort(ids)
	return ids, txs
}

// holdsAll checks that OpenAgg imported exactly what Salt Edge shows of
// the connection.
func (s *seEnv) holdsAll(t *testing.T, connID string) {
	t.Helper()
	accs, txs := s.fake.Visible(connID)
	gotAccs, gotTxs := s.imported(t)
	var wantAccs []string
	for _, a := range accs {
		wantAccs = append(wantAccs, a.ID)
	}
	slices.Sort(wantAccs)
	if !slices.Equal(gotAccs, wantAccs) {
		t.Errorf("imported accounts %v, Salt Edge has %v", gotAccs, wantAccs)
	}
	if len(gotTxs) != len(txs) {
		t.Errorf("imported %d transactions, Salt Edge has %d", len(gotTxs), len(txs))
	}
	for _, tx := range txs {
		if got, ok := gotTxs[tx.ID]; !ok || got != tx.Status {
			t.Errorf("transaction %s (%s, %s %s): imported %q", tx.ID, tx.Status, tx.MadeOn, tx.Amount, got)
		}
	}
}

func (s *seEnv) details(t *testing.T) string {
	t.Helper()
	r := s.Do(http.MethodGet, "/party/profiles/"+partyID+"/connectionDetails", s.tok, "")
	if r.Status != 200 {
		t.Fatalf("details: %d %s", r.Status, r.Body)
	}
	return r.Body
}

// TestSaltEdgeConnectThroughCallback: with Salt Edge as the primary
// provider, a profile's customer is created there, the connect URL is Salt
// Edge's, the user finishes at Salt Edge, and its signed callbacks (sent
// over HTTP to OpenAgg) activate the connection and, at the end of the
// fetch, import it. A sandbox bank then gets a sandbox customer on the
// way; removal deletes at Salt Edge.
func TestSaltEdgeConnectThroughCallback(t *testing.T) {
	partytest.ForEachDriver(t, func(t *testing.T, d partytest.Driver) {
		s := newSaltEdgeEnv(t, d.Open(t))
		e, tok := s.Env, s.tok
		e.CreateProfile(tok, partyID)
		prof, err := e.Parties.Get(e.Ctx, partyID)
		if err != nil || prof.Provider != saltedge.Name || prof.Customers[saltedge.Name] == "" || prof.Customers[sandbox.Name] != "" {
			t.Fatalf("profile %+v %v", prof, err)
		}

		// Both providers list this code: the profile's provider wins.
		const bank = "bank_of_east_asia_oauth_client_gb_xf"
		token := s.connectToken(t, bank)
		if c := conn(t, e, bank); c.Provider != saltedge.Name || c.Status != connection.StatusPending {
			t.Fatalf("pending %+v", c)
		}
		sc, err := s.fake.CompleteSession(token)
		if err != nil {
			t.Fatal(err)
		}
		s.fake.AddAccount(saltedgetest.Account{ConnectionID: sc.ID, Name: "Current", Nature: "account", Balance: "1234.56", CurrencyCode: "GBP"})
		s.finish(t)
		c := conn(t, e, bank)
		if c.Status != connection.StatusActive || c.ProviderConnectionID != sc.ID || c.ProviderStatus != "active" || c.NextRefresh.IsZero() ||
			!c.NextRefreshPossibleAt.Equal(partytest.Start.Add(time.Hour)) {
			t.Fatalf("after the callbacks %+v", c)
		}
		det := s.details(t)
		if !strings.Contains(det, `"provider":"saltedge"`) || !strings.Contains(det, `"state":"done","accounts":1`) {
			t.Fatalf("details %s", det)
		}

		// A sandbox-only bank: the party gets a sandbox customer, in the
		// same transaction as the connection.
		e.Connected(tok, partyID, sandbox.BankDefault)
		prof, _ = e.Parties.Get(e.Ctx, partyID)
		if prof.Customers[sandbox.Name] == "" || prof.Version != 2 {
			t.Fatalf("profile %+v", prof)
		}
		if pid, err := party.PartyOfCustomer(e.Ctx, e.Store, sandbox.Name, prof.Customers[sandbox.Name]); err != nil || pid != partyID {
			t.Fatalf("sandbox customer index %q %v", pid, err)
		}
		if c := conn(t, e, sandbox.BankDefault); c.Status != connection.StatusActive || c.Provider != sandbox.Name {
			t.Fatalf("sandbox connection %+v", c)
		}

		// Removal deletes at Salt Edge.
		if r := e.Do(http.MethodDelete, "/party/profiles/"+partyID+"/banks/"+bank+"/removeConnections", tok, ""); r.Status != 200 {
			t.Fatalf("remove: %d %s", r.Status, r.Body)
		}
		if _, ok := s.fake.Connection(sc.ID); ok {
			t.Fatal("connection kept at Salt Edge")
		}
	})
}

// TestSaltEdgeLifecycle is the Salt Edge integration end to end over the
// real HTTP stack: the import follows Salt Edge's callbacks (a fetch's
// data is imported at its final stage, with what arrived after the first
// callback), a refresh only starts a fetch whose callbacks bring the new
// transactions, Salt Edge's own daily refresh is imported the same way, an
// expired consent stops the connection and connecting again answers a
// reconnect URL of the same Salt Edge connection, and a callback that is
// badly signed, stale or a replay changes nothing.
func TestSaltEdgeLifecycle(t *testing.T) {
	s := newSaltEdgeEnv(t, nil)
	e := s.Env
	e.CreateProfile(s.tok, partyID)
	const bank = "fakebank_simple_xf"
	token := s.connectToken(t, bank)
	sc, err := s.fake.CompleteSession(token)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) string { return partytest.Start.AddDate(0, 0, d).Format(time.DateOnly) }
	cur := s.fake.AddAccount(saltedgetest.Account{ConnectionID: sc.ID, Name: "Current", Nature: "account", Balance: "1500.25", CurrencyCode: "EUR"})
	card := s.fake.AddAccount(saltedgetest.Account{ConnectionID: sc.ID, Name: "Card", Nature: "card", Balance: "-42.10", CurrencyCode: "EUR"})
	s.fake.AddTransactions(cur.ID,
		saltedgetest.Transaction{MadeOn: day(-60), Amount: "-120.00", CurrencyCode: "EUR", Description: "RENT"},
		saltedgetest.Transaction{MadeOn: day(-30), Amount: "2500.00", CurrencyCode: "EUR", Description: "SALARY"},
		saltedgetest.Transaction{MadeOn: day(-2), Amount: "-18.90", CurrencyCode: "EUR", Description: "GROCER"},
		saltedgetest.Transaction{Status: "pending", MadeOn: day(0), Amount: "-4.50", CurrencyCode: "EUR", Description: "COFFEE"},
	)
	s.fake.AddTransactions(card.ID, saltedgetest.Transaction{MadeOn: day(-10), Amount: "-42.10", CurrencyCode: "EUR", Description: "BOOKS"})

	// Stage start (a notify) and fetch_accounts (the first success
	// callback): active, nothing imported yet.
	s.step(t)
	s.step(t)
	c := conn(t, e, bank)
	if c.Status != connection.StatusActive || c.ProviderConnectionID != sc.ID || c.ImportRunID != "" {
		t.Fatalf("after the first success callback %+v", c)
	}
	if accs, _ := s.imported(t); len(accs) != 0 {
		t.Fatalf("imported before the fetch finished: %v", accs)
	}
	// The bank has more after the first callback: it is imported too.
	late := s.fake.AddTransactions(card.ID, saltedgetest.Transaction{MadeOn: day(-1), Amount: "-9.99", CurrencyCode: "EUR", Description: "STREAMING"})
	s.step(t) // fetch_recent: still no import
	if c := conn(t, e, bank); c.ImportRunID != "" {
		t.Fatalf("import queued at an intermediate stage: %+v", c)
	}
	s.step(t) // finish: the import
	s.holdsAll(t, sc.ID)
	if _, txs := s.imported(t); txs[late[0].ID] != "posted" {
		t.Errorf("the transaction that arrived after the first callback is missing")
	}
	if det := s.details(t); !strings.Contains(det, `"status":"active"`) || !strings.Contains(det, `"state":"done","accounts":2,"transactions":6`) {
		t.Fatalf("details %s", det)
	}

	// Callbacks that change nothing: badly signed, duplicated, stale.
	before := conn(t, e, bank)
	last := s.fake.Callbacks()[len(s.fake.Callbacks())-1]
	if !strings.Contains(string(last.Body), `"stage":"finish"`) {
		t.Fatalf("last callback %s", last.Body)
	}
	_, forged, err := s.fake.SignedCallback("https://elsewhere.example/callbacks/saltedge/success", json.RawMessage(`{}`), e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	stale, staleSig, err := s.fake.SignedCallback(last.URL, map[string]any{"connection_id": sc.ID, "customer_id": sc.CustomerID, "stage": "finish"},
		e.Clock.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		body      []byte
		signature string
		status    int
	}{
		{"signature of another URL", last.Body, forged, 401},
		{"unsigned", last.Body, "", 401},
		{"older than the window", stale, staleSig, 401},
		{"delivered twice", last.Body, last.Signature, 200},
	} {
		status, err := saltedgetest.Post(e.Ctx, s.srv.Client(), last.URL, tc.body, tc.signature)
		if err != nil || status != tc.status {
			t.Fatalf("%s: %d %v", tc.name, status, err)
		}
		s.Drain()
		if got := conn(t, e, bank); got.Version != before.Version || got.ImportRunID != before.ImportRunID {
			t.Fatalf("%s changed the connection: %+v", tc.name, got)
		}
		if n := e.Depth(queue.Holdings); n != 0 {
			t.Fatalf("%s queued %d imports", tc.name, n)
		}
	}

	// Refresh: too early with Salt Edge's next_refresh_possible_at...
	refresh := "/party/profiles/" + partyID + "/banks/" + bank + "/refreshConnections"
	next, _ := s.fake.Connection(sc.ID)
	r := e.Do(http.MethodPut, refresh, s.tok, "{}")
	if r.Status != 409 || errCode(t, r) != "REFRESH_TOO_EARLY" || !strings.Contains(r.Body, next.NextRefreshPossibleAt.Format(time.RFC3339)) {
		t.Fatalf("early refresh: %d %s (Salt Edge allows %s)", r.Status, r.Body, next.NextRefreshPossibleAt)
	}
	// ...then it answers at once and only starts a fetch; the import comes
	// with the callbacks and holds the bank's new transactions.
	e.Clock.Advance(time.Hour)
	if r := e.Do(http.MethodPut, refresh, s.tok, "{}"); r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	e.Drain()
	if c := conn(t, e, bank); c.ImportRunID != before.ImportRunID || !s.fake.Fetching(sc.ID) || s.fake.Calls("POST", "/connections/"+sc.ID+"/background_refresh") != 1 {
		t.Fatalf("refresh queued an import before the fetch: %+v", c)
	}
	fresh := s.fake.AddTransactions(cur.ID, saltedgetest.Transaction{MadeOn: day(0), Amount: "-60.00", CurrencyCode: "EUR", Description: "FUEL"})
	s.finish(t)
	s.holdsAll(t, sc.ID)
	if _, txs := s.imported(t); txs[fresh[0].ID] != "posted" {
		t.Fatal("refresh: the new transaction is not imported")
	}

	// Salt Edge's own daily refresh is imported the same way.
	e.Clock.Advance(25 * time.Hour)
	daily := s.fake.AddTransactions(card.ID, saltedgetest.Transaction{MadeOn: day(1), Amount: "-15.00", CurrencyCode: "EUR", Description: "CINEMA"})
	if err := s.fake.Tick(e.Ctx); err != nil {
		t.Fatal(err)
	}
	s.finish(t)
	s.holdsAll(t, sc.ID)
	if _, txs := s.imported(t); txs[daily[0].ID] != "posted" {
		t.Fatal("daily refresh: the new transaction is not imported")
	}
	// Salt Edge refreshed: OpenAgg's own daily refresh waits a period
	// from now (a backstop, not a second refresh).
	if c := conn(t, e, bank); !c.LastRefreshAt.Equal(e.Clock.Now()) || !c.NextRefresh.Equal(e.Clock.Now().Add(24*time.Hour)) {
		t.Fatalf("after Salt Edge's refresh: last %s, next %s", c.LastRefreshAt, c.NextRefresh)
	}

	// The consent expires: the connection stops with a reason the client
	// can read, and a refresh says what to do.
	if err := s.fake.ExpireConsent(e.Ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	e.Drain()
	c = conn(t, e, bank)
	if c.Status != connection.StatusInactive || c.StopReason != provider.StopConsentExpired || !c.NextRefresh.IsZero() {
		t.Fatalf("after the consent expired %+v", c)
	}
	det := s.details(t)
	if !strings.Contains(det, `"status":"inactive"`) || !strings.Contains(det, `"statusReason":"consent_expired"`) || !strings.Contains(det, `"lastError":"ConsentExpired: `) {
		t.Fatalf("details %s", det)
	}
	r = e.Do(http.MethodPut, refresh, s.tok, "{}")
	if r.Status != 409 || errCode(t, r) != "CONNECTION_NOT_ACTIVE" || !strings.Contains(r.Body, "consent to share its data has expired") || !strings.Contains(r.Body, "/connections") {
		t.Fatalf("refresh of an expired consent: %d %s", r.Status, r.Body)
	}

	// Connecting again answers a reconnect URL of the same Salt Edge
	// connection; once the user renewed the consent, the fetch's callbacks
	// make it active and import it.
	e.Clock.Advance(time.Minute)
	token = s.connectToken(t, bank)
	se, ok := s.fake.Session(token)
	if !ok || se.Kind != saltedgetest.SessionReconnect || se.ConnectionID != sc.ID {
		t.Fatalf("session %+v", se)
	}
	if c := conn(t, e, bank); c.Status != connection.StatusPending || c.ProviderConnectionID != sc.ID || c.StopReason != "" {
		t.Fatalf("pending reconnect %+v", c)
	}
	// A late callback of the ended consent (before the session) leaves the
	// pending reconnect alone.
	old := s.fake.Callbacks()[len(s.fake.Callbacks())-1]
	if status, err := saltedgetest.Post(e.Ctx, s.srv.Client(), old.URL, old.Body, old.Signature); err != nil || status != 200 {
		t.Fatalf("late fail callback: %d %v", status, err)
	}
	e.Drain()
	if c := conn(t, e, bank); c.Status != connection.StatusPending {
		t.Fatalf("a callback of the old consent failed the reconnect: %+v", c)
	}
	e.Clock.Advance(time.Minute) // the user logs in at the bank
	if _, err := s.fake.CompleteSession(token); err != nil {
		t.Fatal(err)
	}
	s.finish(t)
	c = conn(t, e, bank)
	if c.Status != connection.StatusActive || c.ProviderConnectionID != sc.ID || c.StopReason != "" || c.NextRefresh.IsZero() {
		t.Fatalf("after the reconnect %+v", c)
	}
	if n := len(s.fake.Connections(sc.CustomerID)); n != 1 {
		t.Fatalf("%d connections at Salt Edge, want the one", n)
	}
	s.holdsAll(t, sc.ID)
}

// connected gives the party an active Salt Edge connection to bank whose
// first fetch was imported.
func (s *seEnv) connected(t *testing.T, bank string) saltedgetest.Connection {
	t.Helper()
	s.CreateProfile(s.tok, partyID)
	token := s.connectToken(t, bank)
	s.Clock.Advance(time.Minute)
	sc, err := s.fake.CompleteSession(token)
	if err != nil {
		t.Fatal(err)
	}
	s.fake.AddAccount(saltedgetest.Account{ConnectionID: sc.ID, Name: "Current", Nature: "account", Balance: "10.00", CurrencyCode: "EUR"})
	s.finish(t)
	if c := conn(t, s.Env, bank); c.Status != connection.StatusActive || c.ImportRunID == "" {
		t.Fatalf("connected %+v", c)
	}
	return sc
}

// A consent that ends stops the connection whichever way OpenAgg learns
// it: a fail callback (TestSaltEdgeLifecycle), a notify callback naming
// the end, or Salt Edge's answer to a refresh when the callback was lost.
func TestSaltEdgeConsentEnds(t *testing.T) {
	const bank = "fake_oauth_client_xf"
	t.Run("notify callback", func(t *testing.T) {
		s := newSaltEdgeEnv(t, nil)
		sc := s.connected(t, bank)
		url := s.srv.URL + "/callbacks/saltedge/notify"
		body, sig, err := s.fake.SignedCallback(url, map[string]any{"connection_id": sc.ID, "customer_id": sc.CustomerID, "custom_fields": map[string]any{},
			"stage": "finish", "error_class": saltedgetest.ClassConsentRevoked, "error_message": "revoked at the bank"}, s.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if status, err := saltedgetest.Post(s.Ctx, s.srv.Client(), url, body, sig); err != nil || status != 200 {
			t.Fatalf("notify: %d %v", status, err)
		}
		s.Drain()
		c := conn(t, s.Env, bank)
		if c.Status != connection.StatusInactive || c.StopReason != provider.StopConsentRevoked || c.LastError != "ConsentRevoked: revoked at the bank" {
			t.Fatalf("after the notify %+v", c)
		}
		if det := s.details(t); !strings.Contains(det, `"statusReason":"consent_revoked"`) {
			t.Fatalf("details %s", det)
		}
	})
	t.Run("answer to a refresh", func(t *testing.T) {
		s := newSaltEdgeEnv(t, nil)
		sc := s.connected(t, bank)
		s.fake.SetCallbacks("", nil) // the fail callback is lost
		if err := s.fake.ExpireConsent(s.Ctx, sc.ID); err != nil {
			t.Fatal(err)
		}
		s.fake.SetCallbacks(s.srv.URL+"/callbacks/saltedge", nil)
		s.Clock.Advance(2 * time.Hour)
		refresh := "/party/profiles/" + partyID + "/banks/" + bank + "/refreshConnections"
		if r := s.Do(http.MethodPut, refresh, s.tok, "{}"); r.Status != 200 {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		s.Drain()
		c := conn(t, s.Env, bank)
		if c.Status != connection.StatusInactive || c.StopReason != provider.StopConsentExpired || !strings.Contains(c.LastError, "ConsentExpired") {
			t.Fatalf("after the refused refresh %+v", c)
		}
		// Connecting again renews it at Salt Edge (a reconnect session).
		se, ok := s.fake.Session(s.connectToken(t, bank))
		if !ok || se.Kind != saltedgetest.SessionReconnect || se.ConnectionID != sc.ID {
			t.Fatalf("session %+v", se)
		}
	})
}
