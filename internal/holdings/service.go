package holdings

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// AccountHook is told about imported accounts by the packages that keep
// data per account (OBP views: the party owner gets the "owner" view). The
// counterparty directory needs no hook: the importer writes it with the
// transactions. An import run calls it twice:
// with the accounts it stored for the first time, right after storing them
// and before their transactions (so that a new account is usable even if
// the import fails later), and with all the run's accounts (fresh
// balances) once every transaction is written. A failed call fails the
// import step, which the queue retries, so the hook may see the same
// accounts more than once and must be idempotent.
type AccountHook interface {
	AccountsImported(ctx context.Context, accounts []Account) error
}

// Hooks calls several hooks in order, stopping at the first error.
type Hooks []AccountHook

// AccountsImported implements AccountHook.
func (hs Hooks) AccountsImported(ctx context.Context, accounts []Account) error {
	for _, h := range hs {
		if h == nil {
			continue
		}
		if err := h.AccountsImported(ctx, accounts); err != nil {
			return err
		}
	}
	return nil
}

// ProviderFunc returns the named provider (app.App.Provider).
type ProviderFunc func(name string) (provider.Provider, error)

// Limits bound one import step (one job): the step stops at whichever
// limit it reaches first and re-enqueues a continuation. Zero values take
// the defaults.
type Limits struct {
	// MaxPages is the number of provider pages one step fetches (20).
	MaxPages int
	// MaxTransactions is the number of transactions one step writes (20,000).
	MaxTransactions int
	// TimeBudget is the wall time after which a step stops fetching (2 min;
	// the holdings-importer Lambda has 5).
	TimeBudget time.Duration
	// MaxAttempts is the number of times one step is tried before the
	// import is marked failed (3). A try that returns an error records it
	// (and, at the last one, the failure); a try that never returns (the
	// process crashed, was killed or timed out) is counted by its claim, so
	// the delivery after the last try records the failure instead of
	// running the step again. Deps.MaxReceiveCount bounds it from the
	// queue's side.
	MaxAttempts int
	// FlushSize is the number of item writes (transactions and the
	// directory items of their distinct counterparties) buffered across
	// pages before one BatchWrite (1,000): full 25-item chunks whatever the
	// provider's page size, so that DynamoDB sees ≈40 calls per 1,000
	// transactions plus one per 25 distinct counterparties of a chunk.
	FlushSize int
}

func (l Limits) withDefaults() Limits {
	if l.MaxPages <= 0 {
		l.MaxPages = 20
	}
	if l.MaxTransactions <= 0 {
		l.MaxTransactions = 20000
	}
	if l.TimeBudget <= 0 {
		l.TimeBudget = 2 * time.Minute
	}
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = 3
	}
	if l.FlushSize <= 0 {
		l.FlushSize = 1000
	}
	return l
}

// Deps are the Service's dependencies and settings.
type Deps struct {
	Store     store.Store
	Queue     queue.Sender
	Providers ProviderFunc
	Clock     platform.Clock // default SystemClock
	Log       *slog.Logger   // default slog.Default()
	Hook      AccountHook    // optional
	Limits    Limits
	// RunGuard, when set, names the item that must exist for an import
	// run to start: the party's connection to the bank (connection.Key).
	// The first claim of a run checks it in the same transaction, so a job
	// that outlives its connection's removal writes nothing afterwards.
	RunGuard func(partyID, bankCode string) store.Key
	// Activity, optional, is told when an import run completes or fails;
	// a failure to record is logged, never returned.
	Activity activity.Sink
	// MaxReceiveCount is the holdings queue's maxReceiveCount (its
	// consumer settings, deploy.ConsumerOf): the delivery with this receive
	// count (queue.ReceiveCount) is the queue's last, so it records the
	// step's failure instead of running it, and the import never stays
	// queued or running with its job in the dead-letter queue. Zero: only
	// MaxAttempts counts.
	MaxReceiveCount int
	// TokenSecret seals the sync cursors (the store's page-token secret,
	// shared by every instance); empty: a random one for this Service.
	TokenSecret []byte
}

// Service is the holdings domain: import, removal and reads.
type Service struct {
	store     store.Store
	queue     queue.Sender
	providers ProviderFunc
	clock     platform.Clock
	log       *slog.Logger
	hook      AccountHook
	limits    Limits
	// maxReceive is Deps.MaxReceiveCount.
	maxReceive int
	guard      func(partyID, bankCode string) store.Key
	activity   activity.Sink
	tokens     *store.Tokens
}

