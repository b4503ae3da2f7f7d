// Package account is an imported account as seen through an OBP 1.2 view:
// what an account-level request reads and checks, and a page of the
// account's transactions with their metadata on the view.
//
// An account-level request costs one BatchGet: the bank's directory
// records, the account, its ACL, and as the request needs them the
// other-account metadata, an entry of the account's counterparty
// directory, a transaction and its metadata on the view. A page of
// transactions costs one more store call: one query of the
// transactions-by-date index, where each transaction's metadata items sit
// right after it. Every key comes from the domain that owns the item
// (holdings, view, metadata, bank); this package says what is read together
// and in which order the checks answer (OBP's: bank id, bank, account,
// view access, transaction).
package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// Deps are what a Service needs; all are required.
type Deps struct {
	Store store.Store
	// Banks is the bank directory: an OBP BANK_ID is the code of a
	// directory bank whose access is enabled, checked on every request.
	Banks *bank.Service
	// Holdings reads the accounts' counterparty directories.
	Holdings *holdings.Service
}

// Service reads accounts as seen through views. It is safe for concurrent
// use.
type Service struct {
	store    store.Store
	banks    *bank.Service
	holdings *holdings.Service
}

// New builds the service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("account query: no store")
	case d.Banks == nil:
		return nil, errors.New("account query: no bank directory")
	case d.Holdings == nil:
		return nil, errors.New("account query: no holdings service")
	}
	return &Service{store: d.Store, banks: d.Banks, holdings: d.Holdings}, nil
}

// CheckBankID checks a BANK_ID against OBP's id rule (ErrInvalidBankID).
func CheckBankID(id string) error {
	if !view.ValidID(id) {
		return fault.Errorf(ErrInvalidBankID, "Invalid bank id %q: it may contain only 0-9, a-z, A-Z, '-', '.' and '_', and has fewer than 255 characters.", platform.Truncate(id, maxQuoted))
	}
	return nil
}

func bankNotFound(id string) error {
	return fault.Errorf(bank.ErrNotFound, "No bank %q with access enabled.", platform.Truncate(id, maxQuoted))
}

func notFound(bankID, accountID string) error {
	return fault.Errorf(ErrNotFound, "No account %q at bank %q.", platform.Truncate(accountID, maxQuoted), bankID)
}

// Bank returns the bank a BANK_ID names: the directory bank with that code
// whose access is enabled (the first configured provider's), one BatchGet.
// No such bank (also a code no bank can have) is bank.ErrNotFound.
func (s *Service) Bank(ctx context.Context, id string) (bank.Bank, error) {
	if err := CheckBankID(id); err != nil {
		return bank.Bank{}, err
	}
	if !bank.ValidCode(id) {
		return bank.Bank{}, bankNotFound(id)
	}
	b, err := s.banks.ByCode(ctx, id)
	if errors.Is(err, bank.ErrNotFound) {
		return bank.Bank{}, bankNotFound(id)
	}
	if err != nil {
		return bank.Bank{}, fmt.Errorf("load bank %s: %w", id, err)
	}
	return b, nil
}

// Banks lists the banks of the API: the directory banks whose access is
// enabled, one per code (a code listed by several providers is one bank:
// the first configured provider's), ordered by code.
func (s *Service) Banks(ctx context.Context) ([]bank.Bank, error) {
	banks, err := s.banks.ListEnabled(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]bank.Bank, 0, len(banks))
	seen := make(map[string]bool, len(banks))
	for _, b := range banks {
		if !seen[b.Code] {
			seen[b.Code] = true
			out = append(out, b)
		}
	}
	return out, nil
}

// Request is what an account-level request reads and checks.
type Request struct {
	BankID    string
	AccountID string
	// Caller is the authenticated user; nil is anonymous.
	Caller *auth.Principal
	// ViewID is the view the account is seen through: the caller must be
	// able to use it (a public view, or one they were granted), unless
	// Admin.
	ViewID string
	// Admin: the caller administers the account's views and grants and
	// must hold the owner view; ViewID is not checked.
	Admin bool
	// OtherMeta reads the account's other-account metadata.
	OtherMeta bool
	// OtherAccountID reads that entry of the account's counterparty
	// directory ("" none; an id no entry can have is not looked up).
	OtherAccountID string
	// TransactionID reads that transaction and its metadata on the view
	// ("" none).
	TransactionID string
}

