package connect_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// TestSaltEdgeConnectThroughCallback: with Salt Edge as the primary
// provider, a profile's customer is created there, the connect URL is Salt
// Edge's, the user finishes at Salt Edge, and its signed "success" callback
// (sent over HTTP to OpenAgg) makes the sync activate the connection and
// import it. A sandbox bank then gets a sandbox customer on the way. No
// public URL is configured (as in AWS): the callback's signed URL and the
// sandbox connect URL come from the request's host.
func TestSaltEdgeConnectThroughCallback(t *testing.T) {
	partytest.ForEachDriver(t, func(t *testing.T, d partytest.Driver) {
		clock := platform.NewFakeClock(partytest.Start)
		fake, err := saltedgetest.New(saltedgetest.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer fake.Close()
		client, err := saltedge.New(saltedge.Config{BaseURL: fake.URL, AppID: "test-app-id", Secret: "test-secret", HTTPClient: fake.Client(), Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		var handler http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
		defer srv.Close()
		e := partytest.New(t, partytest.Options{
			Store: d.Open(t), Clock: clock, Providers: []provider.Provider{client}, Primary: saltedge.Name, PublicURL: platform.PublicURLFromRequest,
			CallbackPublicKey: fake.CallbackPublicKeyPEM(),
		})
		handler = e.Handler
		tok := e.Token(alice)
		e.CreateProfile(tok, partyID)
		prof, err := e.Parties.Get(e.Ctx, partyID)
		if err != nil || prof.Provider != saltedge.Name || prof.Customers[saltedge.Name] == "" || prof.Customers[sandbox.Name] != "" {
			t.Fatalf("profile %+v %v", prof, err)
		}

		// Both providers list this code: the profile's provider wins.
		const bank = "bank_of_east_asia_oauth_client_gb_xf"
		r := e.Do(http.MethodPost, "/party/profiles/"+partyID+"/banks/"+bank+"/connections", tok, partytest.ConnectBody(partyID))
		if r.Status != 200 || !strings.Contains(r.Body, `"connect_url":"`+strings.TrimSuffix(fake.URL, saltedgetest.APIPrefix)+`/connect?token=`) {
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
		token := resp.Data.ConnectURL[strings.Index(resp.Data.ConnectURL, "token=")+len("token="):]
		if c := conn(t, e, bank); c.Provider != saltedge.Name || c.Status != connection.StatusPending {
			t.Fatalf("pending %+v", c)
		}

		sc, err := fake.CompleteSession(token)
		if err != nil {
			t.Fatal(err)
		}
		fake.AddAccount(saltedgetest.Account{ConnectionID: sc.ID, Name: "Current", Nature: "account", Balance: "1234.56", CurrencyCode: "GBP"})
		res, err := fake.SendCallback(e.Ctx, srv.Client(), srv.URL+"/callbacks/saltedge/success",
			map[string]any{"connection_id": sc.ID, "customer_id": sc.CustomerID, "custom_fields": map[string]any{}, "stage": "finish"})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("callback: %d", res.StatusCode)
		}
		e.Drain()
		c := conn(t, e, bank)
		if c.Status != connection.StatusActive || c.ProviderConnectionID != sc.ID || c.ProviderStatus != "active" || c.NextRefresh.IsZero() {
			t.Fatalf("after callback %+v", c)
		}
		det := e.Do(http.MethodGet, "/party/profiles/"+partyID+"/connectionDetails", tok, "")
		if !strings.Contains(det.Body, `"provider":"saltedge"`) || !strings.Contains(det.Body, `"state":"done","accounts":1`) {
			t.Fatalf("details %s", det.Body)
		}

		// A sandbox-only bank: the party gets a sandbox customer, in the same
		// transaction as the connection.
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
		if _, ok := fake.Connection(sc.ID); ok {
			t.Fatal("connection kept at Salt Edge")
		}
	})
}
