package holdings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
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
	if err := c.apply(p, count); err != nil {
		c.h.t.Fatal(err)
	}
	return p
}

// apply checks a page and applies it to the client's copy.
func (c *syncClient) apply(p SyncPage, count int) error {
	if n := len(p.Added) + len(p.Modified) + len(p.Removed); n > count {
		return fmt.Errorf("a page of count %d holds %d changes", count, n)
	}
	if p.Next == "" {
		return errors.New("a sync page without next cursor")
	}
	c.pages++
	c.cursor = p.Next
	for _, t := range p.Added {
		r := txRef{t.AccountID, t.ID}
		if _, ok := c.state[r]; ok {
			return fmt.Errorf("page %d adds %s of account %s, which the client holds", c.pages, t.ID, t.AccountID)
		}
		c.state[r] = t
		c.seen.Added++
	}
	for _, t := range p.Modified {
		r := txRef{t.AccountID, t.ID}
		if _, ok := c.state[r]; !ok {
			return fmt.Errorf("page %d modifies %s of account %s, which the client does not hold", c.pages, t.ID, t.AccountID)
		}
		c.state[r] = t
		c.seen.Modified++
	}
	for _, t := range p.Removed {
		r := txRef{t.AccountID, t.ID}
		if _, ok := c.state[r]; !ok {
			return fmt.Errorf("page %d removes %s of account %s, which the client does not hold", c.pages, t.ID, t.AccountID)
		}
		delete(c.state, r)
		c.seen.Removed++
	}
	return nil
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
		for r := range c.state {
			if _, ok := want[r]; !ok {
				c.h.t.Logf("the store lacks %s of account %s", r.id, r.account)
			}
		}
		for r := range want {
			if _, ok := c.state[r]; !ok {
				c.h.t.Logf("the client lacks %s of account %s", r.id, r.account)
			}
		}
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

// rawLog counts the entries of a party's change log, read raw.
type rawLog struct {
	SyncCounts
	Redacted int64
	// Data counts the entries that hold transaction data, by account.
	Data map[string]int
}

func (h *harness) rawLog(partyID string) rawLog {
	h.t.Helper()
	n := rawLog{Data: map[string]int{}}
	for _, it := range h.partition("", SyncPK(partyID)) {
		if it.SK == syncSeqSK {
			continue
		}
		var ch logChunk
		if err := json.Unmarshal(it.Data, &ch); err != nil {
			h.t.Fatal(err)
		}
		for _, e := range ch.Entries {
			switch e.Op {
			case opAdded:
				n.Added++
			case opModified:
				n.Modified++
			case opRemoved:
				n.Removed++
			case opRedacted:
				n.Redacted++
			}
			if len(e.Tx) > 0 {
				n.Data[e.AccountID]++
			}
		}
	}
	return n
}

// noDataLeft fails when the change log still holds data of the accounts.
func (h *harness) noDataLeft(partyID string, accountIDs []string) {
	h.t.Helper()
	raw := h.rawLog(partyID)
	for _, id := range accountIDs {
		if n := raw.Data[id]; n > 0 {
			h.t.Fatalf("the change log keeps %d entries with data of removed account %s", n, id)
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

// correctedBank is the sandbox as a bank that corrects transactions: the
// ones alter names are listed changed, and the pending ones book names
// are listed as posted under the same id (as some banks book them).
type correctedBank struct {
	*sandbox.Provider
	alter map[string]func(t *provider.Transaction)
	book  map[string]bool
	now   time.Time
}

func (b correctedBank) ListTransactions(ctx context.Context, connectionID, accountID string, pending bool, cursor string) (provider.TransactionPage, error) {
	page, err := b.Provider.ListTransactions(ctx, connectionID, accountID, pending, cursor)
	if err != nil {
		return page, err
	}
	var out []provider.Transaction
	for _, t := range page.Transactions {
		if pending && b.book[t.ID] {
			continue
		}
		if f := b.alter[t.ID]; f != nil {
			f(&t)
		}
		out = append(out, t)
	}
	if !pending && page.Next == "" {
		all, err := b.Provider.ListTransactions(ctx, connectionID, accountID, true, "")
		if err != nil {
			return page, err
		}
		for _, t := range all.Transactions {
			if b.book[t.ID] {
				t.Status, t.PostedAt = "posted", b.now
				out = append(out, t)
			}
		}
	}
	page.Transactions = out
	return page, nil
}

// TestSyncAnnouncesEveryChange follows one party's change log through
// the life of a connection: the first import (added), a re-import that
// changes nothing (nothing), corrections by the bank (modified: a
// description, an amount, a category, a pending transaction booked under
// its id), a day later (new transactions added, pending ones booked under
// a new id removed and added), the removal (removed). A client that
// follows the cursor and one that starts from the beginning both end with
// what the store holds.
func TestSyncAnnouncesEveryChange(t *testing.T) {
	h := newHarness(t, "bolt", Limits{FlushSize: 100})
	req := h.connect("101700", sandbox.BankBig, recent)
	p := h.importNow(req)
	c := h.newSyncClient(req.PartyID)
	c.follow(37)
	c.matchStore()
	if c.seen.Added != p.Transactions || c.seen.Modified != 0 || c.seen.Removed != 0 {
		t.Fatalf("first import: the log said %+v for %d transactions", c.seen, p.Transactions)
	}
	st, _ := h.state(req)
	if st.Checkpoint.Changes.Added != p.Transactions || len(st.Checkpoint.Changed) != p.Accounts {
		t.Fatalf("first run counted %+v for accounts %v", st.Checkpoint.Changes, st.Checkpoint.Changed)
	}

	// The same data again: nothing to say, and a page costs one call.
	h.importNow(req)
	if pg := c.page(100); pg.HasMore || len(pg.Added)+len(pg.Modified)+len(pg.Removed) != 0 {
		t.Fatalf("an unchanged re-import logged %+v", pg)
	}
	if st, _ := h.state(req); st.Checkpoint.Changes.Total() != 0 || len(st.Checkpoint.Changed) != 0 {
		t.Fatalf("an unchanged re-import counted %+v", st.Checkpoint.Changes)
	}

	// The bank corrects some transactions and books a pending one under
	// its own id.
	stored := h.storedTransactions(req.PartyID)
	alter := map[string]func(t *provider.Transaction){}
	book := map[string]bool{}
	i := 0
	for _, tx := range sortedTx(stored) {
		i++
		switch {
		case tx.Status == "pending" && len(book) == 0:
			book[tx.ID] = true
		case tx.Status == "pending":
		case i%29 == 0:
			alter[tx.ID] = func(t *provider.Transaction) { t.Description += " (corrected)" }
		case i%31 == 0:
			alter[tx.ID] = func(t *provider.Transaction) { t.Amount = t.Amount.Add(decimal.RequireFromString("0.01")) }
		case i%37 == 0:
			alter[tx.ID] = func(t *provider.Transaction) { t.Category = "corrected_category" }
		}
	}
	if len(book) != 1 || len(alter) < 3 {
		t.Fatalf("test data: %d to book, %d to alter", len(book), len(alter))
	}
	h.set(func(h *harness) {
		h.wrap = func(sp *sandbox.Provider) provider.Provider {
			return correctedBank{Provider: sp, alter: alter, book: book, now: sandboxNow}
		}
	})
	h.importNow(req)
	c.seen = SyncCounts{}
	c.follow(50)
	c.matchStore()
	if c.seen.Modified != int64(len(alter)+len(book)) || c.seen.Added != 0 || c.seen.Removed != 0 {
		t.Fatalf("corrections: the log said %+v, want %d modified", c.seen, len(alter)+len(book))
	}
	for id := range book {
		for r, tx := range c.state {
			if r.id == id && tx.Status != "posted" {
				t.Fatalf("booked %s reads %s", id, tx.Status)
			}
		}
	}

	// A day later: new transactions, pending ones booked under new ids.
	h.set(func(h *harness) { h.wrap = nil })
	h.clock.Advance(24 * time.Hour)
	h.importNow(req)
	c.seen = SyncCounts{}
	c.follow(500)
	c.matchStore()
	if c.seen.Added == 0 || c.seen.Removed == 0 {
		t.Fatalf("a day later: the log said %+v", c.seen)
	}

	// A client from the beginning reads the net result.
	fresh := h.newSyncClient(req.PartyID)
	fresh.follow(MaxSyncCount)
	fresh.matchStore()

	// The removal of the connection's data removes everything.
	if err := h.svc.RemoveConnectionData(t.Context(), req.PartyID, req.BankCode); err != nil {
		t.Fatal(err)
	}
	n := int64(len(c.state))
	removedAccounts := h.idsOf(c.state)
	c.seen = SyncCounts{}
	c.follow(MaxSyncCount)
	c.matchStore()
	if len(c.state) != 0 || c.seen.Removed != n {
		t.Fatalf("removal: the log said %+v for %d transactions", c.seen, n)
	}
	fresh.follow(MaxSyncCount)
	fresh.matchStore()
	h.noDataLeft(req.PartyID, removedAccounts)
	// Removing again logs nothing more.
	if err := h.svc.RemoveConnectionData(t.Context(), req.PartyID, req.BankCode); err != nil {
		t.Fatal(err)
	}
	if pg := c.page(10); len(pg.Removed) != 0 || pg.HasMore {
		t.Fatalf("a second removal logged %+v", pg)
	}
}

// idsOf lists the accounts of a client's transactions.
func (h *harness) idsOf(state map[txRef]Transaction) []string {
	var out []string
	for r := range state {
		if !slices.Contains(out, r.account) {
			out = append(out, r.account)
		}
	}
	return out
}

// sortedTx lists transactions by account and id.
func sortedTx(m map[txRef]Transaction) []Transaction {
	refs := make([]txRef, 0, len(m))
	for r := range m {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].account != refs[j].account {
			return refs[i].account < refs[j].account
		}
		return refs[i].id < refs[j].id
	})
	out := make([]Transaction, len(refs))
	for i, r := range refs {
		out[i] = m[r]
	}
	return out
}

// chanQueue hands the holdings jobs to concurrent workers (the embedded
// queue delivers one at a time).
type chanQueue struct {
	ch      chan queue.Job
	pending sync.WaitGroup
}

func (q *chanQueue) Send(_ context.Context, name string, job queue.Job, _ time.Duration) error {
	if name != queue.Holdings {
		return fmt.Errorf("chanQueue: unexpected queue %s", name)
	}
	q.pending.Add(1)
	q.ch <- job
	return nil
}

// concurrently runs fn (which enqueues imports and may do more) with the
// jobs it queues handled by workers goroutines at once, on a service over
// the harness's store and provider; it returns when every job is done.
func (h *harness) concurrently(workers int, limits Limits, fn func(svc *Service)) {
	h.t.Helper()
	q := &chanQueue{ch: make(chan queue.Job, 100000)}
	svc := New(Deps{Store: h.st, Queue: q, Providers: h.svc.providers, Clock: h.clock, Log: h.svc.log, Limits: limits, TokenSecret: []byte("holdings-sync-test")})
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for job := range q.ch {
				var err error
				for range 20 {
					if err = svc.HandleJob(context.Background(), job); err == nil {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("job %s: %w", job.Key, err)
				}
				q.pending.Done()
			}
		})
	}
	q.pending.Add(1) // fn's own share
	fn(svc)
	q.pending.Done()
	q.pending.Wait()
	close(q.ch)
	wg.Wait()
	close(errs)
	for err := range errs {
		h.t.Error(err)
	}
}

