package sandbox

// Accounts and transactions are generated, never stored.
//
// Rules (the importer may rely on them):
//   - Accounts are drawn from a PRNG seeded by (Seed, customer identifier,
//     bank code): same ids, names, IBANs and parameters on every run.
//   - Every account has a stream of transactions ordered by booking time.
//     Day d (days since the fixed anchor 2015-01-01) has its own PRNG seeded
//     by (account seed, d), so any day can be generated alone: a page is
//     generated from its cursor, the history is never materialised.
//   - A transaction is authorised (made_on) up to 60 h before it is booked
//     (posted_at). At time now it is posted when booked ≤ now, pending when
//     authorised ≤ now < booked, invisible otherwise. A pending transaction
//     has id <account><day><seq>1 and, once booked, reappears with the NEW
//     id <account><day><seq>0 — never listed as pending again.
//   - Posted ids increase with booking time, so a transaction booked after
//     a sync always sorts after everything listed by that sync.
//   - The window is [today − bank history, today] (later start if the
//     connect request gave a from date), today being the clock's UTC day.
//   - Balances are anchored at the anchor: balance_after of a posted
//     transaction = opening balance + sum of every posted amount up to and
//     including it. Hence account balance = balance_after of the newest
//     posted transaction = (balance_after − amount of the oldest listed
//     transaction) + sum of all listed posted amounts. Available = balance +
//     pending debits (+ credit limit for cards). Pending transactions carry
//     no balance_after.
//   - Amounts are exact in the currency's minor units (JPY has none).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
)

// TransactionPageSize is the number of transactions per ListTransactions
// page (Salt Edge pages by 1000).
const TransactionPageSize = 1000

var (
	anchor     = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	anchorUnix = anchor.Unix()
)

const (
	daySec = 24 * 3600
	// maxLag is the longest time between authorisation and booking.
	maxLag = 60 * 3600
	// pendingDays is how many booking days after today can hold
	// transactions already authorised.
	pendingDays = maxLag/daySec + 1
	// sumBlock is the number of days per cached prefix sum.
	sumBlock = 32
)

// currencyInfo converts the generator's reference cents to the currency's
// minor units (num/den) and gives its decimal exponent.
type currencyInfo struct {
	exp      int32
	num, den int64
}

var currencyInfos = map[string]currencyInfo{
	"GBP": {2, 1, 1}, "EUR": {2, 1, 1}, "USD": {2, 1, 1}, "CHF": {2, 1, 1},
	"JPY": {0, 3, 2}, // about 150 yen to the unit, no minor unit
}

// account is a generated account with its generation parameters.
type account struct {
	provider.Account
	seed    uint64
	kind    accountKind
	cur     currencyInfo
	opening int64 // minor units, balance at the anchor
	// Monthly amounts in reference cents.
	salary, deposit, repay int64
	limit                  int64 // credit limit, minor units (cards)
	// Random transactions per day and their size.
	lo, hi         int
	inPct          int   // percent of random transactions that are credits
	minOut, maxOut int64 // reference cents of a random debit (credits are 3x)
	employer       int
	landlord       int
	utility        int
}

func (a *account) minor(refCents int64) int64 { return refCents * a.cur.num / a.cur.den }

