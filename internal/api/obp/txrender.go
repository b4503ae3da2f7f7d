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

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/store"
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

// txPageItems is a page of transactions as stored: the transaction items
// in page order and the view's metadata items by transaction id.
type txPageItems struct {
	txs   []*store.Item
	metas map[string]*store.Item
}

// transactionFragments reads a page of transactions with ONE index query
// (in the common case) and returns them rendered, in order. The
// transactions-by-date partition holds each transaction followed by its
// metadata items (GSI1SK <completed>#<tx>#M#<view>), so the query
// over-fetches and keeps offset..offset+limit transactions plus the
// metadata of the view. It never loads the account's whole history.
//
// The stored bytes are lent by the store where it can (store.Lender): they
// are compared with the cached renderings, or decoded, while the page is
// lent, and copied only when the page runs on into another query result.
func (a *API) transactionFragments(r *http.Request, s *scope, p txParams) ([][]byte, error) {
	if !p.from.IsZero() && !p.to.IsZero() && p.from.After(p.to) {
		// A range ending before it starts holds no transaction (OBP-API
		// answers an empty list); the store refuses an empty range.
		return nil, nil
	}
	q := store.Query{Index: store.IndexGSI1, PK: holdings.TxByDateGSI1PK(s.acc.ID), Desc: p.desc}
	if !p.from.IsZero() {
		q.From = holdings.SortTime(p.from)
	}
	if !p.to.IsZero() {
		q.To = holdings.SortTime(p.to) + "~" // after every "#<tx>..." of that instant
	}
	// Room for the wanted transactions, one metadata item each, and the
	// next transaction (which ends the last one's metadata in ASC order).
	q.Limit = min(2*(p.offset+p.limit)+2, 1000)
	pc := pageCollector{p: p, viewSuffix: "#" + s.viewID,
		page: txPageItems{txs: make([]*store.Item, 0, p.limit), metas: make(map[string]*store.Item, p.limit)}}
	for {
		var frags [][]byte
		next := ""
		err := store.QueryWith(r.Context(), a.store, q, func(res store.Page) error {
			if !pc.add(res.Items) && res.Next != "" {
				// The page goes on in the next result: what it kept must
				// outlive this one.
				pc.detach()
				next = res.Next
				return nil
			}
			var err error
			frags, err = a.render.transactions(s, pc.page)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("query transactions of %s: %w", s.acc.ID, err)
		}
		if next == "" {
			return frags, nil
		}
		q.Token = next
	}
}

// pageCollector picks a page of transactions and their metadata on a view
// out of query results.
type pageCollector struct {
	p          txParams
	viewSuffix string // "#<view>"
	page       txPageItems
	seen       int    // transactions passed, including the skipped offset
	lastSK     string // GSI1SK of the last kept transaction
}

// add takes the items of one query result; it reports whether the page is
// complete (the items after it do not belong to it).
func (c *pageCollector) add(items []store.Item) (done bool) {
	for i := range items {
		it := &items[i]
		full := len(c.page.txs) == c.p.limit
		if metadata.IsTxMetaItem(*it) {
			if full && !c.p.desc && !strings.HasPrefix(it.GSI1SK, c.lastSK+"#M#") {
				return true
			}
			// SK OBP#TXM#<tx>#<view> (metadata.TxMetaKey): view ids have
			// no '#', so the suffix names the view and what is before it
			// the transaction.
			if len(it.SK) > len(metadata.TxMetaSKPrefx)+len(c.viewSuffix) && strings.HasSuffix(it.SK, c.viewSuffix) {
				c.page.metas[it.SK[len(metadata.TxMetaSKPrefx):len(it.SK)-len(c.viewSuffix)]] = it
			}
			continue
		}
		if !strings.HasPrefix(it.SK, holdings.TxSKPrefix) {
			continue
		}
		if full {
			return true // the next transaction: the page is complete
		}
		c.seen++
		if c.seen <= c.p.offset {
			continue
		}
		c.page.txs = append(c.page.txs, it)
		c.lastSK = it.GSI1SK
		if len(c.page.txs) == c.p.limit && c.p.desc {
			return true // in DESC order its metadata came before it
		}
	}
	return false
}

// detach copies the data of what was kept out of a lent result.
func (c *pageCollector) detach() {
	for _, tx := range c.page.txs {
		tx.Data = bytes.Clone(tx.Data)
	}
	for _, m := range c.page.metas {
		m.Data = bytes.Clone(m.Data)
	}
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

// fragKey is a transaction (its item's sort key) in a context.
type fragKey struct {
	ctx uint64
	sk  string
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
	return int64(len(f.key.sk)+len(f.tx)+len(f.meta)+len(f.json)) + entryOverhead
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
func (c *renderCache) transactions(s *scope, page txPageItems) ([][]byte, error) {
	out := make([][]byte, len(page.txs))
	if len(page.txs) == 0 {
		return out, nil
	}
	metas := make([]*store.Item, len(page.txs))
	for i, it := range page.txs {
		metas[i] = page.metas[strings.TrimPrefix(it.SK, holdings.TxSKPrefix)]
	}
	ctxHash := c.ctxHash(s)
	hits := make([]*renderFrag, len(page.txs))
	c.mu.Lock()
	if ctx := c.lookupCtx(ctxHash, s); ctx != nil {
		for i, it := range page.txs {
			if f := c.frags[fragKey{ctx: ctx.id, sk: it.SK}]; f != nil {
				c.touch(f)
				hits[i] = f
			}
		}
	}
	c.mu.Unlock()

	var missed []*renderFrag
	for i, it := range page.txs {
		// Entries never change once made, so the comparison needs no lock.
		if f := hits[i]; f != nil && f.same(*it, metas[i]) {
			out[i] = f.json
			continue
		}
		rendered, err := renderTransaction(s, *it, metas[i])
		if err != nil {
			return nil, err
		}
		out[i] = rendered
		// The sort key is cloned: the store's keys may share one string.
		f := &renderFrag{key: fragKey{sk: strings.Clone(it.SK)}, tx: bytes.Clone(it.Data), hasMeta: metas[i] != nil, json: rendered}
		if f.hasMeta {
			f.meta = bytes.Clone(metas[i].Data)
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
func (f *renderFrag) same(tx store.Item, meta *store.Item) bool {
	if f.hasMeta != (meta != nil) || !bytes.Equal(f.tx, tx.Data) {
		return false
	}
	return meta == nil || bytes.Equal(f.meta, meta.Data)
}

// renderTransaction decodes, moderates and encodes one transaction; meta is
// its metadata item on the view (nil: none).
func renderTransaction(s *scope, txItem store.Item, metaItem *store.Item) ([]byte, error) {
	var tx holdings.Transaction
	if err := decode(txItem, &tx); err != nil {
		return nil, err
	}
	var m *metadata.TxMeta
	if metaItem != nil {
		txm, err := metadata.DecodeTxMeta(*metaItem)
		if err != nil {
			return nil, err
		}
		m = &txm
	}
	b, err := json.Marshal(moderateTransaction(s.view, s.acc, tx, s.oa, m))
	if err != nil {
		return nil, fmt.Errorf("encode transaction %s: %w", tx.ID, err)
	}
	return b, nil
}

// ctxHash hashes a request's context (the view by id: its definition is
// compared whole).
func (c *renderCache) ctxHash(s *scope) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(s.view.ID)
	writeBytes(&h, s.accData)
	writeBytes(&h, s.oaData)
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
func (c *renderCache) lookupCtx(hash uint64, s *scope) *renderCtx {
	e := c.ctxs[hash]
	if e == nil || e.view != s.view || e.hasOA != (s.oaData != nil) || !bytes.Equal(e.acc, s.accData) || !bytes.Equal(e.oa, s.oaData) {
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
func (c *renderCache) keep(hash uint64, s *scope, frags []*renderFrag) {
	ctx := c.lookupCtx(hash, s)
	if ctx == nil {
		if old := c.ctxs[hash]; old != nil {
			c.dropCtx(old)
		}
		c.nextID++
		ctx = &renderCtx{id: c.nextID, hash: hash, view: s.view, acc: bytes.Clone(s.accData), oa: bytes.Clone(s.oaData), hasOA: s.oaData != nil}
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

// stats is the number of cached transactions and contexts and their
// accounted bytes (tests check the bound).
func (c *renderCache) stats() (frags, ctxs int, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frags), len(c.ctxs), c.size
}
