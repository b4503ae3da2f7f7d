// Package bolt is the embedded driver of the store port: one bbolt file,
// durable (bbolt fsyncs every committed transaction), with DynamoDB's
// semantics as pinned down by store/storetest.
//
// The file can be shared: DB exposes the *bbolt.DB so another embedded
// component (the local queue) keeps its own buckets in the same file. The
// store only uses the buckets named by BucketItems, BucketGSI1 and
// BucketMeta; every bucket name starting with "store/" is reserved for this
// package.
package bolt

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/store"
)

// Bucket names owned by the store. Other users of DB must not use names
// starting with "store/".
const (
	BucketItems = "store/items"
	BucketGSI1  = "store/gsi1"
)

// writeChunk is how many writes of a BatchWrite share one bbolt transaction
// (and so one fsync). Big enough to amortise the fsync, small enough to keep
// a transaction's dirty pages bounded.
const writeChunk = 1000

// Options configures Open.
type Options struct {
	// TokenSecret signs continuation tokens. Empty means a random secret
	// per Open: tokens then do not survive a restart, which is acceptable
	// for a single local process.
	TokenSecret []byte
	// Timeout bounds the wait for the file lock held by another process;
	// 0 means 5 s.
	Timeout time.Duration
}

// Store is the bbolt driver of store.Store.
type Store struct {
	db     *bbolt.DB
	tokens *store.Tokens
	calls  atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the bbolt file at path.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range []string{BucketItems, BucketGSI1, BucketMeta} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err == nil {
		err = projectIndex(db)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	secret := opts.TokenSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open bolt store: token secret: %w", err)
		}
	}
	return &Store{db: db, tokens: store.NewTokens(secret)}, nil
}

// Close closes the file; users of DB must be done with it.
func (s *Store) Close() error { return s.db.Close() }

// DB is the underlying database, for components that keep their own buckets
// in the same file (never names starting with "store/").
func (s *Store) DB() *bbolt.DB { return s.db }

// Calls counts the requests DynamoDB would have served for the calls made so
// far: one per Get, Put, Update, Delete, Query and Transact, one per 100 keys
// of a BatchGet and one per 25 writes of a BatchWrite. It makes "store calls"
// comparable between the drivers.
func (s *Store) Calls() int64 { return s.calls.Load() }

// count adds n calls to Calls and to the counter of ctx (store.WithCallCounter).
func (s *Store) count(ctx context.Context, n int64) {
	s.calls.Add(n)
	store.CountCalls(ctx, n)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Item, error) {
	s.count(ctx, 1)
	if err := store.ValidateKey(k); err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, err)
	}
	if err := ctx.Err(); err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, err)
	}
	var it store.Item
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket([]byte(BucketItems)).Get(itemKey(k.PK, k.SK))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		it, err = decodeItem(v)
		return err
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, err)
	}
	return it, nil
}

// BatchGet implements store.Store.
func (s *Store) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	s.count(ctx, int64((len(keys)+store.MaxBatchGet-1)/store.MaxBatchGet))
	for _, k := range keys {
		if err := store.ValidateKey(k); err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("batch get: %w", err)
	}
	var items []store.Item
	seen := make(map[store.Key]struct{}, len(keys))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(BucketItems))
		vals := make([][]byte, 0, len(keys))
		for _, k := range keys {
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			if v := b.Get(itemKey(k.PK, k.SK)); v != nil {
				vals = append(vals, v)
			}
		}
		var err error
		if items, err = decodeItems(vals, false); items == nil {
			items = []store.Item{}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("batch get: %w", err)
	}
	return items, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, it store.Item, cond store.Condition) error {
	s.count(ctx, 1)
	if err := s.write(ctx, it, cond); err != nil {
		return fmt.Errorf("put %s: %w", it.Key(), err)
	}
	return nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, it store.Item) (int64, error) {
	s.count(ctx, 1)
	cond := store.IfVersion(it.Version)
	it.Version++
	if err := s.write(ctx, it, cond); err != nil {
		return 0, fmt.Errorf("update %s: %w", it.Key(), err)
	}
	return it.Version, nil
}

// write is a conditional put in its own transaction.
func (s *Store) write(ctx context.Context, it store.Item, cond store.Condition) error {
	if err := store.Validate(it); err != nil {
		return err
	}
	if err := store.ValidateCondition(cond); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		w := newWriter(tx)
		key := itemKey(it.PK, it.SK)
		old := w.items.Get(key)
		ok, err := checkCond(old, cond)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrConditionFailed
		}
		return w.put(key, old, it)
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, k store.Key, cond store.Condition) error {
	s.count(ctx, 1)
	if err := store.ValidateKey(k); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	if err := store.ValidateCondition(cond); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		w := newWriter(tx)
		key := itemKey(k.PK, k.SK)
		old := w.items.Get(key)
		ok, err := checkCond(old, cond)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrConditionFailed
		}
		return w.delete(key, old)
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return nil
}

