package bankconn

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/store"
)

func TestViewRecord(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 11, 12, 345_000_000, time.UTC)
	cases := []txView{
		{Seq: 0, HoldingsID: "tx1", Amount: decimal.RequireFromString("-54.23"), Currency: "EUR", ValueDate: at.Truncate(24 * time.Hour),
			BookedAt: at, ImportedAt: at.Add(time.Hour), Purpose: "REWE SAGT DANKE", Counterparty: "REWE Markt GmbH", IBAN: "DE02120300000000202051", Mode: "normal", Category: 301},
		{Seq: maxSeq, HoldingsID: "ü€😀\x00", Amount: decimal.RequireFromString("123456789012345678901234567890.12"), Category: 1101},
		{Seq: 7, Amount: decimal.RequireFromString("1500"), Currency: "JPY", BookedAt: at},
		{Seq: 8, Amount: decimal.New(5, 3)}, // a positive exponent: stored as text
	}
	for i := range cases {
		cases[i].Seq = 256 + int64(i) // chunk 2
	}
	it := encodeChunk("acc", 2, cases)
	if it.PK != "ACC#acc" || it.SK != chunkSK(2) || chunkOf(cases[0].Seq) != 2 {
		t.Errorf("key %s", it.Key())
	}
	for _, r := range []struct{ from, to int64 }{{0, maxSeq + 1}, {257, 259}, {259, 300}, {0, 256}} {
		got, err := chunkViews(it, r.from, r.to, nil)
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		var want []txView
		for _, v := range cases {
			if v.Seq >= r.from && v.Seq < r.to {
				want = append(want, v)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%v: %d views, want %d", r, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if !g.Amount.Equal(w.Amount) || g.Amount.String() != w.Amount.String() {
				t.Errorf("%v %d: amount %s, want %s", r, i, g.Amount, w.Amount)
			}
			g.Amount, w.Amount = decimal.Zero, decimal.Zero
			if g != w {
				t.Errorf("%v %d: %+v, want %+v", r, i, g, w)
			}
		}
	}
	good := it.Data
	for name, data := range map[string][]byte{
		"empty": nil, "other format": append([]byte{1}, good[1:]...), "truncated": good[:len(good)-3],
		"long length": {chunkFormat, 200, 1}, "bad amount kind": {chunkFormat, 4, 1, 0, 9, 0},
	} {
		bad := it
		bad.Data = data
		if _, err := chunkViews(bad, 0, maxSeq+1, nil); !errors.Is(err, errBadView) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestChunkCache: a chunk is decoded once for the same bytes, again when
// they change; the cache stays within its bound.
func TestChunkCache(t *testing.T) {
	v := func(seq int64, purpose string) txView {
		return txView{Seq: seq, HoldingsID: purpose, Amount: decimal.New(-seq, -2), Purpose: purpose}
	}
	c := newChunkCache(1 << 20)
	it := encodeChunk("acc", 0, []txView{v(0, "a"), v(1, "b")})
	got, err := c.views(it, 1, 2, nil)
	if err != nil || len(got) != 1 || got[0].Purpose != "b" {
		t.Fatalf("%+v %v", got, err)
	}
	first := c.m[it.Key()]
	if got, _ = c.views(it, 0, 2, nil); len(got) != 2 || c.m[it.Key()] != first {
		t.Fatalf("the same bytes decoded again: %+v", got)
	}
	it = encodeChunk("acc", 0, []txView{v(0, "a"), v(1, "b"), v(2, "c")}) // the chunk gained a view
	if got, _ = c.views(it, 0, 10, nil); len(got) != 3 || got[2].Purpose != "c" {
		t.Fatalf("changed bytes: %+v", got)
	}
	small := newChunkCache(len(it.Data) + 1)
	for i := range 5 {
		other := encodeChunk("acc", int64(i), []txView{v(int64(i)*chunkSize, "x")})
		if _, err := small.views(other, 0, maxSeq+1, nil); err != nil {
			t.Fatal(err)
		}
		if small.bytes > small.max || len(small.m) > 3 {
			t.Fatalf("cache over its bound: %d bytes, %d chunks", small.bytes, len(small.m))
		}
	}
	if _, err := c.views(store.Item{PK: "ACC#acc", SK: chunkSK(9), Data: []byte{9}}, 0, 1, nil); !errors.Is(err, errBadView) {
		t.Errorf("bad chunk: %v", err)
	}
}