// reader follows a party's change log in a goroutine until stopped.
type reader struct {
	c    *syncClient
	stop chan struct{}
	done chan error
}

func (c *syncClient) readWhile() *reader {
	r := &reader{c: c, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for {
			select {
			case <-r.stop:
				r.done <- nil
				return
			default:
			}
			p, err := c.h.svc.Sync(context.Background(), c.party, SyncQuery{Cursor: c.cursor, Count: 7})
			if err == nil {
				err = c.apply(p, 7)
			}
			if err != nil {
				r.done <- err
				return
			}
		}
	}()
	return r
}

// end stops the reader; the client is the test's again.
func (r *reader) end(t *testing.T) {
	t.Helper()
	close(r.stop)
	if err := <-r.done; err != nil {
		t.Fatalf("a client reading during the imports: %v", err)
	}
}

// TestSyncUnderConcurrentImportsAndRemoval imports several connections of
// one party at once, in small steps and commits, while a client reads the
// change log; then, a day later, re-imports one, imports another and
// removes a third, all at once, while the client reads on. The client that
// read throughout, one whose cursor was taken between the two phases and
// one from the beginning all end with what the store holds, and none was
// ever told of a transaction twice or of one it did not have.
//
// It runs on the embedded driver, whose transactions are serializable as
// DynamoDB's are; moto_server applies concurrent TransactWriteItems
// without isolation (no lock in its DynamoDB backend), so the conditional
// paths are proven on DynamoDB by TestSyncCommitRaces, interleaved.
func TestSyncUnderConcurrentImportsAndRemoval(t *testing.T) {
	forStores(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{})
		limits := Limits{MaxPages: 1, FlushSize: 40}
		first := []string{sandbox.BankDefault, "sandbox_bank_oauth_client_de_xf", sandbox.BankChallenge}
		next := sandbox.BankBig
		const party = "101800"
		reqs := map[string]ImportRequest{}
		for _, b := range append(slices.Clone(first), next) {
			reqs[b] = h.connect(party, b, recent)
		}

		c := h.newSyncClient(party)
		rd := c.readWhile()
		h.concurrently(4, limits, func(svc *Service) {
			for _, b := range first {
				if err := svc.EnqueueImport(t.Context(), reqs[b]); err != nil {
					t.Error(err)
				}
			}
		})
		rd.end(t)
		c.follow(50)
		c.matchStore()
		mid := h.newSyncClient(party)
		mid.follow(MaxSyncCount)

		var removedDE []string
		for r := range c.state {
			if a, err := h.svc.Account(t.Context(), r.account); err == nil && a.BankCode == first[1] && !slices.Contains(removedDE, r.account) {
				removedDE = append(removedDE, r.account)
			}
		}
		if len(removedDE) == 0 {
			t.Fatal("no account of the bank to remove")
		}
		h.clock.Advance(24 * time.Hour)
		rd = c.readWhile()
		h.concurrently(4, limits, func(svc *Service) {
			for _, req := range []ImportRequest{reqs[first[0]], reqs[next]} {
				if err := svc.EnqueueImport(t.Context(), req); err != nil {
					t.Error(err)
				}
			}
			if err := svc.RemoveConnectionData(t.Context(), party, first[1]); err != nil {
				t.Error(err)
			}
		})
		rd.end(t)
		c.follow(50)
		c.matchStore()
		h.noDataLeft(party, removedDE)
		mid.seen = SyncCounts{}
		mid.follow(MaxSyncCount)
		mid.matchStore()
		if mid.seen.Added == 0 || mid.seen.Removed == 0 {
			t.Fatalf("the second phase logged %+v", mid.seen)
		}
		fresh := h.newSyncClient(party)
		fresh.follow(MaxSyncCount)
		fresh.matchStore()
		t.Logf("%s: %d transactions; the reader read %d pages", kind, len(c.state), c.pages)
	})
}