// BatchWrite implements store.Store: one bbolt transaction per writeChunk
// writes, so a 1,000-item import costs one fsync.
func (s *Store) BatchWrite(ctx context.Context, puts []store.Item, deletes []store.Key) error {
	n := len(puts) + len(deletes)
	s.count(ctx, int64((n+24)/25))
	if err := store.ValidateBatch(puts, deletes); err != nil {
		return fmt.Errorf("batch write: %w", err)
	}
	for start := 0; start < n; start += writeChunk {
		end := min(start+writeChunk, n)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		err := s.db.Update(func(tx *bbolt.Tx) error {
			w := newWriter(tx)
			for i := start; i < end; i++ {
				if i < len(puts) {
					key := itemKey(puts[i].PK, puts[i].SK)
					if err := w.put(key, w.items.Get(key), puts[i]); err != nil {
						return err
					}
					continue
				}
				k := deletes[i-len(puts)]
				key := itemKey(k.PK, k.SK)
				if err := w.delete(key, w.items.Get(key)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("batch write: writes %d..%d failed (%d applied): %w", start, end-1, start, err)
		}
	}
	return nil
}

// Transact implements store.Store: every condition is checked, then every
// write applied, in one bbolt transaction.
func (s *Store) Transact(ctx context.Context, ops []store.TxOp) error {
	s.count(ctx, 1)
	if err := store.ValidateTransact(ops); err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	if len(ops) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		w := newWriter(tx)
		keys := make([][]byte, len(ops))
		olds := make([][]byte, len(ops))
		for i, op := range ops {
			k := op.OpKey()
			keys[i] = itemKey(k.PK, k.SK)
			olds[i] = w.items.Get(keys[i])
			ok, err := checkCond(olds[i], op.Cond)
			if err != nil {
				return err
			}
			if !ok {
				return &store.TxError{Index: i, Key: k}
			}
		}
		for i, op := range ops {
			switch {
			case op.Put != nil:
				if err := w.put(keys[i], olds[i], *op.Put); err != nil {
					return err
				}
			case op.Delete != nil:
				if err := w.delete(keys[i], olds[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		var txErr *store.TxError
		if errors.As(err, &txErr) {
			return txErr
		}
		return fmt.Errorf("transact: %w", err)
	}
	return nil
}

// writer applies writes inside one bbolt transaction, keeping GSI1 in step
// with the items.
type writer struct {
	items, gsi *bbolt.Bucket
}

func newWriter(tx *bbolt.Tx) writer {
	return writer{items: tx.Bucket([]byte(BucketItems)), gsi: tx.Bucket([]byte(BucketGSI1))}
}

// put stores it under key, replacing old (the current value, nil if none).
func (w writer) put(key, old []byte, it store.Item) error {
	var newGSI []byte
	if it.GSI1PK != "" {
		newGSI = gsiKey(it)
	}
	if old != nil {
		gpk, gsk, _, err := decodeHeader(old)
		if err != nil {
			return err
		}
		if gpk != "" {
			oldGSI := gsiKey(store.Item{PK: it.PK, SK: it.SK, GSI1PK: gpk, GSI1SK: gsk})
			if !bytes.Equal(oldGSI, newGSI) {
				if err := w.gsi.Delete(oldGSI); err != nil {
					return fmt.Errorf("unindex %s: %w", it.Key(), err)
				}
			}
		}
	}
	value := encodeItem(it)
	if err := w.items.Put(key, value); err != nil {
		return fmt.Errorf("write %s: %w", it.Key(), err)
	}
	if newGSI != nil {
		// The index holds a copy of the item (project.go).
		if err := w.gsi.Put(newGSI, value); err != nil {
			return fmt.Errorf("index %s: %w", it.Key(), err)
		}
	}
	return nil
}

// delete removes the item under key whose current value is old.
func (w writer) delete(key, old []byte) error {
	if old == nil {
		return nil
	}
	gpk, gsk, _, err := decodeHeader(old)
	if err != nil {
		return err
	}
	if gpk != "" {
		pk, sk, err := splitItemKey(key)
		if err != nil {
			return err
		}
		if err := w.gsi.Delete(gsiKey(store.Item{PK: pk, SK: sk, GSI1PK: gpk, GSI1SK: gsk})); err != nil {
			return fmt.Errorf("unindex: %w", err)
		}
	}
	return w.items.Delete(key)
}

// splitItemKey inverts itemKey.
func splitItemKey(key []byte) (pk, sk string, err error) {
	var b []byte
	for i := 0; i < len(key); i++ {
		if key[i] != escByte {
			b = append(b, key[i])
			continue
		}
		if i+1 >= len(key) {
			return "", "", errCorrupt
		}
		switch key[i+1] {
		case escZero:
			b = append(b, escByte)
			i++
		case escEnd:
			return string(b), string(key[i+2:]), nil
		default:
			return "", "", errCorrupt
		}
	}
	return "", "", errCorrupt
}
