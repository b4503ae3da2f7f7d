package holdings

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// forStores runs fn on every store driver.
func forStores(t *testing.T, fn func(t *testing.T, kind string)) {
	t.Run("bolt", func(t *testing.T) { fn(t, "bolt") })
}

// onEveryStore runs fn on both drivers: for the focused end-to-end set
// (the import's main flow and its store-call budget, redelivered jobs
// against conditional writes, the batched removal). The drivers are proven
// equal by internal/store/storetest; the other domain scenarios run on
// bolt (forStores).
func onEveryStore(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

// recent limits a connection's history (fast tests on DynamoDB/moto).
var recent = sandboxNow.AddDate(0, 0, -30)

func TestImportAccountsAndTransactions(t *testing.T) {
	onEveryStore(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{})
		since := time.Time{} // the whole history on the embedded driver
		if kind == "dynamo" {
			since = recent // a month on moto: the same paths, fewer requests
		}
		req := h.connect("100100", sandbox.BankDefault, since)
		before := h.st.Calls()
		p := h.importNow(req)
		calls := h.st.Calls() - before
		e := h.expect(req)

		if p.State != StateDone || p.LastError != "" || !p.LastImportAt.Equal(sandboxNow) {
			t.Fatalf("progress %+v", p)
		}
		if p.Accounts != len(e.accounts) || p.Transactions != e.total || e.total == 0 {
			t.Fatalf("progress counts %d accounts / %d transactions, provider has %d / %d", p.Accounts, p.Transactions, len(e.accounts), e.total)
		}
		t.Logf("%s: %d transactions, %d store calls (%.1f per 1,000)", kind, e.total, calls, float64(calls)*1000/float64(e.total))

		h.checkStored(t, req, e)
		// The hook saw the new accounts, then all accounts at the end.
		calls2 := h.hook.Calls()
		if len(calls2) != 2 || len(calls2[0]) != len(e.accounts) || len(calls2[1]) != len(e.accounts) {
			t.Fatalf("hook calls %v", calls2)
		}
	})
}

