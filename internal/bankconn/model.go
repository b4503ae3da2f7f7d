// Package bankconn is finAPI's bank connections over OpenAgg's own data: a
// finAPI bank connection of a user IS a connection (package connection) of
// the user's finAPI party (package party), imported by the holdings
// workers into the same account and transaction records (package
// holdings) the Aggregation and OBP dialects read. This package adds what
// finAPI has and the others do not: integer ids, a name, stored (sealed)
// credentials, the update and categorization statuses with the busy rule,
// the demo bank, direct logins with credentials (provider.DirectLogin),
// and the categorized, integer-id view of the transactions that the
// categorization job builds after each download.
//
// The user's finAPI party is named after the token's subject (PartyID):
// "finapi-" and the first 32 hex digits of SHA-256(sub). It is a party like
// any other: its owner reads it through the Aggregation API too.
//
// Storage (docs/data-model.md, "finAPI"):
//
//	connection record  PK=PARTY#<party>  SK=FINAPI#CONN#<bank>   id, name, credentials, last manual update
//	categorization     PK=PARTY#<party>  SK=FINAPI#CAT#<bank>    state of the job, run it categorized
//	account record     PK=PARTY#<party>  SK=FINAPI#ACC#<acc>     integer id, bank, type, sums of its transactions
//	transaction views  PK=ACC#<acc>      SK=FTX#<seq÷128, 10 digits>  128 booked transactions, categorized (binary, view.go)
//	id counters        PK=FINAPI#SEQ     SK=CONN | ACC           the last integer id given
//
// So the party partition (one query) holds everything a bank connection,
// an account list or a page of transactions needs besides the
// transactions themselves, which are read in integer-id order from their
// account's partition (removing the account removes them).
package bankconn

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
)

// partyPrefix starts every finAPI party id.
const partyPrefix = "finapi-"

// PartyID is the finAPI party of the user with subject sub.
func PartyID(sub string) string {
	sum := sha256.Sum256([]byte(sub))
	return partyPrefix + hex.EncodeToString(sum[:16])
}

