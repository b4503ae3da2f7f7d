package holdings_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

type wireSyncTx struct {
	AccountID string `json:"accountId"`
	wireTx
}

type syncBody struct {
	Added    []wireSyncTx `json:"added"`
	Modified []wireSyncTx `json:"modified"`
	Removed  []struct {
		ID        string `json:"id"`
		AccountID string `json:"accountId"`
	} `json:"removed"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

func syncPath(party, cursor string, count int) string {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if count > 0 {
		v.Set("count", strconv.Itoa(count))
	}
	p := "/holdings/profiles/" + party + "/transactions/sync"
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	return p
}

// syncer follows a party's change log through the API.
type syncer struct {
	e      *env
	party  string
	token  string
	cursor string
	state  map[[2]string]wireSyncTx
}

// follow reads pages of count until has_more is false; each page costs two
// store round trips (the profile, the log).
func (s *syncer) follow(t *testing.T, count int) (added, modified, removed int) {
	t.Helper()
	for {
		var r response
		n := s.e.calls(func() { r = s.e.do(http.MethodGet, syncPath(s.party, s.cursor, count), s.token, "") })
		if r.status != http.StatusOK {
			t.Fatalf("sync: %d %s", r.status, r.body)
		}
		if n != 2 {
			t.Fatalf("a sync page cost %d store round trips, want 2", n)
		}
		if !strings.Contains(r.body, `"added":[`) || !strings.Contains(r.body, `"removed":[`) || !strings.Contains(r.body, `"modified":[`) {
			t.Fatalf("lists are not arrays: %s", r.body)
		}
		b := decode[syncBody](t, r)
		if b.NextCursor == "" || len(b.Added)+len(b.Modified)+len(b.Removed) > count {
			t.Fatalf("page %+v", b)
		}
		for _, tx := range b.Added {
			k := [2]string{tx.AccountID, tx.ID}
			if _, ok := s.state[k]; ok || tx.AccountID == "" {
				t.Fatalf("added %s of account %q twice", tx.ID, tx.AccountID)
			}
			if _, err := decimal.NewFromString(tx.Amount); err != nil || tx.Currency == "" || tx.MadeOn == "" {
				t.Fatalf("transaction %+v", tx)
			}
			s.state[k] = tx
			added++
		}
		for _, tx := range b.Modified {
			k := [2]string{tx.AccountID, tx.ID}
			if _, ok := s.state[k]; !ok {
				t.Fatalf("modified %s of account %s, never added", tx.ID, tx.AccountID)
			}
			s.state[k] = tx
			modified++
		}
		for _, tx := range b.Removed {
			k := [2]string{tx.AccountID, tx.ID}
			if _, ok := s.state[k]; !ok {
				t.Fatalf("removed %s of account %s, never added", tx.ID, tx.AccountID)
			}
			delete(s.state, k)
			removed++
		}
		s.cursor = b.NextCursor
		if !b.HasMore {
			return added, modified, removed
		}
	}
}

// stored counts the transactions of a party through the domain.
func stored(t *testing.T, e *env, party string) map[[2]string]bool {
	t.Helper()
	out := map[[2]string]bool{}
	accs, err := e.Holdings.Accounts(e.Ctx, party)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		q := holdings.TxQuery{Limit: holdings.MaxTxLimit}
		for {
			page, err := e.Holdings.Transactions(e.Ctx, a.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range page.Transactions {
				out[[2]string{a.ID, tx.ID}] = true
			}
			if page.Next == "" {
				break
			}
			q.Token = page.Next
		}
	}
	return out
}

func (s *syncer) matches(t *testing.T) {
	t.Helper()
	want := stored(t, s.e, s.party)
	if len(want) != len(s.state) {
		t.Fatalf("the client holds %d transactions, the store %d", len(s.state), len(want))
	}
	for k := range want {
		if _, ok := s.state[k]; !ok {
			t.Fatalf("the client lacks %v", k)
		}
	}
}

// TestSync follows a party's changes over its connections: the first
// connection's import, a second connection's, the first one's removal;
// every page costs two store round trips, for the owner and for a party
// manager.
func TestSync(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		tokA := e.Token(alice)
		e.CreateProfile(tokA, partyA)
		s := &syncer{e: e, party: partyA, token: tokA, state: map[[2]string]wireSyncTx{}}
		// Nothing yet: an empty page with a cursor.
		if a, m, r := s.follow(t, 10); a+m+r != 0 {
			t.Fatalf("an empty log read %d/%d/%d", a, m, r)
		}

		e.Connected(tokA, partyA, sandbox.BankDefault)
		if a, m, r := s.follow(t, 40); a == 0 || m != 0 || r != 0 {
			t.Fatalf("first import read %d added, %d modified, %d removed", a, m, r)
		}
		s.matches(t)

		e.Connected(tokA, partyA, sandbox.BankChallenge)
		before := len(s.state)
		if a, _, r := s.follow(t, holdings.MaxSyncCount); a == 0 || r != 0 {
			t.Fatalf("second connection read %d added, %d removed", a, r)
		}
		s.matches(t)

		if r := e.do(http.MethodDelete, "/party/profiles/"+partyA+"/banks/"+sandbox.BankDefault+"/removeConnections", tokA, ""); r.status != http.StatusOK {
			t.Fatalf("remove: %d %s", r.status, r.body)
		}
		e.Drain()
		after := len(s.state)
		if _, _, r := s.follow(t, 25); r != before {
			t.Fatalf("the removal read %d removed, the connection had %d (of %d)", r, before, after)
		}
		s.matches(t)
		for k, tx := range s.state {
			if tx.AccountID != k[0] {
				t.Fatalf("%v", k)
			}
		}

		// A party manager reads someone else's changes at the same cost.
		admin := &syncer{e: e, party: partyA, token: e.Token("carol", "CanManageParties"), state: map[[2]string]wireSyncTx{}}
		admin.follow(t, holdings.MaxSyncCount)
		admin.matches(t)
	})
}

func TestSyncErrors(t *testing.T) {
	e := newEnv(t)
	tokA, tokB := e.Token(alice), e.Token(bob)
	e.CreateProfile(tokA, partyA)
	e.CreateProfile(tokB, partyB)
	r := e.do(http.MethodGet, syncPath(partyB, "", 0), tokB, "")
	if r.status != http.StatusOK {
		t.Fatalf("sync: %d %s", r.status, r.body)
	}
	cursorB := decode[syncBody](t, r).NextCursor
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"zero count", "/holdings/profiles/" + partyA + "/transactions/sync?count=0", tokA, 400, aggregation.CodeInvalidLimit},
		{"count too big", syncPath(partyA, "", 501), tokA, 400, aggregation.CodeInvalidLimit},
		{"count not a number", "/holdings/profiles/" + partyA + "/transactions/sync?count=ten", tokA, 400, aggregation.CodeInvalidLimit},
		{"forged cursor", syncPath(partyA, "abc", 0), tokA, 400, aggregation.CodeInvalidPageToken},
		{"another party's cursor", syncPath(partyA, cursorB, 0), tokA, 400, aggregation.CodeInvalidPageToken},
		{"another user's party", syncPath(partyB, "", 0), tokA, 403, aggregation.CodePartyForbidden},
		{"another user's party, bad cursor", syncPath(partyB, "abc", 0), tokA, 403, aggregation.CodePartyForbidden},
		{"unknown party", syncPath("999999", "", 0), tokA, 404, aggregation.CodePartyNotFound},
		{"bad party id", "/holdings/profiles/a%20b/transactions/sync", tokA, 400, aggregation.CodeInvalidPartyID},
		{"no token", syncPath(partyA, "", 0), "", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodGet, tc.path, tc.token, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" && errorCode(t, r) != tc.code {
				t.Fatalf("code %s, want %s", errorCode(t, r), tc.code)
			}
		})
	}
}