// checkStored checks everything stored for a connection against what the
// provider lists (e): every account with its balances and pending ids;
// every transaction exactly once in its account's partition and once in
// the date index (listed newest first, each readable by id); the
// counterparty directory; the change log announcing every stored
// transaction once.
func (h *harness) checkStored(t *testing.T, req ImportRequest, e expected) {
	t.Helper()
	accs, err := h.svc.Accounts(t.Context(), req.PartyID)
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != len(e.accounts) {
		t.Fatalf("%d accounts stored, provider has %d", len(accs), len(e.accounts))
	}
	for _, pa := range e.accounts {
		id := AccountID(sandbox.Name, req.ConnectionID, pa.ID)
		a, err := h.svc.Account(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Balance.Equal(pa.Balance) || !a.Available.Equal(pa.Available) || a.Currency != pa.CurrencyCode || a.IBAN != pa.IBAN ||
			a.PartyID != req.PartyID || a.OwnerSub != req.OwnerSub || a.BankName != req.BankName || a.ProviderAccountID != pa.ID {
			t.Fatalf("account %+v does not match provider %+v", a, pa)
		}
		if !slices.Equal(a.PendingIDs, e.pending[pa.ID]) {
			t.Fatalf("pending ids %v, provider %v", a.PendingIDs, e.pending[pa.ID])
		}
		want := e.posted[pa.ID] + len(e.pending[pa.ID])
		// Every transaction once in the partition and once in the date
		// index; beside them the account and its counterparty directory.
		items := h.partition("", AccountPK(id))
		var nTx, nCP int
		for _, it := range items {
			switch {
			case strings.HasPrefix(it.SK, TxSKPrefix):
				nTx++
			case strings.HasPrefix(it.SK, CounterpartySKPrefix):
				nCP++
			case strings.HasPrefix(it.SK, DigestSKPrefix):
				// The change log's memory of the account (checked
				// through the sync below).
			case it.SK != AccountSK:
				t.Fatalf("unexpected item %s in the account partition", it.SK)
			}
		}
		if nTx != want || nCP != len(e.counterparties[pa.ID]) {
			t.Fatalf("account %s partition holds %d transactions and %d counterparties, want %d and %d", id, nTx, nCP, want, len(e.counterparties[pa.ID]))
		}
		h.checkCounterparties(id, e.counterparties[pa.ID])
		var listed []Transaction
		q := TxQuery{Desc: true, Limit: 700}
		for {
			page, err := h.svc.Transactions(t.Context(), id, q)
			if err != nil {
				t.Fatal(err)
			}
			listed = append(listed, page.Transactions...)
			if page.Next == "" {
				break
			}
			q.Token = page.Next
		}
		if len(listed) != want {
			t.Fatalf("index lists %d transactions, want %d", len(listed), want)
		}
		for i := 1; i < len(listed); i++ {
			if listed[i].Completed().After(listed[i-1].Completed()) {
				t.Fatalf("not newest first at %d: %v after %v", i, listed[i].Completed(), listed[i-1].Completed())
			}
		}
		one, err := h.svc.Transaction(t.Context(), id, listed[0].ID)
		if err != nil || one.ID != listed[0].ID || !one.Amount.Equal(listed[0].Amount) {
			t.Fatalf("transaction %s: %+v, %v", listed[0].ID, one, err)
		}
	}
	// The change log announced every stored transaction once.
	c := h.newSyncClient(req.PartyID)
	c.follow(100)
	c.matchStore()
}

// checkCounterparties checks an account's counterparty directory against
// the distinct counterparties of its transactions (id → name, IBAN): the
// listing in small pages (one query each), in id order, and one Get each.
func (h *harness) checkCounterparties(accountID string, want map[string][2]string) {
	h.t.Helper()
	ctx := context.Background()
	if len(want) == 0 {
		h.t.Fatalf("account %s: the sandbox gave no counterparties", accountID)
	}
	var ids []string
	token := ""
	for {
		before := h.st.Calls()
		page, err := h.svc.Counterparties(ctx, accountID, 7, token)
		if err != nil {
			h.t.Fatal(err)
		}
		if calls := h.st.Calls() - before; calls != 1 {
			h.t.Fatalf("a page of counterparties cost %d store calls", calls)
		}
		for _, c := range page.Counterparties {
			w, ok := want[c.ID]
			if !ok || c.AccountID != accountID || c.Name != w[0] || c.IBAN != w[1] {
				h.t.Fatalf("counterparty %+v, want %v (listed: %v)", c, w, ok)
			}
			ids = append(ids, c.ID)
		}
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	if len(ids) != len(want) || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		h.t.Fatalf("account %s lists %d counterparties (sorted %v), want %d distinct", accountID, len(ids), slices.IsSorted(ids), len(want))
	}
	h.t.Logf("account %s: %d counterparties", accountID, len(ids))
	for _, id := range []string{ids[0], ids[len(ids)-1]} {
		c, err := h.svc.Counterparty(ctx, accountID, id)
		if err != nil || c.ID != id || c.Name != want[id][0] {
			h.t.Fatalf("counterparty %s: %+v, %v", id, c, err)
		}
	}
	if _, err := h.svc.Counterparty(ctx, accountID, CounterpartyID("nobody", "")); !errors.Is(err, ErrCounterpartyNotFound) {
		h.t.Fatalf("unknown counterparty: %v", err)
	}
	if _, err := h.svc.Counterparties(ctx, accountID, MaxCounterpartyLimit+1, ""); !errors.Is(err, ErrInvalidLimit) {
		h.t.Fatalf("limit above the maximum: %v", err)
	}
	if _, err := h.svc.Counterparties(ctx, accountID, 7, "forged"); !errors.Is(err, ErrInvalidPageToken) {
		h.t.Fatalf("forged page token: %v", err)
	}
}

func TestImportIsIdempotent(t *testing.T) {
	onEveryStore(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{})
		req := h.connect("100200", sandbox.BankDefault, recent)
		p1 := h.importNow(req)
		ids := h.accountIDs(req.PartyID)
		snap1 := h.snapshot(ids)
		firstRun := h.jobLog()

		p2 := h.importNow(req)
		if p2.Transactions != p1.Transactions || p2.Accounts != p1.Accounts || p2.State != StateDone {
			t.Fatalf("second import %+v, first %+v", p2, p1)
		}
		if snap2 := h.snapshot(ids); !maps.Equal(snap1, snap2) {
			t.Fatalf("second import changed the stored items (%d → %d)", len(snap1), len(snap2))
		}
		// Not new any more: the hook only heard about the second run's end.
		if c := h.hook.Calls(); len(c) != 3 {
			t.Fatalf("hook calls %v", c)
		}

		// Redeliveries of both runs' jobs change nothing at all.
		_, ver := h.state(req)
		for _, job := range h.jobLog() {
			h.resend(job)
		}
		h.resend(firstRun[0])
		h.drain()
		if _, v := h.state(req); v != ver {
			t.Fatalf("redelivered jobs wrote the import state (version %d → %d)", ver, v)
		}
		if snap3 := h.snapshot(ids); !maps.Equal(snap1, snap3) {
			t.Fatal("redelivered jobs changed the stored items")
		}
		// The change log announced the first import and nothing since.
		c := h.newSyncClient(req.PartyID)
		c.follow(MaxSyncCount)
		c.matchStore()
		if c.seen != (SyncCounts{Added: p1.Transactions}) {
			t.Fatalf("the change log read %+v after %d transactions imported again and again", c.seen, p1.Transactions)
		}
	})
}

