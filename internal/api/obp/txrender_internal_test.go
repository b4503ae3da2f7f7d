package obp

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/view"
)

// TestRenderCacheBound: the cache never holds more than its bound (counted
// over every entry it holds), drops the least recently used first, and
// renders the same bytes as json.Marshal of the moderated transaction
// whether it keeps them or not.
func TestRenderCacheBound(t *testing.T) {
	const bound = 40 << 10
	c := newRenderCache(bound)
	scopeOf := func(n int) *account.Scope {
		acc := holdings.Account{ID: "acc", BankCode: "bank", Name: fmt.Sprintf("account %d", n)}
		data, _ := json.Marshal(acc)
		return &account.Scope{Account: acc, AccountData: data, View: view.OwnerView(), ViewID: view.Owner}
	}
	pageOf := func(from, n int) []account.StoredTx {
		var p []account.StoredTx
		for i := from; i < from+n; i++ {
			tx := holdings.Transaction{ID: fmt.Sprintf("tx%d", i), AccountID: "acc", Amount: decimal.NewFromInt(int64(i)), Currency: "EUR",
				Description: "payment", MadeOn: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)}
			data, _ := json.Marshal(tx)
			p = append(p, account.StoredTx{ID: tx.ID, Data: data})
		}
		return p
	}
	check := func(step string) {
		t.Helper()
		c.mu.Lock()
		defer c.mu.Unlock()
		var sum int64
		for _, f := range c.frags {
			sum += f.cost()
		}
		for _, e := range c.ctxs {
			sum += e.cost()
		}
		if sum != c.size || c.size > bound {
			t.Fatalf("%s: size %d, entries sum to %d, bound %d", step, c.size, sum, bound)
		}
	}
	render := func(s *account.Scope, p []account.StoredTx) [][]byte {
		t.Helper()
		out, err := c.transactions(s, p)
		if err != nil {
			t.Fatal(err)
		}
		for i, tx := range p {
			want, err := renderTransaction(s, tx)
			if err != nil || string(out[i]) != string(want) {
				t.Fatalf("%s: %s, want %s", tx.ID, out[i], want)
			}
		}
		return out
	}

	s := scopeOf(0)
	render(s, pageOf(0, 10))
	check("first page")
	if n, _, _ := c.stats(); n != 10 {
		t.Fatalf("%d kept, want 10", n)
	}
	// Many more transactions than fit: the bound holds, the newest stay.
	for i := 10; i < 400; i += 10 {
		render(s, pageOf(i, 10))
		check(fmt.Sprintf("page at %d", i))
	}
	n, _, _ := c.stats()
	if n == 0 || n >= 400 {
		t.Fatalf("%d kept of 400", n)
	}
	newest := pageOf(390, 10)
	a := render(s, newest)
	b := render(s, newest)
	if &a[0][0] != &b[0][0] {
		t.Fatal("the newest page was rendered again, not found")
	}
	// A page used again is kept over newer ones.
	for i := 400; i < 400+n-10; i += 10 {
		render(s, pageOf(390, 10))
		render(s, pageOf(i, 10))
	}
	if c2 := render(s, newest); &c2[0][0] != &a[0][0] {
		t.Fatal("a page in use was dropped")
	}
	// Many contexts (the account changing): they count against the bound
	// too, and go when nothing is left to share them.
	for i := 1; i < 300; i++ {
		render(scopeOf(i), pageOf(0, 2))
		check(fmt.Sprintf("context %d", i))
	}
	if _, ctxs, _ := c.stats(); ctxs >= 300 {
		t.Fatalf("%d contexts kept", ctxs)
	}

	// A cache that keeps nothing renders all the same.
	none := newRenderCache(-1)
	out, err := none.transactions(s, newest)
	if err != nil || len(out) != 10 {
		t.Fatalf("%v %d", err, len(out))
	}
	if n, ctxs, size := none.stats(); n != 0 || ctxs != 0 || size != 0 {
		t.Fatalf("a cache of -1 keeps %d transactions, %d contexts, %d bytes", n, ctxs, size)
	}
}

// stats is the number of cached transactions and contexts and their
// accounted bytes (tests check the bound).
func (c *renderCache) stats() (frags, ctxs int, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frags), len(c.ctxs), c.size
}
