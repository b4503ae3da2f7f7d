package obp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/view"
)

// A page of transactions is rendered from rendered transactions: each
// transaction's JSON (what moderateTransaction gives, marshalled) is kept
// in a memory-bounded cache with everything it is made of, compared byte
// for byte on every hit:
//
//   - the view (its whole definition, compared as a value),
//   - the stored bytes of the account item and of the other-account
//     metadata item (or their absence): the request's context,
//   - the stored bytes of the transaction item and of its metadata item on
//     the view (or its absence).
//
// Every request still reads all of these from the store (the BatchGet and
// the index query), so a response is always as fresh as the store: any
// change of a view, the account, other-account metadata, a transaction or
// its metadata changes the bytes and misses the cache. The cache only saves
// the decoding, moderation and encoding of what did not change. Contents
// are compared, not versions, because a re-import overwrites items without
// changing their versions. Nothing depends on a hash being unique: hashes
// only find candidates.

// DefaultRenderCacheBytes bounds the rendered-transaction cache when
// Deps.RenderCacheBytes is 0: about 10,000 transactions of a page with
// metadata (a rendered transaction is about 1.6 KB, its stored inputs about
// 1.3 KB).
const DefaultRenderCacheBytes = 32 << 20

// entryOverhead is what an entry costs beyond its byte slices (the entry,
// its map slot, slice headers), counted against the bound.
const entryOverhead = 160

// transactionFragments reads a page of transactions (the account query:
// one index query in the common case) and returns them rendered, in order.
// The page's stored bytes may be lent by the store: they are compared with
// the cached renderings, or decoded, while the page is lent.
func (a *API) transactionFragments(r *http.Request, s *account.Scope, p txParams) ([][]byte, error) {
	var frags [][]byte
	q := account.PageQuery{Desc: p.desc, Offset: p.offset, Limit: p.limit, From: p.from, To: p.to}
	err := a.accounts.Transactions(r.Context(), s, q, func(page []account.StoredTx) error {
		var err error
		frags, err = a.render.transactions(s, page)
		return err
	})
	if err != nil {
		return nil, err
	}
	return frags, nil
}

// bodyPool recycles response buffers (a page of 50 transactions with
// metadata is about 80 KB): one Write of the whole body costs a few
// syscalls where a Write per transaction would cost one per 4 KB.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer put back in bodyPool.
const maxPooledBody = 1 << 20

// writeTransactions writes {"transactions":[...]}: the bytes json.Marshal
// gives for transactionsJSON, assembled from the rendered transactions,
// with WriteJSON's headers.
func writeTransactions(w http.ResponseWriter, frags [][]byte) {
	const head, tail = `{"transactions":[`, "]}\n"
	n := len(head) + len(tail) + max(len(frags)-1, 0)
	for _, f := range frags {
		n += len(f)
	}
	buf := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledBody {
			bodyPool.Put(buf)
		}
	}()
	if cap(*buf) < n {
		*buf = make([]byte, 0, n)
	}
	body := (*buf)[:0]
	body = append(body, head...)
	for i, f := range frags {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, f...)
	}
	body = append(body, tail...)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// renderCache holds rendered transactions, least recently used first out
// once their bytes pass the bound. It is safe for concurrent use.
type renderCache struct {
	seed maphash.Seed
	max  int64 // < 0: nothing is kept

	mu     sync.Mutex
	size   int64
	nextID uint64
	ctxs   map[uint64]*renderCtx   // by ctxHash
	frags  map[fragKey]*renderFrag // by fragKey
	lru    renderFrag              // sentinel of the recency list (next: newest)
	ctxLRU renderCtx               // sentinel of the contexts' recency list
}

// renderCtx is what every transaction of a request shares: the view, the
// account item and the other-account metadata item. id names it in the
// keys of its transactions; a context that leaves the cache is never
// found again (a new one gets a new id) and its transactions age out.
type renderCtx struct {
	id         uint64
	hash       uint64
	view       view.View
	acc, oa    []byte
	hasOA      bool
	prev, next *renderCtx
}

func (c *renderCtx) cost() int64 { return int64(len(c.acc)+len(c.oa)) + entryOverhead }

// fragKey is a transaction (its id) in a context.
type fragKey struct {
	ctx uint64
	id  string
}

// renderFrag is one rendered transaction and the stored bytes it was
// rendered from.
type renderFrag struct {
	key        fragKey
	tx, meta   []byte
	hasMeta    bool
	json       []byte
	prev, next *renderFrag
}

func (f *renderFrag) cost() int64 {
	return int64(len(f.key.id)+len(f.tx)+len(f.meta)+len(f.json)) + entryOverhead
}

func newRenderCache(maxBytes int64) *renderCache {
	c := &renderCache{seed: maphash.MakeSeed(), max: maxBytes, ctxs: map[uint64]*renderCtx{}, frags: map[fragKey]*renderFrag{}}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	c.ctxLRU.prev, c.ctxLRU.next = &c.ctxLRU, &c.ctxLRU
	return c
}