func TestImportIsChunked(t *testing.T) {
	forStores(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{MaxPages: 1, FlushSize: 100})
		req := h.connect("100300", sandbox.BankBig, recent)
		e := h.expect(req)
		pages := 0
		for _, pa := range e.accounts {
			pages += max(1, (e.posted[pa.ID]+sandbox.TransactionPageSize-1)/sandbox.TransactionPageSize) + 1
		}
		if pages < 4 {
			t.Fatalf("test bank too small: %d pages", pages)
		}
		var versions []int64
		h.set(func(h *harness) {
			h.after = func(job queue.Job, err error) {
				if err == nil {
					_, v := h.state(req)
					versions = append(versions, v)
				}
			}
		})
		p := h.importNow(req)
		if p.State != StateDone || p.Transactions != e.total {
			t.Fatalf("progress %+v, want %d transactions", p, e.total)
		}
		jobs := h.jobLog()
		if len(jobs) != pages {
			t.Fatalf("%d jobs for %d pages at one page per step", len(jobs), pages)
		}
		st, _ := h.state(req)
		for i, job := range jobs {
			if jobStep(t, job) != i || job.Key != jobKey(st.Checkpoint.RunID, i) {
				t.Fatalf("job %d: key %s step %d", i, job.Key, jobStep(t, job))
			}
		}
		if st.Checkpoint.Step != pages-1 || st.Checkpoint.Pages != int64(pages) || st.Checkpoint.Transactions != e.total {
			t.Fatalf("checkpoint %+v", st.Checkpoint)
		}
		// Every step wrote the checkpoint (claim, end, sent): versions rise.
		for i := 1; i < len(versions); i++ {
			if versions[i] <= versions[i-1] {
				t.Fatalf("checkpoint versions %v", versions)
			}
		}

		// An old continuation delivered again is a no-op.
		ids := h.accountIDs(req.PartyID)
		snap := h.snapshot(ids)
		_, ver := h.state(req)
		h.resend(jobs[2])
		h.resend(jobs[1])
		h.drain()
		if _, v := h.state(req); v != ver || !maps.Equal(snap, h.snapshot(ids)) {
			t.Fatal("a duplicate continuation changed something")
		}
		c := h.newSyncClient(req.PartyID)
		c.follow(MaxSyncCount)
		c.matchStore()
	})
}

// A step whose checkpoint moved on but whose continuation could not be
// sent is redelivered and re-sends it; the import still completes once.
func TestLostContinuationIsResent(t *testing.T) {
	h := newHarness(t, "bolt", Limits{MaxPages: 1})
	req := h.connect("100400", sandbox.BankDefault, time.Time{})
	e := h.expect(req)
	failed := 0
	h.set(func(h *harness) {
		h.failSend = func(job queue.Job) error {
			if strings.HasSuffix(job.Key, "#2") && failed == 0 {
				failed++
				return errors.New("injected send failure")
			}
			return nil
		}
	})
	p := h.importNow(req)
	if p.State != StateDone || p.Transactions != e.total || failed != 1 {
		t.Fatalf("progress %+v (want %d transactions), injected failures %d", p, e.total, failed)
	}
	steps := map[int]int{}
	for _, job := range h.jobLog() {
		steps[jobStep(t, job)]++
	}
	// Step 1 ran twice (the redelivery re-sent step 2), every other once.
	for step, n := range steps {
		if (step == 1 && n != 2) || (step != 1 && n != 1) {
			t.Fatalf("deliveries per step %v", steps)
		}
	}
	c := h.newSyncClient(req.PartyID)
	c.follow(MaxSyncCount)
	c.matchStore()
}