// txFixture makes a transaction of account acc and its change.
func txFixture(t *testing.T, acc, id, description string, madeOn time.Time) (store.Item, txChange) {
	t.Helper()
	tx := Transaction{ID: id, AccountID: acc, Status: "posted", MadeOn: madeOn, PostedAt: madeOn, Amount: decimal.RequireFromString("-12.50"), Currency: "EUR", Description: description}
	it, err := txItem(tx)
	if err != nil {
		t.Fatal(err)
	}
	return it, changeOf(it, tx)
}

// TestSyncCommitRaces interleaves two writers of one party by hand, on
// both drivers: one commits between the other's read of the buckets and
// its commit (the bucket's version condition fails: the loser diffs again
// and logs only what is still new, writing its version of the item
// again), and both commit with the same counter value (the counter's
// condition fails: the loser takes the next number). The log reads as one
// sequence that matches the store.
func TestSyncCommitRaces(t *testing.T) {
	onEveryStore(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{})
		ctx := t.Context()
		const party, acc = "101900", "race-account"
		day := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
		it1, c1 := txFixture(t, acc, "tx1", "coffee", day)
		it2, c2 := txFixture(t, acc, "tx2", "rent", day)
		_, c2b := txFixture(t, acc, "tx2", "rent (corrected)", day)
		it3, c3 := txFixture(t, acc, "tx3", "books", day.AddDate(0, 1, 0))
		accIt, err := accountItem(Account{ID: acc, PartyID: party, BankCode: "bank"})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.st.BatchWrite(ctx, []store.Item{accIt, it1, it2}, nil); err != nil {
			t.Fatal(err)
		}

		a, b := h.svc.newSyncLog(party), h.svc.newSyncLog(party)
		// a reads the (empty) bucket, then b commits tx1 and tx2.
		if err := a.load(ctx, []txChange{c1, c2b}); err != nil {
			t.Fatal(err)
		}
		if err := b.apply(ctx, []txChange{c1, c2}); err != nil {
			t.Fatal(err)
		}
		// a's version of tx2 differs: after its lost race, tx2 is modified
		// (tx1, the same, is not logged again) and its item written again.
		if err := a.apply(ctx, []txChange{c1, c2b}); err != nil {
			t.Fatal(err)
		}
		if a.counts != (SyncCounts{Modified: 1}) || b.counts != (SyncCounts{Added: 2}) {
			t.Fatalf("a logged %+v, b %+v", a.counts, b.counts)
		}
		if got, err := h.svc.Transaction(ctx, acc, "tx2"); err != nil || got.Description != "rent (corrected)" {
			t.Fatalf("tx2 after the race: %+v %v", got, err)
		}

		// Both know the counter; b commits first, a's number is taken.
		if err := h.st.BatchWrite(ctx, []store.Item{it3}, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.apply(ctx, []txChange{c3}); err != nil {
			t.Fatal(err)
		}
		if err := a.apply(ctx, []txChange{c3}); err != nil {
			t.Fatal(err)
		}
		if a.counts.Added != 0 || b.counts.Added != 3 {
			t.Fatalf("tx3: a logged %+v, b %+v", a.counts, b.counts)
		}

		// Read in pages of one, the entries come in commit order.
		one := h.newSyncClient(party)
		ops := func() []string {
			var ops []string
			for {
				p := one.page(1)
				for _, x := range p.Added {
					ops = append(ops, "added "+x.ID+" "+x.Description)
				}
				for _, x := range p.Modified {
					ops = append(ops, "modified "+x.ID+" "+x.Description)
				}
				for _, x := range p.Removed {
					ops = append(ops, "removed "+x.ID)
				}
				if !p.HasMore {
					return ops
				}
			}
		}
		want := []string{"added tx1 coffee", "added tx2 rent", "modified tx2 rent (corrected)", "added tx3 books"}
		if got := ops(); !slices.Equal(got, want) {
			t.Fatalf("log order %q, want %q", got, want)
		}

		// The removal of the account: its entries lose their data, and
		// clients that got them are told the removals.
		if err := h.svc.removeAccount(ctx, h.svc.newSyncLog(party), acc); err != nil {
			t.Fatal(err)
		}
		if got := ops(); !slices.Equal(got, []string{"removed tx1", "removed tx2", "removed tx3"}) {
			t.Fatalf("after the removal %q", got)
		}
		h.noDataLeft(party, []string{acc})
		if items := h.partition("", AccountPK(acc)); len(items) != 0 {
			t.Fatalf("the account partition keeps %d items", len(items))
		}
		// A client from the beginning reads nothing of it at all.
		c := h.newSyncClient(party)
		c.follow(2)
		if c.seen != (SyncCounts{}) || len(c.state) != 0 {
			t.Fatalf("a client from the beginning read %+v, holding %d", c.seen, len(c.state))
		}
	})
}

