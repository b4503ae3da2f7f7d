package bankconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/store"
)

// Transaction views are stored in chunks of chunkSize consecutive
// sequence numbers, one item per chunk (SK FTX#<chunk, 10 digits>): a page
// of 100 transactions is one or two items, not 100, for the store to find
// and copy. A chunk's Data is a version byte (2), then its views in
// sequence order, each a uvarint length and a binary record (JSON, with
// three times and a decimal per view, was most of a page's time):
//
//	uvarint seq
//	string  holdings id
//	amount: byte 0 and varint coefficient, uvarint -exponent (the common
//	        case), or byte 1 and the decimal as a string
//	string  currency
//	varint  value date, booking time, import time (Unix milliseconds)
//	string  purpose, counterparty, IBAN, mode
//	varint  category
//
// where a string is a uvarint length and its bytes.
const (
	chunkFormat = 2
	chunkSize   = 128
)

func chunkOf(seq int64) int64 { return seq / chunkSize }

var errBadView = errors.New("bankconn: malformed transaction view")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAmount(b []byte, d decimal.Decimal) []byte {
	coef, exp := d.Coefficient(), d.Exponent()
	if coef.IsInt64() && exp <= 0 && exp > -20 {
		b = append(b, 0)
		b = binary.AppendVarint(b, coef.Int64())
		return binary.AppendUvarint(b, uint64(-exp))
	}
	return appendString(append(b, 1), d.String())
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == math.MinInt64 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// appendView appends v's record.
func appendView(b []byte, v txView) []byte {
	b = binary.AppendUvarint(b, uint64(v.Seq))
	b = appendString(b, v.HoldingsID)
	b = appendAmount(b, v.Amount)
	b = appendString(b, v.Currency)
	for _, t := range []time.Time{v.ValueDate, v.BookedAt, v.ImportedAt} {
		b = binary.AppendVarint(b, millis(t))
	}
	for _, s := range []string{v.Purpose, v.Counterparty, v.IBAN, v.Mode} {
		b = appendString(b, s)
	}
	return binary.AppendVarint(b, v.Category)
}

// encodeChunk is the item of chunk of account accountID holding views (the
// chunk's, consecutive, in sequence order).
func encodeChunk(accountID string, chunk int64, views []txView) store.Item {
	b := make([]byte, 0, 1+len(views)*160)
	b = append(b, chunkFormat)
	var rec []byte
	for _, v := range views {
		rec = appendView(rec[:0], v)
		b = binary.AppendUvarint(b, uint64(len(rec)))
		b = append(b, rec...)
	}
	k := chunkKey(accountID, chunk)
	return store.Item{PK: k.PK, SK: k.SK, Data: b}
}

// chunkViews decodes the views of a chunk item whose sequence numbers are
// in [from, to) (the others are skipped unread), in sequence order. The
// strings of all of them share one copy of the item's Data, which may be a
// store's lent bytes.
func chunkViews(it store.Item, from, to int64, out []txView) ([]txView, error) {
	r := viewReader{b: it.Data}
	if r.byte() != chunkFormat {
		return out, fmt.Errorf("decode %s: %w (format)", it.Key(), errBadView)
	}
	// Copy only the records asked for: skip to the first, find the end of
	// the last (each record starts with its length, then its sequence).
	start, end := -1, len(it.Data)
	for probe := r; len(probe.b) > 0; {
		at := probe.off
		n := probe.uvarint()
		if probe.err != nil || n > uint64(len(probe.b)) {
			return out, fmt.Errorf("decode %s: %w", it.Key(), errBadView)
		}
		seq, _ := binary.Uvarint(probe.b[:n])
		probe.skip(int(n))
		if int64(seq) >= to {
			end = at
			break
		}
		if int64(seq) >= from && start < 0 {
			start = at
		}
	}
	if start < 0 {
		start = end
	}
	r.b, r.off = it.Data[start:end], 0
	r.s = string(r.b)
	for len(r.b) > 0 && r.err == nil {
		n := r.uvarint()
		if r.err != nil || n > uint64(len(r.b)) {
			r.err = errBadView
			break
		}
		rec := viewReader{b: r.b[:n], s: r.s, off: r.off}
		seq := int64(rec.uvarint())
		r.skip(int(n))
		if seq < from || seq >= to {
			continue
		}
		v := rec.view(seq)
		if rec.err != nil || len(rec.b) != 0 {
			r.err = errBadView
			break
		}
		out = append(out, v)
	}
	if r.err != nil {
		return out, fmt.Errorf("decode %s: %w", it.Key(), errBadView)
	}
	return out, nil
}

// viewReader reads a view record field by field. Its strings are slices
// of one copy of the record (s), so a view costs one allocation for all of
// them, and the record may be a store's lent bytes.
type viewReader struct {
	b   []byte
	s   string // the whole record, copied once
	off int    // where b starts in s
	err error
}

func (r *viewReader) skip(n int) {
	r.b = r.b[n:]
	r.off += n
}

func (r *viewReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadView
		return 0
	}
	r.skip(n)
	return v
}

