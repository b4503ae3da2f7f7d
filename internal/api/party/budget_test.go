package party_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store/bolt"
)

// TestStoreRoundTripsPerRequest holds every request of the party and
// connect groups to the design's budget (docs/data-model.md): at most 2
// store round trips for a read, 3 for a write. The sandbox keeps its own
// state (what Salt Edge keeps on its side) in another store, so only
// OpenAgg's requests are counted.
func TestStoreRoundTripsPerRequest(t *testing.T) {
	partytest.ForEachDriver(t, func(t *testing.T, d partytest.Driver) {
		sbx, err := bolt.Open(filepath.Join(t.TempDir(), "sandbox.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sbx.Close() })
		e := partytest.New(t, partytest.Options{Store: d.Open(t), ProviderStore: sbx})
		tok, admin := e.Token("alice"), e.Token("root", "CanManageParties")
		const party = "100100"
		base := "/party/profiles/" + party

		var r partytest.Response
		check := func(name string, want int64, status int, fn func() partytest.Response) {
			t.Helper()
			before := e.Store.Calls()
			r = fn()
			got := e.Store.Calls() - before
			if r.Status != status {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
			if got != want {
				t.Fatalf("%s: %d store round trips, want %d", name, got, want)
			}
		}
		token := func() string {
			_, after, ok := strings.Cut(r.Body, "token=")
			if !ok || len(after) < 64 {
				t.Fatalf("no connect token in %s", r.Body)
			}
			return after[:64]
		}
		login := func(tok, password string) func() partytest.Response {
			return func() partytest.Response {
				return e.PostForm("/connect/sessions", url.Values{"token": {tok}, "username": {"alice"}, "password": {password}})
			}
		}
		connect := func(who, bank string) func() partytest.Response {
			return func() partytest.Response {
				return e.Do(http.MethodPost, base+"/banks/"+bank+"/connections", who, partytest.ConnectBody(party))
			}
		}

		check("create profile", 2, http.StatusOK, func() partytest.Response { return e.Do(http.MethodPost, base, tok, "{}") })
		check("create profile again", 1, http.StatusConflict, func() partytest.Response { return e.Do(http.MethodPost, base, tok, "{}") })

		// An ordinary bank: connection, connect page, login.
		check("create connection", 3, http.StatusOK, connect(tok, sandbox.BankDefault))
		ct := token()
		check("connect page", 0, http.StatusOK, func() partytest.Response { return e.Do(http.MethodGet, "/connect/sessions?token="+ct, "", "") })
		check("login (done)", 3, http.StatusOK, login(ct, sandbox.Password))

		// The challenge bank, by a manager: login, then the answer.
		check("create connection (manager)", 3, http.StatusOK, connect(admin, sandbox.BankChallenge))
		ct = token()
		check("login (challenge)", 0, http.StatusOK, login(ct, sandbox.Password))
		check("challenge answer (done)", 3, http.StatusOK, func() partytest.Response {
			return e.PostForm("/connect/sessions/challenge", url.Values{"token": {ct}, "answer": {sandbox.ChallengeAnswer}})
		})

		// A failed login records the error.
		check("create connection (third bank)", 3, http.StatusOK, connect(tok, "thames_building_society_web_client_gb_xf"))
		// A wrong password is a try: nothing is recorded until the last.
		third := token()
		for range sandbox.Attempts - 1 {
			check("login (wrong password)", 0, http.StatusOK, login(third, "wrong"))
			if !strings.Contains(r.Body, `data-stage="login"`) {
				t.Fatalf("wrong password: %s", r.Body)
			}
		}
		check("login (failed)", 3, http.StatusOK, login(third, "wrong"))
		if !strings.Contains(r.Body, `data-stage="failed"`) {
			t.Fatalf("wrong password: %s", r.Body)
		}
		e.Drain()

		check("connection details", 1, http.StatusOK, func() partytest.Response { return e.Do(http.MethodGet, base+"/connectionDetails", tok, "") })
		check("load connections", 1, http.StatusAccepted, func() partytest.Response { return e.Do(http.MethodGet, base+"/connections", tok, "") })
		// The connection-sync worker reads the party partition once and
		// writes only what changed (here nothing).
		before := e.Store.Calls()
		e.Drain()
		if n := e.Store.Calls() - before; n != 1 {
			t.Fatalf("connection sync without changes: %d store round trips, want 1", n)
		}
		e.Clock.Advance(2 * time.Hour)
		check("refresh", 2, http.StatusOK, func() partytest.Response {
			return e.Do(http.MethodPut, base+"/banks/"+sandbox.BankDefault+"/refreshConnections", tok, "{}")
		})
		e.Drain() // the provider refreshed: the next refresh is an hour away
		check("refresh too early", 1, http.StatusConflict, func() partytest.Response {
			return e.Do(http.MethodPut, base+"/banks/"+sandbox.BankDefault+"/refreshConnections", tok, "{}")
		})
	})
}