// Scope is an account as a request sees it.
type Scope struct {
	Caller *auth.Principal
	// ViewID is the request's; View is that view (zero for Admin).
	ViewID  string
	View    view.View
	Account holdings.Account
	// ACL is the account's views and grants (an empty ACL when none was
	// stored yet).
	ACL view.ACL
	// OtherMeta is the other-account metadata (empty unless asked).
	OtherMeta metadata.OADoc
	// Other is the counterparty directory entry asked for; nil when the
	// directory has none.
	Other *holdings.Counterparty
	// Transaction and TxMeta (zero Version: none yet) when asked.
	Transaction holdings.Transaction
	TxMeta      metadata.TxMeta
	// AccountData and OtherMetaData are the stored bytes of the account
	// item and of the other-account metadata item (nil: none or not
	// asked): with the view, what every transaction rendered for the
	// request is made of (a render cache compares them).
	AccountData, OtherMetaData []byte

	otherID string // Request.OtherAccountID
}

// OtherAccount is the other account the request named
// (Request.OtherAccountID): ErrOtherAccountNotFound when the account's
// counterparty directory has no such entry.
func (sc *Scope) OtherAccount() (metadata.OtherAccount, error) {
	if sc.Other == nil {
		return metadata.OtherAccount{}, fault.Errorf(ErrOtherAccountNotFound, "Account %q has no other account %q.", sc.Account.ID, platform.Truncate(sc.otherID, maxQuoted))
	}
	return metadata.OtherAccountFrom(*sc.Other), nil
}

// TransactionOtherAccount is the other account of the request's
// transaction: ErrOtherAccountNotFound when it has none.
func (sc *Scope) TransactionOtherAccount() (metadata.OtherAccount, error) {
	o, ok := metadata.OtherAccountOf(sc.Transaction)
	if !ok {
		return metadata.OtherAccount{}, fault.Errorf(ErrOtherAccountNotFound, "Transaction %q has no other account.", sc.Transaction.ID)
	}
	return o, nil
}

// validTxID reports whether id can be a transaction id in a key.
func validTxID(id string) bool {
	return len(id) < 255 && !strings.ContainsAny(id, "#\x00")
}