// Two deliveries of the same step at the same time: both may work, one
// wins the checkpoint, the data is the same.
func TestConcurrentDuplicateStep(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	req := h.connect("100500", sandbox.BankDefault, recent)
	req.RunID = "run-concurrent"
	if err := h.svc.EnqueueImport(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	job, err := queue.NewJob(JobImport, jobKey(req.RunID, 0), importJob{ImportRequest: req})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := h.svc.HandleJob(context.Background(), job); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h.drain()
	e := h.expect(req)
	p := h.progress(req)
	if p.State != StateDone || p.Transactions != e.total {
		t.Fatalf("progress %+v, want %d", p, e.total)
	}
	n := 0
	for _, id := range h.accountIDs(req.PartyID) {
		n += len(h.partition(store.IndexGSI1, TxByDateGSI1PK(id)))
		if page, err := h.svc.Counterparties(t.Context(), id, 0, ""); err != nil || len(page.Counterparties) == 0 {
			t.Fatalf("account %s: no counterparty directory: %v", id, err)
		}
	}
	if int64(n) != e.total {
		t.Fatalf("%d transactions indexed, want %d", n, e.total)
	}
	// Both deliveries wrote; the change log announced each transaction once.
	c := h.newSyncClient(req.PartyID)
	c.follow(MaxSyncCount)
	c.matchStore()
	if c.seen.Added != e.total {
		t.Fatalf("the change log added %d transactions, want %d", c.seen.Added, e.total)
	}
}

func TestPendingBookedUnderNewIDDisappears(t *testing.T) {
	forStores(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{})
		req := h.connect("100600", sandbox.BankBig, recent)
		h.importNow(req)
		before := map[string][]string{}
		for _, id := range h.accountIDs(req.PartyID) {
			a, err := h.svc.Account(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			before[id] = a.PendingIDs
		}

		h.clock.Advance(24 * time.Hour)
		p := h.importNow(req)
		e := h.expect(req)
		if p.Transactions != e.total {
			t.Fatalf("second import counted %d, provider lists %d", p.Transactions, e.total)
		}
		gone := 0
		for _, pa := range e.accounts {
			id := AccountID(sandbox.Name, req.ConnectionID, pa.ID)
			a, err := h.svc.Account(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.PendingIDs, e.pending[pa.ID]) {
				t.Fatalf("pending ids %v, provider %v", a.PendingIDs, e.pending[pa.ID])
			}
			for _, old := range before[id] {
				_, err := h.svc.Transaction(t.Context(), id, old)
				still := slices.Contains(e.pending[pa.ID], old)
				switch {
				case still && err != nil:
					t.Fatalf("still pending %s lost: %v", old, err)
				case !still && !errors.Is(err, ErrTransactionNotFound):
					t.Fatalf("stale pending %s still stored (err %v)", old, err)
				case !still:
					gone++
					// Booked under the new id: same id ending in 0.
					booked := strings.TrimSuffix(old, "1") + "0"
					if bt, err := h.svc.Transaction(t.Context(), id, booked); err != nil || bt.Status != "posted" {
						t.Fatalf("booked %s: %+v %v", booked, bt, err)
					}
				}
			}
			want := e.posted[pa.ID] + len(e.pending[pa.ID])
			if n := len(h.partition(store.IndexGSI1, TxByDateGSI1PK(id))); n != want {
				t.Fatalf("account %s indexes %d transactions, provider lists %d", id, n, want)
			}
		}
		if gone == 0 {
			t.Fatal("no pending transaction was booked in a day: the test proves nothing")
		}
		t.Logf("%d stale pending transactions removed", gone)
	})
}

