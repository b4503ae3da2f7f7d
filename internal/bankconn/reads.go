package bankconn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/category"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
)

// Paging limits of the lists.
const (
	DefaultPerPage = 20
	MaxPerPage     = 500
)

// Order is one sort key of a list.
type Order struct {
	Field string
	Desc  bool
}

// Page selects a page: Page from 1, PerPage 1 to MaxPerPage (0: the
// defaults).
type Page struct {
	Page    int
	PerPage int
}

func (p Page) norm() (Page, error) {
	if p.Page == 0 {
		p.Page = 1
	}
	if p.PerPage == 0 {
		p.PerPage = DefaultPerPage
	}
	if p.Page < 1 || p.Page > 1e9 {
		return p, fault.Errorf(ErrInvalidField, "page must be at least 1, not %d", p.Page)
	}
	if p.PerPage < 1 || p.PerPage > MaxPerPage {
		return p, fault.Errorf(ErrPageSize, "perPage must be 1 to %d, not %d", MaxPerPage, p.PerPage)
	}
	return p, nil
}

// window is the [from, to) slice of a list of n items a page shows.
func (p Page) window(n int) (int, int) {
	from := min((p.Page-1)*p.PerPage, n)
	return from, min(from+p.PerPage, n)
}

func checkOrder(orders []Order, fields ...string) error {
	for _, o := range orders {
		if !slices.Contains(fields, o.Field) {
			return fault.Errorf(ErrOrder, "cannot order by %q (possible: %s)", o.Field, strings.Join(fields, ", "))
		}
	}
	return nil
}

