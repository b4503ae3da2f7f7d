package sandbox

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
)

func TestDirectBank(t *testing.T) {
	p := newProvider(t, clocktest.New(t0), Options{})
	cases := []struct {
		code      string
		blz       string
		demo      bool
		challenge bool
	}{
		{BankDemo, DemoBLZ, true, false},
		{"sandbox_bank_oauth_client_de_xf", "10050000", false, false},
		{BankDefault, "", false, false},
		{BankChallenge, "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			d, ok := p.DirectBank(tc.code)
			if !ok || d.BLZ != tc.blz || d.Demo != tc.demo || !d.Test || d.BIC == "" || d.LoginHint == "" || d.LoginFieldPIN == "" {
				t.Errorf("DirectBank = %+v, %v", d, ok)
			}
			if b, err := p.Bank(context.Background(), tc.code); err != nil || b.Interactive != tc.challenge {
				t.Errorf("bank %+v %v", b, err)
			}
		})
	}
	bics := map[string]string{}
	for _, b := range p.banks {
		d, _ := p.DirectBank(b.Code)
		if other, dup := bics[d.BIC]; dup || len(d.BIC) != 11 {
			t.Errorf("BIC %q of %s (also %s)", d.BIC, b.Code, other)
		}
		bics[d.BIC] = b.Code
	}
	if _, ok := p.DirectBank("no_such_bank_web_client_de_xf"); ok {
		t.Error("unknown bank described")
	}
	hidden := newProvider(t, clocktest.New(t0), Options{Hidden: []string{BankDemo}})
	if _, ok := hidden.DirectBank(BankDemo); ok {
		t.Error("hidden bank described")
	}
}

