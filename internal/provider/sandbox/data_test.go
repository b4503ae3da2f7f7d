package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
)

// allPosted pages through every posted transaction of an account.
func allPosted(tb testing.TB, p *Provider, connID, accID string) ([]provider.Transaction, int) {
	tb.Helper()
	var (
		out   []provider.Transaction
		pages int
	)
	for cursor := ""; ; {
		page, err := p.ListTransactions(context.Background(), connID, accID, false, cursor)
		if err != nil {
			tb.Fatal(err)
		}
		pages++
		if len(page.Transactions) > TransactionPageSize {
			tb.Fatalf("page of %d transactions", len(page.Transactions))
		}
		if page.Next != "" && len(page.Transactions) != TransactionPageSize {
			tb.Fatalf("short page (%d) with a next cursor", len(page.Transactions))
		}
		out = append(out, page.Transactions...)
		if cursor = page.Next; cursor == "" {
			return out, pages
		}
	}
}

func pendingOf(tb testing.TB, p *Provider, connID, accID string) []provider.Transaction {
	tb.Helper()
	page, err := p.ListTransactions(context.Background(), connID, accID, true, "")
	if err != nil {
		tb.Fatal(err)
	}
	if page.Next != "" {
		tb.Fatalf("pending page with a cursor")
	}
	return page.Transactions
}

func accountsOf(tb testing.TB, p *Provider, connID string) []provider.Account {
	tb.Helper()
	accs, err := p.ListAccounts(context.Background(), connID)
	if err != nil {
		tb.Fatal(err)
	}
	return accs
}

// checkAccount verifies the documented rules on one account's data.
func checkAccount(t *testing.T, acc provider.Account, posted, pending []provider.Transaction, now time.Time) {
	t.Helper()
	exp := int32(-2)
	if acc.CurrencyCode == "JPY" {
		exp = 0
	}
	if acc.IBAN != "" && !validIBAN(acc.IBAN) {
		t.Errorf("account %s IBAN %s is invalid", acc.ID, acc.IBAN)
	}
	modes := map[string]bool{"normal": true, "fee": true, "transfer": true}
	names := map[string]bool{}
	var prev *provider.Transaction
	for i := range posted {
		tx := &posted[i]
		if tx.Status != "posted" || tx.PostedAt.IsZero() || tx.PostedAt.After(now) || tx.BalanceAfter == nil || !strings.HasSuffix(tx.ID, "0") {
			t.Fatalf("bad posted transaction %+v", tx)
		}
		if tx.AccountID != acc.ID || tx.CurrencyCode != acc.CurrencyCode || tx.Description == "" || tx.Category == "" || !modes[tx.Mode] {
			t.Fatalf("bad fields %+v", tx)
		}
		if tx.Amount.Exponent() < exp || tx.Amount.IsZero() {
			t.Fatalf("amount %s has more than the currency's minor units", tx.Amount)
		}
		if !tx.MadeOn.Equal(tx.MadeOn.Truncate(24*time.Hour)) || tx.MadeOn.After(tx.PostedAt) || tx.PostedAt.Sub(tx.MadeOn) > 4*24*time.Hour {
			t.Fatalf("made_on %s vs posted_at %s", tx.MadeOn, tx.PostedAt)
		}
		if tx.CounterpartyIBAN != "" && !validIBAN(tx.CounterpartyIBAN) {
			t.Fatalf("counterparty IBAN %s is invalid", tx.CounterpartyIBAN)
		}
		names[tx.CounterpartyName] = true
		if prev != nil {
			if compareIDs(prev.ID, tx.ID) >= 0 {
				t.Fatalf("ids not increasing: %s then %s", prev.ID, tx.ID)
			}
			if tx.PostedAt.Before(prev.PostedAt) {
				t.Fatalf("not in booking order: %s then %s", prev.PostedAt, tx.PostedAt)
			}
			if !prev.BalanceAfter.Add(tx.Amount).Equal(*tx.BalanceAfter) {
				t.Fatalf("balance chain broken at %s: %s + %s != %s", tx.ID, prev.BalanceAfter, tx.Amount, tx.BalanceAfter)
			}
		}
		prev = tx
	}
	if len(posted) > 0 {
		if !posted[len(posted)-1].BalanceAfter.Equal(acc.Balance) {
			t.Errorf("account balance %s != last balance_after %s", acc.Balance, posted[len(posted)-1].BalanceAfter)
		}
		opening := posted[0].BalanceAfter.Sub(posted[0].Amount)
		sum := decimal.Zero
		for _, tx := range posted {
			sum = sum.Add(tx.Amount)
		}
		if !opening.Add(sum).Equal(acc.Balance) {
			t.Errorf("opening %s + sum %s != balance %s", opening, sum, acc.Balance)
		}
		if len(posted) > 50 && len(names) > len(posted)/2 {
			t.Errorf("counterparties do not recur: %d names in %d transactions", len(names), len(posted))
		}
	}
	debits := decimal.Zero
	for _, tx := range pending {
		if tx.Status != "pending" || !tx.PostedAt.IsZero() || tx.BalanceAfter != nil || !strings.HasSuffix(tx.ID, "1") || tx.MadeOn.After(now) {
			t.Fatalf("bad pending transaction %+v", tx)
		}
		if tx.Amount.IsNegative() {
			debits = debits.Add(tx.Amount)
		}
	}
	avail := acc.Balance.Add(debits)
	if acc.Nature != "credit_card" && !acc.Available.Equal(avail) {
		t.Errorf("available %s != balance + pending debits %s", acc.Available, avail)
	}
}