// accounts returns the accounts of a customer (identifier) at bank b.
func (p *Provider) accounts(identifier string, b *bankDef) []account {
	r := rand.New(rand.NewPCG(p.hash64("accounts", identifier, b.Code), 0x5a4e_d0c5))
	specs := b.Fixed
	if specs == nil {
		n := 1 + r.IntN(3)
		onlyCurrent := !slices.Contains(b.SupportedAccountNatures, "savings")
		for i := range n {
			k := []accountKind{kindCurrent, kindSavings, kindCard}[i]
			if onlyCurrent {
				k = kindCurrent
			}
			cur := b.Currencies[i%len(b.Currencies)]
			sp := accountSpec{Currency: cur, Kind: k}
			switch {
			case k == kindCurrent && i > 0:
				sp.Name, sp.Nature = []string{"", "Everyday Account", "Bills Account"}[i], "account"
			case k == kindCurrent:
				sp.Name, sp.Nature = "Current Account", "account"
			case k == kindSavings:
				sp.Name, sp.Nature = "Instant Saver", "savings"
			case k == kindCard:
				sp.Name, sp.Nature = "Credit Card", "credit_card"
			}
			if cur != b.Currencies[0] {
				sp.Name += " (" + cur + ")"
			}
			specs = append(specs, sp)
		}
	}
	holder := holders[p.hash64("holder", identifier)%uint64(len(holders))]
	out := make([]account, len(specs))
	for i, sp := range specs {
		h := p.hash64("account", identifier, b.Code, strconv.Itoa(i))
		a := account{seed: h, kind: sp.Kind, cur: currencyInfos[sp.Currency]}
		a.ID = digits(h, 10)
		a.Name, a.Nature, a.CurrencyCode, a.HolderName = sp.Name, sp.Nature, sp.Currency, holder
		a.SWIFT = bic(b)
		country := ibanCountry(b.CountryCode, sp.Currency)
		switch {
		case sp.Kind == kindCard:
			a.AccountNumber = "**** **** **** " + bbanDigits(h>>3, 4)
		case country == "":
			a.AccountNumber = bbanDigits(h>>3, 7)
		default:
			a.IBAN = makeIBAN(country, h)
			a.AccountNumber = a.IBAN[len(a.IBAN)-8:]
		}
		a.employer = r.IntN(len(employers))
		a.landlord = r.IntN(len(landlords))
		a.utility = r.IntN(len(utilities))
		switch sp.Kind {
		case kindCurrent:
			a.salary = 100 * (1800 + r.Int64N(2401))
			a.opening = a.minor(100 * (500 + r.Int64N(4501)))
			a.lo, a.hi, a.inPct, a.minOut, a.maxOut = 0, 3, 25, 300, 9000
		case kindSavings:
			a.deposit = 100 * (100 + r.Int64N(701))
			a.opening = a.minor(100 * (2000 + r.Int64N(18001)))
			a.lo, a.hi, a.inPct, a.minOut, a.maxOut = 0, 0, 30, 5000, 50000
		case kindCard:
			a.lo, a.hi, a.inPct, a.minOut, a.maxOut = 0, 3, 0, 200, 8000
			// Repay the expected monthly spend, so the debt does not drift.
			a.repay = int64(a.lo+a.hi) * (a.minOut + a.maxOut) / 4 * 365 / 12
			a.limit = a.minor(100 * (2000 + 500*r.Int64N(9)))
		case kindBusiness:
			a.opening = a.minor(100 * (20000 + r.Int64N(100001)))
			a.lo, a.hi, a.inPct, a.minOut, a.maxOut = 19, 23, 25, 500, 40000
		}
		out[i] = a
	}
	return out
}

// ibanCountry is where an account's IBAN comes from: the bank's country, or
// for the fake country XF one that fits the currency ("" = no IBAN).
func ibanCountry(bankCountry, currency string) string {
	if bankCountry != "XF" {
		return bankCountry
	}
	switch currency {
	case "GBP":
		return "GB"
	case "CHF":
		return "CH"
	case "JPY":
		return ""
	}
	return "LU"
}

// bic makes a plausible BIC for a bank: four letters of its code, its
// country, location "2X".
func bic(b *bankDef) string {
	var l []byte
	for _, c := range strings.ToUpper(b.Code) {
		if c >= 'A' && c <= 'Z' && len(l) < 4 {
			l = append(l, byte(c))
		}
	}
	cc := b.CountryCode
	if cc == "XF" {
		cc = "LU"
	}
	return string(l) + cc + "2X"
}

// txKind is what a generated transaction is.
type txKind uint8

const (
	txCard txKind = iota
	txRefund
	txSalary
	txRent
	txUtility
	txToSavings
	txFee
	txTransferIn
	txTransferOut
	txInterest
	txDeposit
	txRepayment
	txCustomer
	txSupplier
)

