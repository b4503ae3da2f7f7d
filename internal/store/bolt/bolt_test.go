package bolt_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/storetest"
)

func open(tb testing.TB) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "store.db"), bolt.Options{TokenSecret: []byte("storetest-secret-0123456789")})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return open(b) })
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	opts := bolt.Options{TokenSecret: []byte("reopen-secret-0123456789")}
	s, err := bolt.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	it := store.Item{PK: "p", SK: "s", GSI1PK: "g", GSI1SK: "1", Version: 4, TTL: 99, Data: []byte("durable")}
	if err := s.Put(t.Context(), it, store.IfNotExists()); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), store.Item{PK: "p", SK: "t"}, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	page, err := s.Query(t.Context(), store.Query{PK: "p", Limit: 1})
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v, %v", page, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = bolt.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(t.Context(), it.Key())
	if err != nil || string(got.Data) != "durable" || got.Version != 4 || got.TTL != 99 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	idx, err := s.Query(t.Context(), store.Query{Index: store.IndexGSI1, PK: "g"})
	if err != nil || len(idx.Items) != 1 {
		t.Fatalf("index after reopen: %+v, %v", idx, err)
	}
	// Same secret: a token from before the restart still works.
	next, err := s.Query(t.Context(), store.Query{PK: "p", Limit: 1, Token: page.Next})
	if err != nil || len(next.Items) != 1 || next.Items[0].SK != "t" {
		t.Fatalf("token across restart: %+v, %v", next, err)
	}
}

func TestTokenFromOtherSecret(t *testing.T) {
	a, b := open(t), open(t)
	other, err := bolt.Open(filepath.Join(t.TempDir(), "other.db"), bolt.Options{TokenSecret: []byte("another-secret-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, s := range []*bolt.Store{a, b, other} {
		if err := s.BatchWrite(t.Context(), []store.Item{{PK: "p", SK: "1"}, {PK: "p", SK: "2"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	q := store.Query{PK: "p", Limit: 1}
	page, err := a.Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	q.Token = page.Next
	if _, err := b.Query(t.Context(), q); err != nil {
		t.Fatalf("token on a store with the same secret: %v", err)
	}
	if _, err := other.Query(t.Context(), q); !errors.Is(err, store.ErrInvalidToken) {
		t.Fatalf("token on a store with another secret: err = %v, want ErrInvalidToken", err)
	}
}

func TestSharedFile(t *testing.T) {
	s := open(t)
	err := s.DB().Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("queue/jobs"))
		if err != nil {
			return err
		}
		return b.Put([]byte("job"), []byte("payload"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), store.Item{PK: "p", SK: "s"}, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	_ = s.DB().View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	want := []string{"queue/jobs", bolt.BucketGSI1, bolt.BucketItems, bolt.BucketMeta}
	if !slices.Equal(names, want) {
		t.Fatalf("buckets %q, want %q", names, want)
	}
	for _, n := range []string{bolt.BucketItems, bolt.BucketGSI1, bolt.BucketMeta} {
		if !strings.HasPrefix(n, "store/") {
			t.Fatalf("bucket %q outside the reserved store/ prefix", n)
		}
	}
}

func TestFileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := bolt.Open(path, bolt.Options{Timeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
}

// TestCalls: the bolt store counts what DynamoDB would have been asked.
func TestCalls(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	items := make([]store.Item, 60)
	keys := make([]store.Key, 150)
	for i := range keys {
		keys[i] = store.Key{PK: "calls", SK: fmt.Sprintf("%03d", i)}
		if i < len(items) {
			items[i] = store.Item{PK: "calls", SK: keys[i].SK}
		}
	}
	steps := []struct {
		name string
		do   func() error
		want int64
	}{
		{"batch write of 60", func() error { return s.BatchWrite(ctx, items, nil) }, 3},
		{"batch get of 150", func() error { _, err := s.BatchGet(ctx, keys); return err }, 2},
		{"get", func() error { _, err := s.Get(ctx, keys[0]); return err }, 1},
		{"query", func() error { _, err := s.Query(ctx, store.Query{PK: "calls"}); return err }, 1},
		{"update", func() error { _, err := s.Update(ctx, items[0]); return err }, 1},
		{"transact", func() error {
			return s.Transact(ctx, []store.TxOp{store.TxCheck(keys[0], store.IfExists()), store.TxDelete(keys[1], store.Condition{})})
		}, 1},
	}
	for _, st := range steps {
		before := s.Calls()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Calls() - before; got != st.want {
			t.Fatalf("%s: %d calls, want %d", st.name, got, st.want)
		}
	}
}
