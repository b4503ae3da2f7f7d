package bolt

import (
	"bytes"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/store"
)

// The index holds a copy of each indexed item (DynamoDB's projection ALL):
// an index query reads its items in the same cursor pass, without a lookup
// in store/items per entry. Files written before the index held copies
// (its values were the items' keys) are converted when opened.
const (
	// BucketMeta holds the store's own settings.
	BucketMeta = "store/meta"
	// metaIndexValues says what the index values are; indexValuesItems:
	// the items themselves.
	metaIndexValues  = "gsi1-values"
	indexValuesItems = "items"
	// projectChunk bounds the items one conversion transaction rewrites.
	projectChunk = 5000
)

// projectIndex makes the index hold copies of the items, unless the file
// says it does: it rewrites the index entry of every indexed item, in
// chunks, then records it. Stopped half way, it starts again on the next
// Open (rewriting an entry is idempotent).
func projectIndex(db *bbolt.DB) error {
	done := false
	err := db.View(func(tx *bbolt.Tx) error {
		done = string(tx.Bucket([]byte(BucketMeta)).Get([]byte(metaIndexValues))) == indexValuesItems
		return nil
	})
	if err != nil || done {
		return err
	}
	var from []byte // the first item key of the next chunk; nil: the start
	for {
		err := db.Update(func(tx *bbolt.Tx) error {
			w := newWriter(tx)
			c := w.items.Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for n := 0; k != nil; k, v = c.Next() {
				if n == projectChunk {
					from = bytes.Clone(k)
					return nil
				}
				n++
				gpk, gsk, _, err := decodeHeader(v)
				if err != nil {
					return fmt.Errorf("item %x: %w", k, err)
				}
				if gpk == "" {
					continue
				}
				pk, sk, err := splitItemKey(k)
				if err != nil {
					return err
				}
				if err := w.gsi.Put(gsiKey(store.Item{PK: pk, SK: sk, GSI1PK: gpk, GSI1SK: gsk}), bytes.Clone(v)); err != nil {
					return fmt.Errorf("index %s %s: %w", pk, sk, err)
				}
			}
			from = nil
			return tx.Bucket([]byte(BucketMeta)).Put([]byte(metaIndexValues), []byte(indexValuesItems))
		})
		if err != nil {
			return fmt.Errorf("copy items into the index: %w", err)
		}
		if from == nil {
			return nil
		}
	}
}
