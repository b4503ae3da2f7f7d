// Package holdings is the `holdings` API group of the Aggregation
// microservice dialect (shared/contracts/aggregation.md, operation 12):
// queue the import of a party's accounts, balances and transactions at a
// bank, plus two reads of what was imported (our additions): the party's
// accounts with balances and one account's transactions, newest first.
//
// Every route needs a bearer token and acts on a party the caller may act
// on (the party package's rule: the owner, or the CanManageParties role;
// 404 for an unknown party, 403 for someone else's).
package holdings

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	domain "github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
)

// StatusImporting is the answer of operation 12, byte for byte.
const StatusImporting = "Initiated Accounts and Transaction Processing"

// DateLayout is the format of the from/to query parameters.
const DateLayout = "2006-01-02"

// Holdings is what the group needs from the holdings domain
// (*holdings.Service).
type Holdings interface {
	EnqueueImport(ctx context.Context, req domain.ImportRequest) error
	Accounts(ctx context.Context, partyID string) ([]domain.Account, error)
	Transactions(ctx context.Context, accountID string, q domain.TxQuery) (domain.TxPage, error)
	Sync(ctx context.Context, partyID string, q domain.SyncQuery) (domain.SyncPage, error)
}

// Parties checks that the caller may act on a party, and reads an account
// of the party with the same check (*party.Service).
type Parties interface {
	Load(ctx context.Context, p auth.Principal, partyID string) (party.Profile, error)
	Account(ctx context.Context, p auth.Principal, partyID, accountID string) (domain.Account, error)
}

// Connections gives the import of a party's connection at a bank after
// the same access check (*connection.Service).
type Connections interface {
	ImportRequest(ctx context.Context, p auth.Principal, partyID, bankCode string) (domain.ImportRequest, error)
}

// Deps are what the group needs.
type Deps struct {
	Log         *slog.Logger
	Holdings    Holdings
	Parties     Parties
	Connections Connections
}

// API is the holdings group.
type API struct {
	log   *slog.Logger
	h     Holdings
	party Parties
	conns Connections
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, h: d.Holdings, party: d.Parties, conns: d.Connections}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// Routes are the group's endpoints.
func (a *API) Routes() []platform.Route {
	h := func(f func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
		return aggregation.Handle(a.log, f)
	}
	return []platform.Route{
		{Method: http.MethodPost, Path: "/holdings/profiles/{partyid}/banks/{bankcode}/accountwithtransactions", Handler: h(a.importAccounts)},
		{Method: http.MethodGet, Path: "/holdings/profiles/{partyid}/accounts", Handler: h(a.accounts)},
		{Method: http.MethodGet, Path: "/holdings/profiles/{partyid}/accounts/{accountId}/transactions", Handler: h(a.transactions)},
		{Method: http.MethodGet, Path: "/holdings/profiles/{partyid}/transactions/sync", Handler: h(a.syncTransactions)},
	}
}

// StatusBody is the {"status": ...} answer (lower-case s in this group).
type StatusBody struct {
	Status string `json:"status"`
}

// importAccounts is operation 12: POST .../accountwithtransactions with
// body {} (or none) → 202. Store round trips: one BatchGet (profile and
// connection), one read and one write of the import state, plus the queue.
func (a *API) importAccounts(w http.ResponseWriter, r *http.Request) error {
	p, err := aggregation.User(r.Context())
	if err != nil {
		return err
	}
	var body struct{}
	if _, err := platform.DecodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	req, err := a.conns.ImportRequest(r.Context(), p, r.PathValue("partyid"), r.PathValue("bankcode"))
	if err != nil {
		return err
	}
	if err := a.h.EnqueueImport(r.Context(), req); err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusAccepted, StatusBody{Status: StatusImporting})
	return nil
}

// Account is the wire form of an imported account.
type Account struct {
	ID         string `json:"id"`
	BankCode   string `json:"bankCode"`
	BankName   string `json:"bankName"`
	Name       string `json:"name"`
	Nature     string `json:"nature"`
	Currency   string `json:"currency"`
	IBAN       string `json:"iban,omitempty"`
	Number     string `json:"number,omitempty"`
	HolderName string `json:"holderName,omitempty"`
	Balance    string `json:"balance"`
	Available  string `json:"available"`
	UpdatedAt  string `json:"updatedAt"` // RFC 3339 UTC, seconds
}

