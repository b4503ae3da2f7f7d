package holdings

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"testing"
)

// syncClient follows a party's change log as a client does: it applies
// each page to its copy of the transactions and fails the test on what a
// correct log never says (an added transaction it holds, a modified or
// removed one it does not).
type syncClient struct {
	h      *harness
	party  string
	cursor string
	state  map[txRef]Transaction
	pages  int
	seen   SyncCounts
}

func (h *harness) newSyncClient(partyID string) *syncClient {
	return &syncClient{h: h, party: partyID, state: map[txRef]Transaction{}}
}

// page reads and applies one page; a page costs one store call.
func (c *syncClient) page(count int) SyncPage {
	c.h.t.Helper()
	before := c.h.st.Calls()
	p, err := c.h.svc.Sync(context.Background(), c.party, SyncQuery{Cursor: c.cursor, Count: count})
	if err != nil {
		c.h.t.Fatalf("sync page %d of party %s: %v", c.pages, c.party, err)
	}
	if calls := c.h.st.Calls() - before; calls != 1 {
		c.h.t.Fatalf("a sync page cost %d store calls, want 1", calls)
	}
	if n := len(p.Added) + len(p.Modified) + len(p.Removed); n > count {
		c.h.t.Fatalf("a page of count %d holds %d changes", count, n)
	}
	if p.Next == "" {
		c.h.t.Fatal("a sync page without next cursor")
	}
	c.pages++
	c.cursor = p.Next
	for _, t := range p.Added {
		r := txRef{t.AccountID, t.ID}
		if _, ok := c.state[r]; ok {
			c.h.t.Fatalf("page %d adds %s of account %s, which the client holds", c.pages, t.ID, t.AccountID)
		}
		c.state[r] = t
		c.seen.Added++
	}
	for _, t := range p.Modified {
		r := txRef{t.AccountID, t.ID}
		if _, ok := c.state[r]; !ok {
			c.h.t.Fatalf("page %d modifies %s of account %s, which the client does not hold", c.pages, t.ID, t.AccountID)
		}
		c.state[r] = t
		c.seen.Modified++
	}
	for _, t := range p.Removed {
		r := txRef{t.AccountID, t.ID}
		if _, ok := c.state[r]; !ok {
			c.h.t.Fatalf("page %d removes %s of account %s, which the client does not hold", c.pages, t.ID, t.AccountID)
		}
		delete(c.state, r)
		c.seen.Removed++
	}
	return p
}

// follow reads pages until the log has no more.
func (c *syncClient) follow(count int) {
	c.h.t.Helper()
	for range 100000 {
		if !c.page(count).HasMore {
			return
		}
	}
	c.h.t.Fatal("the change log never ends")
}

// matchStore checks that the client's copy is what the store holds: every
// transaction of every account of the party, byte for byte as stored.
func (c *syncClient) matchStore() {
	c.h.t.Helper()
	want := c.h.storedTransactions(c.party)
	if len(want) != len(c.state) {
		c.h.t.Fatalf("the client holds %d transactions, the store %d", len(c.state), len(want))
	}
	for r, t := range want {
		got, ok := c.state[r]
		if !ok {
			c.h.t.Fatalf("the client lacks transaction %s of account %s", r.id, r.account)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(t)
		if string(a) != string(b) {
			c.h.t.Fatalf("the client holds %s, the store %s", a, b)
		}
	}
}

// storedTransactions reads every transaction of the party's accounts.
func (h *harness) storedTransactions(partyID string) map[txRef]Transaction {
	h.t.Helper()
	out := map[txRef]Transaction{}
	accs := h.accountIDs(partyID)
	sort.Strings(accs)
	for _, id := range accs {
		q := TxQuery{Limit: 1000}
		for {
			page, err := h.svc.Transactions(context.Background(), id, q)
			if err != nil {
				h.t.Fatal(err)
			}
			for _, t := range page.Transactions {
				out[txRef{t.AccountID, t.ID}] = t
			}
			if page.Next == "" {
				break
			}
			q.Token = page.Next
		}
	}
	return out
}

func TestSyncCursorRefusals(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	ctx := context.Background()
	first, err := h.svc.Sync(ctx, "100700", SyncQuery{})
	if err != nil || first.HasMore || len(first.Added) != 0 || first.Next == "" {
		t.Fatalf("empty log: %+v, %v", first, err)
	}
	for _, tc := range []struct {
		name  string
		party string
		q     SyncQuery
		want  error
	}{
		{"count too large", "100700", SyncQuery{Count: MaxSyncCount + 1}, ErrInvalidLimit},
		{"negative count", "100700", SyncQuery{Count: -1}, ErrInvalidLimit},
		{"garbage cursor", "100700", SyncQuery{Cursor: "not-a-cursor"}, ErrInvalidPageToken},
		{"another party's cursor", "100701", SyncQuery{Cursor: first.Next}, ErrInvalidPageToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.st.Calls()
			_, err := h.svc.Sync(ctx, tc.party, tc.q)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if calls := h.st.Calls() - before; calls != 0 {
				t.Fatalf("a refused page cost %d store calls", calls)
			}
		})
	}
}
