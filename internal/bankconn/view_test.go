package bankconn

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
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
