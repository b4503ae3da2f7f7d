package holdings

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// accountRecord maps a provider account to our record (PendingIDs are
// filled in by the caller from the stored record).
func accountRecord(req ImportRequest, pa provider.Account, now time.Time) Account {
	updated := pa.UpdatedAt
	if updated.IsZero() {
		updated = now
	}
	return Account{
		ID:                AccountID(req.Provider, req.ConnectionID, pa.ID),
		PartyID:           req.PartyID,
		OwnerSub:          req.OwnerSub,
		OwnerName:         req.OwnerName,
		BankCode:          req.BankCode,
		BankName:          req.BankName,
		Provider:          req.Provider,
		ConnectionID:      req.ConnectionID,
		ProviderAccountID: pa.ID,
		Name:              pa.Name,
		Nature:            pa.Nature,
		Currency:          pa.CurrencyCode,
		IBAN:              pa.IBAN,
		SWIFT:             pa.SWIFT,
		Number:            pa.AccountNumber,
		HolderName:        pa.HolderName,
		Balance:           pa.Balance,
		Available:         pa.Available,
		UpdatedAt:         updated.UTC(),
	}
}

// transactionRecord maps a provider transaction of account accountID.
func transactionRecord(accountID string, pt provider.Transaction, pending bool) Transaction {
	status := pt.Status
	if status == "" {
		status = "posted"
		if pending {
			status = "pending"
		}
	}
	t := Transaction{
		ID:               pt.ID,
		AccountID:        accountID,
		Status:           status,
		MadeOn:           pt.MadeOn.UTC(),
		Amount:           pt.Amount,
		Currency:         pt.CurrencyCode,
		Description:      pt.Description,
		Category:         pt.Category,
		Mode:             pt.Mode,
		CounterpartyID:   CounterpartyID(pt.CounterpartyName, pt.CounterpartyIBAN),
		CounterpartyName: pt.CounterpartyName,
		CounterpartyIBAN: pt.CounterpartyIBAN,
		BalanceAfter:     pt.BalanceAfter,
	}
	if !pt.PostedAt.IsZero() {
		t.PostedAt = pt.PostedAt.UTC()
	}
	return t
}

func accountItem(a Account) (store.Item, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode account %s: %w", a.ID, err)
	}
	it := store.Item{
		PK: AccountPK(a.ID), SK: AccountSK,
		GSI1PK: PartyAccountsGSI1PK(a.PartyID), GSI1SK: PartyAccountsGSI1SK(a.BankCode, a.ID),
		Data: data,
	}
	if err := store.Validate(it); err != nil {
		return store.Item{}, fmt.Errorf("account %s: %w", a.ID, err)
	}
	return it, nil
}

func txItem(t Transaction) (store.Item, error) {
	if t.ID == "" {
		return store.Item{}, fmt.Errorf("%w: transaction without id", store.ErrInvalid)
	}
	data, err := json.Marshal(t)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode transaction %s: %w", t.ID, err)
	}
	it := store.Item{
		PK: AccountPK(t.AccountID), SK: TxSK(t.ID),
		GSI1PK: TxByDateGSI1PK(t.AccountID), GSI1SK: TxByDateGSI1SK(t),
		Data: data,
	}
	if err := store.Validate(it); err != nil {
		return store.Item{}, err
	}
	return it, nil
}

func counterpartyItem(c Counterparty) (store.Item, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode counterparty %s: %w", c.ID, err)
	}
	it := store.Item{PK: AccountPK(c.AccountID), SK: CounterpartySK(c.ID), Data: data}
	if err := store.Validate(it); err != nil {
		return store.Item{}, fmt.Errorf("counterparty %s: %w", c.ID, err)
	}
	return it, nil
}

// DecodeCounterparty decodes a counterparty directory item (SK CP#<id>);
// the OBP API reads it in its request BatchGet.
func DecodeCounterparty(it store.Item) (Counterparty, error) {
	var c Counterparty
	if err := json.Unmarshal(it.Data, &c); err != nil {
		return Counterparty{}, fmt.Errorf("decode counterparty %s|%s: %w", it.PK, it.SK, err)
	}
	return c, nil
}

// writeBuffer collects puts across provider pages and writes them with one
// BatchWrite per size items, so that the store sees full 25-item chunks
// whatever the page size. A key added twice keeps its last version (a
// BatchWrite must not name a key twice): so a chunk holds one directory
// item per distinct counterparty of its transactions however many name
// it. Memory is bounded by size.
//
// The transactions of each flush go to the party's change log (log, when
// set) right after they are written: one commit per flush.
type writeBuffer struct {
	st      store.Store
	log     *syncLog
	size    int
	items   []store.Item
	index   map[store.Key]int
	changes []txChange
	cindex  map[store.Key]int
}

func newWriteBuffer(st store.Store, log *syncLog, size int) *writeBuffer {
	return &writeBuffer{st: st, log: log, size: size, items: make([]store.Item, 0, size), index: make(map[store.Key]int, size), cindex: map[store.Key]int{}}
}

// addTx adds a transaction item, which the change log considers.
func (b *writeBuffer) addTx(ctx context.Context, it store.Item, t Transaction) error {
	if b.log != nil {
		c := changeOf(it, t)
		if i, ok := b.cindex[it.Key()]; ok {
			b.changes[i] = c
		} else {
			b.cindex[it.Key()] = len(b.changes)
			b.changes = append(b.changes, c)
		}
	}
	return b.add(ctx, it)
}

func (b *writeBuffer) add(ctx context.Context, it store.Item) error {
	if i, ok := b.index[it.Key()]; ok {
		b.items[i] = it
		return nil
	}
	b.index[it.Key()] = len(b.items)
	b.items = append(b.items, it)
	if len(b.items) >= b.size {
		return b.flush(ctx)
	}
	return nil
}

// has reports whether the buffer holds a put of k.
func (b *writeBuffer) has(k store.Key) bool {
	_, ok := b.index[k]
	return ok
}

func (b *writeBuffer) flush(ctx context.Context) error {
	if len(b.items) == 0 {
		return nil
	}
	if err := b.st.BatchWrite(ctx, b.items, nil); err != nil {
		return fmt.Errorf("write %d transactions and counterparties: %w", len(b.items), err)
	}
	if b.log != nil {
		if err := b.log.apply(ctx, b.changes); err != nil {
			return fmt.Errorf("log %d transactions: %w", len(b.changes), err)
		}
	}
	clear(b.items)
	b.items = b.items[:0]
	clear(b.index)
	clear(b.changes)
	b.changes = b.changes[:0]
	clear(b.cindex)
	return nil
}
