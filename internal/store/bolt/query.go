package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/store"
)

// Query implements store.Store. It walks one bucket between two encoded
// bounds, lo inclusive and hi exclusive, forwards or backwards, and reads
// one item past the page to know whether a continuation token is needed.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	var page store.Page
	err := s.query(ctx, q, false, func(p store.Page) error {
		page = p
		return nil
	})
	return page, err
}

var _ store.Lender = (*Store)(nil)

// QueryLent implements store.Lender: the items' Data are slices of the
// memory-mapped file (read-only: writing to them faults), valid while fn
// runs inside the read transaction.
func (s *Store) QueryLent(ctx context.Context, q store.Query, fn func(store.Page) error) error {
	return s.query(ctx, q, true, fn)
}

// errLent marks an error of a QueryLent callback, returned unwrapped.
type errLent struct{ err error }

func (e errLent) Error() string { return e.err.Error() }

// query is Query, or QueryLent when lend is set; fn runs inside the read
// transaction.
func (s *Store) query(ctx context.Context, q store.Query, lend bool, fn func(store.Page) error) error {
	s.count(ctx, 1)
	if err := store.ValidateQuery(q); err != nil {
		return fmt.Errorf("query %s: %w", q.PK, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("query %s: %w", q.PK, err)
	}
	index := q.Index == store.IndexGSI1
	lo, hi := bounds(q)
	if q.Token != "" {
		last, err := s.resumeKey(q)
		if err != nil {
			return fmt.Errorf("query %s: %w", q.PK, err)
		}
		if q.Desc {
			if bytes.Compare(last, hi) < 0 {
				hi = last
			}
		} else if next := append(last, 0); bytes.Compare(next, lo) > 0 {
			lo = next
		}
	}
	limit := store.PageLimit(q)
	err := s.db.View(func(tx *bbolt.Tx) error {
		bucket := tx.Bucket([]byte(BucketItems))
		if index {
			bucket = tx.Bucket([]byte(BucketGSI1))
		}
		c := bucket.Cursor()
		var k, v []byte
		step := c.Next
		if q.Desc {
			step = c.Prev
			if k, _ = c.Seek(hi); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Seek(lo)
		}
		// The values stay valid until the transaction ends: collect them,
		// then copy the page out at once (decodeItems).
		vals := make([][]byte, 0, min(limit, firstPageCap))
		more := false
		for ; k != nil && bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0; k, v = step() {
			if len(vals) == limit {
				more = true
				break
			}
			// An index entry's value is a copy of the item (project.go).
			vals = append(vals, v)
		}
		var page store.Page
		var err error
		if page.Items, err = decodeItems(vals, lend); err != nil {
			return err
		}
		if more {
			page.Next = s.tokens.Seal(q, store.PageKey(q, page.Items[limit-1]))
		}
		if err := fn(page); err != nil {
			return errLent{err}
		}
		return nil
	})
	if e := (errLent{}); errors.As(err, &e) {
		return e.err
	}
	if err != nil {
		return fmt.Errorf("query %s: %w", q.PK, err)
	}
	return nil
}

// firstPageCap is the capacity a query's page starts with: pages are
// usually far smaller than their limit (up to 1,000).
const firstPageCap = 128

// bounds returns the encoded key range [lo, hi) selected by q.
func bounds(q store.Query) (lo, hi []byte) {
	base := appendComponent(nil, q.PK)
	whole := successor(base) // never nil: base ends with the terminator
	index := q.Index == store.IndexGSI1
	// sortKey encodes a sort-key bound: raw on the table (SK is the last
	// component), escaped in the index (GSI1SK is followed by PK and SK).
	sortKey := func(s string) []byte {
		b := append([]byte(nil), base...)
		if index {
			return appendEscaped(b, s)
		}
		return append(b, s...)
	}
	switch {
	case q.SKPrefix != "":
		lo = sortKey(q.SKPrefix)
		hi = successor(lo)
	default:
		lo = sortKey(q.From)
		hi = whole
		if q.To != "" {
			// Just past every key whose sort key is To: on the table the
			// next string is To+0x00; in the index every entry of To starts
			// with esc(To) 0x00 0x01, and esc(To) 0x00 0x02 follows them.
			if index {
				hi = append(sortKey(q.To), escByte, escEnd+1)
			} else {
				hi = append(sortKey(q.To), 0)
			}
		}
	}
	if hi == nil || bytes.Compare(hi, whole) > 0 {
		hi = whole
	}
	return lo, hi
}

// resumeKey opens q.Token and returns the encoded key of the last item read.
func (s *Store) resumeKey(q store.Query) ([]byte, error) {
	k, err := s.tokens.Open(q, q.Token)
	if err != nil {
		return nil, err
	}
	if err := store.ValidatePageKey(q, k); err != nil {
		return nil, err
	}
	if q.Index != store.IndexGSI1 {
		return itemKey(k["PK"], k["SK"]), nil
	}
	return gsiKey(store.Item{PK: k["PK"], SK: k["SK"], GSI1PK: k["GSI1PK"], GSI1SK: k["GSI1SK"]}), nil
}

// TokenAfter implements store.Store.
func (s *Store) TokenAfter(q store.Query, it store.Item) string {
	return s.tokens.Seal(q, store.PageKey(q, it))
}
