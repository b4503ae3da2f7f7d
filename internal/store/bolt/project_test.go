package bolt

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/store"
)

// TestProjectIndex: a file whose index values are the items' keys (as
// written before the index held copies), or a mix of both after an
// interrupted conversion, is converted on Open, in several chunks; index
// queries then return the items as stored.
func TestProjectIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	opts := Options{TokenSecret: []byte("project-secret-0123456789")}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const n = 2*projectChunk + 123
	items := make([]store.Item, n)
	for i := range items {
		items[i] = store.Item{PK: fmt.Sprintf("P#%d", i%7), SK: fmt.Sprintf("S#%05d", i), Version: int64(i), Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}
		if i%3 != 0 { // every third item is not indexed
			items[i].GSI1PK, items[i].GSI1SK = "G", fmt.Sprintf("%05d", n-i)
		}
	}
	if err := s.BatchWrite(ctx, items, nil); err != nil {
		t.Fatal(err)
	}
	want, err := s.Query(ctx, store.Query{Index: store.IndexGSI1, PK: "G", Limit: 1000})
	if err != nil || len(want.Items) != 1000 {
		t.Fatalf("query: %v, %d items", err, len(want.Items))
	}

	for _, mixed := range []bool{false, true} {
		// Back to the old layout: index values are item keys, no marker
		// (mixed: only every other entry, as a conversion stopped half way
		// would leave it).
		err = s.db.Update(func(tx *bbolt.Tx) error {
			gsi := tx.Bucket([]byte(BucketGSI1))
			i := 0
			err := gsi.ForEach(func(k, v []byte) error {
				i++
				if mixed && i%2 == 0 {
					return nil
				}
				it, err := decodeItem(v)
				if err != nil {
					return err
				}
				return gsi.Put(bytes.Clone(k), itemKey(it.PK, it.SK))
			})
			if err != nil {
				return err
			}
			return tx.Bucket([]byte(BucketMeta)).Delete([]byte(metaIndexValues))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = Open(path, opts); err != nil {
			t.Fatal(err)
		}
		got, err := s.Query(ctx, store.Query{Index: store.IndexGSI1, PK: "G", Limit: 1000})
		if err != nil || len(got.Items) != len(want.Items) {
			t.Fatalf("mixed=%t: %v, %d items", mixed, err, len(got.Items))
		}
		for i := range got.Items {
			g, w := got.Items[i], want.Items[i]
			if g.PK != w.PK || g.SK != w.SK || g.GSI1SK != w.GSI1SK || g.Version != w.Version || !bytes.Equal(g.Data, w.Data) {
				t.Fatalf("mixed=%t: item %d: %+v, want %+v", mixed, i, g, w)
			}
		}
		entries := 0
		_ = s.db.View(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(BucketGSI1)).ForEach(func(_, v []byte) error {
				entries++
				if _, err := parseItem(v); err != nil {
					t.Fatalf("mixed=%t: index value %q is not an item", mixed, v)
				}
				return nil
			})
		})
		if entries != n-(n+2)/3 {
			t.Fatalf("mixed=%t: %d index entries", mixed, entries)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