func checkIDs(ids []int64) error {
	if len(ids) > MaxIDs {
		return fault.Errorf(ErrTooManyIDs, "at most %d ids, got %d", MaxIDs, len(ids))
	}
	return nil
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Banks.

// DataSource is finAPI's data source of a bank: its provider's API
// (FINTS_SERVER) or a web login (WEB_SCRAPER).
func (b BankInfo) DataSource() string {
	if b.Mode == "api" {
		return "FINTS_SERVER"
	}
	return "WEB_SCRAPER"
}

// BankQuery selects banks.
type BankQuery struct {
	IDs             []int64
	Search          string // name, BLZ, BIC or city contains it (any case)
	Supported       *bool
	PINsAreVolatile *bool
	DataSources     []string
	Locations       []string // country codes
	TestBank        *bool
	Page            Page
	Order           []Order // id, name, blz, bic, popularity
}

// BankPage is a page of banks with the number the query selects.
type BankPage struct {
	Banks []BankInfo
	Page  Page
	Total int
}

// Banks lists the directory as finAPI banks: one query per provider (and
// per 1000 banks), filtered, sorted and paged in memory.
func (s *Service) Banks(ctx context.Context, q BankQuery) (BankPage, error) {
	page, err := q.Page.norm()
	if err != nil {
		return BankPage{}, err
	}
	if err := checkIDs(q.IDs); err != nil {
		return BankPage{}, err
	}
	if err := checkOrder(q.Order, "id", "name", "blz", "bic", "popularity"); err != nil {
		return BankPage{}, err
	}
	all, err := s.banks.All(ctx)
	if err != nil {
		return BankPage{}, fmt.Errorf("list banks: %w", err)
	}
	var sel []BankInfo
	for _, b := range all {
		bi := s.bankInfo(b)
		switch {
		case q.IDs != nil && !slices.Contains(q.IDs, bi.ID),
			q.Search != "" && !containsFold(bi.Name, q.Search) && !containsFold(bi.BLZ, q.Search) && !containsFold(bi.BIC, q.Search) && !containsFold(bi.City, q.Search),
			q.Supported != nil && *q.Supported != bi.Supported,
			q.PINsAreVolatile != nil && *q.PINsAreVolatile, // no bank's PINs are volatile
			len(q.DataSources) > 0 && !slices.Contains(q.DataSources, bi.DataSource()),
			len(q.Locations) > 0 && !slices.ContainsFunc(q.Locations, func(l string) bool { return strings.EqualFold(l, bi.Country) }),
			q.TestBank != nil && *q.TestBank != bi.Test:
			continue
		}
		sel = append(sel, bi)
	}
	slices.SortStableFunc(sel, func(a, b BankInfo) int {
		for _, o := range q.Order {
			var c int
			switch o.Field {
			case "id":
				c = cmpInt(a.ID, b.ID)
			case "name":
				c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			case "blz":
				c = strings.Compare(a.BLZ, b.BLZ)
			case "bic":
				c = strings.Compare(a.BIC, b.BIC)
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmpInt(a.ID, b.ID)
	})
	from, to := page.window(len(sel))
	return BankPage{Banks: slices.Clip(sel[from:to]), Page: page, Total: len(sel)}, nil
}

// BanksByID returns the directory banks among ids, by id (unknown ids are
// left out): the deprecated "get multiple banks".
func (s *Service) BanksByID(ctx context.Context, ids []int64) ([]BankInfo, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	page, err := s.Banks(ctx, BankQuery{IDs: ids, Page: Page{PerPage: MaxPerPage}})
	if err != nil {
		return nil, err
	}
	// At most MaxPerPage banks exist per page: read the others too.
	for p := 2; len(page.Banks) < page.Total; p++ {
		next, err := s.Banks(ctx, BankQuery{IDs: ids, Page: Page{Page: p, PerPage: MaxPerPage}})
		if err != nil {
			return nil, err
		}
		page.Banks = append(page.Banks, next.Banks...)
	}
	return page.Banks, nil
}

// Bank returns one directory bank by finAPI id (two store Gets).
func (s *Service) Bank(ctx context.Context, id int64) (BankInfo, error) {
	if id <= 0 || id >= 1e10 {
		return BankInfo{}, fault.Errorf(ErrNotFound, "no bank with id %d", id)
	}
	b, err := s.banks.ByInternalID(ctx, internalBankID(id))
	if err != nil {
		if isNotFound(err) || fault.IsClass(err, fault.NotFound) {
			return BankInfo{}, fault.Wrap(ErrNotFound, err, "no bank with id %d", id)
		}
		return BankInfo{}, fmt.Errorf("find bank %d: %w", id, err)
	}
	return s.bankInfo(b), nil
}

// Accounts.

// Account statuses of finAPI.
const (
	AccountUpdated    = "UPDATED"
	AccountInProgress = "DOWNLOAD_IN_PROGRESS"
	AccountFailed     = "DOWNLOAD_FAILED"
)

// Account is an imported account as finAPI shows it.
type Account struct {
	ID           int64
	ConnectionID int64
	Name         string
	Number       string
	IBAN         string
	Holder       string
	Currency     string
	TypeID       int
	Balance      decimal.Decimal
	Available    decimal.Decimal
	UpdatedAt    time.Time
	Status       string
}

// AccountQuery selects the user's accounts.
type AccountQuery struct {
	IDs           []int64
	Search        string // name, number, IBAN or holder contains it
	TypeIDs       []int
	ConnectionIDs []int64
	MinBalance    *decimal.Decimal
	MaxBalance    *decimal.Decimal
	MinUpdated    time.Time
	MaxUpdated    time.Time
}

func (sn *snapshot) account(a *accRecord, h holdings.Account) Account {
	r, _ := sn.connOf(a)
	number := h.Number
	if number == "" {
		number = h.IBAN
	}
	if number == "" {
		number = h.ProviderAccountID
	}
	acc := Account{ID: a.ID, ConnectionID: r.ID, Name: h.Name, Number: number, IBAN: h.IBAN, Holder: h.HolderName,
		Currency: h.Currency, TypeID: a.TypeID, Balance: h.Balance, Available: h.Available, UpdatedAt: h.UpdatedAt, Status: AccountUpdated}
	switch sn.details[r.BankCode].Import.State {
	case holdings.StateQueued, holdings.StateRunning:
		acc.Status = AccountInProgress
	case holdings.StateFailed:
		acc.Status = AccountFailed
	}
	return acc
}

// shown lists the user's accounts finAPI shows: numbered, of a live
// connection, of a type the connection shows.
func (sn *snapshot) shown() []*accRecord {
	var out []*accRecord
	for _, a := range sn.accs {
		if _, ok := sn.connOf(a); ok {
			out = append(out, a)
		}
	}
	return out
}

// Accounts lists the user's accounts by id: two store calls (the party
// partition, the party's account index).
func (s *Service) Accounts(ctx context.Context, p auth.Principal, q AccountQuery) ([]Account, error) {
	if err := checkIDs(q.IDs); err != nil {
		return nil, err
	}
	if err := checkIDs(q.ConnectionIDs); err != nil {
		return nil, err
	}
	sn, err := s.read(ctx, p)
	if err != nil {
		return nil, err
	}
	out := []Account{}
	shown := sn.shown()
	if len(shown) == 0 {
		return out, nil
	}
	hs, err := s.holdings.Accounts(ctx, sn.partyID)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	byID := make(map[string]holdings.Account, len(hs))
	for _, h := range hs {
		byID[h.ID] = h
	}
	for _, a := range shown {
		h, ok := byID[a.AccountID]
		if !ok {
			continue // the index lags the account's write (DynamoDB GSI)
		}
		acc := sn.account(a, h)
		switch {
		case q.IDs != nil && !slices.Contains(q.IDs, acc.ID),
			q.ConnectionIDs != nil && !slices.Contains(q.ConnectionIDs, acc.ConnectionID),
			len(q.TypeIDs) > 0 && !slices.Contains(q.TypeIDs, acc.TypeID),
			q.Search != "" && !containsFold(acc.Name, q.Search) && !containsFold(acc.Number, q.Search) && !containsFold(acc.IBAN, q.Search) && !containsFold(acc.Holder, q.Search),
			q.MinBalance != nil && acc.Balance.LessThan(*q.MinBalance),
			q.MaxBalance != nil && acc.Balance.GreaterThan(*q.MaxBalance),
			!q.MinUpdated.IsZero() && acc.UpdatedAt.Before(q.MinUpdated),
			!q.MaxUpdated.IsZero() && acc.UpdatedAt.After(q.MaxUpdated):
			continue
		}
		out = append(out, acc)
	}
	return out, nil
}

// Account returns one of the user's accounts: two store calls.
func (s *Service) Account(ctx context.Context, p auth.Principal, id int64) (Account, error) {
	sn, err := s.read(ctx, p)
	if err != nil {
		return Account{}, err
	}
	for _, a := range sn.shown() {
		if a.ID != id {
			continue
		}
		h, err := s.holdings.Account(ctx, a.AccountID)
		if err != nil {
			if isGone(err) {
				break
			}
			return Account{}, fmt.Errorf("read account %d: %w", id, err)
		}
		return sn.account(a, h), nil
	}
	return Account{}, fault.Errorf(ErrNotFound, "no account with id %d", id)
}

// isGone recognizes holdings' "not found" whatever form it has.
func isGone(err error) bool {
	return fault.IsClass(err, fault.NotFound) || isNotFound(err) || errors.Is(err, store.ErrNotFound)
}

// Transactions.

// Transaction is a booked, categorized transaction as finAPI shows it.
type Transaction struct {
	ID           int64
	AccountID    int64
	Amount       decimal.Decimal
	Currency     string
	ValueDate    time.Time
	BookedAt     time.Time
	ImportedAt   time.Time
	Purpose      string
	Counterparty string
	IBAN         string
	Mode         string
	Category     int64
}

func transaction(a *accRecord, v txView) Transaction {
	return Transaction{ID: TransactionID(a.ID, v.Seq), AccountID: a.ID, Amount: v.Amount, Currency: v.Currency,
		ValueDate: v.ValueDate, BookedAt: v.BookedAt, ImportedAt: v.ImportedAt, Purpose: v.Purpose,
		Counterparty: v.Counterparty, IBAN: v.IBAN, Mode: v.Mode, Category: v.Category}
}

// Directions of TxQuery.
const (
	DirectionAll      = "all"
	DirectionIncome   = "income"
	DirectionSpending = "spending"
)

// TxQuery selects the user's transactions.
type TxQuery struct {
	IDs        []int64
	AccountIDs []int64
	// Search: purpose, counterparty or its IBAN contains it (any case);
	// Counterpart: the counterparty's name or IBAN does.
	Search      string
	Counterpart string
	// Booking dates (days, both inclusive; zero is open); finAPI's bank
	// and finAPI booking dates are the same here.
	MinBooked, MaxBooked     time.Time
	MinImported, MaxImported time.Time
	MinAmount, MaxAmount     *decimal.Decimal
	Direction                string // all (or ""), income, spending
	// CategoryIDs: 0 is "no category" (none here: every transaction is
	// categorized); with IncludeChildren a category stands for its subtree.
	CategoryIDs     []int64
	IncludeChildren bool
	// Flags that no transaction of OpenAgg has: true selects nothing.
	IsNew, IsPotentialDuplicate, IsAdjustingEntry *bool
	LabelIDs                                      []int64
	Page                                          Page
	Order                                         []Order
}

// TxOrderFields are the fields transactions can be ordered by.
var TxOrderFields = []string{"id", "accountId", "valueDate", "bankBookingDate", "finapiBookingDate", "amount", "purpose", "counterpartName", "importDate"}

// TxPage is a page of transactions with the sums over every transaction
// the query selects.
type TxPage struct {
	Transactions []Transaction
	Page         Page
	Total        int
	Income       decimal.Decimal
	Spending     decimal.Decimal
}

// Balance is Income + Spending.
func (p TxPage) Balance() decimal.Decimal { return p.Income.Add(p.Spending) }

// byIDOnly reports whether the query needs nothing but the accounts' sums
// and id order: then a page is read as key ranges.
func (q TxQuery) byIDOnly() bool {
	for _, o := range q.Order {
		if o.Field != "id" || o.Desc != q.Order[0].Desc {
			return false
		}
	}
	return q.IDs == nil && q.Search == "" && q.Counterpart == "" && q.MinBooked.IsZero() && q.MaxBooked.IsZero() &&
		q.MinImported.IsZero() && q.MaxImported.IsZero() && q.MinAmount == nil && q.MaxAmount == nil &&
		(q.Direction == "" || q.Direction == DirectionAll) && q.CategoryIDs == nil &&
		q.IsNew == nil && q.IsPotentialDuplicate == nil && q.IsAdjustingEntry == nil && q.LabelIDs == nil
}

func (q TxQuery) check() (Page, error) {
	page, err := q.Page.norm()
	if err != nil {
		return page, err
	}
	for _, ids := range [][]int64{q.IDs, q.AccountIDs, q.CategoryIDs, q.LabelIDs} {
		if err := checkIDs(ids); err != nil {
			return page, err
		}
	}
	if err := checkOrder(q.Order, TxOrderFields...); err != nil {
		return page, err
	}
	switch {
	case q.Direction != "" && q.Direction != DirectionAll && q.Direction != DirectionIncome && q.Direction != DirectionSpending:
		return page, fault.Errorf(ErrFilter, "direction must be all, income or spending, not %q", q.Direction)
	case !q.MinBooked.IsZero() && !q.MaxBooked.IsZero() && q.MaxBooked.Before(q.MinBooked),
		!q.MinImported.IsZero() && !q.MaxImported.IsZero() && q.MaxImported.Before(q.MinImported):
		return page, fault.Errorf(ErrFilter, "a date range ends before it starts")
	case q.MinAmount != nil && q.MaxAmount != nil && q.MaxAmount.LessThan(*q.MinAmount):
		return page, fault.Errorf(ErrFilter, "maxAmount is below minAmount")
	}
	return page, nil
}

// selected are the accounts a query reads, by id.
func (sn *snapshot) selected(ids []int64) []*accRecord {
	var out []*accRecord
	for _, a := range sn.shown() {
		if ids == nil || slices.Contains(ids, a.ID) {
			out = append(out, a)
		}
	}
	return out
}

// Transactions lists a page of the user's transactions. In id order with
// no filter but accountIds, it costs two store calls for a page within one
// account (the party partition, which holds the accounts' counts and sums;
// one key-range query per account the page touches); any other filter or
// order reads every transaction of the selected accounts (one query per
// 1 MB) to filter, sum and sort them.
func (s *Service) Transactions(ctx context.Context, p auth.Principal, q TxQuery) (TxPage, error) {
	page, err := q.check()
	if err != nil {
		return TxPage{}, err
	}
	sn, err := s.readBrief(ctx, p)
	if err != nil {
		return TxPage{}, err
	}
	accs := sn.selected(q.AccountIDs)
	if q.byIDOnly() {
		desc := len(q.Order) > 0 && q.Order[0].Desc
		return s.pageByID(ctx, accs, page, desc)
	}
	return s.pageFiltered(ctx, accs, q, page)
}

// pageByID reads one page in id order from the accounts' counts.
func (s *Service) pageByID(ctx context.Context, accs []*accRecord, page Page, desc bool) (TxPage, error) {
	out := TxPage{Page: page, Income: decimal.Zero, Spending: decimal.Zero, Transactions: make([]Transaction, 0, page.PerPage)}
	for _, a := range accs {
		out.Total += int(a.Count)
		out.Income = out.Income.Add(a.Income)
		out.Spending = out.Spending.Add(a.Spending)
	}
	if desc {
		accs = slices.Clone(accs)
		slices.Reverse(accs)
	}
	skip, want := page.window(out.Total)
	want -= skip
	for _, a := range accs {
		if want == 0 {
			break
		}
		if int64(skip) >= a.Count {
			skip -= int(a.Count)
			continue
		}
		n := min(int64(want), a.Count-int64(skip))
		// The page's share of this account: sequence numbers [lo, hi),
		// counted from the newest when descending.
		lo, hi := int64(skip), int64(skip)+n
		if desc {
			lo, hi = a.Count-int64(skip)-n, a.Count-int64(skip)
		}
		first, last := chunkOf(lo), chunkOf(hi-1)
		q := store.Query{PK: holdings.AccountPK(a.AccountID), From: chunkSK(first), To: chunkSK(last), Limit: int(last - first + 1)}
		var views []txView
		// Lent: the views are decoded (one copy per chunk) in the store's bytes.
		err := store.QueryWith(ctx, s.st, q, func(res store.Page) error {
			for _, it := range res.Items {
				var err error
				if views, err = s.chunks.views(it, lo, hi, views); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return TxPage{}, fmt.Errorf("read transactions of account %d: %w", a.ID, err)
		}
		if desc {
			slices.Reverse(views)
		}
		for _, v := range views {
			out.Transactions = append(out.Transactions, transaction(a, v))
		}
		want -= len(views)
		skip = 0
	}
	return out, nil
}

// match applies a query's filters to one transaction.
func (q TxQuery) match(t Transaction, cats []int64) bool {
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	switch {
	case q.IDs != nil && !slices.Contains(q.IDs, t.ID),
		q.Search != "" && !containsFold(t.Purpose, q.Search) && !containsFold(t.Counterparty, q.Search) && !containsFold(t.IBAN, q.Search),
		q.Counterpart != "" && !containsFold(t.Counterparty, q.Counterpart) && !containsFold(t.IBAN, q.Counterpart),
		!q.MinBooked.IsZero() && day(t.BookedAt).Before(q.MinBooked),
		!q.MaxBooked.IsZero() && day(t.BookedAt).After(q.MaxBooked),
		!q.MinImported.IsZero() && day(t.ImportedAt).Before(q.MinImported),
		!q.MaxImported.IsZero() && day(t.ImportedAt).After(q.MaxImported),
		q.MinAmount != nil && t.Amount.LessThan(*q.MinAmount),
		q.MaxAmount != nil && t.Amount.GreaterThan(*q.MaxAmount),
		q.Direction == DirectionIncome && !t.Amount.IsPositive(),
		q.Direction == DirectionSpending && t.Amount.IsPositive(),
		q.CategoryIDs != nil && !slices.Contains(cats, t.Category),
		q.IsNew != nil && *q.IsNew, q.IsPotentialDuplicate != nil && *q.IsPotentialDuplicate,
		q.IsAdjustingEntry != nil && *q.IsAdjustingEntry, len(q.LabelIDs) > 0:
		return false
	}
	return true
}

// pageFiltered reads every transaction of the accounts, then filters,
// sums, sorts and pages them.
func (s *Service) pageFiltered(ctx context.Context, accs []*accRecord, q TxQuery, page Page) (TxPage, error) {
	var cats []int64
	for _, id := range q.CategoryIDs {
		if q.IncludeChildren {
			cats = append(cats, category.WithDescendants(id)...)
		} else {
			cats = append(cats, id)
		}
	}
	out := TxPage{Page: page, Income: decimal.Zero, Spending: decimal.Zero}
	var sel []Transaction
	for _, a := range accs {
		err := s.readViews(ctx, a.AccountID, func(v txView) error {
			t := transaction(a, v)
			if q.match(t, cats) {
				sel = append(sel, t)
				if t.Amount.IsPositive() {
					out.Income = out.Income.Add(t.Amount)
				} else {
					out.Spending = out.Spending.Add(t.Amount)
				}
			}
			return nil
		})
		if err != nil {
			return TxPage{}, err
		}
	}
	slices.SortStableFunc(sel, func(a, b Transaction) int {
		for _, o := range q.Order {
			var c int
			switch o.Field {
			case "id":
				c = cmpInt(a.ID, b.ID)
			case "accountId":
				c = cmpInt(a.AccountID, b.AccountID)
			case "valueDate":
				c = a.ValueDate.Compare(b.ValueDate)
			case "bankBookingDate", "finapiBookingDate":
				c = a.BookedAt.Compare(b.BookedAt)
			case "importDate":
				c = a.ImportedAt.Compare(b.ImportedAt)
			case "amount":
				c = a.Amount.Cmp(b.Amount)
			case "purpose":
				c = cmp.Compare(strings.ToLower(a.Purpose), strings.ToLower(b.Purpose))
			case "counterpartName":
				c = cmp.Compare(strings.ToLower(a.Counterparty), strings.ToLower(b.Counterparty))
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmpInt(a.ID, b.ID)
	})
	out.Total = len(sel)
	from, to := page.window(len(sel))
	out.Transactions = slices.Clip(sel[from:to])
	if out.Transactions == nil {
		out.Transactions = []Transaction{}
	}
	return out, nil
}

// TransactionsByID returns the user's transactions among ids, by id
// (unknown and other users' ids are left out): two store calls.
func (s *Service) TransactionsByID(ctx context.Context, p auth.Principal, ids []int64) ([]Transaction, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	sn, err := s.readBrief(ctx, p)
	if err != nil {
		return nil, err
	}
	byAccount := map[int64]*accRecord{}
	for _, a := range sn.shown() {
		byAccount[a.ID] = a
	}
	type wanted struct {
		a    *accRecord
		seqs []int64
	}
	chunks := map[store.Key]*wanted{}
	var keys []store.Key
	for _, id := range ids {
		accID, seq := splitTransactionID(id)
		a, ok := byAccount[accID]
		if !ok || id <= 0 || id > MaxID || seq >= a.Count {
			continue
		}
		k := chunkKey(a.AccountID, chunkOf(seq))
		w, ok := chunks[k]
		if !ok {
			w = &wanted{a: a}
			chunks[k] = w
			keys = append(keys, k)
		}
		w.seqs = append(w.seqs, seq)
	}
	out := []Transaction{}
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.st.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read transactions: %w", err)
	}
	for _, it := range items {
		w := chunks[it.Key()]
		if w == nil {
			continue
		}
		views, err := chunkViews(it, slices.Min(w.seqs), slices.Max(w.seqs)+1, nil)
		if err != nil {
			return nil, err
		}
		for _, v := range views {
			if slices.Contains(w.seqs, v.Seq) {
				out = append(out, transaction(w.a, v))
			}
		}
	}
	slices.SortFunc(out, func(a, b Transaction) int { return cmpInt(a.ID, b.ID) })
	return out, nil
}

// Transaction returns one of the user's transactions: two store calls.
func (s *Service) Transaction(ctx context.Context, p auth.Principal, id int64) (Transaction, error) {
	list, err := s.TransactionsByID(ctx, p, []int64{id})
	if err != nil {
		return Transaction{}, err
	}
	if len(list) == 0 {
		return Transaction{}, fault.Errorf(ErrNotFound, "no transaction with id %d", id)
	}
	return list[0], nil
}

// Categories.

// CategoryQuery selects categories.
type CategoryQuery struct {
	IDs      []int64
	Search   string // the name contains it (any case)
	IsCustom *bool  // OpenAgg's categories are all built in
	Page     Page
	Order    []Order // id, name
}

// CategoryPage is a page of categories.
type CategoryPage struct {
	Categories []category.Category
	Page       Page
	Total      int
}

// Categories lists the category tree (no store call).
func Categories(q CategoryQuery) (CategoryPage, error) {
	page, err := q.Page.norm()
	if err != nil {
		return CategoryPage{}, err
	}
	if err := checkIDs(q.IDs); err != nil {
		return CategoryPage{}, err
	}
	if err := checkOrder(q.Order, "id", "name"); err != nil {
		return CategoryPage{}, err
	}
	var sel []category.Category
	for _, c := range category.All() {
		if (q.IDs != nil && !slices.Contains(q.IDs, c.ID)) || (q.Search != "" && !containsFold(c.Name, q.Search)) || (q.IsCustom != nil && *q.IsCustom) {
			continue
		}
		sel = append(sel, c)
	}
	slices.SortStableFunc(sel, func(a, b category.Category) int {
		for _, o := range q.Order {
			c := cmpInt(a.ID, b.ID)
			if o.Field == "name" {
				c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmpInt(a.ID, b.ID)
	})
	from, to := page.window(len(sel))
	return CategoryPage{Categories: slices.Clip(sel[from:to]), Page: page, Total: len(sel)}, nil
}

// Category returns one category.
func Category(id int64) (category.Category, error) {
	c, ok := category.ByID(id)
	if !ok {
		return category.Category{}, fault.Errorf(ErrNotFound, "no category with id %d", id)
	}
	return c, nil
}