func TestTransactions(t *testing.T) {
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{Seed: 1})
	banks := []string{BankDefault, "thames_building_society_web_client_gb_xf", "fake_demo_bank_web_client_xf_xf",
		"bkbklull_oauth_client_lu_xf", "sandbox_bank_api_client_lu_xf", "banque_des_alpes_file_client_fr_xf"}
	currencies, names := map[string]bool{}, map[string]bool{}
	multiPage := false
	for i, bank := range banks {
		t.Run(bank, func(t *testing.T) {
			// Several customers per bank, so 1–3 accounts and every kind show up.
			for c := range 3 {
				_, connID := connect(t, p, "GB0010001-2"+string(rune('0'+i))+string(rune('0'+c)), bank, nil)
				accs := accountsOf(t, p, connID)
				if len(accs) < 1 || len(accs) > 3 {
					t.Fatalf("%d accounts", len(accs))
				}
				for _, acc := range accs {
					currencies[acc.CurrencyCode] = true
					holder := slices.Contains(p.byCode[bank].SupportedFetchScopes, "holder_info")
					if acc.ConnectionID != connID || acc.Name == "" || acc.Nature == "" || acc.AccountNumber == "" || (acc.HolderName != "") != holder || acc.SWIFT == "" {
						t.Errorf("account fields %+v", acc)
					}
					if names[connID+acc.Name] {
						t.Errorf("two accounts named %q", acc.Name)
					}
					names[connID+acc.Name] = true
					posted, pages := allPosted(t, p, connID, acc.ID)
					multiPage = multiPage || pages > 1
					if len(posted) == 0 {
						t.Errorf("account %s has no transactions", acc.ID)
					}
					checkAccount(t, acc, posted, pendingOf(t, p, connID, acc.ID), t0)
					checkCoverage(t, p, connID, acc.ID, posted)
				}
			}
		})
	}
	for _, c := range []string{"GBP", "EUR", "USD", "CHF", "JPY"} {
		if !currencies[c] {
			t.Errorf("no %s account generated", c)
		}
	}
	if !multiPage {
		t.Errorf("no account needed a second page")
	}
}