// TestSyncDigestParts fills one account's month with more transactions
// than a digest part holds: the bucket continues in further parts, a
// transaction in a later part is found (modified, not added again), and
// the removal announces every one.
func TestSyncDigestParts(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	ctx := t.Context()
	const party, acc = "102000", "busy-account"
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	n := maxPartBytes/entrySize("tx-000000") + 500
	l := h.svc.newSyncLog(party)
	var changes []txChange
	var items []store.Item
	for i := range n {
		it, c := txFixture(t, acc, fmt.Sprintf("tx-%06d", i), "x", day)
		items = append(items, it)
		changes = append(changes, c)
		if len(changes) == 2000 || i == n-1 {
			if err := h.st.BatchWrite(ctx, items, nil); err != nil {
				t.Fatal(err)
			}
			if err := l.apply(ctx, changes); err != nil {
				t.Fatal(err)
			}
			changes, items = changes[:0], items[:0]
		}
	}
	var parts int
	for _, it := range h.partition("", AccountPK(acc)) {
		if strings.HasPrefix(it.SK, DigestSKPrefix) {
			parts++
		}
	}
	if parts != 2 {
		t.Fatalf("%d transactions in %d digest parts, want 2", n, parts)
	}
	last := fmt.Sprintf("tx-%06d", n-1)
	it, c := txFixture(t, acc, last, "y", day)
	if err := h.st.BatchWrite(ctx, []store.Item{it}, nil); err != nil {
		t.Fatal(err)
	}
	fresh := h.svc.newSyncLog(party) // reads both parts
	if err := fresh.apply(ctx, []txChange{c}); err != nil {
		t.Fatal(err)
	}
	if fresh.counts != (SyncCounts{Modified: 1}) {
		t.Fatalf("a change in the second part logged %+v", fresh.counts)
	}
	cl := h.newSyncClient(party)
	cl.follow(MaxSyncCount)
	if len(cl.state) != n || cl.state[txRef{acc, last}].Description != "y" {
		t.Fatalf("a client holds %d transactions, %s reading %+v", len(cl.state), last, cl.state[txRef{acc, last}])
	}
	if err := h.svc.removeAccount(ctx, h.svc.newSyncLog(party), acc); err != nil {
		t.Fatal(err)
	}
	cl.seen = SyncCounts{}
	cl.follow(MaxSyncCount)
	if cl.seen != (SyncCounts{Removed: int64(n)}) || len(cl.state) != 0 {
		t.Fatalf("the removal read %+v and left %d", cl.seen, len(cl.state))
	}
}

