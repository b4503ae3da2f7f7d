package store

import (
	"fmt"
	"unicode/utf8"
)

// Limits every driver enforces before touching storage, so that a request
// the local driver accepts is one DynamoDB accepts too.
const (
	// MaxPartitionKeySize and MaxSortKeySize are DynamoDB's key limits in
	// bytes (PK and GSI1PK; SK and GSI1SK).
	MaxPartitionKeySize = 2048
	MaxSortKeySize      = 1024
	// MaxTransactSize mirrors DynamoDB's 4 MB aggregate limit of one
	// TransactWriteItems call.
	MaxTransactSize = 4 * 1024 * 1024
	// DefaultLimit is the page size of a Query with Limit 0.
	DefaultLimit = 1000
)

// ValidateKey checks a primary key: both parts set, valid UTF-8 (DynamoDB's
// JSON protocol would silently mangle anything else) and within DynamoDB's
// key size limits.
func ValidateKey(k Key) error {
	if k.PK == "" || k.SK == "" {
		return fmt.Errorf("%w: empty PK or SK", ErrInvalid)
	}
	if err := checkKeyString("PK", k.PK, MaxPartitionKeySize); err != nil {
		return err
	}
	return checkKeyString("SK", k.SK, MaxSortKeySize)
}

func checkKeyString(name, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrInvalid, name, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, name)
	}
	return nil
}

// validateIndexKeys checks GSI1PK/GSI1SK of an item that has them.
func validateIndexKeys(it Item) error {
	if it.GSI1PK == "" {
		return nil
	}
	if err := checkKeyString("GSI1PK", it.GSI1PK, MaxPartitionKeySize); err != nil {
		return err
	}
	return checkKeyString("GSI1SK", it.GSI1SK, MaxSortKeySize)
}

// ValidateCondition checks that cond is one of the known kinds.
func ValidateCondition(cond Condition) error {
	switch cond.Kind {
	case CondNone, CondNotExists, CondExists, CondVersion:
		return nil
	default:
		return fmt.Errorf("%w: unknown condition kind %d", ErrInvalid, cond.Kind)
	}
}

// ValidateQuery checks a query and its sort-key selection.
func ValidateQuery(q Query) error {
	if q.Index != "" && q.Index != IndexGSI1 {
		return fmt.Errorf("%w: unknown index %q", ErrInvalid, q.Index)
	}
	if q.PK == "" {
		return fmt.Errorf("%w: query without partition key", ErrInvalid)
	}
	if err := checkKeyString("PK", q.PK, MaxPartitionKeySize); err != nil {
		return err
	}
	for _, s := range []struct{ name, v string }{{"SKPrefix", q.SKPrefix}, {"From", q.From}, {"To", q.To}} {
		if err := checkKeyString(s.name, s.v, MaxSortKeySize); err != nil {
			return err
		}
	}
	if q.SKPrefix != "" && (q.From != "" || q.To != "") {
		return fmt.Errorf("%w: query with both a prefix and a range", ErrInvalid)
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		return fmt.Errorf("%w: query range %q..%q is empty", ErrInvalid, q.From, q.To)
	}
	if q.Limit < 0 {
		return fmt.Errorf("%w: negative limit %d", ErrInvalid, q.Limit)
	}
	return nil
}

// PageLimit is the number of items a page of q may hold.
func PageLimit(q Query) int {
	if q.Limit == 0 {
		return DefaultLimit
	}
	return q.Limit
}

// ValidateTransact checks a transaction: at most MaxTransactItems ops and
// MaxTransactSize bytes, every op well formed, no key touched twice.
func ValidateTransact(ops []TxOp) error {
	if len(ops) > MaxTransactItems {
		return fmt.Errorf("%w: transaction of %d ops, limit %d", ErrTooLarge, len(ops), MaxTransactItems)
	}
	seen := make(map[Key]int, len(ops))
	size := 0
	for i, op := range ops {
		n := 0
		if op.Put != nil {
			n++
		}
		if op.Delete != nil {
			n++
		}
		if op.Check {
			n++
		}
		if n != 1 {
			return fmt.Errorf("%w: transaction op %d must be exactly one of put, delete, check", ErrInvalid, i)
		}
		if err := ValidateCondition(op.Cond); err != nil {
			return fmt.Errorf("transaction op %d: %w", i, err)
		}
		if op.Check && op.Cond.Kind == CondNone {
			return fmt.Errorf("%w: transaction check %d without condition", ErrInvalid, i)
		}
		k := op.OpKey()
		if op.Put != nil {
			if err := Validate(*op.Put); err != nil {
				return fmt.Errorf("transaction op %d: %w", i, err)
			}
			size += ItemSize(*op.Put)
		} else {
			if err := ValidateKey(k); err != nil {
				return fmt.Errorf("transaction op %d: %w", i, err)
			}
			size += len(k.PK) + len(k.SK) + 4
		}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%w: transaction ops %d and %d both touch %s", ErrInvalid, j, i, k)
		}
		seen[k] = i
	}
	if size > MaxTransactSize {
		return fmt.Errorf("%w: transaction of %d bytes, limit %d", ErrTooLarge, size, MaxTransactSize)
	}
	return nil
}

// ValidateBatch checks a batch write: every item valid and no key written
// twice (DynamoDB refuses duplicates within a request and the order of
// writes across chunks is not defined).
func ValidateBatch(puts []Item, deletes []Key) error {
	seen := make(map[Key]struct{}, len(puts)+len(deletes))
	for i, it := range puts {
		if err := Validate(it); err != nil {
			return fmt.Errorf("batch put %d: %w", i, err)
		}
		if _, dup := seen[it.Key()]; dup {
			return fmt.Errorf("%w: batch writes %s twice", ErrInvalid, it.Key())
		}
		seen[it.Key()] = struct{}{}
	}
	for i, k := range deletes {
		if err := ValidateKey(k); err != nil {
			return fmt.Errorf("batch delete %d: %w", i, err)
		}
		if _, dup := seen[k]; dup {
			return fmt.Errorf("%w: batch writes %s twice", ErrInvalid, k)
		}
		seen[k] = struct{}{}
	}
	return nil
}

// PageKey is what a continuation token remembers of the last item of a
// page: its table key, plus its index key on GSI1 — exactly the attributes
// of DynamoDB's LastEvaluatedKey, so every driver seals the same shape.
func PageKey(q Query, it Item) map[string]string {
	k := map[string]string{"PK": it.PK, "SK": it.SK}
	if q.Index == IndexGSI1 {
		k["GSI1PK"] = it.GSI1PK
		k["GSI1SK"] = it.GSI1SK
	}
	return k
}

// ValidatePageKey checks that a key opened from a token has PageKey's shape
// for q and lies in q's partition.
func ValidatePageKey(q Query, k map[string]string) error {
	want := []string{"PK", "SK"}
	partition := "PK"
	if q.Index == IndexGSI1 {
		want = append(want, "GSI1PK", "GSI1SK")
		partition = "GSI1PK"
	}
	if len(k) != len(want) {
		return ErrInvalidToken
	}
	for _, name := range want {
		if _, ok := k[name]; !ok {
			return ErrInvalidToken
		}
	}
	if k[partition] != q.PK {
		return ErrInvalidToken
	}
	return nil
}