// Load reads an account-level request's data with one BatchGet and checks,
// in OBP's order: the transaction id's form (ErrTransactionNotFound), the
// bank id (ErrInvalidBankID), the bank (bank.ErrNotFound), the account
// (ErrNotFound; also at another bank), the caller's access (view's
// ErrNotOwner, ErrNotFound, ErrLoginRequired, ErrNoAccess) and the
// transaction (ErrTransactionNotFound). An unknown other account is no
// error: Scope.Other is nil.
func (s *Service) Load(ctx context.Context, r Request) (*Scope, error) {
	if r.TransactionID != "" && !validTxID(r.TransactionID) {
		return nil, fault.Errorf(ErrTransactionNotFound, "No transaction %q.", platform.Truncate(r.TransactionID, maxQuoted))
	}
	if err := CheckBankID(r.BankID); err != nil {
		return nil, err
	}
	if !view.ValidID(r.AccountID) {
		return nil, s.missing(ctx, r.BankID, r.AccountID)
	}
	accKey, aclKey := holdings.AccountKey(r.AccountID), view.ACLKey(r.AccountID)
	keys := make([]store.Key, 0, 8)
	keys = append(keys, accKey, aclKey)
	var oaKey, otherKey, txKey, txMetaKey store.Key
	if r.OtherMeta {
		oaKey = metadata.OADocKey(r.AccountID)
		keys = append(keys, oaKey)
	}
	other := r.OtherAccountID != "" && view.ValidID(r.OtherAccountID)
	if other {
		otherKey = holdings.CounterpartyKey(r.AccountID, r.OtherAccountID)
		keys = append(keys, otherKey)
	}
	txMeta := false
	if r.TransactionID != "" {
		txKey = holdings.TxKey(r.AccountID, r.TransactionID)
		keys = append(keys, txKey)
		// A VIEW_ID no view can have (too long for a key) is refused
		// below as an unknown view, after the account.
		if txMeta = view.ValidID(r.ViewID); txMeta {
			txMetaKey = metadata.TxMetaKey(r.AccountID, r.TransactionID, r.ViewID)
			keys = append(keys, txMetaKey)
		}
	}
	keys = append(keys, s.banks.CodeKeys(r.BankID)...)
	items, err := s.store.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load account %s: %w", r.AccountID, err)
	}
	byKey := make(map[store.Key]store.Item, len(items))
	for _, it := range items {
		byKey[it.Key()] = it
	}

	if _, enabled, err := s.banks.EnabledIn(r.BankID, byKey); err != nil {
		return nil, err
	} else if !enabled {
		return nil, bankNotFound(r.BankID)
	}
	sc := &Scope{Caller: r.Caller, ViewID: r.ViewID, otherID: r.OtherAccountID}
	accItem, ok := byKey[accKey]
	if !ok {
		return nil, notFound(r.BankID, r.AccountID)
	}
	if sc.Account, err = holdings.DecodeAccount(accItem); err != nil {
		return nil, err
	}
	if sc.Account.BankCode != r.BankID {
		return nil, notFound(r.BankID, r.AccountID)
	}
	sc.AccountData = accItem.Data
	sc.ACL = view.ACL{AccountID: r.AccountID, BankID: r.BankID, Label: sc.Account.Name}
	if it, ok := byKey[aclKey]; ok {
		if sc.ACL, err = view.DecodeACL(it); err != nil {
			return nil, err
		}
	}
	if r.Admin {
		if err := sc.ACL.RequireOwner(r.Caller); err != nil {
			return nil, err
		}
	} else if sc.View, err = sc.ACL.Access(r.ViewID, r.Caller); err != nil {
		return nil, err
	}
	sc.OtherMeta = metadata.OADoc{AccountID: r.AccountID}
	if it, ok := byKey[oaKey]; ok && r.OtherMeta {
		if sc.OtherMeta, err = metadata.DecodeOADoc(it); err != nil {
			return nil, err
		}
		sc.OtherMetaData = it.Data
	}
	if it, ok := byKey[otherKey]; ok && other {
		c, err := holdings.DecodeCounterparty(it)
		if err != nil {
			return nil, err
		}
		sc.Other = &c
	}
	if r.TransactionID != "" {
		it, ok := byKey[txKey]
		if !ok {
			return nil, fault.Errorf(ErrTransactionNotFound, "No transaction %q on account %q.", platform.Truncate(r.TransactionID, maxQuoted), r.AccountID)
		}
		if sc.Transaction, err = holdings.DecodeTransaction(it); err != nil {
			return nil, err
		}
		if it, ok := byKey[txMetaKey]; ok && txMeta {
			if sc.TxMeta, err = metadata.DecodeTxMeta(it); err != nil {
				return nil, err
			}
		}
	}
	return sc, nil
}

// missing tells an unknown bank from an unknown account at a known bank,
// for an account id no account can have: it costs a bank lookup, on this
// error path only.
func (s *Service) missing(ctx context.Context, bankID, accountID string) error {
	if _, err := s.Bank(ctx, bankID); err != nil {
		return err
	}
	return notFound(bankID, accountID)
}

// OtherAccounts reads entries offset .. offset+limit of an account's
// counterparty directory (its other accounts), in id order: one query
// while offset+limit ≤ 1,000, one more per 1,000 beyond.
func (s *Service) OtherAccounts(ctx context.Context, accountID string, offset, limit int) ([]holdings.Counterparty, error) {
	want := offset + limit
	var got []holdings.Counterparty
	token := ""
	for len(got) < want {
		page, err := s.holdings.Counterparties(ctx, accountID, min(want-len(got), holdings.MaxCounterpartyLimit), token)
		if err != nil {
			return nil, err
		}
		got = append(got, page.Counterparties...)
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	if offset >= len(got) {
		return nil, nil
	}
	return got[offset:min(want, len(got))], nil
}