// A digest part decodes to what was encoded, and a damaged one is refused.
func TestDigestPartEncoding(t *testing.T) {
	p := &digestPart{commits: []int64{3, 9, 10, 400000}, entries: map[string]digestEntry{
		"tx-1":                   {d: digestOf([]byte("a")), add: logPos{Seq: 9, N: 2, Off: 130}},
		"":                       {d: digestOf([]byte("b"))},
		strings.Repeat("x", 300): {d: digestOf([]byte("c")), add: logPos{Seq: 400000, Off: 1}},
	}}
	data := encodePart(p, 3)
	got, parts, err := decodePart(store.Item{PK: "ACC#a", SK: "SYNC#D#2026-01", Version: 4, Data: data})
	if err != nil || parts != 3 || got.version != 4 || len(got.entries) != 3 || got.entries["tx-1"] != p.entries["tx-1"] ||
		got.entries[strings.Repeat("x", 300)] != p.entries[strings.Repeat("x", 300)] || !slices.Equal(got.commits, p.commits) {
		t.Fatalf("decoded %+v, %d parts, %v", got, parts, err)
	}
	for _, bad := range [][]byte{nil, {9}, data[:len(data)-1], data[:5], append(slices.Clone(data), 0)} {
		if _, _, err := decodePart(store.Item{PK: "ACC#a", SK: "SYNC#D#2026-01", Data: bad}); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
}

// TestSyncRemovalWhileClientsRead: an account's transactions announced in
// five commits; one client has read all of them, one the first three,
// one none, when the account is removed; the second reads on while the
// redaction has reached only the newest two commits. Each is told the
// removal of exactly what it got, and none holds anything of the account
// in the end.
func TestSyncRemovalWhileClientsRead(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	ctx := t.Context()
	const party, acc = "102100", "gone-account"
	accIt, err := accountItem(Account{ID: acc, PartyID: party, BankCode: "bank"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.BatchWrite(ctx, []store.Item{accIt}, nil); err != nil {
		t.Fatal(err)
	}
	l := h.svc.newSyncLog(party)
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for c := range 5 {
		var items []store.Item
		var changes []txChange
		for i := range 2 {
			it, ch := txFixture(t, acc, fmt.Sprintf("tx-%d-%d", c, i), "x", day.AddDate(0, c, 0))
			items, changes = append(items, it), append(changes, ch)
		}
		if err := h.st.BatchWrite(ctx, items, nil); err != nil {
			t.Fatal(err)
		}
		if err := l.apply(ctx, changes); err != nil {
			t.Fatal(err)
		}
	}
	all, some, none := h.newSyncClient(party), h.newSyncClient(party), h.newSyncClient(party)
	all.follow(MaxSyncCount)
	some.page(6) // the first three commits
	if len(all.state) != 10 || len(some.state) != 6 {
		t.Fatalf("before the removal: %d and %d", len(all.state), len(some.state))
	}

	// The removal has redacted the two newest commits when "some" reads
	// on; then it finishes.
	rm := h.svc.newSyncLog(party)
	if err := rm.redact(ctx, acc, []int64{l.seq - 1, l.seq}); err != nil {
		t.Fatal(err)
	}
	if p := some.page(MaxSyncCount); len(p.Added)+len(p.Modified)+len(p.Removed) != 0 || p.HasMore {
		t.Fatalf("markers read as %+v", p)
	}
	if err := h.svc.removeAccount(ctx, rm, acc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		c       *syncClient
		removed int64
	}{{"all", all, 10}, {"some", some, 6}, {"none", none, 0}} {
		c.c.seen = SyncCounts{}
		c.c.follow(3)
		if c.c.seen != (SyncCounts{Removed: c.removed}) || len(c.c.state) != 0 {
			t.Fatalf("client %s read %+v, holding %d", c.name, c.c.seen, len(c.c.state))
		}
	}
	h.noDataLeft(party, []string{acc})
}