func (r *viewReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadView
		return 0
	}
	r.skip(n)
	return v
}

func (r *viewReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errBadView
		return 0
	}
	c := r.b[0]
	r.skip(1)
	return c
}

func (r *viewReader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadView
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.skip(int(n))
	return s
}

// view reads the rest of a record whose sequence number was read.
func (r *viewReader) view(seq int64) txView {
	v := txView{Seq: seq}
	v.HoldingsID = r.string()
	switch r.byte() {
	case 0:
		coef := r.varint()
		v.Amount = decimal.New(coef, -int32(r.uvarint()))
	case 1:
		d, err := decimal.NewFromString(r.string())
		if err != nil && r.err == nil {
			r.err = errBadView
		}
		v.Amount = d
	default:
		r.err = errBadView
	}
	v.Currency = r.string()
	v.ValueDate, v.BookedAt, v.ImportedAt = fromMillis(r.varint()), fromMillis(r.varint()), fromMillis(r.varint())
	v.Purpose, v.Counterparty, v.IBAN, v.Mode = r.string(), r.string(), r.string(), r.string()
	v.Category = r.varint()
	return v
}

// chunkCache keeps decoded chunks of transaction views, each with the
// stored bytes it was decoded from: a page read compares the store's (lent)
// bytes with them and decodes only a chunk that is new or changed, so a
// hot page costs a comparison, not a decoding. Bounded by the bytes it
// holds (cleared when full; it is only a cache); safe for concurrent use.
type chunkCache struct {
	mu    sync.Mutex
	m     map[store.Key]*decodedChunk
	bytes int
	max   int
}

type decodedChunk struct {
	data  []byte   // the stored bytes (a copy)
	views []txView // every view of the chunk, in sequence order (read-only)
}

// chunkCacheBytes bounds a cache: about 800 chunks of 128 views.
const chunkCacheBytes = 16 << 20

func newChunkCache(max int) *chunkCache {
	return &chunkCache{m: map[store.Key]*decodedChunk{}, max: max}
}

// views returns the views of a chunk item with sequence numbers in [from,
// to), appended to out, decoding the item only when the cache does not
// hold these very bytes.
func (c *chunkCache) views(it store.Item, from, to int64, out []txView) ([]txView, error) {
	k := it.Key()
	c.mu.Lock()
	d := c.m[k]
	c.mu.Unlock()
	if d == nil || !bytes.Equal(d.data, it.Data) {
		views, err := chunkViews(it, 0, maxSeq+1, nil)
		if err != nil {
			return out, err
		}
		d = &decodedChunk{data: bytes.Clone(it.Data), views: views}
		c.mu.Lock()
		if c.bytes+len(d.data) > c.max {
			clear(c.m)
			c.bytes = 0
		}
		if old := c.m[k]; old != nil {
			c.bytes -= len(old.data)
		}
		c.m[k] = d
		c.bytes += len(d.data)
		c.mu.Unlock()
	}
	for _, v := range d.views {
		if v.Seq >= from && v.Seq < to {
			out = append(out, v)
		}
	}
	return out, nil
}
