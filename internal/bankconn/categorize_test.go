package bankconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/category"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
)

// fakeHoldings serves an account's transactions from a list (pages of 7,
// so a step reads several); fail makes every read fail.
type fakeHoldings struct {
	txs  []holdings.Transaction
	fail bool
}

func (f *fakeHoldings) EnqueueImport(context.Context, holdings.ImportRequest) error { return nil }
func (f *fakeHoldings) Accounts(context.Context, string) ([]holdings.Account, error) {
	return nil, nil
}
func (f *fakeHoldings) Account(context.Context, string) (holdings.Account, error) {
	return holdings.Account{}, nil
}

func (f *fakeHoldings) Transactions(_ context.Context, _ string, q holdings.TxQuery) (holdings.TxPage, error) {
	if f.fail {
		return holdings.TxPage{}, errors.New("store unavailable")
	}
	from := 0
	if q.Token != "" {
		fmt.Sscan(q.Token, &from)
	}
	to := min(from+7, len(f.txs))
	page := holdings.TxPage{Transactions: f.txs[from:to]}
	if to < len(f.txs) {
		page.Next = fmt.Sprint(to)
	}
	return page, nil
}

// sent records the jobs a categorizer queues.
type sent struct{ jobs []queue.Job }

func (s *sent) Send(_ context.Context, _ string, job queue.Job, _ time.Duration) error {
	s.jobs = append(s.jobs, job)
	return nil
}

// run delivers the queued jobs until none is left, as the queue would.
func (s *sent) run(t *testing.T, c *Categorizer) int {
	t.Helper()
	n := 0
	for len(s.jobs) > 0 {
		job := s.jobs[0]
		s.jobs = s.jobs[1:]
		if err := c.HandleJob(context.Background(), job); err != nil {
			t.Fatalf("job %s: %v", job.Key, err)
		}
		n++
	}
	return n
}

func postedTx(i int, cents int64, purpose string) holdings.Transaction {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	return holdings.Transaction{ID: fmt.Sprintf("tx%03d", i), Status: "posted", MadeOn: at.Truncate(24 * time.Hour), PostedAt: at,
		Amount: decimal.New(cents, -2), Currency: "EUR", Description: purpose, CounterpartyName: "Someone"}
}