// New builds a Service.
func New(cfg Deps) *Service {
	s := &Service{
		store:      cfg.Store,
		queue:      cfg.Queue,
		providers:  cfg.Providers,
		clock:      cfg.Clock,
		log:        cfg.Log,
		hook:       cfg.Hook,
		limits:     cfg.Limits.withDefaults(),
		maxReceive: cfg.MaxReceiveCount,
		guard:      cfg.RunGuard,
		activity:   cfg.Activity,
	}
	if s.clock == nil {
		s.clock = platform.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	secret := cfg.TokenSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	s.tokens = store.NewTokens(secret)
	return s
}

// AccountID is our id of a provider account: stable across imports (so a
// re-import hits the same partition) and unique across providers and
// connections.
func AccountID(providerName, connectionID, providerAccountID string) string {
	return platform.DeterministicID("account", providerName, connectionID, providerAccountID)
}

// CounterpartyID is the stable id of a transaction's counterparty (the OBP
// "other account" id): the same name and IBAN give the same id on every
// transaction of every account.
func CounterpartyID(name, iban string) string {
	if name == "" && iban == "" {
		return ""
	}
	return platform.DeterministicID("counterparty", name, iban)
}

func accountNotFound(accountID string, err error) error {
	return fault.Wrap(ErrAccountNotFound, err, "account '%s' not found", accountID)
}

// Accounts lists a party's imported accounts with their balances, ordered
// by bank and account id: one GSI1 query per 1,000 accounts.
func (s *Service) Accounts(ctx context.Context, partyID string) ([]Account, error) {
	var out []Account
	q := store.Query{Index: store.IndexGSI1, PK: PartyAccountsGSI1PK(partyID)}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list accounts of party %s: %w", partyID, err)
		}
		for _, it := range page.Items {
			a, err := DecodeAccount(it)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// Account returns one account (one Get).
func (s *Service) Account(ctx context.Context, accountID string) (Account, error) {
	if accountID == "" {
		return Account{}, accountNotFound(accountID, nil)
	}
	it, err := s.store.Get(ctx, AccountKey(accountID))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return Account{}, accountNotFound(accountID, err)
	}
	if err != nil {
		return Account{}, fmt.Errorf("load account %s: %w", accountID, err)
	}
	return DecodeAccount(it)
}

// AccountKey is the key of an account item (DecodeAccount reads it).
func AccountKey(accountID string) store.Key {
	return store.Key{PK: AccountPK(accountID), SK: AccountSK}
}

// DecodeAccount reads an account item (AccountKey).
func DecodeAccount(it store.Item) (Account, error) {
	var a Account
	if err := json.Unmarshal(it.Data, &a); err != nil {
		return Account{}, fmt.Errorf("decode account %s: %w", it.PK, err)
	}
	return a, nil
}

func decodeTransaction(it store.Item) (Transaction, error) {
	var t Transaction
	if err := json.Unmarshal(it.Data, &t); err != nil {
		return Transaction{}, fmt.Errorf("decode transaction %s|%s: %w", it.PK, it.SK, err)
	}
	return t, nil
}

// MaxTxLimit is the largest page of Transactions; DefaultTxLimit is used
// when TxQuery.Limit is 0.
const (
	MaxTxLimit     = 1000
	DefaultTxLimit = 100
)

// TxQuery selects a page of an account's transactions by completed date.
type TxQuery struct {
	// From and To bound the completed time, both inclusive; zero is open.
	From, To time.Time
	// Desc lists newest first.
	Desc bool
	// Limit is the page size (0: DefaultTxLimit, at most MaxTxLimit).
	Limit int
	// Token continues a previous page of the same query.
	Token string
}

// TxPage is one page of transactions.
type TxPage struct {
	Transactions []Transaction
	// Next continues the listing; empty at the end.
	Next string
}

// Transactions reads one page of an account's transactions ordered by
// completed date: ONE query on GSI1 (ACC#<acc>#TXD). It does not check
// that the account exists; an unknown account has no transactions. Other
// packages' items share that index partition (OBP transaction metadata,
// at most one per transaction and kind), so the store page is read larger
// than Limit and cut at the Limit-th transaction: only the last page holds
// fewer than Limit, and Next resumes right after the last transaction of
// the page.
func (s *Service) Transactions(ctx context.Context, accountID string, q TxQuery) (TxPage, error) {
	if q.Limit < 0 || q.Limit > MaxTxLimit {
		return TxPage{}, fault.Errorf(ErrInvalidLimit, "limit must be between 1 and %d", MaxTxLimit)
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return TxPage{}, fault.Errorf(ErrInvalidDateRange, "the end of the date range is before its start")
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultTxLimit
	}
	sq := TxByDateQuery(accountID, q.From, q.To, q.Desc)
	sq.Limit, sq.Token = min(4*limit+4, txReadMax), q.Token
	out := TxPage{Transactions: make([]Transaction, 0, limit)}
	// One query, unless other packages' items crowded the transactions
	// out of the store page (transactions annotated in many views): then
	// read on, so that only the last page holds fewer than limit.
	for {
		page, err := s.store.Query(ctx, sq)
		if errors.Is(err, store.ErrInvalidToken) {
			return TxPage{}, fault.Wrap(ErrInvalidPageToken, err, "the page token is invalid or belongs to another query")
		}
		if err != nil {
			return TxPage{}, fmt.Errorf("list transactions of account %s: %w", accountID, err)
		}
		out.Next = page.Next
		for i, it := range page.Items {
			if !strings.HasPrefix(it.SK, TxSKPrefix) {
				// Other packages index items next to their transaction (OBP
				// transaction metadata): not ours to list.
				continue
			}
			if len(out.Transactions) == limit {
				// More items follow the page's last transaction: resume
				// right after the item before this one.
				out.Next = s.store.TokenAfter(sq, page.Items[i-1])
				return out, nil
			}
			t, err := decodeTransaction(it)
			if err != nil {
				return TxPage{}, err
			}
			out.Transactions = append(out.Transactions, t)
		}
		if len(out.Transactions) == limit || out.Next == "" {
			return out, nil
		}
		sq.Token = out.Next
	}
}

// txReadMax bounds the store page Transactions reads for one of its pages.
const txReadMax = 1000

// Transaction returns one transaction of an account (one Get).
func (s *Service) Transaction(ctx context.Context, accountID, txID string) (Transaction, error) {
	notFound := func(err error) error {
		return fault.Wrap(ErrTransactionNotFound, err, "transaction '%s' not found", txID)
	}
	if accountID == "" || txID == "" {
		return Transaction{}, notFound(nil)
	}
	it, err := s.store.Get(ctx, store.Key{PK: AccountPK(accountID), SK: TxSK(txID)})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return Transaction{}, notFound(err)
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("load transaction %s of account %s: %w", txID, accountID, err)
	}
	return decodeTransaction(it)
}

