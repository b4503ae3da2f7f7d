// Package store is the single-table port: a narrow item API over one table with
// a partition key (PK), a sort key (SK) and one overloaded index (GSI1).
//
// Callers (domain packages) depend on this package only; main wires a driver
// (store/bolt or store/dynamo). Every driver passes store/storetest.
//
// An Item is opaque to the store apart from its keys and version: domain
// packages keep their record as JSON in Data, so both drivers store and return
// exactly the same bytes.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/fault"
)

// Portable error codes. Drivers wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the item does not exist.
	ErrNotFound = errors.New("store: item not found")
	// ErrConditionFailed: a put/update/delete condition did not hold.
	ErrConditionFailed = errors.New("store: condition failed")
	// ErrInvalidToken: a continuation token was malformed, tampered with or
	// used with a different query.
	ErrInvalidToken = errors.New("store: invalid continuation token")
	// ErrTooLarge: an item exceeds MaxItemSize or a transaction MaxTransactItems.
	ErrTooLarge = errors.New("store: too large")
	// ErrInvalid: a request the store cannot serve (empty key, bad index...).
	ErrInvalid = errors.New("store: invalid request")
	// ErrBusy: the database refused the request for load (throttling,
	// a server error) after the driver's retries. The same request may
	// succeed in a moment: a job retries it, an API answers 503.
	ErrBusy = fault.New(fault.Busy, "store: busy")
)

const (
	// IndexGSI1 is the name of the overloaded global secondary index.
	IndexGSI1 = "GSI1"
	// MaxItemSize mirrors DynamoDB's 400 KB item limit (keys + data).
	MaxItemSize = 400 * 1024
	// MaxTransactItems mirrors DynamoDB's TransactWriteItems limit.
	MaxTransactItems = 100
	// MaxBatchGet mirrors DynamoDB's BatchGetItem limit per call; BatchGet
	// accepts any number and chunks.
	MaxBatchGet = 100
)

// Key addresses one item.
type Key struct {
	PK string
	SK string
}

func (k Key) String() string { return k.PK + "|" + k.SK }

// Item is one record of the table.
type Item struct {
	PK string
	SK string
	// GSI1PK/GSI1SK place the item in the overloaded index; empty means the
	// item is not indexed.
	GSI1PK string
	GSI1SK string
	// Version is the optimistic-locking counter. Put stores it as given;
	// Update checks and increments it.
	Version int64
	// TTL, when non-zero, is the Unix time (seconds) after which the item may
	// be removed by the store (DynamoDB TTL). Reads do not hide expired items:
	// domain code checks expiry itself.
	TTL int64
	// Data is the domain record, usually JSON.
	Data []byte
}

// Key returns the item's primary key.
func (it Item) Key() Key { return Key{PK: it.PK, SK: it.SK} }

// CondKind says what must hold for a write to happen.
type CondKind int

const (
	// CondNone: unconditional.
	CondNone CondKind = iota
	// CondNotExists: the item must not exist.
	CondNotExists
	// CondExists: the item must exist.
	CondExists
	// CondVersion: the item must exist and have Version == Condition.Version.
	CondVersion
)

// Condition guards a write.
type Condition struct {
	Kind    CondKind
	Version int64
}

// IfNotExists is the condition "item must not exist".
func IfNotExists() Condition { return Condition{Kind: CondNotExists} }

// IfExists is the condition "item must exist".
func IfExists() Condition { return Condition{Kind: CondExists} }

// IfVersion is the condition "item must exist with this version".
func IfVersion(v int64) Condition { return Condition{Kind: CondVersion, Version: v} }

// Query reads one partition of the table (Index "") or of GSI1 (Index
// IndexGSI1), ordered by sort key as bytes (UTF-8), ascending unless Desc.
//
// Sort-key selection: SKPrefix (begins_with), or a range From..To (both
// inclusive; either may be empty for an open end). Setting both a prefix and
// a range is invalid.
type Query struct {
	Index    string
	PK       string
	SKPrefix string
	From     string
	To       string
	Desc     bool
	// Limit is the maximum number of items in the page; 0 means the driver's
	// default (1000).
	Limit int
	// Token continues a previous query; it must come from the same query.
	Token string
}

