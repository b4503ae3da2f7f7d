package storetest

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

// Counted is a driver's store with its own round-trip counter (both
// drivers count the calls DynamoDB would make).
type Counted interface {
	store.Store
	Calls() int64
}

// Driver opens a fresh, empty store of one driver for a test; the store is
// closed or dropped when the test ends.
type Driver struct {
	Name string // the subtest name: "bolt" or "dynamo"
	Open func(t testing.TB) Counted
}

// Drivers are the embedded bbolt driver on a temp file and the DynamoDB
// driver on a fresh moto table named after prefix. The test binary's
// TestMain must run mototest.Run; without moto_server the dynamo subtests
// skip (or fail under CI=true), as mototest says.
func Drivers(prefix string, tokenSecret []byte) []Driver {
	return []Driver{
		{"bolt", func(t testing.TB) Counted {
			t.Helper()
			s, err := bolt.Open(filepath.Join(t.TempDir(), prefix+".db"), bolt.Options{TokenSecret: tokenSecret})
			if err != nil {
				t.Fatalf("open bolt: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"dynamo", func(t testing.TB) Counted {
			t.Helper()
			return dynamotest.Store(t, prefix, tokenSecret)
		}},
	}
}

// Counter wraps a store and counts the round trips made through it, reads
// (Get, BatchGet, Query, QueryLent) and writes apart, so handler tests can
// hold each request to its store budget.
type Counter struct {
	store.Store
	Reads, Writes atomic.Int64
}

// Reset zeroes both counters.
func (c *Counter) Reset() { c.Reads.Store(0); c.Writes.Store(0) }

func (c *Counter) Get(ctx context.Context, k store.Key) (store.Item, error) {
	c.Reads.Add(1)
	return c.Store.Get(ctx, k)
}

func (c *Counter) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	c.Reads.Add(1)
	return c.Store.BatchGet(ctx, keys)
}

func (c *Counter) Query(ctx context.Context, q store.Query) (store.Page, error) {
	c.Reads.Add(1)
	return c.Store.Query(ctx, q)
}

// QueryLent counts a lent query as one read and lends what the driver lends
// (store.QueryWith), so the embedded driver's lending path is what runs.
func (c *Counter) QueryLent(ctx context.Context, q store.Query, fn func(store.Page) error) error {
	c.Reads.Add(1)
	return store.QueryWith(ctx, c.Store, q, fn)
}

func (c *Counter) Put(ctx context.Context, it store.Item, cond store.Condition) error {
	c.Writes.Add(1)
	return c.Store.Put(ctx, it, cond)
}

func (c *Counter) Update(ctx context.Context, it store.Item) (int64, error) {
	c.Writes.Add(1)
	return c.Store.Update(ctx, it)
}

func (c *Counter) Delete(ctx context.Context, k store.Key, cond store.Condition) error {
	c.Writes.Add(1)
	return c.Store.Delete(ctx, k, cond)
}

func (c *Counter) BatchWrite(ctx context.Context, puts []store.Item, dels []store.Key) error {
	c.Writes.Add(1)
	return c.Store.BatchWrite(ctx, puts, dels)
}

func (c *Counter) Transact(ctx context.Context, ops []store.TxOp) error {
	c.Writes.Add(1)
	return c.Store.Transact(ctx, ops)
}