// txCore is the minimal form of a transaction; rendering adds the text.
type txCore struct {
	book   int32 // seconds after the booking day's midnight
	lag    int32 // seconds from authorisation to booking
	amount int64 // minor units, signed
	kind   txKind
	cp     uint8  // counterparty index in the kind's pool
	ref    uint32 // detail digits (card, invoice and mandate numbers)
}

// gen holds a reusable PRNG and buffer: one per call, never shared.
type gen struct {
	src *rand.PCG
	r   *rand.Rand
	buf []txCore
}

func newGen() *gen {
	src := rand.NewPCG(0, 0)
	return &gen{src: src, r: rand.New(src), buf: make([]txCore, 0, 32)}
}

// mix64 is splitmix64's finaliser: it decorrelates consecutive day numbers
// before they seed the PCG.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// day generates the transactions booked on day d, in booking order. The
// result aliases g.buf and is valid until the next call.
func (a *account) day(g *gen, d int) []txCore {
	g.src.Seed(a.seed, mix64(uint64(d)))
	r := g.r
	buf := g.buf[:0]
	push := func(k txKind, refCents int64, cp int) {
		buf = append(buf, txCore{kind: k, amount: a.minor(refCents), cp: uint8(cp)})
	}
	dom := time.Unix(anchorUnix+int64(d)*daySec, 0).UTC().Day()
	switch a.kind {
	case kindCurrent:
		// Monthly: rent, fee, bills, salary and savings sum to zero.
		switch dom {
		case 1:
			push(txRent, -a.salary*55/100, a.landlord)
			push(txFee, -500, 0)
		case 5:
			push(txUtility, -a.salary*15/100+500, a.utility)
		case 25:
			push(txSalary, a.salary, a.employer)
		case 26:
			push(txToSavings, -a.salary*30/100, 0)
		}
	case kindSavings:
		switch dom {
		case 26:
			push(txDeposit, a.deposit, 0)
		case 28:
			push(txInterest, a.deposit/200+1, 0)
		}
	case kindCard:
		if dom == 28 {
			push(txRepayment, a.repay, 0)
		}
	}
	n := a.lo + r.IntN(a.hi-a.lo+1)
	if a.kind == kindSavings && r.IntN(20) == 0 {
		n = 1
	}
	for range n {
		amt := a.minOut + r.Int64N(a.maxOut-a.minOut+1)
		credit := r.IntN(100) < a.inPct
		pick := r.IntN(20)
		switch {
		case a.kind == kindBusiness && credit:
			push(txCustomer, 3*amt, pick%len(customers))
		case a.kind == kindBusiness && pick < 5:
			push(txCard, -amt, pick%len(merchants))
		case a.kind == kindBusiness:
			push(txSupplier, -amt, pick%len(suppliers))
		case a.kind == kindSavings && credit:
			push(txTransferIn, 3*amt, pick%len(people))
		case a.kind == kindSavings:
			push(txTransferOut, -amt, pick%len(people))
		case credit && pick < 7:
			push(txRefund, 3*amt, pick%len(merchants))
		case credit:
			push(txTransferIn, 3*amt, pick%len(people))
		case pick < 4:
			push(txTransferOut, -amt, pick%len(people))
		default:
			push(txCard, -amt, pick%len(merchants))
		}
	}
	// Booking times: one slot per transaction between 06:00 and 23:00, so
	// the list is in booking order. Card payments settle up to 60 h after
	// authorisation, others within 6 h.
	if len(buf) > 0 {
		slot := int32(17 * 3600 / len(buf))
		for i := range buf {
			t := &buf[i]
			t.book = 6*3600 + int32(i)*slot + r.Int32N(slot)
			if t.kind == txCard || t.kind == txRefund {
				t.lag = r.Int32N(maxLag + 1)
			} else {
				t.lag = r.Int32N(6*3600 + 1)
			}
			t.ref = r.Uint32()
		}
	}
	g.buf = buf
	return buf
}

func (a *account) daySum(g *gen, d int) int64 {
	var s int64
	for _, t := range a.day(g, d) {
		s += t.amount
	}
	return s
}