// MaxCounterpartyLimit is the largest page of Counterparties;
// DefaultCounterpartyLimit is used when the limit is 0.
const (
	MaxCounterpartyLimit     = 1000
	DefaultCounterpartyLimit = 100
)

// CounterpartyPage is one page of an account's counterparty directory.
type CounterpartyPage struct {
	Counterparties []Counterparty
	// Next continues the listing; empty at the end.
	Next string
}

// Counterparties reads one page of an account's counterparty directory
// (the distinct counterparties of its imported transactions), ordered by
// counterparty id: ONE query of the CP# prefix of its partition, however
// long the account's history. It does not check that the account exists;
// an unknown account has none.
func (s *Service) Counterparties(ctx context.Context, accountID string, limit int, token string) (CounterpartyPage, error) {
	if limit < 0 || limit > MaxCounterpartyLimit {
		return CounterpartyPage{}, fault.Errorf(ErrInvalidLimit, "limit must be between 1 and %d", MaxCounterpartyLimit)
	}
	if limit == 0 {
		limit = DefaultCounterpartyLimit
	}
	page, err := s.store.Query(ctx, store.Query{PK: AccountPK(accountID), SKPrefix: CounterpartySKPrefix, Limit: limit, Token: token})
	if errors.Is(err, store.ErrInvalidToken) {
		return CounterpartyPage{}, fault.Wrap(ErrInvalidPageToken, err, "the page token is invalid or belongs to another query")
	}
	if err != nil {
		return CounterpartyPage{}, fmt.Errorf("list counterparties of account %s: %w", accountID, err)
	}
	out := CounterpartyPage{Counterparties: make([]Counterparty, 0, len(page.Items)), Next: page.Next}
	for _, it := range page.Items {
		c, err := DecodeCounterparty(it)
		if err != nil {
			return CounterpartyPage{}, err
		}
		out.Counterparties = append(out.Counterparties, c)
	}
	return out, nil
}

// Counterparty returns one entry of an account's counterparty directory
// (one Get); ErrCounterpartyNotFound when no imported transaction of the
// account names it.
func (s *Service) Counterparty(ctx context.Context, accountID, counterpartyID string) (Counterparty, error) {
	notFound := func(err error) error {
		return fault.Wrap(ErrCounterpartyNotFound, err, "counterparty '%s' not found", counterpartyID)
	}
	if accountID == "" || counterpartyID == "" {
		return Counterparty{}, notFound(nil)
	}
	it, err := s.store.Get(ctx, store.Key{PK: AccountPK(accountID), SK: CounterpartySK(counterpartyID)})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return Counterparty{}, notFound(err)
	}
	if err != nil {
		return Counterparty{}, fmt.Errorf("load counterparty %s of account %s: %w", counterpartyID, accountID, err)
	}
	return DecodeCounterparty(it)
}

// Progress returns the state of the last import of a party's connection at
// a bank (ErrImportNotFound when none was ever asked).
func (s *Service) Progress(ctx context.Context, partyID, bankCode string) (ImportProgress, error) {
	st, _, err := s.loadState(ctx, partyID, bankCode)
	if errors.Is(err, store.ErrNotFound) {
		return ImportProgress{}, fault.Wrap(ErrImportNotFound, err, "no import for bank '%s'", bankCode)
	}
	if err != nil {
		return ImportProgress{}, err
	}
	return st.Progress, nil
}
