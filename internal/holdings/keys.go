package holdings

import (
	"strings"
	"time"

	"github.com/openagg/openagg/internal/store"
)

// Keys and decoders for readers that batch holdings items with other
// domains' items in one store call (the OBP account query,
// internal/account): the layout stays this package's.

// TxKey is the key of a transaction item.
func TxKey(accountID, txID string) store.Key {
	return store.Key{PK: AccountPK(accountID), SK: TxSK(txID)}
}

// CounterpartyKey is the key of an entry of an account's counterparty
// directory.
func CounterpartyKey(accountID, counterpartyID string) store.Key {
	return store.Key{PK: AccountPK(accountID), SK: CounterpartySK(counterpartyID)}
}

// TxIDOf returns the transaction id of an item of the account partition
// or of the transactions-by-date index; ok is false for an item that is not
// a transaction (other packages index their items beside transactions).
func TxIDOf(it store.Item) (id string, ok bool) {
	if !strings.HasPrefix(it.SK, TxSKPrefix) {
		return "", false
	}
	return it.SK[len(TxSKPrefix):], true
}

// TxByDateQuery is the index query of an account's transactions by
// completed date (GSI1 ACC#<acc>#TXD), from and to inclusive (zero: open),
// newest first when desc. Items other packages index beside a transaction
// (GSI1SK <completed>#<tx>#...) fall in the same range as the transaction.
// Limit and Token are the caller's.
func TxByDateQuery(accountID string, from, to time.Time, desc bool) store.Query {
	q := store.Query{Index: store.IndexGSI1, PK: TxByDateGSI1PK(accountID), Desc: desc}
	if !from.IsZero() {
		// "<time>" sorts before every "<time>#..." of that instant.
		q.From = SortTime(from)
	}
	if !to.IsZero() {
		// '$' follows '#': after every "<time>#..." of that instant.
		q.To = SortTime(to) + "$"
	}
	return q
}

// DecodeTransaction decodes a transaction item.
func DecodeTransaction(it store.Item) (Transaction, error) { return decodeTransaction(it) }
