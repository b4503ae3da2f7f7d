package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/store"
)

// benchData is a typical record: a ~300-byte JSON transaction.
var benchData = []byte(`{"id":"tx-000000","account_id":"acc-1","made_on":"2024-03-01","amount":"-12.34","currency_code":"EUR","description":"` +
	strings.Repeat("card payment ", 14) + `","category":"shopping","status":"posted"}`)

// Bench measures the port's hot calls on a fresh store per sub-benchmark.
// Each reports ops/s (BatchWrite1000 also items/s).
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("Put", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			it := store.Item{PK: "ACC#bench", SK: fmt.Sprintf("TX#%09d", i), GSI1PK: "G#bench", GSI1SK: fmt.Sprintf("%09d", i), Version: 1, Data: benchData}
			if err := s.Put(ctx, it, store.Condition{}); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b, 1)
	})
	b.Run("Get", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		const n = 100
		if err := s.BatchWrite(ctx, benchItems("ACC#bench", n), nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Get(ctx, store.Key{PK: "ACC#bench", SK: fmt.Sprintf("TX#%09d", i%n)}); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b, 1)
	})
	b.Run("Query50", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		if err := s.BatchWrite(ctx, benchItems("ACC#bench", 50), nil); err != nil {
			b.Fatal(err)
		}
		// Neighbours the query must skip.
		if err := s.BatchWrite(ctx, benchItems("ACC#bench2", 50), nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := s.Query(ctx, store.Query{PK: "ACC#bench", SKPrefix: "TX#", Desc: i%2 == 1, Limit: 50})
			if err != nil || len(p.Items) != 50 {
				b.Fatalf("query: %d items, %v", len(p.Items), err)
			}
		}
		reportOps(b, 1)
	})
	b.Run("QueryIndex100", func(b *testing.B) {
		// A page of an index (the OBP transactions page: 50 transactions
		// with their metadata) out of a partition of 1,000 items.
		s := newStore(b)
		ctx := b.Context()
		if err := s.BatchWrite(ctx, benchItems("ACC#bench", 1000), nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := s.Query(ctx, store.Query{Index: store.IndexGSI1, PK: "G#ACC#bench", Desc: i%2 == 1, Limit: 100})
			if err != nil || len(p.Items) != 100 {
				b.Fatalf("query: %d items, %v", len(p.Items), err)
			}
		}
		reportOps(b, 100)
	})
	b.Run("BatchWrite1000", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		// Ten partitions in rotation: the first ten batches insert, later
		// ones overwrite, so the store stays a realistic size.
		batches := make([][]store.Item, 10)
		for i := range batches {
			batches[i] = benchItems(fmt.Sprintf("ACC#bench%d", i), 1000)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.BatchWrite(ctx, batches[i%len(batches)], nil); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b, 1000)
	})
}

func benchItems(pk string, n int) []store.Item {
	items := make([]store.Item, n)
	for i := range items {
		items[i] = store.Item{PK: pk, SK: fmt.Sprintf("TX#%09d", i), GSI1PK: "G#" + pk, GSI1SK: fmt.Sprintf("%09d", i), Version: 1, Data: benchData}
	}
	return items
}

// reportOps reports calls per second, and items per second for batches.
func reportOps(b *testing.B, itemsPerOp int) {
	secs := b.Elapsed().Seconds()
	if secs == 0 {
		return
	}
	b.ReportMetric(float64(b.N)/secs, "ops/s")
	if itemsPerOp > 1 {
		b.ReportMetric(float64(b.N*itemsPerOp)/secs, "items/s")
	}
}