// cumBefore is the sum of every transaction booked on days [0, d): a pure
// function of the account, so it is served from cached prefix sums.
func (p *Provider) cumBefore(a *account, g *gen, d int) int64 {
	if d <= 0 {
		return 0
	}
	k := d / sumBlock
	s := p.sums.prefix(a, g, k)
	for day := k * sumBlock; day < d; day++ {
		s += a.daySum(g, day)
	}
	return s
}

// prefix returns the sum over days [0, k*sumBlock).
func (c *sumCache) prefix(a *account, g *gen, k int) int64 {
	c.mu.Lock()
	pre := c.m[a.seed]
	c.mu.Unlock()
	if len(pre) > k {
		return pre[k]
	}
	// Extend a private copy: readers may hold the old slice.
	pre = append(make([]int64, 0, k+1), pre...)
	if len(pre) == 0 {
		pre = append(pre, 0)
	}
	for j := len(pre); j <= k; j++ {
		s := pre[j-1]
		for day := (j - 1) * sumBlock; day < j*sumBlock; day++ {
			s += a.daySum(g, day)
		}
		pre = append(pre, s)
	}
	c.mu.Lock()
	if len(c.m) >= sumCacheMax {
		clear(c.m)
	}
	if len(pre) > len(c.m[a.seed]) {
		c.m[a.seed] = pre
	}
	c.mu.Unlock()
	return pre[k]
}

// dayOf is the day number of t (negative before the anchor).
func dayOf(t time.Time) int {
	s := t.Unix() - anchorUnix
	if s < 0 {
		return int((s - daySec + 1) / daySec)
	}
	return int(s / daySec)
}

// txID renders <account id><day, 5 digits><seq, 3 digits><1 if pending>.
func (a *account) txID(d, seq int, pending bool) string {
	b := make([]byte, 0, len(a.ID)+9)
	b = append(b, a.ID...)
	b = appendPadded(b, d, 5)
	b = appendPadded(b, seq, 3)
	if pending {
		return string(append(b, '1'))
	}
	return string(append(b, '0'))
}