// AccountsBody is the answer of GET .../accounts.
type AccountsBody struct {
	Accounts []Account `json:"accounts"`
}

// accounts lists the party's accounts with balances: one profile read and
// one index query.
func (a *API) accounts(w http.ResponseWriter, r *http.Request) error {
	p, err := aggregation.User(r.Context())
	if err != nil {
		return err
	}
	prof, err := a.party.Load(r.Context(), p, r.PathValue("partyid"))
	if err != nil {
		return err
	}
	list, err := a.h.Accounts(r.Context(), prof.PartyID)
	if err != nil {
		return err
	}
	out := AccountsBody{Accounts: make([]Account, 0, len(list))}
	for _, acc := range list {
		out.Accounts = append(out.Accounts, Account{
			ID: acc.ID, BankCode: acc.BankCode, BankName: acc.BankName, Name: acc.Name, Nature: acc.Nature,
			Currency: acc.Currency, IBAN: acc.IBAN, Number: acc.Number, HolderName: acc.HolderName,
			Balance: domain.Amount(acc.Balance, acc.Currency), Available: domain.Amount(acc.Available, acc.Currency), UpdatedAt: rfc3339(acc.UpdatedAt),
		})
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Counterparty is the other side of a transaction.
type Counterparty struct {
	Name string `json:"name,omitempty"`
	IBAN string `json:"iban,omitempty"`
}

// Transaction is the wire form of an imported transaction. MadeOn is the
// value date (YYYY-MM-DD); PostedAt (RFC 3339 UTC, seconds) is absent while
// pending.
type Transaction struct {
	ID           string        `json:"id"`
	Status       string        `json:"status"`
	MadeOn       string        `json:"madeOn"`
	PostedAt     string        `json:"postedAt,omitempty"`
	Amount       string        `json:"amount"`
	Currency     string        `json:"currency"`
	Description  string        `json:"description"`
	Category     string        `json:"category,omitempty"`
	Counterparty *Counterparty `json:"counterparty,omitempty"`
	BalanceAfter *string       `json:"balanceAfter,omitempty"`
}

// TransactionsBody is the answer of GET .../transactions.
type TransactionsBody struct {
	Transactions  []Transaction `json:"transactions"`
	NextPageToken string        `json:"nextPageToken,omitempty"`
}

// transactions lists one page of an account's transactions, newest first,
// optionally between two dates (inclusive). It costs two store round
// trips: one BatchGet of the account (which names its party and owner) and
// the party's profile, then one index query (a party manager whose role is
// a stored entitlement adds its Get).
func (a *API) transactions(w http.ResponseWriter, r *http.Request) error {
	p, err := aggregation.User(r.Context())
	if err != nil {
		return err
	}
	partyID, accountID := r.PathValue("partyid"), r.PathValue("accountId")
	// The path before the query (docs/api.md, order of checks).
	if err := party.ValidateID(partyID); err != nil {
		return err
	}
	q, err := parseTxQuery(r)
	if err != nil {
		return err
	}
	if _, err := a.party.Account(r.Context(), p, partyID, accountID); err != nil {
		return err
	}
	page, err := a.h.Transactions(r.Context(), accountID, q)
	if err != nil {
		return err
	}
	out := TransactionsBody{Transactions: make([]Transaction, 0, len(page.Transactions)), NextPageToken: page.Next}
	for _, t := range page.Transactions {
		out.Transactions = append(out.Transactions, txToWire(t))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

func txToWire(t domain.Transaction) Transaction {
	wt := Transaction{
		ID: t.ID, Status: t.Status, MadeOn: t.MadeOn.UTC().Format(DateLayout), Amount: domain.Amount(t.Amount, t.Currency),
		Currency: t.Currency, Description: t.Description, Category: t.Category,
	}
	if !t.PostedAt.IsZero() {
		wt.PostedAt = rfc3339(t.PostedAt)
	}
	if t.CounterpartyName != "" || t.CounterpartyIBAN != "" {
		wt.Counterparty = &Counterparty{Name: t.CounterpartyName, IBAN: t.CounterpartyIBAN}
	}
	if t.BalanceAfter != nil {
		b := domain.Amount(*t.BalanceAfter, t.Currency)
		wt.BalanceAfter = &b
	}
	return wt
}

// rfc3339 renders t the way every time of the Aggregation groups is on the
// wire: RFC 3339, UTC, whole seconds.
func rfc3339(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// parseTxQuery reads from, to (YYYY-MM-DD, inclusive), limit (1 to
// holdings.MaxTxLimit) and pageToken; anything malformed is a 400.
func parseTxQuery(r *http.Request) (domain.TxQuery, error) {
	v := r.URL.Query()
	q := domain.TxQuery{Desc: true, Token: v.Get("pageToken")}
	date := func(name string) (time.Time, error) {
		s := v.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		d, err := time.Parse(DateLayout, s)
		if err != nil {
			return time.Time{}, fault.Errorf(domain.ErrInvalidDate, "%s must be a date YYYY-MM-DD, got %q", name, s)
		}
		return d, nil
	}
	var err error
	if q.From, err = date("from"); err != nil {
		return q, err
	}
	to, err := date("to")
	if err != nil {
		return q, err
	}
	if v.Get("to") != "" { // not to.IsZero(): 0001-01-01 is the zero time
		// Inclusive: the whole day.
		q.To = to.Add(24*time.Hour - time.Millisecond)
		if !q.From.IsZero() && to.Before(q.From) {
			return q, fault.Errorf(domain.ErrInvalidDate, "to (%s) is before from (%s)", v.Get("to"), v.Get("from"))
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > domain.MaxTxLimit {
			return q, fault.Errorf(domain.ErrInvalidLimit, "limit must be an integer from 1 to %d, got %q", domain.MaxTxLimit, s)
		}
		q.Limit = n
	}
	return q, nil
}

// SyncTransaction is a transaction in a sync page: the transactions
// read's shape with its account.
type SyncTransaction struct {
	AccountID string `json:"accountId"`
	Transaction
}

// RemovedTransaction names a transaction that is gone.
type RemovedTransaction struct {
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
}

// SyncBody is the answer of GET .../transactions/sync (Plaid's
// /transactions/sync shape: snake-case cursor fields).
type SyncBody struct {
	Added      []SyncTransaction    `json:"added"`
	Modified   []SyncTransaction    `json:"modified"`
	Removed    []RemovedTransaction `json:"removed"`
	NextCursor string               `json:"next_cursor"`
	HasMore    bool                 `json:"has_more"`
}

// syncTransactions reads one page of the changes to the party's
// transactions after a cursor, over every connection of the party: the
// profile (access check) and one query of the party's change log, two
// store round trips (a party manager whose role is a stored entitlement
// adds its Get).
func (a *API) syncTransactions(w http.ResponseWriter, r *http.Request) error {
	p, err := aggregation.User(r.Context())
	if err != nil {
		return err
	}
	partyID := r.PathValue("partyid")
	if err := party.ValidateID(partyID); err != nil {
		return err
	}
	q, err := parseSyncQuery(r)
	if err != nil {
		return err
	}
	if _, err := a.party.Load(r.Context(), p, partyID); err != nil {
		return err
	}
	page, err := a.h.Sync(r.Context(), partyID, q)
	if err != nil {
		return err
	}
	out := SyncBody{
		Added:      make([]SyncTransaction, 0, len(page.Added)),
		Modified:   make([]SyncTransaction, 0, len(page.Modified)),
		Removed:    make([]RemovedTransaction, 0, len(page.Removed)),
		NextCursor: page.Next,
		HasMore:    page.HasMore,
	}
	for _, t := range page.Added {
		out.Added = append(out.Added, SyncTransaction{AccountID: t.AccountID, Transaction: txToWire(t)})
	}
	for _, t := range page.Modified {
		out.Modified = append(out.Modified, SyncTransaction{AccountID: t.AccountID, Transaction: txToWire(t)})
	}
	for _, t := range page.Removed {
		out.Removed = append(out.Removed, RemovedTransaction{ID: t.ID, AccountID: t.AccountID})
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

// parseSyncQuery reads cursor (opaque) and count (1 to holdings.MaxSyncCount,
// default holdings.DefaultSyncCount).
func parseSyncQuery(r *http.Request) (domain.SyncQuery, error) {
	v := r.URL.Query()
	q := domain.SyncQuery{Cursor: v.Get("cursor")}
	if s := v.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > domain.MaxSyncCount {
			return q, fault.Errorf(domain.ErrInvalidLimit, "count must be an integer from 1 to %d, got %q", domain.MaxSyncCount, s)
		}
		q.Count = n
	}
	return q, nil
}