// checkCoverage compares the pages with a direct enumeration of the
// generator: every transaction of the window exactly once.
func checkCoverage(t *testing.T, p *Provider, connID, accID string, posted []provider.Transaction) {
	t.Helper()
	c, _, err := p.loadConnection(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	b := p.byCode[c.BankCode]
	var a *account
	accs := p.accounts(c.Identifier, b)
	for i := range accs {
		if accs[i].ID == accID {
			a = &accs[i]
		}
	}
	now := p.now()
	today, ws := dayOf(now), p.windowStart(c, b, now)
	g := newGen()
	var want []string
	for d := ws; d <= today; d++ {
		for i, tx := range a.day(g, d) {
			if time.Unix(anchorUnix+int64(d)*daySec+int64(tx.book), 0).After(now) {
				break
			}
			want = append(want, a.txID(d, i, false))
		}
	}
	if len(want) != len(posted) {
		t.Fatalf("pages hold %d transactions, the window has %d", len(posted), len(want))
	}
	for i := range want {
		if posted[i].ID != want[i] {
			t.Fatalf("transaction %d is %s, want %s", i, posted[i].ID, want[i])
		}
	}
}

func TestDeterminism(t *testing.T) {
	render := func(seed uint64) string {
		p := newProvider(t, clocktest.New(t0), Options{Seed: seed})
		var sb strings.Builder
		for _, bank := range []string{BankDefault, BankBig, "fake_demo_bank_web_client_xf_xf"} {
			custID, connID := connect(t, p, "GB0010001-100700", bank, nil)
			sb.WriteString(custID + " " + connID + "\n")
			for _, acc := range accountsOf(t, p, connID) {
				page, err := p.ListTransactions(context.Background(), connID, acc.ID, false, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []any{acc, page, pendingOf(t, p, connID, acc.ID)} {
					js, _ := json.Marshal(v)
					sb.Write(js)
					sb.WriteByte('\n')
				}
			}
		}
		return sb.String()
	}
	a, b := render(42), render(42)
	if a != b {
		t.Errorf("two providers with the same seed disagree")
	}
	if c := render(43); c == a {
		t.Errorf("the seed changes nothing")
	}
}

func TestPendingBecomesPosted(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{})
	// A short window keeps the big bank's pages few.
	_, connID := connect(t, p, "GB0010001-100800", BankBig, func(r *provider.ConnectRequest) { r.AttemptFrom = t0.AddDate(0, 0, -5) })
	accs := accountsOf(t, p, connID)
	type before struct {
		pending []provider.Transaction
		lastID  string
	}
	seen := map[string]before{}
	total := 0
	for _, acc := range accs {
		posted, _ := allPosted(t, p, connID, acc.ID)
		pend := pendingOf(t, p, connID, acc.ID)
		checkAccount(t, acc, posted, pend, t0)
		total += len(pend)
		seen[acc.ID] = before{pend, posted[len(posted)-1].ID}
	}
	if total == 0 {
		t.Fatal("no pending transaction to follow")
	}

	clock.Advance(3 * 24 * time.Hour)
	now := clock.Now()
	for _, acc := range accountsOf(t, p, connID) {
		posted, _ := allPosted(t, p, connID, acc.ID)
		pend := pendingOf(t, p, connID, acc.ID)
		checkAccount(t, acc, posted, pend, now)
		byID := map[string]provider.Transaction{}
		for _, tx := range posted {
			byID[tx.ID] = tx
		}
		for _, tx := range pend {
			for _, old := range seen[acc.ID].pending {
				if tx.ID == old.ID {
					t.Errorf("%s is still pending three days later", tx.ID)
				}
			}
		}
		for _, old := range seen[acc.ID].pending {
			newID := strings.TrimSuffix(old.ID, "1") + "0"
			got, ok := byID[newID]
			if !ok {
				t.Errorf("pending %s was not booked as %s", old.ID, newID)
				continue
			}
			if !got.Amount.Equal(old.Amount) || got.Description != old.Description || !got.MadeOn.Equal(old.MadeOn) || !got.PostedAt.After(t0) {
				t.Errorf("booked %+v differs from pending %+v", got, old)
			}
			if compareIDs(newID, seen[acc.ID].lastID) <= 0 {
				t.Errorf("booked id %s sorts before the last id %s of the earlier sync", newID, seen[acc.ID].lastID)
			}
		}
	}
	_ = ctx
}

// TestStableAcrossDays: a day later, the transactions both windows share
// keep their ids, amounts and balances, and an old cursor still works.
func TestStableAcrossDays(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{})
	_, connID := connect(t, p, "GB0010001-100900", BankDefault, nil)
	acc := accountsOf(t, p, connID)[0]
	first, err := p.ListTransactions(ctx, connID, acc.ID, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if first.Next == "" {
		t.Skip("one page only")
	}
	second, err := p.ListTransactions(ctx, connID, acc.ID, false, first.Next)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	again, err := p.ListTransactions(ctx, connID, acc.ID, false, first.Next)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(second.Transactions)
	b, _ := json.Marshal(again.Transactions[:len(second.Transactions)])
	if string(a) != string(b) {
		t.Errorf("the same page differs a day later")
	}
}

func TestTransactionErrors(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{})
	_, connID := connect(t, p, "GB0010001-101000", "thames_building_society_web_client_gb_xf", nil)
	acc := accountsOf(t, p, connID)[0]
	page, err := p.ListTransactions(ctx, connID, acc.ID, false, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		conn, acc, cur string
		pending        bool
		want           error
	}{
		{"unknown account", connID, "1234567890", "", false, provider.ErrNotFound},
		{"unknown connection", "42", acc.ID, "", false, provider.ErrNotFound},
		{"garbage cursor", connID, acc.ID, "abc", false, provider.ErrInvalid},
		{"other account's cursor", connID, acc.ID, "9999999999000000000", false, provider.ErrInvalid},
		{"pending cursor", connID, acc.ID, strings.TrimSuffix(page.Transactions[0].ID, "0") + "1", false, provider.ErrInvalid},
		{"cursor on pending", connID, acc.ID, page.Transactions[0].ID, true, provider.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.ListTransactions(ctx, tc.conn, tc.acc, tc.pending, tc.cur); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFetchScopes(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{})
	_, connID := connect(t, p, "GB0010001-101100", BankDefault, func(r *provider.ConnectRequest) { r.FetchScopes = []string{"accounts"} })
	for _, acc := range accountsOf(t, p, connID) {
		if acc.HolderName != "" {
			t.Errorf("holder name without holder_info scope")
		}
		page, err := p.ListTransactions(ctx, connID, acc.ID, false, "")
		if err != nil || len(page.Transactions) != 0 {
			t.Errorf("transactions without the transactions scope: %d, %v", len(page.Transactions), err)
		}
	}
}

func TestBigBank(t *testing.T) {
	if testing.Short() {
		t.Skip("pages 100,000 transactions")
	}
	p := newProvider(t, clocktest.New(t0), Options{})
	_, connID := connect(t, p, "GB0010001-101200", BankBig, nil)
	accs := accountsOf(t, p, connID)
	var cur []string
	total := 0
	start := time.Now()
	for _, acc := range accs {
		cur = append(cur, acc.CurrencyCode)
		posted, _ := allPosted(t, p, connID, acc.ID)
		checkAccount(t, acc, posted, pendingOf(t, p, connID, acc.ID), t0)
		if first := posted[0].PostedAt; t0.Sub(first) < 5*365*24*time.Hour {
			t.Errorf("history starts %s, less than five years", first)
		}
		total += len(posted)
	}
	t.Logf("big bank: %d transactions in %s", total, time.Since(start))
	if strings.Join(cur, ",") != "GBP,EUR,USD" {
		t.Errorf("currencies %v", cur)
	}
	if total < 100_000 {
		t.Errorf("big bank has %d transactions, want at least 100,000", total)
	}
}

func BenchmarkBigBankPaging(b *testing.B) {
	ctx := context.Background()
	p := newProvider(b, clocktest.New(t0), Options{})
	_, connID := connect(b, p, "GB0010001-101300", BankBig, nil)
	acc := accountsOf(b, p, connID)[0]
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for cursor := ""; ; {
			page, err := p.ListTransactions(ctx, connID, acc.ID, false, cursor)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Transactions)
			if cursor = page.Next; cursor == "" {
				break
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tx/s")
}
