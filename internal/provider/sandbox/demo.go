package sandbox

import (
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
)

// BankDemo is the demo bank (finAPI's "demo bank", BLZ 00000000): a login
// needs no credentials, and every connection has one current account with
// the predefined transactions of demoTransactions. Named "MSA", a direct
// login asks a challenge first (DirectLoginRequest.Label), as finAPI's demo
// bank does.
const BankDemo = "sandbox_demo_bank_web_client_de_xf"

// DemoBLZ is the demo bank's German bank code.
const DemoBLZ = "00000000"

// MSALabel is the connection name that makes the demo bank ask a challenge.
const MSALabel = "MSA"

// demoTx is one predefined transaction of the demo account: daysAgo is its
// booking day counted back from the day the connection was created, so a
// connection always shows the same transactions (and ids), wherever and
// whenever it is imported again.
type demoTx struct {
	daysAgo int
	cents   int64
	name    string
	iban    string
	purpose string
	mode    string
}

// demoTransactions are the demo account's transactions, oldest first. They
// cover the usual kinds of a German current account, so the categorizer
// has something to do on each.
var demoTransactions = []demoTx{
	{28, 250000, "ACME Software GmbH", "DE89370400440532013000", "GEHALT / SALARY ACME SOFTWARE", "transfer"},
	{27, -85000, "Hausverwaltung Schneider", "DE12500105170648489890", "MIETE WOHNUNG / RENT", "transfer"},
	{26, -5423, "REWE Markt GmbH", "DE02120300000000202051", "REWE SAGT DANKE 12345678", "normal"},
	{25, -8940, "Stadtwerke München", "DE44500105175407324931", "STROM ABSCHLAG / ELECTRICITY", "normal"},
	{23, -1299, "Netflix International B.V.", "NL91ABNA0417164300", "NETFLIX.COM MONTHLY SUBSCRIPTION", "normal"},
	{21, -12000, "", "", "BARGELDAUSZAHLUNG GELDAUTOMAT / ATM WITHDRAWAL", "normal"},
	{19, -2999, "Telekom Deutschland GmbH", "DE37200400600332130000", "MOBILFUNK RECHNUNG / PHONE BILL", "normal"},
	{17, -4500, "Deutsche Bahn AG", "DE21300400000210001600", "DB FAHRKARTE / TRAIN TICKET", "normal"},
	{15, 1500, "Max Mustermann", "DE75512108001245126199", "RUECKZAHLUNG PIZZA", "transfer"},
	{13, -6580, "Shell Deutschland Oil GmbH", "DE91100000000123456789", "SHELL TANKSTELLE / FUEL", "normal"},
	{11, -3450, "Amazon EU S.a.r.l.", "LU28001940000000000000", "AMAZON MARKETPLACE ORDER", "normal"},
	{9, -1860, "Apotheke am Markt", "DE27100777770209299700", "APOTHEKE / PHARMACY", "normal"},
	{7, -20000, "Max Mustermann", "DE75512108001245126199", "UMBUCHUNG SPARKONTO / TO SAVINGS", "transfer"},
	{5, -3890, "Restaurant Da Luigi", "DE60700202700015050800", "RESTAURANT DINNER", "normal"},
	{3, -990, "", "", "KONTOFUEHRUNGSGEBUEHR / ACCOUNT FEE", "fee"},
	{1, -2715, "EDEKA Center", "DE68210501700012345678", "EDEKA EINKAUF / GROCERIES", "normal"},
}

// demoOpening is the demo account's balance before its first transaction.
const demoOpening = 100000 // cents

// demoAccount is the demo bank's one account for a connection.
func (p *Provider) demoAccount(c connRecord, now time.Time) provider.Account {
	h := p.hash64("demo-account", c.ID)
	bal := int64(demoOpening)
	for _, t := range demoTransactions {
		if p.demoBooked(c, t, now) {
			bal += t.cents
		}
	}
	iban := makeIBAN("DE", h)
	return provider.Account{
		ID:            digits(h, 10),
		ConnectionID:  c.ID,
		Name:          "Demo Girokonto",
		Nature:        "account",
		Balance:       decimal.New(bal, -2),
		Available:     decimal.New(bal, -2),
		CurrencyCode:  "EUR",
		IBAN:          iban,
		AccountNumber: iban[len(iban)-10:],
		HolderName:    "Max Mustermann",
		UpdatedAt:     now,
	}
}

// demoBooked reports whether t is booked at now (a connection created
// today shows every transaction; the window is the bank's history).
func (p *Provider) demoBooked(c connRecord, t demoTx, now time.Time) bool {
	return !demoBookedAt(c, t).After(now)
}

// demoBookedAt is t's booking time: 10:00 UTC of its day.
func demoBookedAt(c connRecord, t demoTx) time.Time {
	day := c.CreatedAt.UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -t.daysAgo).Add(10 * time.Hour)
}

// demoTransactionsOf lists the demo account's booked transactions, oldest
// first, with their running balance (one page: there are few).
func (p *Provider) demoTransactionsOf(c connRecord, acc provider.Account, now time.Time) []provider.Transaction {
	bal := int64(demoOpening)
	out := make([]provider.Transaction, 0, len(demoTransactions))
	for i, t := range demoTransactions {
		if !p.demoBooked(c, t, now) {
			continue
		}
		bal += t.cents
		booked := demoBookedAt(c, t)
		if !c.FromDate.IsZero() && booked.Before(c.FromDate) {
			continue // outside the download window asked for
		}
		after := decimal.New(bal, -2)
		out = append(out, provider.Transaction{
			ID:               acc.ID + strconv.Itoa(100+i),
			AccountID:        acc.ID,
			MadeOn:           booked.Truncate(24 * time.Hour),
			PostedAt:         booked,
			Amount:           decimal.New(t.cents, -2),
			CurrencyCode:     "EUR",
			Description:      t.purpose,
			Mode:             t.mode,
			Status:           "posted",
			CounterpartyName: t.name,
			CounterpartyIBAN: t.iban,
			BalanceAfter:     &after,
		})
	}
	return out
}

// demoPage is ListTransactions of the demo bank: every booked transaction
// in one page, no pending ones.
func (p *Provider) demoPage(c connRecord, accountID string, pending bool, cursor string) (provider.TransactionPage, error) {
	now := p.now()
	acc := p.demoAccount(c, now)
	switch {
	case accountID != acc.ID:
		return provider.TransactionPage{}, fmt.Errorf("list transactions: account %s of connection %s: %w", accountID, c.ID, provider.ErrNotFound)
	case cursor != "":
		return provider.TransactionPage{}, fmt.Errorf("list transactions: %w: the demo account has one page (cursor %q)", provider.ErrInvalid, cursor)
	case pending:
		return provider.TransactionPage{}, nil
	}
	return provider.TransactionPage{Transactions: p.demoTransactionsOf(c, acc, now)}, nil
}
