// Package holdings owns imported accounts (with their balances) and
// transactions: the import from a provider (chunked, idempotent, with a
// checkpoint) and the reads that the Aggregation holdings API and the OBP
// 1.2 API serve.
//
// Storage layout (docs/data-model.md): everything that belongs to one account
// lives in the partition ACC#<accountID>, so removing a connection removes
// its accounts with every transaction, view, grant and metadata item by
// querying each account partition and batch-deleting it.
//
//	account      PK=ACC#<acc>  SK=#ACCOUNT        GSI1PK=PARTY#<party>#ACCS  GSI1SK=<bank>#<acc>
//	transaction  PK=ACC#<acc>  SK=TX#<txid>       GSI1PK=ACC#<acc>#TXD       GSI1SK=<completed>#<txid>
//	counterparty PK=ACC#<acc>  SK=CP#<cpid>       (not indexed)
//
// <completed> is the booking time (pending: the value date) in SortTime form,
// so an index query on ACC#<acc>#TXD lists transactions by completed date.
// Other packages (view, metadata) add their own SK prefixes to ACC#<acc>.
package holdings

import (
	"time"

	"github.com/shopspring/decimal"
)

// Account is an imported bank account with its latest balances.
type Account struct {
	ID           string `json:"id"`
	PartyID      string `json:"partyId"`
	OwnerSub     string `json:"ownerSub"`            // the user who owns the party
	OwnerName    string `json:"ownerName,omitempty"` // their display name (token name claim)
	BankCode     string `json:"bankCode"`
	BankName     string `json:"bankName"`
	Provider     string `json:"provider"`
	ConnectionID string `json:"connectionId"` // provider's connection id
	// ProviderAccountID is the provider's id of the account; ID is ours,
	// derived from provider, connection and this id (AccountID), so that two
	// providers or sandbox customers can never share a partition.
	ProviderAccountID string `json:"providerAccountId"`
	Name              string `json:"name"`
	Nature            string `json:"nature"`
	Currency          string `json:"currency"`
	IBAN              string `json:"iban,omitempty"`
	SWIFT             string `json:"swift,omitempty"`
	Number            string `json:"number,omitempty"`
	HolderName        string `json:"holderName,omitempty"`
	// Balances (money: exact decimals, strings on the wire).
	Balance   decimal.Decimal `json:"balance"`
	Available decimal.Decimal `json:"available"`
	// PendingIDs are the provider ids of the pending transactions stored for
	// this account; an import deletes the ones the bank no longer reports.
	PendingIDs []string  `json:"pendingIds,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Transaction is an imported transaction.
type Transaction struct {
	ID        string          `json:"id"`
	AccountID string          `json:"accountId"`
	Status    string          `json:"status"` // posted, pending
	MadeOn    time.Time       `json:"madeOn"` // value date
	PostedAt  time.Time       `json:"postedAt,omitempty"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	// Description is the bank's label.
	Description string `json:"description"`
	Category    string `json:"category,omitempty"`
	Mode        string `json:"mode,omitempty"`
	// Counterparty; CounterpartyID is a stable id derived from name and IBAN
	// (the OBP "other account" id).
	CounterpartyID   string           `json:"counterpartyId,omitempty"`
	CounterpartyName string           `json:"counterpartyName,omitempty"`
	CounterpartyIBAN string           `json:"counterpartyIban,omitempty"`
	BalanceAfter     *decimal.Decimal `json:"balanceAfter,omitempty"`
}

// Counterparty is one entry of an account's counterparty directory: a
// distinct counterparty of its transactions (the OBP "other account").
// The importer overwrites it with every chunk of transactions that names
// it; its fields derive from the id's inputs (CounterpartyID hashes name
// and IBAN), so an overwrite never changes it. What users add about a
// counterparty (OBP other-account metadata) lives elsewhere.
type Counterparty struct {
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
	Name      string `json:"name,omitempty"`
	IBAN      string `json:"iban,omitempty"`
}

// CounterpartyOf returns the counterparty of a transaction, if it has one.
func CounterpartyOf(t Transaction) (Counterparty, bool) {
	if t.CounterpartyID == "" {
		return Counterparty{}, false
	}
	return Counterparty{ID: t.CounterpartyID, AccountID: t.AccountID, Name: t.CounterpartyName, IBAN: t.CounterpartyIBAN}, true
}

// Completed is the time the transaction list is sorted by: booking time, or
// the value date while pending.
func (t Transaction) Completed() time.Time {
	if !t.PostedAt.IsZero() {
		return t.PostedAt
	}
	return t.MadeOn
}

// SortTime renders t so that string order is time order (fixed width, UTC).
func SortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Key functions: the only place these strings are built.

func AccountPK(accountID string) string { return "ACC#" + accountID }

const AccountSK = "#ACCOUNT"

func PartyAccountsGSI1PK(partyID string) string { return "PARTY#" + partyID + "#ACCS" }

func PartyAccountsGSI1SK(bankCode, accountID string) string { return bankCode + "#" + accountID }

const TxSKPrefix = "TX#"

func TxSK(txID string) string { return TxSKPrefix + txID }

// CounterpartySKPrefix starts the sort keys of an account's counterparty
// directory: one query of this prefix lists it, ordered by counterparty id.
const CounterpartySKPrefix = "CP#"

func CounterpartySK(counterpartyID string) string { return CounterpartySKPrefix + counterpartyID }

func TxByDateGSI1PK(accountID string) string { return "ACC#" + accountID + "#TXD" }

func TxByDateGSI1SK(t Transaction) string { return SortTime(t.Completed()) + "#" + t.ID }

// JobImport is the queue.Holdings job type of an accounts-with-transactions
// import; its payload is an ImportRequest. The connection and holdings API
// packages enqueue it; the holdings-importer worker consumes it.
const JobImport = "holdings.import"

// ImportRequest says which connection to import. It carries everything the
// importer needs so that the worker does not read the connection record.
type ImportRequest struct {
	PartyID      string `json:"partyId"`
	OwnerSub     string `json:"ownerSub"`
	OwnerName    string `json:"ownerName,omitempty"` // the owner's display name
	CustomerID   string `json:"customerId"`          // provider customer id
	Provider     string `json:"provider"`
	BankCode     string `json:"bankCode"`
	BankName     string `json:"bankName"`
	ConnectionID string `json:"connectionId"` // provider connection id
	// RunID distinguishes import runs (idempotency key of the job chain).
	RunID string `json:"runId"`
	// Channel is where the import was asked for (activity events).
	Channel string `json:"channel,omitempty"`
}

// ImportProgress is the state of the last import of one party's connection
// at one bank. It is stored in the party partition next to the connection
// (PK=PARTY#<party> SK=IMPORT#<bank>), so the connection details endpoint
// reads profile, connections and progress with one partition query.
type ImportProgress struct {
	State        string    `json:"state"` // queued, running, done, failed
	Accounts     int       `json:"accounts"`
	Transactions int64     `json:"transactions"`
	LastImportAt time.Time `json:"lastImportAt,omitempty"`
	LastError    string    `json:"lastError,omitempty"`
}

// PartyPK is the party partition (owned by the party/connection domain).
func PartyPK(partyID string) string { return "PARTY#" + partyID }

const ImportSKPrefix = "IMPORT#"

// ImportSK is the sort key of a connection's import checkpoint and progress.
func ImportSK(bankCode string) string { return ImportSKPrefix + bankCode }