func TestCategorizeInSteps(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &fakeHoldings{}
	for i := range 23 {
		cents := int64(-1000 - i)
		purpose := "REWE MARKT"
		if i%5 == 0 {
			cents, purpose = 250000, "GEHALT"
		}
		h.txs = append(h.txs, postedTx(i, cents, purpose))
	}
	h.txs = append(h.txs, holdings.Transaction{ID: "pending1", Status: "pending", Amount: decimal.New(-5, 0)})
	q := &sent{}
	c, err := NewCategorizer(CategorizerDeps{Store: st, Queue: q, Holdings: h, Clock: clocktest.New(time.Now()), Budget: 5})
	if err != nil {
		t.Fatal(err)
	}
	party := PartyID("carol")
	acc := holdings.Account{ID: "acc1", PartyID: party, BankCode: "bank", Nature: "savings"}
	other := holdings.Account{ID: "acc9", PartyID: "not-finapi", BankCode: "bank"}
	if err := c.AccountsImported(ctx, []holdings.Account{acc, other}); err != nil {
		t.Fatal(err)
	}
	if err := c.AccountsImported(ctx, []holdings.Account{acc}); err != nil { // a second call numbers nothing again
		t.Fatal(err)
	}
	accs, err := c.partyAccounts(ctx, party)
	if err != nil || len(accs) != 1 || accs[0].ID != 1 || accs[0].TypeID != TypeSavings {
		t.Fatalf("numbered accounts %+v %v", accs, err)
	}
	if recs, _ := c.partyAccounts(ctx, "not-finapi"); len(recs) != 0 {
		t.Errorf("an account of another party was numbered")
	}

	views := func() []txView {
		t.Helper()
		var out []txView
		if err := c.readViews(ctx, "acc1", func(v txView) error { out = append(out, v); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(n int) {
		t.Helper()
		vs := views()
		if len(vs) != n {
			t.Fatalf("%d views, want %d", len(vs), n)
		}
		income, spending := decimal.Zero, decimal.Zero
		for i, v := range vs {
			if v.Seq != int64(i) || v.HoldingsID != h.txs[i].ID || v.Category == 0 {
				t.Errorf("view %d: %+v", i, v)
			}
			if v.Amount.IsPositive() {
				income = income.Add(v.Amount)
			} else {
				spending = spending.Add(v.Amount)
			}
		}
		accs, _ := c.partyAccounts(ctx, party)
		if accs[0].Count != int64(n) || !accs[0].Income.Equal(income) || !accs[0].Spending.Equal(spending) {
			t.Errorf("sums %+v, want %d %s %s", accs[0], n, income, spending)
		}
		if vs[0].Category != category.Salary || vs[1].Category != category.Groceries {
			t.Errorf("categories %d %d", vs[0].Category, vs[1].Category)
		}
	}
	state := func() catRecord {
		t.Helper()
		r, ok, err := c.loadCat(ctx, party, "bank")
		if err != nil || !ok {
			t.Fatalf("categorization state: %v %v", ok, err)
		}
		return r
	}

	req := holdings.ImportRequest{PartyID: party, BankCode: "bank", RunID: "run1"}
	if err := c.ImportFinished(ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if s := state(); s.State != catPending || len(q.jobs) != 1 {
		t.Fatalf("after the download: %+v, %d jobs", s, len(q.jobs))
	}
	first := q.jobs[0]
	if steps := q.run(t, c); steps != 5 { // 23 views, 5 per step
		t.Errorf("%d steps", steps)
	}
	check(23)
	if s := state(); s.State != catDone || s.Step != 4 {
		t.Errorf("state %+v", s)
	}
	// A redelivered job and a repeated hook change nothing.
	if err := c.HandleJob(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := c.ImportFinished(ctx, req, nil); err != nil || len(q.jobs) != 0 {
		t.Fatalf("repeated hook: %v, %d jobs", err, len(q.jobs))
	}
	check(23)

	// The next download brings 3 more: they get the next numbers.
	for i := 23; i < 26; i++ {
		h.txs = append(h.txs, postedTx(i, -100, "NETFLIX"))
	}
	if err := c.ImportFinished(ctx, holdings.ImportRequest{PartyID: party, BankCode: "bank", RunID: "run2"}, nil); err != nil {
		t.Fatal(err)
	}
	q.run(t, c)
	h.txs = append(h.txs[:23:23], h.txs[24:]...) // the pending one is not viewed
	check(26)

	// Past the first chunks, in steps of 100 views: the open chunk is
	// rewritten with what it gains, the next ones written whole.
	for i := 26; i < 306; i++ {
		h.txs = append(h.txs, postedTx(i, int64(-i), "EDEKA"))
	}
	c100, err := NewCategorizer(CategorizerDeps{Store: st, Queue: q, Holdings: h, Clock: clocktest.New(time.Now()), Budget: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := c100.ImportFinished(ctx, holdings.ImportRequest{PartyID: party, BankCode: "bank", RunID: "run2b"}, nil); err != nil {
		t.Fatal(err)
	}
	if steps := q.run(t, c100); steps != 3 {
		t.Errorf("%d steps for 280 views", steps)
	}
	check(306)
	if items, err := st.Query(ctx, store.Query{PK: holdings.AccountPK("acc1"), SKPrefix: txSKPrefix}); err != nil || len(items.Items) != 3 {
		t.Errorf("%d chunks for 306 views (%v)", len(items.Items), err)
	}

	// A failing step is retried, then given up: not busy for ever.
	h.fail = true
	if err := c.ImportFinished(ctx, holdings.ImportRequest{PartyID: party, BankCode: "bank", RunID: "run3"}, nil); err != nil {
		t.Fatal(err)
	}
	job := q.jobs[0]
	for attempt := 1; attempt <= maxCatAttempts; attempt++ {
		if err := c.HandleJob(ctx, job); err == nil {
			t.Fatalf("attempt %d succeeded", attempt)
		}
	}
	if err := c.HandleJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if s := state(); s.State != catFailed {
		t.Errorf("after %d failures: %+v", maxCatAttempts, s)
	}

	// Poison.
	bad := []queue.Job{
		{Type: "other"},
		{Type: JobCategorize, Payload: json.RawMessage(`{`)},
		{Type: JobCategorize, Payload: json.RawMessage(`{"partyId":"x","bankCode":"b","runId":"r"}`)},
	}
	for _, j := range bad {
		if err := c.HandleJob(ctx, j); !errors.Is(err, queue.ErrPoison) {
			t.Errorf("%+v: %v", j, err)
		}
	}
	// A deleted connection's job is acknowledged.
	if err := st.Delete(ctx, catKey(party, "bank"), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := c.HandleJob(ctx, job); err != nil {
		t.Errorf("job of a deleted connection: %v", err)
	}
}
