package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/storetest"
	"github.com/openagg/openagg/internal/view"
)

// directoryProvider lists the fixture's banks; nothing else is asked of it.
type directoryProvider struct{ provider.Provider }

func (directoryProvider) Name() string { return "testprovider" }

func (directoryProvider) ListBanks(context.Context, string) (provider.BankPage, error) {
	return provider.BankPage{Banks: []provider.Bank{
		{Code: "bank1", Name: "Bank One", CountryCode: "DE", Status: "active"},
		{Code: "bank2", Name: "Bank Two", CountryCode: "DE", Status: "active"},
		{Code: "closed", Name: "Closed Bank", CountryCode: "DE", Status: "active"},
	}}, nil
}

type sent []queue.Job

func (s *sent) Send(_ context.Context, _ string, job queue.Job, _ time.Duration) error {
	*s = append(*s, job)
	return nil
}

type fixture struct {
	st    *storetest.Counter
	svc   *account.Service
	views *view.Service
	meta  *metadata.Service
	txs   []holdings.Transaction
}

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// newFixture: a directory of bank1, bank2 and closed (access disabled);
// account acc1 at bank1 owned by alice, with a custom view "team" granted
// to bob and a public view "public"; 30 transactions, an hour apart.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "account.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	st := &storetest.Counter{Store: s}
	var jobs sent
	dir, err := bank.New(bank.Deps{Store: st, Queue: &jobs, Providers: []provider.Provider{directoryProvider{}}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.StartLoad(ctx); err != nil {
		t.Fatal(err)
	}
	for len(jobs) > 0 {
		job := jobs[0]
		jobs = jobs[1:]
		if err := dir.HandleJob(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dir.SetAccess(ctx, "closed", false); err != nil {
		t.Fatal(err)
	}
	svc, err := account.New(account.Deps{Store: st, Banks: dir, Holdings: holdings.New(holdings.Deps{Store: st})})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, svc: svc, views: view.New(view.Deps{Store: st}), meta: metadata.New(metadata.Deps{Store: st})}
	put := func(it store.Item) {
		t.Helper()
		if err := st.Put(ctx, it, store.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	acc := holdings.Account{ID: "acc1", BankCode: "bank1", OwnerSub: "alice", Name: "Main", Currency: "EUR"}
	data, _ := json.Marshal(acc)
	put(store.Item{PK: holdings.AccountPK(acc.ID), SK: holdings.AccountSK, Data: data})
	if err := f.views.AccountsImported(ctx, []holdings.Account{acc}); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []view.Spec{
		{Name: "Team", AllowedActions: []string{"can_see_transaction_amount"}},
		{Name: "Everyone", IsPublic: true},
	} {
		acl := f.acl(t)
		if _, err := f.views.CreateView(ctx, acl, spec); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.views.Grant(ctx, f.acl(t), view.User{ID: "bob"}, []string{"team"}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		tx := holdings.Transaction{ID: fmt.Sprintf("tx%02d", i), AccountID: acc.ID, Status: "posted", MadeOn: t0.Add(time.Duration(i) * time.Hour),
			Amount: decimal.NewFromInt(int64(-i)), Currency: "EUR", Description: "payment", CounterpartyName: "Shop", CounterpartyID: holdings.CounterpartyID("Shop", "")}
		data, _ := json.Marshal(tx)
		put(store.Item{PK: holdings.AccountPK(acc.ID), SK: holdings.TxSK(tx.ID), GSI1PK: holdings.TxByDateGSI1PK(acc.ID), GSI1SK: holdings.TxByDateGSI1SK(tx), Data: data})
		f.txs = append(f.txs, tx)
	}
	c, _ := holdings.CounterpartyOf(f.txs[0])
	data, _ = json.Marshal(c)
	put(store.Item{PK: holdings.AccountPK(acc.ID), SK: holdings.CounterpartySK(c.ID), Data: data})
	st.Reset()
	return f
}

func (f *fixture) acl(t *testing.T) view.ACL {
	t.Helper()
	a, err := f.views.LoadACL(t.Context(), "acc1", "bank1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLoadChecksInOrder: each refusal is the first check that fails, in
// OBP's order, and costs what it says: nothing before the bank id is
// checked, a bank lookup for an account id no account can have, the one
// BatchGet otherwise.
func TestLoadChecksInOrder(t *testing.T) {
	f := newFixture(t)
	alice, bob, carol := &auth.Principal{Subject: "alice"}, &auth.Principal{Subject: "bob"}, &auth.Principal{Subject: "carol"}
	ok := account.Request{BankID: "bank1", AccountID: "acc1", ViewID: "owner", Caller: alice}
	with := func(change func(*account.Request)) account.Request {
		r := ok
		change(&r)
		return r
	}
	for _, tc := range []struct {
		name  string
		req   account.Request
		kind  *fault.Kind // nil: loads
		calls int64
	}{
		{"transaction id first", with(func(r *account.Request) { r.TransactionID, r.BankID = "a#b", "bad id!" }), account.ErrTransactionNotFound, 0},
		{"bank id", with(func(r *account.Request) { r.BankID = "bad id!" }), account.ErrInvalidBankID, 0},
		{"unknown bank, bad account id", with(func(r *account.Request) { r.BankID, r.AccountID = "nosuch", "bad id!" }), bank.ErrNotFound, 1},
		{"bad account id", with(func(r *account.Request) { r.AccountID = "bad id!" }), account.ErrNotFound, 1},
		{"unknown bank", with(func(r *account.Request) { r.BankID = "nosuch" }), bank.ErrNotFound, 1},
		{"bank code no bank can have", with(func(r *account.Request) { r.BankID = strings.Repeat("b", 200) }), bank.ErrNotFound, 1},
		{"disabled bank", with(func(r *account.Request) { r.BankID = "closed" }), bank.ErrNotFound, 1},
		{"unknown account", with(func(r *account.Request) { r.AccountID = "nosuch" }), account.ErrNotFound, 1},
		{"account at another bank", with(func(r *account.Request) { r.BankID = "bank2" }), account.ErrNotFound, 1},
		{"admin, anonymous", with(func(r *account.Request) { r.Admin, r.Caller = true, nil }), view.ErrLoginRequired, 1},
		{"admin, not an owner", with(func(r *account.Request) { r.Admin, r.Caller = true, bob }), view.ErrNotOwner, 1},
		{"admin", with(func(r *account.Request) { r.Admin, r.ViewID = true, "ignored" }), nil, 1},
		{"unknown view", with(func(r *account.Request) { r.ViewID = "nosuch" }), view.ErrNotFound, 1},
		{"private view, anonymous", with(func(r *account.Request) { r.ViewID, r.Caller = "team", nil }), view.ErrLoginRequired, 1},
		{"view not granted", with(func(r *account.Request) { r.ViewID, r.Caller = "team", carol }), view.ErrNoAccess, 1},
		{"view granted", with(func(r *account.Request) { r.ViewID, r.Caller = "team", bob }), nil, 1},
		{"public view, anonymous", with(func(r *account.Request) { r.ViewID, r.Caller = "everyone", nil }), nil, 1},
		{"access before the transaction", with(func(r *account.Request) { r.ViewID, r.Caller, r.TransactionID = "team", carol, "nosuch" }), view.ErrNoAccess, 1},
		{"unknown transaction", with(func(r *account.Request) { r.TransactionID = "nosuch" }), account.ErrTransactionNotFound, 1},
		{"everything", with(func(r *account.Request) {
			r.OtherMeta, r.OtherAccountID, r.TransactionID = true, holdings.CounterpartyID("Shop", ""), "tx03"
		}), nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.st.Reset()
			sc, err := f.svc.Load(t.Context(), tc.req)
			if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Fatalf("err %v, want %v", err, tc.kind)
			}
			if n := f.st.Reads.Load() + f.st.Writes.Load(); n != tc.calls {
				t.Errorf("%d store calls, want %d", n, tc.calls)
			}
			if err != nil {
				return
			}
			if sc.Account.ID != "acc1" || sc.ACL.AccountID != "acc1" || len(sc.AccountData) == 0 || sc.Caller != tc.req.Caller {
				t.Errorf("scope %+v", sc)
			}
			if !tc.req.Admin && sc.View.ID != tc.req.ViewID {
				t.Errorf("view %q, want %q", sc.View.ID, tc.req.ViewID)
			}
		})
	}
}

// TestLoadReadsWhatIsAsked: the other account, the other-account metadata
// and the transaction with its metadata on the view come with the one
// BatchGet; an unknown other account is no error, only no entry.
func TestLoadReadsWhatIsAsked(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	cp := holdings.CounterpartyID("Shop", "")
	if err := f.meta.SetOtherAccount(ctx, metadata.OADoc{AccountID: "acc1"}, cp, metadata.MoreInfo, metadata.Value{Text: "corner shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.meta.UpdateTx(ctx, f.txs[3], "owner", metadata.TxMeta{}, func(m *metadata.TxMeta, _ time.Time) error {
		m.Narrative = "groceries"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.st.Reset()
	alice := &auth.Principal{Subject: "alice"}
	sc, err := f.svc.Load(ctx, account.Request{BankID: "bank1", AccountID: "acc1", ViewID: "owner", Caller: alice,
		OtherMeta: true, OtherAccountID: cp, TransactionID: "tx03"})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.st.Reads.Load(); n != 1 {
		t.Errorf("%d store calls, want 1", n)
	}
	if o, err := sc.OtherAccount(); err != nil || o.ID != cp || o.Name != "Shop" {
		t.Errorf("other account %+v %v", o, err)
	}
	if sc.OtherMeta.Of(cp).MoreInfo != "corner shop" || sc.OtherMetaData == nil {
		t.Errorf("other-account metadata %+v", sc.OtherMeta)
	}
	if sc.Transaction.ID != "tx03" || sc.TxMeta.Narrative != "groceries" || sc.TxMeta.Version != 1 {
		t.Errorf("transaction %+v %+v", sc.Transaction, sc.TxMeta)
	}
	if o, err := sc.TransactionOtherAccount(); err != nil || o.ID != cp {
		t.Errorf("transaction's other account %+v %v", o, err)
	}

	sc, err = f.svc.Load(ctx, account.Request{BankID: "bank1", AccountID: "acc1", ViewID: "owner", Caller: alice, OtherAccountID: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.OtherAccount(); !errors.Is(err, account.ErrOtherAccountNotFound) {
		t.Errorf("unknown other account: %v", err)
	}
	if sc.OtherMetaData != nil || sc.OtherMeta.AccountID != "acc1" {
		t.Errorf("other-account metadata not asked for: %+v", sc.OtherMeta)
	}
}

// TestTransactionsPage: a page is Offset..Offset+Limit transactions in
// date order with the metadata of the view only, read with one query when
// the over-fetch covers it and with more when metadata on other views
// pushes the page into later results (what was kept is then copied out of
// the lent result). fn is called once; an empty range asks nothing.
func TestTransactionsPage(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := &auth.Principal{Subject: "alice"}
	narrate := func(tx holdings.Transaction, viewID string) {
		t.Helper()
		if _, err := f.meta.UpdateTx(ctx, tx, viewID, metadata.TxMeta{}, func(m *metadata.TxMeta, _ time.Time) error {
			m.Narrative = tx.ID + " on " + viewID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Every other transaction has metadata on the owner view; from tx10
	// on, every one has metadata on three more views.
	for i, tx := range f.txs {
		if i%2 == 0 {
			narrate(tx, "owner")
		}
		if i >= 10 {
			for _, v := range []string{"a", "b", "team"} {
				narrate(tx, v)
			}
		}
	}
	sc, err := f.svc.Load(ctx, account.Request{BankID: "bank1", AccountID: "acc1", ViewID: "owner", Caller: alice})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(from, to int, desc bool) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, f.txs[i].ID)
		}
		if desc {
			slices.Reverse(out)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		q     account.PageQuery
		want  []string
		calls int64 // index queries: more than 1 where the page runs on
	}{
		{"asc, first page", account.PageQuery{Limit: 5}, ids(0, 5, false), 1},
		{"asc, offset", account.PageQuery{Offset: 3, Limit: 4}, ids(3, 7, false), 1},
		{"asc, into busy days", account.PageQuery{Offset: 8, Limit: 6}, ids(8, 14, false), 2},
		{"desc", account.PageQuery{Desc: true, Limit: 5}, ids(25, 30, true), 2},
		{"desc, offset", account.PageQuery{Desc: true, Offset: 18, Limit: 4}, ids(8, 12, true), 3},
		{"range", account.PageQuery{Limit: 50, From: t0.Add(4 * time.Hour), To: t0.Add(6 * time.Hour)}, ids(4, 7, false), 1},
		{"past the end", account.PageQuery{Offset: 40, Limit: 5}, nil, 2},
		{"empty range", account.PageQuery{Limit: 5, From: t0.Add(2 * time.Hour), To: t0}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.st.Reset()
			calls := 0
			var got []string
			err := f.svc.Transactions(ctx, sc, tc.q, func(page []account.StoredTx) error {
				calls++
				for _, stx := range page {
					tx, m, err := stx.Decode()
					if err != nil {
						return err
					}
					got = append(got, tx.ID)
					var i int
					fmt.Sscanf(tx.ID, "tx%02d", &i)
					if (m != nil) != (i%2 == 0) || m != nil && m.Narrative != tx.ID+" on owner" || stx.ID != tx.ID {
						t.Errorf("%s: metadata %+v", tx.ID, m)
					}
				}
				return nil
			})
			if err != nil || calls != 1 {
				t.Fatalf("err %v, %d calls of fn", err, calls)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("page %v, want %v", got, tc.want)
			}
			if n := f.st.Reads.Load(); n != tc.calls {
				t.Errorf("%d store calls, want %d", n, tc.calls)
			}
		})
	}
}