// IsPartyID reports whether partyID has the form of a finAPI party.
func IsPartyID(partyID string) bool {
	rest, ok := strings.CutPrefix(partyID, partyPrefix)
	if !ok || len(rest) != 32 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

// Sort-key prefixes of this package's items in the party partition.
const (
	connSKPrefix = "FINAPI#CONN#"
	catSKPrefix  = "FINAPI#CAT#"
	accSKPrefix  = "FINAPI#ACC#"
	txSKPrefix   = "FTX#"
)

func connKey(partyID, bankCode string) store.Key {
	return store.Key{PK: holdings.PartyPK(partyID), SK: connSKPrefix + bankCode}
}

func catKey(partyID, bankCode string) store.Key {
	return store.Key{PK: holdings.PartyPK(partyID), SK: catSKPrefix + bankCode}
}

func accKey(partyID, accountID string) store.Key {
	return store.Key{PK: holdings.PartyPK(partyID), SK: accSKPrefix + accountID}
}

// chunkKey is the key of a chunk of an account's transaction views
// (holdings id accountID; view.go).
func chunkKey(accountID string, chunk int64) store.Key {
	return store.Key{PK: holdings.AccountPK(accountID), SK: chunkSK(chunk)}
}

func chunkSK(chunk int64) string { return fmt.Sprintf("%s%010d", txSKPrefix, chunk) }

// lastChunkSK bounds the range of every chunk.
func lastChunkSK() string { return chunkSK(chunkOf(maxSeq)) }

// Integer ids. Connections and accounts are numbered by a counter each
// (1, 2, ...). A transaction's id is its account's id shifted left by
// seqBits, plus its sequence number within the account (0, 1, ... in the
// order the categorization job first saw it, which is booking order): so
// ids sort by account, then booking; a page of transactions in id order is
// a key range of one account partition; and the account of a transaction
// id is known without a lookup. Accounts get ids below 2^accountBits, so
// every id stays below 2^53 (what a JSON number holds exactly).
const (
	seqBits     = 27 // 134 million transactions per account
	accountBits = 53 - seqBits
	maxSeq      = 1<<seqBits - 1
	// MaxAccountID is the largest account id; MaxID the largest id of any
	// kind.
	MaxAccountID = 1<<accountBits - 1
	MaxID        = 1<<53 - 1
)

// TransactionID is the id of an account's transaction seq.
func TransactionID(accountID, seq int64) int64 { return accountID<<seqBits | seq }

// splitTransactionID is the inverse of TransactionID.
func splitTransactionID(id int64) (accountID, seq int64) { return id >> seqBits, id & maxSeq }

var seqKeys = map[string]store.Key{
	"conn": {PK: "FINAPI#SEQ", SK: "CONN"},
	"acc":  {PK: "FINAPI#SEQ", SK: "ACC"},
}

// Account type ids of finAPI (ImportBankConnectionParams.accountTypeIds).
const (
	TypeChecking   = 1
	TypeSavings    = 2
	TypeCreditCard = 3
	TypeSecurity   = 4
	TypeLoan       = 5
	TypePocket     = 6
	TypeMembership = 7
	TypeBausparen  = 8
)

// TypeNames are the names of the account types, by id.
var TypeNames = map[int]string{
	TypeChecking: "Checking", TypeSavings: "Savings", TypeCreditCard: "CreditCard", TypeSecurity: "Security",
	TypeLoan: "Loan", TypePocket: "Pocket", TypeMembership: "Membership", TypeBausparen: "Bausparen",
}

// typeOfNature maps a provider's account nature (Salt Edge) to finAPI's
// account type.
func typeOfNature(nature string) int {
	switch nature {
	case "savings", "deposit":
		return TypeSavings
	case "card", "credit_card", "debit_card", "credit":
		return TypeCreditCard
	case "investment", "bonus", "insurance":
		return TypeSecurity
	case "loan", "mortgage":
		return TypeLoan
	case "ewallet":
		return TypePocket
	}
	return TypeChecking
}

// connRecord is a finAPI bank connection's own record.
type connRecord struct {
	ID       int64    `json:"id"`
	BankCode string   `json:"bankCode"`
	Provider string   `json:"provider"`
	Bank     BankInfo `json:"bank"` // the directory's bank as at the import
	Name     *string  `json:"name,omitempty"`
	UserID   *string  `json:"userId,omitempty"`
	// CustomerNo is finAPI's bankingCustomerId.
	CustomerNo *string `json:"customerNo,omitempty"`
	// PIN is the sealed PIN (storePin, or set by an edit) and PINLen its
	// length in characters, for the masked form without opening it.
	PIN            *credential.Sealed `json:"pin,omitempty"`
	PINLen         int                `json:"pinLen,omitempty"`
	DefaultTwoStep *string            `json:"defaultTwoStep,omitempty"`
	// AccountTypes, when set at the import, are the account types finAPI
	// shows of this connection (the import downloads every account).
	AccountTypes []int `json:"accountTypes,omitempty"`
	// Manual is the last update the user asked for (import or update).
	Manual    *manualUpdate `json:"manual,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
	Version   int64         `json:"-"`
}

// manualUpdate is the last import or update the user asked for.
type manualUpdate struct {
	At    time.Time `json:"at"`
	RunID string    `json:"runId,omitempty"` // the holdings import run it queued
	// Rejected: the bank refused the login (Message is its text); no
	// import was queued.
	Rejected bool   `json:"rejected,omitempty"`
	Message  string `json:"message,omitempty"`
}

// pinAAD binds a sealed PIN to its connection record.
func pinAAD(partyID, bankCode string) string {
	k := connKey(partyID, bankCode)
	return k.PK + "|" + k.SK
}

// Categorization states (catRecord.State).
const (
	catPending = "pending" // a download finished; the job is queued
	catRunning = "running"
	catDone    = "done"
	catFailed  = "failed" // gave up after maxCatAttempts: not busy any more
)

// catRecord is the state of a connection's categorization job.
type catRecord struct {
	State     string    `json:"state"`
	RunID     string    `json:"runId"` // the import run whose download it categorizes
	Step      int       `json:"step"`
	Attempts  int       `json:"attempts,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"-"`
}

// accRecord is a finAPI account: its integer id and, kept by the
// categorization job, the sums of its transaction views.
type accRecord struct {
	ID        int64  `json:"id"`
	AccountID string `json:"accountId"` // holdings id
	BankCode  string `json:"bankCode"`
	TypeID    int    `json:"typeId"`
	// Count is the number of transaction views (sequence numbers 0 to
	// Count-1); Income and Spending their sums of credits and debits.
	Count    int64           `json:"count"`
	Income   decimal.Decimal `json:"income"`
	Spending decimal.Decimal `json:"spending"`
	Version  int64           `json:"-"`
}

// txView is a categorized transaction as finAPI lists it (a copy of the
// holdings record's fields finAPI shows, with its sequence number and
// category), stored as a binary record (view.go).
type txView struct {
	Seq          int64
	HoldingsID   string
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

func encode(k store.Key, v any, version int64) (store.Item, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode %s: %w", k, err)
	}
	return store.Item{PK: k.PK, SK: k.SK, Version: version, Data: b}, nil
}

func decode[T any](it store.Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", it.Key(), err)
	}
	return v, nil
}