// transactions returns the rendered transactions of a page, in order. The
// ones found in the cache cost a comparison of their stored bytes; the
// others are decoded, moderated by the view and encoded, then kept (with
// copies of their stored bytes: the page's may be lent).
func (c *renderCache) transactions(s *account.Scope, page []account.StoredTx) ([][]byte, error) {
	out := make([][]byte, len(page))
	if len(page) == 0 {
		return out, nil
	}
	ctxHash := c.ctxHash(s)
	hits := make([]*renderFrag, len(page))
	c.mu.Lock()
	if ctx := c.lookupCtx(ctxHash, s); ctx != nil {
		for i, tx := range page {
			if f := c.frags[fragKey{ctx: ctx.id, id: tx.ID}]; f != nil {
				c.touch(f)
				hits[i] = f
			}
		}
	}
	c.mu.Unlock()

	var missed []*renderFrag
	for i, tx := range page {
		// Entries never change once made, so the comparison needs no lock.
		if f := hits[i]; f != nil && f.same(tx) {
			out[i] = f.json
			continue
		}
		rendered, err := renderTransaction(s, tx)
		if err != nil {
			return nil, err
		}
		out[i] = rendered
		// The id is cloned: it may share the string of the store's key.
		f := &renderFrag{key: fragKey{id: strings.Clone(tx.ID)}, tx: bytes.Clone(tx.Data), hasMeta: tx.Meta != nil, json: rendered}
		if f.hasMeta {
			f.meta = bytes.Clone(tx.Meta)
		}
		missed = append(missed, f)
	}
	if len(missed) > 0 && c.max >= 0 {
		c.mu.Lock()
		c.keep(ctxHash, s, missed)
		c.mu.Unlock()
	}
	return out, nil
}

// same reports whether f was rendered from these stored bytes.
func (f *renderFrag) same(tx account.StoredTx) bool {
	if f.hasMeta != (tx.Meta != nil) || !bytes.Equal(f.tx, tx.Data) {
		return false
	}
	return tx.Meta == nil || bytes.Equal(f.meta, tx.Meta)
}

// renderTransaction decodes, moderates and encodes one transaction with
// its metadata on the view.
func renderTransaction(s *account.Scope, stored account.StoredTx) ([]byte, error) {
	tx, m, err := stored.Decode()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(moderateTransaction(s.View, s.Account, tx, s.OtherMeta, m))
	if err != nil {
		return nil, fmt.Errorf("encode transaction %s: %w", tx.ID, err)
	}
	return b, nil
}

// ctxHash hashes a request's context (the view by id: its definition is
// compared whole).
func (c *renderCache) ctxHash(s *account.Scope) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(s.View.ID)
	writeBytes(&h, s.AccountData)
	writeBytes(&h, s.OtherMetaData)
	return h.Sum64()
}

// writeBytes writes b length-prefixed, so that consecutive fields cannot
// run into each other.
func writeBytes(h *maphash.Hash, b []byte) {
	var n [8]byte
	for i := range 8 {
		n[i] = byte(uint64(len(b)) >> (8 * i))
	}
	_, _ = h.Write(n[:])
	_, _ = h.Write(b)
}

// lookupCtx finds the request's context, compared whole; nil when it is
// not cached. c.mu is held.
func (c *renderCache) lookupCtx(hash uint64, s *account.Scope) *renderCtx {
	e := c.ctxs[hash]
	if e == nil || e.view != s.View || e.hasOA != (s.OtherMetaData != nil) || !bytes.Equal(e.acc, s.AccountData) || !bytes.Equal(e.oa, s.OtherMetaData) {
		return nil
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = &c.ctxLRU, c.ctxLRU.next
	e.prev.next, e.next.prev = e, e
	return e
}

// keep stores rendered transactions in their context, creating it if
// needed, in place of what was kept for the same transactions, and evicts
// the least recently used past the bound. c.mu is held.
func (c *renderCache) keep(hash uint64, s *account.Scope, frags []*renderFrag) {
	ctx := c.lookupCtx(hash, s)
	if ctx == nil {
		if old := c.ctxs[hash]; old != nil {
			c.dropCtx(old)
		}
		c.nextID++
		ctx = &renderCtx{id: c.nextID, hash: hash, view: s.View, acc: bytes.Clone(s.AccountData), oa: bytes.Clone(s.OtherMetaData), hasOA: s.OtherMetaData != nil}
		ctx.prev, ctx.next = &c.ctxLRU, c.ctxLRU.next
		ctx.prev.next, ctx.next.prev = ctx, ctx
		c.ctxs[hash] = ctx
		c.size += ctx.cost()
	}
	for _, f := range frags {
		f.key.ctx = ctx.id
		if old := c.frags[f.key]; old != nil {
			c.dropFrag(old)
		}
		c.frags[f.key] = f
		f.prev, f.next = &c.lru, c.lru.next
		f.prev.next, f.next.prev = f, f
		c.size += f.cost()
	}
	for c.size > c.max && c.lru.prev != &c.lru {
		c.dropFrag(c.lru.prev)
	}
	// Contexts go when no transaction is left to share them, oldest first.
	for c.size > c.max && c.ctxLRU.prev != &c.ctxLRU {
		c.dropCtx(c.ctxLRU.prev)
	}
}

// touch makes f the most recently used. c.mu is held.
func (c *renderCache) touch(f *renderFrag) {
	f.prev.next, f.next.prev = f.next, f.prev
	f.prev, f.next = &c.lru, c.lru.next
	f.prev.next, f.next.prev = f, f
}

func (c *renderCache) dropFrag(f *renderFrag) {
	f.prev.next, f.next.prev = f.next, f.prev
	f.prev, f.next = nil, nil
	delete(c.frags, f.key)
	c.size -= f.cost()
}

func (c *renderCache) dropCtx(e *renderCtx) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.ctxs, e.hash)
	c.size -= e.cost()
}