func TestLoginDirect(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{})
	cust, err := p.CreateCustomer(ctx, "GB0010001-direct")
	if err != nil {
		t.Fatal(err)
	}
	good := provider.DirectLoginRequest{CustomerID: cust.ID, UserID: "max", PIN: Password}
	cases := []struct {
		name  string
		edit  func(r *provider.DirectLoginRequest)
		want  error  // nil: connected
		shown string // the message a rejection or challenge carries
	}{
		{"demo without credentials", func(r *provider.DirectLoginRequest) {
			*r = provider.DirectLoginRequest{CustomerID: cust.ID, BankCode: BankDemo}
		}, nil, ""},
		{"demo MSA asks", func(r *provider.DirectLoginRequest) {
			r.BankCode, r.UserID, r.PIN, r.Label = BankDemo, "", "", MSALabel
		}, provider.ErrChallenge, challengeText},
		{"demo MSA answered", func(r *provider.DirectLoginRequest) {
			r.BankCode, r.Label, r.ChallengeResponse = BankDemo, MSALabel, ChallengeAnswer
		}, nil, ""},
		{"demo MSA wrong answer", func(r *provider.DirectLoginRequest) {
			r.BankCode, r.Label, r.ChallengeResponse = BankDemo, MSALabel, "000000"
		}, provider.ErrRejected, rejectedAnswer},
		{"demo answer without challenge", func(r *provider.DirectLoginRequest) { r.BankCode, r.ChallengeResponse = BankDemo, ChallengeAnswer }, provider.ErrNoChallenge, ""},
		{"wrong PIN", func(r *provider.DirectLoginRequest) { r.BankCode, r.PIN = BankDefault, "wrong" }, provider.ErrRejected, rejectedLogin},
		{"no user id", func(r *provider.DirectLoginRequest) { r.BankCode, r.UserID = BankDefault, " " }, provider.ErrRejected, rejectedLogin},
		{"ordinary bank", func(r *provider.DirectLoginRequest) { r.BankCode = BankDefault }, nil, ""},
		{"challenge bank asks", func(r *provider.DirectLoginRequest) { r.BankCode = BankChallenge }, provider.ErrChallenge, challengeText},
		{"challenge bank answered", func(r *provider.DirectLoginRequest) { r.BankCode, r.ChallengeResponse = BankChallenge, ChallengeAnswer }, nil, ""},
		{"failing bank", func(r *provider.DirectLoginRequest) { r.BankCode = BankFailing }, provider.ErrUnavailable, ""},
		{"inactive bank", func(r *provider.DirectLoginRequest) { r.BankCode = BankInactive }, provider.ErrInvalid, ""},
		{"unknown bank", func(r *provider.DirectLoginRequest) { r.BankCode = "nope" }, provider.ErrNotFound, ""},
		{"unknown customer", func(r *provider.DirectLoginRequest) { r.BankCode, r.CustomerID = BankDefault, "1" }, provider.ErrNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := good
			tc.edit(&req)
			c, err := p.LoginDirect(ctx, req)
			if tc.want == nil {
				if err != nil || c.Status != "active" || c.BankCode != req.BankCode || c.CustomerID != cust.ID || !regexp.MustCompile(`^[1-9][0-9]{17}$`).MatchString(c.ID) {
					t.Fatalf("LoginDirect = %+v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var re *provider.RejectedError
			var ce *provider.ChallengeError
			switch {
			case errors.As(err, &re) && re.Message != tc.shown, errors.As(err, &ce) && ce.Challenge != tc.shown:
				t.Errorf("shown message of %v, want %q", err, tc.shown)
			}
		})
	}
	// Logins to one bank reactivate one connection: the customer lists one
	// per bank that accepted a login.
	list, err := p.ListConnections(ctx, cust.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("connections %+v %v", list, err)
	}
}

func TestDemoAccount(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{})
	cust, err := p.CreateCustomer(ctx, "GB0010001-demo")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.LoginDirect(ctx, provider.DirectLoginRequest{CustomerID: cust.ID, BankCode: BankDemo})
	if err != nil {
		t.Fatal(err)
	}
	list := func() ([]provider.Account, []provider.Transaction) {
		t.Helper()
		accs, err := p.ListAccounts(ctx, c.ID)
		if err != nil || len(accs) != 1 {
			t.Fatalf("accounts %+v %v", accs, err)
		}
		page, err := p.ListTransactions(ctx, c.ID, accs[0].ID, false, "")
		if err != nil || page.Next != "" {
			t.Fatalf("transactions %v %q", err, page.Next)
		}
		pend, err := p.ListTransactions(ctx, c.ID, accs[0].ID, true, "")
		if err != nil || len(pend.Transactions) != 0 {
			t.Fatalf("pending %+v %v", pend, err)
		}
		return accs, page.Transactions
	}
	accs, txs := list()
	a := accs[0]
	if a.CurrencyCode != "EUR" || a.Nature != "account" || a.IBAN == "" || len(txs) != len(demoTransactions) {
		t.Fatalf("demo account %+v with %d transactions", a, len(txs))
	}
	// The running balance ends at the account's balance.
	if last := txs[len(txs)-1].BalanceAfter; last == nil || !last.Equal(a.Balance) {
		t.Errorf("balance %s, last balance after %v", a.Balance, last)
	}
	sum := decimal.New(demoOpening, -2)
	for i, tx := range txs {
		sum = sum.Add(tx.Amount)
		if tx.Status != "posted" || tx.PostedAt.After(t0) || (i > 0 && tx.PostedAt.Before(txs[i-1].PostedAt)) {
			t.Errorf("transaction %d: %+v", i, tx)
		}
	}
	if !sum.Equal(a.Balance) {
		t.Errorf("opening + amounts = %s, balance %s", sum, a.Balance)
	}
	// A day later: the same ids and amounts (the data is anchored at the
	// connection's creation).
	clock.Advance(30 * time.Hour)
	accs2, txs2 := list()
	if accs2[0].ID != a.ID || len(txs2) != len(txs) || txs2[0].ID != txs[0].ID || !txs2[5].Amount.Equal(txs[5].Amount) {
		t.Errorf("demo data changed: %+v", accs2[0])
	}
	if _, err := p.ListTransactions(ctx, c.ID, "0000000000", false, ""); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := p.ListTransactions(ctx, c.ID, a.ID, false, "x"); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("cursor: %v", err)
	}
}

func TestRefreshDirect(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{})
	cust, err := p.CreateCustomer(ctx, "GB0010001-refresh")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.LoginDirect(ctx, provider.DirectLoginRequest{CustomerID: cust.ID, BankCode: BankDefault, UserID: "max", PIN: Password})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	// Right after the login: RefreshConnection is too early, a login with
	// credentials is not.
	if _, err := p.RefreshConnection(ctx, c.ID); !errors.Is(err, provider.ErrTooEarly) {
		t.Fatalf("RefreshConnection: %v", err)
	}
	if _, err := p.RefreshDirect(ctx, c.ID, provider.DirectLoginRequest{UserID: "max", PIN: "bad"}); !errors.Is(err, provider.ErrRejected) {
		t.Fatalf("wrong PIN: %v", err)
	}
	r, err := p.RefreshDirect(ctx, c.ID, provider.DirectLoginRequest{UserID: "max", PIN: Password})
	if err != nil || r.ID != c.ID || !r.LastSuccessAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("RefreshDirect = %+v, %v", r, err)
	}
	if _, err := p.RefreshDirect(ctx, "123", provider.DirectLoginRequest{UserID: "max", PIN: Password}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown connection: %v", err)
	}
}