// Page is one page of a query.
type Page struct {
	Items []Item
	// Next is empty when there are no more items.
	Next string
}

// TxOp is one operation of a transaction: a Put of Item, a Delete of Key,
// or a ConditionCheck (Check true) of Key against Cond.
type TxOp struct {
	Put    *Item
	Delete *Key
	Check  bool
	Key    Key
	Cond   Condition
}

// TxPut is a transactional put.
func TxPut(it Item, c Condition) TxOp { return TxOp{Put: &it, Cond: c} }

// TxDelete is a transactional delete.
func TxDelete(k Key, c Condition) TxOp { return TxOp{Delete: &k, Cond: c} }

// TxCheck is a transactional condition check on an item that is not written.
func TxCheck(k Key, c Condition) TxOp { return TxOp{Check: true, Key: k, Cond: c} }

// OpKey returns the key the op touches.
func (op TxOp) OpKey() Key {
	switch {
	case op.Put != nil:
		return op.Put.Key()
	case op.Delete != nil:
		return *op.Delete
	default:
		return op.Key
	}
}

// TxError reports that a transaction was not applied because the condition
// of op Index failed. It matches ErrConditionFailed with errors.Is.
type TxError struct {
	Index int
	Key   Key
}

func (e *TxError) Error() string {
	return fmt.Sprintf("store: transaction condition %d (%s) failed", e.Index, e.Key)
}

// Is makes errors.Is(err, ErrConditionFailed) true.
func (e *TxError) Is(target error) bool { return target == ErrConditionFailed }

// Store is the port every driver implements with identical semantics.
type Store interface {
	// Get returns the item or ErrNotFound.
	Get(ctx context.Context, k Key) (Item, error)
	// BatchGet returns the items that exist among keys (any number; chunked
	// by the driver), in no particular order. Missing keys are simply absent.
	BatchGet(ctx context.Context, keys []Key) ([]Item, error)
	// Put writes the whole item if cond holds, else ErrConditionFailed.
	Put(ctx context.Context, it Item, cond Condition) error
	// Update writes the item if the stored version equals it.Version and
	// stores it with Version+1, returning the new version. A missing item or
	// another version is ErrConditionFailed.
	Update(ctx context.Context, it Item) (int64, error)
	// Delete removes the item if cond holds. Deleting a missing item with
	// CondNone is not an error.
	Delete(ctx context.Context, k Key, cond Condition) error
	// Query reads one page of a partition (or of the GSI1 partition).
	Query(ctx context.Context, q Query) (Page, error)
	// TokenAfter is the continuation token of q that starts right after
	// it, an item q returned: for a caller that keeps only some of a
	// page's items (the others belong to another package) and must end
	// its own page at the last one it kept. No store call.
	TokenAfter(q Query, it Item) string
	// BatchWrite puts and deletes any number of items, unconditionally, in
	// chunks of 25, retrying unprocessed items with backoff. It is not
	// atomic across chunks.
	BatchWrite(ctx context.Context, puts []Item, deletes []Key) error
	// Transact applies up to MaxTransactItems ops all-or-nothing; a failed
	// condition returns *TxError naming the op. No two ops may touch the
	// same key.
	Transact(ctx context.Context, ops []TxOp) error
}

// ItemSize approximates DynamoDB's item size: attribute names plus values.
func ItemSize(it Item) int {
	n := 2 + len(it.PK) + 2 + len(it.SK) + 1 + len(it.Data) + 8
	if it.GSI1PK != "" {
		n += 6 + len(it.GSI1PK) + 6 + len(it.GSI1SK)
	}
	if it.TTL != 0 {
		n += 3 + 8
	}
	return n
}

// Validate checks what every driver must refuse before touching storage.
func Validate(it Item) error {
	if err := ValidateKey(it.Key()); err != nil {
		return err
	}
	if (it.GSI1PK == "") != (it.GSI1SK == "") {
		return fmt.Errorf("%w: GSI1PK and GSI1SK must be set together", ErrInvalid)
	}
	if err := validateIndexKeys(it); err != nil {
		return err
	}
	if ItemSize(it) > MaxItemSize {
		return fmt.Errorf("%w: item %s|%s is %d bytes", ErrTooLarge, it.PK, it.SK, ItemSize(it))
	}
	return nil
}