func TestRemoveConnectionData(t *testing.T) {
	onEveryStore(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, Limits{})
		from := time.Time{}
		if kind == "dynamo" {
			from = recent
		}
		gb := h.connect("100700", sandbox.BankDefault, from)
		de := h.connect("100700", "sandbox_bank_oauth_client_de_xf", from)
		other := h.connect("100701", sandbox.BankDefault, from)
		for _, r := range []ImportRequest{gb, de, other} {
			if p := h.importNow(r); p.State != StateDone {
				t.Fatalf("import %s: %+v", r.BankCode, p)
			}
		}
		all := h.accountIDs(gb.PartyID)
		var gbIDs, deIDs []string
		for _, id := range all {
			a, _ := h.svc.Account(t.Context(), id)
			if a.BankCode == gb.BankCode {
				gbIDs = append(gbIDs, id)
			} else {
				deIDs = append(deIDs, id)
			}
		}
		// Items of other packages in the account partitions (views, grants,
		// metadata; some in the account's date index).
		for _, id := range gbIDs {
			err := h.st.BatchWrite(t.Context(), []store.Item{
				{PK: AccountPK(id), SK: "ACL", Data: []byte(`{}`)},
				{PK: AccountPK(id), SK: "META#TX#1#narrative", GSI1PK: TxByDateGSI1PK(id), GSI1SK: "zz#meta", Data: []byte(`{}`)},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		// The counterparty directory is in the partitions to remove.
		for _, id := range gbIDs {
			if page, err := h.svc.Counterparties(t.Context(), id, 0, ""); err != nil || len(page.Counterparties) == 0 {
				t.Fatalf("account %s has no counterparty directory before the removal: %v", id, err)
			}
		}
		keepDE := h.snapshot(deIDs)
		otherIDs := h.accountIDs(other.PartyID)
		keepOther := h.snapshot(otherIDs)

		for run := range 2 { // the second run finds nothing left and succeeds
			if err := h.svc.RemoveConnectionData(t.Context(), gb.PartyID, gb.BankCode); err != nil {
				t.Fatalf("remove (run %d): %v", run, err)
			}
		}
		for _, id := range gbIDs {
			if items := h.partition("", AccountPK(id)); len(items) != 0 {
				t.Fatalf("account %s partition keeps %d items", id, len(items))
			}
			if items := h.partition(store.IndexGSI1, TxByDateGSI1PK(id)); len(items) != 0 {
				t.Fatalf("account %s date index keeps %d items", id, len(items))
			}
			if page, err := h.svc.Counterparties(t.Context(), id, 0, ""); err != nil || len(page.Counterparties) != 0 {
				t.Fatalf("account %s keeps %d counterparties: %v", id, len(page.Counterparties), err)
			}
			if _, err := h.svc.Account(t.Context(), id); !errors.Is(err, ErrAccountNotFound) {
				t.Fatalf("account %s: %v", id, err)
			}
		}
		left := h.accountIDs(gb.PartyID)
		if !slices.Equal(left, deIDs) {
			t.Fatalf("party accounts after removal %v, want the other bank's %v", left, deIDs)
		}
		if _, err := h.svc.Progress(t.Context(), gb.PartyID, gb.BankCode); !errors.Is(err, ErrImportNotFound) {
			t.Fatalf("import state kept: %v", err)
		}
		if !maps.Equal(keepDE, h.snapshot(deIDs)) || !maps.Equal(keepOther, h.snapshot(otherIDs)) {
			t.Fatal("removal touched another connection's data")
		}
		// The change log keeps nothing of the removed accounts' data, and
		// a client from the beginning holds the other bank's transactions.
		h.noDataLeft(gb.PartyID, gbIDs)
		c := h.newSyncClient(gb.PartyID)
		c.follow(MaxSyncCount)
		c.matchStore()
	})
}

// A removal that runs while an import step is writing: the step finds its
// checkpoint gone and sweeps what it wrote after the removal.
func TestRemoveDuringImport(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	req := h.connect("100800", sandbox.BankDefault, time.Time{})
	var once sync.Once
	h.hook.run = func(ctx context.Context, accounts []Account) error {
		var err error
		once.Do(func() { err = h.svc.RemoveConnectionData(ctx, req.PartyID, req.BankCode) })
		return err
	}
	if err := h.svc.EnqueueImport(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	h.drain()
	e := h.expect(req)
	for _, pa := range e.accounts {
		id := AccountID(sandbox.Name, req.ConnectionID, pa.ID)
		if items := h.partition("", AccountPK(id)); len(items) != 0 {
			t.Fatalf("account %s keeps %d items after a removal during the import", id, len(items))
		}
	}
	if ids := h.accountIDs(req.PartyID); len(ids) != 0 {
		t.Fatalf("accounts left: %v", ids)
	}
	if _, err := h.svc.Progress(t.Context(), req.PartyID, req.BankCode); !errors.Is(err, ErrImportNotFound) {
		t.Fatalf("import state: %v", err)
	}
	// What the step logged after the removal is removed again.
	c := h.newSyncClient(req.PartyID)
	c.follow(MaxSyncCount)
	c.matchStore()
	// The log announced each transaction and its removal, and holds no
	// data of them any more (the announcements are redacted).
	if n := h.rawLog(req.PartyID); n.Redacted == 0 || n.Removed != n.Redacted || n.Added+n.Modified != 0 || len(n.Data) != 0 {
		t.Fatalf("the change log holds %+v", n)
	}
}

func TestImportFailures(t *testing.T) {
	t.Run("provider keeps failing", func(t *testing.T) {
		h := newHarness(t, "bolt", Limits{MaxAttempts: 3})
		req := h.connect("100900", sandbox.BankFailing, time.Time{})
		p := h.importNow(req)
		if p.State != StateFailed || !strings.Contains(p.LastError, "unavailable") {
			t.Fatalf("progress %+v", p)
		}
		if n := len(h.jobLog()); n != 3 {
			t.Fatalf("%d deliveries, want 3 attempts", n)
		}
		if dead, err := h.q.DeadLetters(queue.Holdings); err != nil || len(dead) != 0 {
			t.Fatalf("dead letters %v %v: a recorded failure is acknowledged", dead, err)
		}
	})
	t.Run("unknown provider is permanent", func(t *testing.T) {
		h := newHarness(t, "bolt", Limits{})
		req := h.connect("101000", sandbox.BankDefault, time.Time{})
		req.Provider = "nope"
		p := h.importNow(req)
		if p.State != StateFailed || !strings.Contains(p.LastError, "UNKNOWN_PROVIDER") || len(h.jobLog()) != 1 {
			t.Fatalf("progress %+v after %d deliveries", p, len(h.jobLog()))
		}
	})
	t.Run("transient failure then success", func(t *testing.T) {
		h := newHarness(t, "bolt", Limits{})
		req := h.connect("101100", sandbox.BankDefault, recent)
		h.hook.fail.Store(1)
		p := h.importNow(req)
		e := h.expect(req)
		if p.State != StateDone || p.Transactions != e.total || p.LastError != "" {
			t.Fatalf("progress %+v", p)
		}
		// The retried first step still told the hook about the new accounts.
		if c := h.hook.Calls(); len(c) != 2 || len(c[0]) != len(e.accounts) {
			t.Fatalf("hook calls %v", c)
		}
	})
	t.Run("poison jobs", func(t *testing.T) {
		h := newHarness(t, "bolt", Limits{})
		for _, job := range []queue.Job{
			{Type: "other.job", Key: "k", Version: 1, Payload: []byte(`{}`)},
			{Type: JobImport, Key: "k", Version: 1, Payload: []byte(`{"partyId":`)},
			{Type: JobImport, Key: "k", Version: 1, Payload: []byte(`{"partyId":"p"}`)},
		} {
			if err := h.svc.HandleJob(t.Context(), job); !errors.Is(err, queue.ErrPoison) {
				t.Fatalf("job %s: %v", job.Payload, err)
			}
		}
	})
}

// connection-sync enqueues bare ImportRequests (step 0, its own run id).
func TestBareJobStartsARun(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	req := h.connect("101200", sandbox.BankDefault, recent)
	req.RunID = "sync-run-1"
	job, err := queue.NewJob(JobImport, req.PartyID+"/"+req.BankCode+"/"+req.RunID, req)
	if err != nil {
		t.Fatal(err)
	}
	h.resend(job)
	h.drain()
	p := h.progress(req)
	if e := h.expect(req); p.State != StateDone || p.Transactions != e.total {
		t.Fatalf("progress %+v, want %d", p, e.total)
	}
	_, ver := h.state(req)
	h.resend(job) // redelivered after the run finished
	h.drain()
	if _, v := h.state(req); v != ver {
		t.Fatal("a redelivered bare job started the run again")
	}

	// A late job for a connection removed meanwhile (gone at the provider
	// too) leaves no trace.
	if err := h.svc.RemoveConnectionData(t.Context(), req.PartyID, req.BankCode); err != nil {
		t.Fatal(err)
	}
	if err := h.sbx.DeleteConnection(t.Context(), req.ConnectionID); err != nil {
		t.Fatal(err)
	}
	req.RunID = "sync-run-2"
	late, _ := queue.NewJob(JobImport, "late", req)
	h.resend(late)
	h.drain()
	if _, err := h.svc.Progress(t.Context(), req.PartyID, req.BankCode); !errors.Is(err, ErrImportNotFound) {
		t.Fatalf("late job wrote an import state: %v", err)
	}
	if ids := h.accountIDs(req.PartyID); len(ids) != 0 {
		t.Fatalf("late job wrote accounts %v", ids)
	}
}

func TestTransactionsQuery(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	req := h.connect("101300", sandbox.BankDefault, time.Time{})
	h.importNow(req)
	ids := h.accountIDs(req.PartyID)
	var id string
	var all []Transaction
	for _, cand := range ids {
		page, err := h.svc.Transactions(t.Context(), cand, TxQuery{Limit: MaxTxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Transactions) > len(all) {
			id, all = cand, page.Transactions
		}
	}
	if len(all) < 200 {
		t.Fatalf("need an account with transactions, got %d", len(all))
	}
	// Oldest first without Desc.
	for i := 1; i < len(all); i++ {
		if all[i].Completed().Before(all[i-1].Completed()) {
			t.Fatal("ascending order broken")
		}
	}

	from := all[50].Completed().Truncate(24 * time.Hour)
	to := all[150].Completed().Truncate(24 * time.Hour).Add(24*time.Hour - time.Millisecond)
	want := 0
	for _, tx := range all {
		if c := tx.Completed(); !c.Before(from) && !c.After(to) {
			want++
		}
	}
	var got []Transaction
	q := TxQuery{From: from, To: to, Desc: true, Limit: 7}
	for pages := 0; ; pages++ {
		page, err := h.svc.Transactions(t.Context(), id, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Transactions) > 7 {
			t.Fatalf("page of %d > limit", len(page.Transactions))
		}
		got = append(got, page.Transactions...)
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	if len(got) != want {
		t.Fatalf("range lists %d, want %d", len(got), want)
	}
	seen := map[string]bool{}
	for _, tx := range got {
		if c := tx.Completed(); c.Before(from) || c.After(to) || seen[tx.ID] {
			t.Fatalf("transaction %s (%v) out of range or listed twice", tx.ID, c)
		}
		seen[tx.ID] = true
	}

	// OBP transaction metadata shares the date index; it is not listed.
	meta := store.Item{PK: AccountPK(id), SK: "OBP#TXM#" + all[10].ID + "#owner", GSI1PK: TxByDateGSI1PK(id),
		GSI1SK: TxByDateGSI1SK(all[10]) + "#M#owner", Data: []byte(`{"narrative":"x"}`)}
	if err := h.st.Put(t.Context(), meta, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	lo, hi := all[0].Completed(), all[20].Completed()
	inRange := 0
	for _, tx := range all {
		if c := tx.Completed(); !c.Before(lo) && !c.After(hi) {
			inRange++
		}
	}
	withMeta, err := h.svc.Transactions(t.Context(), id, TxQuery{From: lo, To: hi, Limit: MaxTxLimit})
	if err != nil || len(withMeta.Transactions) != inRange {
		t.Fatalf("with metadata in the index: %d transactions (want %d), %v", len(withMeta.Transactions), inRange, err)
	}
	for _, tx := range withMeta.Transactions {
		if tx.ID == "" || tx.AccountID != id {
			t.Fatalf("listed a foreign item as a transaction: %+v", tx)
		}
	}

	// Pages stay full and list each transaction once while metadata items
	// fill the index around them: one view on every transaction of the
	// range, twenty views on one of them (more than a store page holds).
	for i, tx := range all[:21] {
		views := []string{"owner"}
		if i == 5 {
			for v := range 20 {
				views = append(views, fmt.Sprintf("custom-%02d", v))
			}
		}
		for _, v := range views {
			m := store.Item{PK: AccountPK(id), SK: "OBP#TXM#" + tx.ID + "#" + v, GSI1PK: TxByDateGSI1PK(id),
				GSI1SK: TxByDateGSI1SK(tx) + "#M#" + v, Data: []byte(`{"narrative":"x"}`)}
			if err := h.st.Put(t.Context(), m, store.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, limit := range []int{1, 3} {
		for _, desc := range []bool{false, true} {
			q := TxQuery{From: lo, To: hi, Desc: desc, Limit: limit}
			var listed []string
			for {
				page, err := h.svc.Transactions(t.Context(), id, q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Next != "" && len(page.Transactions) != limit {
					t.Fatalf("limit %d desc %v: a page of %d transactions before the end", limit, desc, len(page.Transactions))
				}
				for _, tx := range page.Transactions {
					listed = append(listed, tx.ID)
				}
				if page.Next == "" {
					break
				}
				q.Token = page.Next
			}
			if len(listed) != inRange || len(uniq(listed)) != inRange {
				t.Fatalf("limit %d desc %v: listed %d (%d distinct), want %d", limit, desc, len(listed), len(uniq(listed)), inRange)
			}
		}
	}

	first, err := h.svc.Transactions(t.Context(), id, TxQuery{Desc: true})
	if err != nil || len(first.Transactions) != DefaultTxLimit || first.Next == "" {
		t.Fatalf("default page: %d %q %v", len(first.Transactions), first.Next, err)
	}
	bad := []struct {
		name string
		acc  string
		q    TxQuery
		kind *fault.Kind // each dialect's status and code: internal/app's dialects test
	}{
		{"limit too big", id, TxQuery{Limit: MaxTxLimit + 1}, ErrInvalidLimit},
		{"negative limit", id, TxQuery{Limit: -1}, ErrInvalidLimit},
		{"to before from", id, TxQuery{From: to, To: from}, ErrInvalidDateRange},
		{"garbage token", id, TxQuery{Token: "not-a-token"}, ErrInvalidPageToken},
		{"token of another order", id, TxQuery{Token: first.Next}, ErrInvalidPageToken},
		{"token of another account", "someone-else", TxQuery{Desc: true, Token: first.Next}, ErrInvalidPageToken},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.svc.Transactions(t.Context(), tc.acc, tc.q)
			if kind, _, _ := fault.Of(err); kind != tc.kind {
				t.Fatalf("error %v (kind %v), want %v", err, kind, tc.kind)
			}
		})
	}
	if _, err := h.svc.Transaction(t.Context(), id, "missing"); !errors.Is(err, ErrTransactionNotFound) {
		t.Fatalf("missing transaction: %v", err)
	}
	if _, err := h.svc.Account(t.Context(), "missing"); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("missing account: %v", err)
	}
}

// The account index of DynamoDB is eventually consistent: an account the
// import state knows is removed even when the index does not list it yet.
func TestRemoveFindsAccountsMissingFromTheIndex(t *testing.T) {
	h := newHarness(t, "bolt", Limits{})
	req := h.connect("101400", sandbox.BankDefault, recent)
	h.importNow(req)
	ids := h.accountIDs(req.PartyID)
	// Take the first account out of the index, as a lagging GSI would.
	it, err := h.st.Get(t.Context(), store.Key{PK: AccountPK(ids[0]), SK: AccountSK})
	if err != nil {
		t.Fatal(err)
	}
	it.GSI1PK, it.GSI1SK = "", ""
	if err := h.st.Put(t.Context(), it, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RemoveConnectionData(t.Context(), req.PartyID, req.BankCode); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if items := h.partition("", AccountPK(id)); len(items) != 0 {
			t.Fatalf("account %s keeps %d items", id, len(items))
		}
	}
}

// Each limit of a step ends it: one page per job under a tiny budget.
func TestStepLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits Limits
	}{
		{"pages", Limits{MaxPages: 1}},
		{"transactions", Limits{MaxTransactions: 1}},
		{"time", Limits{TimeBudget: time.Nanosecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "bolt", tc.limits)
			req := h.connect("101500", sandbox.BankDefault, recent)
			e := h.expect(req)
			p := h.importNow(req)
			pages := 0
			for _, pa := range e.accounts {
				pages += max(1, (e.posted[pa.ID]+sandbox.TransactionPageSize-1)/sandbox.TransactionPageSize) + 1
			}
			if p.State != StateDone || p.Transactions != e.total || len(h.jobLog()) != pages {
				t.Fatalf("progress %+v after %d jobs, want %d transactions in %d jobs", p, len(h.jobLog()), e.total, pages)
			}
		})
	}
}

// The big bank (more than 100,000 transactions) through the worker in
// 20-page steps, with the heap staying small.
func TestImportBigBank(t *testing.T) {
	if testing.Short() {
		t.Skip("big bank import skipped in -short mode")
	}
	h := newHarness(t, "bolt", Limits{})
	req := h.connect("101600", sandbox.BankBig, time.Time{})
	var peak atomic.Uint64
	runtime.GC()
	stop := sampleHeap(&peak)
	c0 := h.st.Calls()
	p := h.importNow(req)
	calls := h.st.Calls() - c0
	stop()
	if p.State != StateDone || p.Accounts != 3 || p.Transactions < 100000 {
		t.Fatalf("progress %+v", p)
	}
	// The import budget (DynamoDB requests, counted alike on bolt),
	// counterparty directory included.
	perThousand := float64(calls) * 1000 / float64(p.Transactions)
	if perThousand > 45 {
		t.Fatalf("%.1f store calls per 1,000 transactions, want ≤ 45", perThousand)
	}
	if n := len(h.jobLog()); n < 5 {
		t.Fatalf("%d jobs for %d transactions: not chunked", n, p.Transactions)
	}
	n := 0
	for _, id := range h.accountIDs(req.PartyID) {
		n += len(h.partition(store.IndexGSI1, TxByDateGSI1PK(id)))
		if page, err := h.svc.Counterparties(t.Context(), id, 0, ""); err != nil || len(page.Counterparties) == 0 {
			t.Fatalf("account %s: no counterparty directory: %v", id, err)
		}
	}
	if int64(n) != p.Transactions {
		t.Fatalf("%d transactions indexed, progress says %d", n, p.Transactions)
	}
	const limit = 200 << 20
	if peak.Load() > limit {
		t.Fatalf("heap peaked at %d MB", peak.Load()>>20)
	}
	t.Logf("%d transactions in %d jobs, %.1f store calls per 1,000, heap peak %.1f MB", p.Transactions, len(h.jobLog()), perThousand, float64(peak.Load())/(1<<20))
}

func uniq(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