func appendPadded(b []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// parseTxID is the inverse of txID for this account.
func (a *account) parseTxID(id string) (d, seq int, pending, ok bool) {
	if len(id) != len(a.ID)+9 || !strings.HasPrefix(id, a.ID) {
		return 0, 0, false, false
	}
	rest := id[len(a.ID):]
	d, err1 := strconv.Atoi(rest[:5])
	seq, err2 := strconv.Atoi(rest[5:8])
	if err1 != nil || err2 != nil || d < 0 || seq < 0 || (rest[8] != '0' && rest[8] != '1') {
		return 0, 0, false, false
	}
	return d, seq, rest[8] == '1', true
}

// render turns a generated transaction into the port's shape.
func (a *account) render(t *txCore, d, seq int, pending bool) provider.Transaction {
	book := anchorUnix + int64(d)*daySec + int64(t.book)
	auth := book - int64(t.lag)
	out := provider.Transaction{
		ID:           a.txID(d, seq, pending),
		AccountID:    a.ID,
		MadeOn:       time.Unix(auth-auth%daySec, 0).UTC(),
		Amount:       decimal.New(t.amount, -a.cur.exp),
		CurrencyCode: a.CurrencyCode,
		Mode:         "normal",
		Status:       "posted",
	}
	if pending {
		out.Status = "pending"
	} else {
		out.PostedAt = time.Unix(book, 0).UTC()
	}
	ref4 := fmt4(t.ref % 10000)
	switch t.kind {
	case txCard:
		m := merchants[t.cp]
		city := cardCities[t.ref%uint32(len(cardCities))]
		out.Description = "CARD PAYMENT TO " + strings.ToUpper(m.Name) + " " + city + " CARD *" + ref4
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = m.Category, m.Name, m.IBAN
	case txRefund:
		m := merchants[t.cp]
		out.Description = "REFUND FROM " + strings.ToUpper(m.Name) + " CARD *" + ref4
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = m.Category, m.Name, m.IBAN
	case txSalary:
		e := employers[t.cp]
		out.Description = "SALARY " + strings.ToUpper(e.Name) + " " + time.Unix(book, 0).UTC().Format("Jan 2006")
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = "salary", e.Name, e.IBAN
	case txRent:
		l := landlords[t.cp]
		out.Description = "STANDING ORDER " + strings.ToUpper(l.Name) + " RENT"
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = "rent", l.Name, l.IBAN
	case txUtility:
		u := utilities[t.cp]
		out.Description = "DIRECT DEBIT " + strings.ToUpper(u.Name) + " MANDATE " + ref4
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = u.Category, u.Name, u.IBAN
	case txToSavings:
		out.Description, out.Category, out.Mode = "TRANSFER TO INSTANT SAVER", "transfer", "transfer"
		out.CounterpartyName = a.HolderName
	case txFee:
		out.Description, out.Category, out.Mode = "MONTHLY ACCOUNT FEE", "fees_and_charges", "fee"
	case txTransferIn:
		pp := people[t.cp]
		out.Description = "TRANSFER FROM " + strings.ToUpper(pp.Name)
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = pp.Category, pp.Name, pp.IBAN
	case txTransferOut:
		pp := people[t.cp]
		out.Description = "TRANSFER TO " + strings.ToUpper(pp.Name)
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = pp.Category, pp.Name, pp.IBAN
	case txInterest:
		out.Description, out.Category = "INTEREST PAID", "income"
	case txDeposit:
		out.Description, out.Category, out.Mode = "TRANSFER FROM CURRENT ACCOUNT", "transfer", "transfer"
		out.CounterpartyName = a.HolderName
	case txRepayment:
		out.Description, out.Category, out.Mode = "PAYMENT RECEIVED - THANK YOU", "transfer", "transfer"
		out.CounterpartyName = a.HolderName
	case txCustomer:
		c := customers[t.cp]
		out.Description = "PAYMENT FROM " + strings.ToUpper(c.Name) + " INV-" + strconv.Itoa(int(t.ref%100000))
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = c.Category, c.Name, c.IBAN
	case txSupplier:
		s := suppliers[t.cp]
		out.Description = "PAYMENT TO " + strings.ToUpper(s.Name) + " INV-" + strconv.Itoa(int(t.ref%100000))
		out.Category, out.CounterpartyName, out.CounterpartyIBAN = s.Category, s.Name, s.IBAN
	}
	return out
}

func fmt4(v uint32) string { return string(appendPadded(nil, int(v), 4)) }

// snapshot is an account's state at time now.
type snapshot struct {
	balance int64 // minor units
	pending []provider.Transaction
	debits  int64 // sum of pending debits (≤ 0)
}

// state computes balance and pending transactions of a at now, with the
// window starting on day ws.
func (p *Provider) state(a *account, g *gen, now time.Time, ws int) snapshot {
	today := dayOf(now)
	nowSec := now.Unix() - anchorUnix - int64(today)*daySec
	var s snapshot
	s.balance = a.opening
	if today < 0 {
		return s
	}
	s.balance += p.cumBefore(a, g, today)
	for _, t := range a.day(g, today) {
		if int64(t.book) > nowSec {
			break
		}
		s.balance += t.amount
	}
	nowUnix := now.Unix()
	for d := today; d <= today+pendingDays; d++ {
		day := a.day(g, d)
		for i := range day {
			t := &day[i]
			book := anchorUnix + int64(d)*daySec + int64(t.book)
			auth := book - int64(t.lag)
			if auth > nowUnix || book <= nowUnix || dayOf(time.Unix(auth, 0)) < ws {
				continue
			}
			s.pending = append(s.pending, a.render(t, d, i, true))
			if t.amount < 0 {
				s.debits += t.amount
			}
		}
	}
	return s
}

// ListAccounts implements provider.Provider.
func (p *Provider) ListAccounts(ctx context.Context, connectionID string) ([]provider.Account, error) {
	c, b, err := p.fetchable(ctx, connectionID)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	if b.Code == BankDemo {
		return []provider.Account{p.demoAccount(c, p.now())}, nil
	}
	now := p.now()
	ws := p.windowStart(c, b, now)
	g := newGen()
	accs := p.accounts(c.Identifier, b)
	out := make([]provider.Account, len(accs))
	for i := range accs {
		a := &accs[i]
		s := p.state(a, g, now, ws)
		acc := a.Account
		acc.ConnectionID = c.ID
		acc.Balance = decimal.New(s.balance, -a.cur.exp)
		acc.Available = decimal.New(s.balance+s.debits+a.limit, -a.cur.exp)
		acc.UpdatedAt = now
		if !slices.Contains(c.FetchScopes, "holder_info") {
			acc.HolderName = ""
		}
		out[i] = acc
	}
	return out, nil
}

func (p *Provider) windowStart(c connRecord, b *bankDef, now time.Time) int {
	ws := dayOf(now) - b.HistoryDays
	if !c.FromDate.IsZero() {
		ws = max(ws, dayOf(c.FromDate))
	}
	return max(ws, 0)
}

// ListTransactions implements provider.Provider. Posted transactions come
// in pages of TransactionPageSize, oldest first; the cursor is the id of
// the next transaction (Salt Edge next_id). Pending ones fit in one page.
func (p *Provider) ListTransactions(ctx context.Context, connectionID, accountID string, pending bool, cursor string) (provider.TransactionPage, error) {
	c, b, err := p.fetchable(ctx, connectionID)
	if err != nil {
		return provider.TransactionPage{}, fmt.Errorf("list transactions: %w", err)
	}
	if b.Code == BankDemo {
		return p.demoPage(c, accountID, pending, cursor)
	}
	accs := p.accounts(c.Identifier, b)
	i := slices.IndexFunc(accs, func(a account) bool { return a.ID == accountID })
	if i < 0 {
		return provider.TransactionPage{}, fmt.Errorf("list transactions: account %s of connection %s: %w", accountID, connectionID, provider.ErrNotFound)
	}
	a := &accs[i]
	if !slices.Contains(c.FetchScopes, "transactions") {
		return provider.TransactionPage{}, nil
	}
	now := p.now()
	ws := p.windowStart(c, b, now)
	g := newGen()
	if pending {
		if cursor != "" {
			return provider.TransactionPage{}, fmt.Errorf("list pending transactions: %w: pending transactions have no further page (cursor %q)", provider.ErrInvalid, cursor)
		}
		return provider.TransactionPage{Transactions: p.state(a, g, now, ws).pending}, nil
	}
	startDay, startSeq := ws, 0
	if cursor != "" {
		d, seq, pend, ok := a.parseTxID(cursor)
		if !ok || pend {
			return provider.TransactionPage{}, fmt.Errorf("list transactions: %w: bad cursor %q for account %s", provider.ErrInvalid, cursor, accountID)
		}
		// A cursor older than the window (the window moved on since) restarts
		// at the window's start.
		if d >= ws {
			startDay, startSeq = d, seq
		}
	}
	return p.postedPage(a, g, now, startDay, startSeq), nil
}

func (p *Provider) postedPage(a *account, g *gen, now time.Time, startDay, startSeq int) provider.TransactionPage {
	today := dayOf(now)
	nowSec := now.Unix() - anchorUnix - int64(today)*daySec
	var page provider.TransactionPage
	if startDay > today {
		return page
	}
	bal := a.opening + p.cumBefore(a, g, startDay)
	page.Transactions = make([]provider.Transaction, 0, 64)
	for d := startDay; d <= today; d++ {
		day := a.day(g, d)
		for i := range day {
			t := &day[i]
			if d == today && int64(t.book) > nowSec {
				break
			}
			bal += t.amount
			if d == startDay && i < startSeq {
				continue
			}
			if len(page.Transactions) == TransactionPageSize {
				page.Next = a.txID(d, i, false)
				return page
			}
			tx := a.render(t, d, i, false)
			after := decimal.New(bal, -a.cur.exp)
			tx.BalanceAfter = &after
			page.Transactions = append(page.Transactions, tx)
		}
	}
	return page
}
