package account

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/store"
)

// PageQuery selects a page of an account's transactions by completed date.
type PageQuery struct {
	Desc          bool // newest first
	Offset, Limit int  // Limit ≥ 1
	// From and To bound the completed time, both inclusive; zero is open.
	From, To time.Time
}

// StoredTx is one transaction of a page as stored: the bytes of its item
// and of its metadata item on the view (nil: none). Decode reads them.
type StoredTx struct {
	ID   string
	Data []byte
	Meta []byte
}

// Decode decodes the transaction and its metadata on the view (nil: none).
func (t StoredTx) Decode() (holdings.Transaction, *metadata.TxMeta, error) {
	tx, err := holdings.DecodeTransaction(store.Item{Data: t.Data})
	if err != nil {
		return holdings.Transaction{}, nil, fmt.Errorf("transaction %s: %w", t.ID, err)
	}
	if t.Meta == nil {
		return tx, nil, nil
	}
	m, err := metadata.DecodeTxMeta(store.Item{Data: t.Meta})
	if err != nil {
		return holdings.Transaction{}, nil, fmt.Errorf("transaction %s: %w", t.ID, err)
	}
	return tx, &m, nil
}

// maxQueryItems bounds one index query of a page.
const maxQueryItems = 1000

// Transactions reads a page of sc's account's transactions with their
// metadata on sc's view and calls fn with it, once, in page order. The
// transactions-by-date index holds each transaction followed by its
// metadata items (metadata.TxMetaGSI1SK), so ONE index query (in the common
// case) over-fetches and keeps Offset..Offset+Limit transactions plus the
// metadata of the view: it never loads the account's whole history. A
// range ending before it starts holds no transaction (OBP-API answers an
// empty list): fn gets an empty page and the store is not asked.
//
// The bytes fn gets are lent by the store where it can (store.Lender):
// valid only until fn returns, never to be modified; they are copied only
// when a page runs on into a second query result.
func (s *Service) Transactions(ctx context.Context, sc *Scope, q PageQuery, fn func([]StoredTx) error) error {
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return fn(nil)
	}
	sq := holdings.TxByDateQuery(sc.Account.ID, q.From, q.To, q.Desc)
	// Room for the wanted transactions, one metadata item each, and the
	// next transaction (which ends the last one's metadata in ASC order).
	sq.Limit = min(2*(q.Offset+q.Limit)+2, maxQueryItems)
	pc := pageCollector{q: q, viewID: sc.View.ID,
		txs: make([]*store.Item, 0, q.Limit), metas: make(map[string]*store.Item, q.Limit)}
	for {
		next := ""
		err := store.QueryWith(ctx, s.store, sq, func(res store.Page) error {
			if !pc.add(res.Items) && res.Next != "" {
				// The page goes on in the next result: what it kept must
				// outlive this one.
				pc.detach()
				next = res.Next
				return nil
			}
			return fn(pc.page())
		})
		if err != nil {
			return fmt.Errorf("query transactions of %s: %w", sc.Account.ID, err)
		}
		if next == "" {
			return nil
		}
		sq.Token = next
	}
}

// pageCollector picks a page of transactions and their metadata on a view
// out of query results.
type pageCollector struct {
	q      PageQuery
	viewID string
	txs    []*store.Item          // in page order
	metas  map[string]*store.Item // by transaction id
	seen   int                    // transactions passed, including the skipped offset
	lastSK string                 // GSI1SK of the last kept transaction
}

// add takes the items of one query result; it reports whether the page is
// complete (the items after it do not belong to it).
func (c *pageCollector) add(items []store.Item) (done bool) {
	for i := range items {
		it := &items[i]
		full := len(c.txs) == c.q.Limit
		if metadata.IsTxMetaItem(*it) {
			if full && !c.q.Desc && !metadata.IndexedWith(*it, c.lastSK) {
				return true
			}
			if tx, ok := metadata.TxMetaOn(*it, c.viewID); ok {
				c.metas[tx] = it
			}
			continue
		}
		if _, ok := holdings.TxIDOf(*it); !ok {
			continue
		}
		if full {
			return true // the next transaction: the page is complete
		}
		c.seen++
		if c.seen <= c.q.Offset {
			continue
		}
		c.txs = append(c.txs, it)
		c.lastSK = it.GSI1SK
		if len(c.txs) == c.q.Limit && c.q.Desc {
			return true // in DESC order its metadata came before it
		}
	}
	return false
}

// detach copies the data of what was kept out of a lent result.
func (c *pageCollector) detach() {
	for _, tx := range c.txs {
		tx.Data = bytes.Clone(tx.Data)
	}
	for _, m := range c.metas {
		m.Data = bytes.Clone(m.Data)
	}
}

// page is what was kept, in page order.
func (c *pageCollector) page() []StoredTx {
	out := make([]StoredTx, len(c.txs))
	for i, it := range c.txs {
		id, _ := holdings.TxIDOf(*it)
		out[i] = StoredTx{ID: id, Data: it.Data}
		if m := c.metas[id]; m != nil {
			out[i].Meta = m.Data
			if out[i].Meta == nil {
				out[i].Meta = []byte{} // present, if empty
			}
		}
	}
	return out
}
