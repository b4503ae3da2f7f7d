package bolt_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/openagg/openagg/internal/store"
)

// TestQueryLent: a lent page is the page Query returns (keys, versions,
// data, token), on the table and on the index, in both orders, across
// pages; an error of the callback comes back as is; the calls are counted
// as queries.
func TestQueryLent(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	var items []store.Item
	for i := range 30 {
		it := store.Item{PK: "ACC#1", SK: fmt.Sprintf("TX#%03d", i), GSI1PK: "ACC#1#TXD", GSI1SK: fmt.Sprintf("2024-%03d", 30-i), Version: int64(i + 1), TTL: int64(i)}
		if i%3 != 0 { // some items have no data
			it.Data = []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("x"), i*40)))
		}
		items = append(items, it)
	}
	if err := s.BatchWrite(ctx, items, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.Query{
		{PK: "ACC#1", SKPrefix: "TX#", Limit: 7},
		{PK: "ACC#1", Desc: true, Limit: 11},
		{Index: store.IndexGSI1, PK: "ACC#1#TXD", Limit: 8},
		{Index: store.IndexGSI1, PK: "ACC#1#TXD", Desc: true, From: "2024-005", Limit: 100},
	} {
		t.Run(fmt.Sprintf("%s %s desc=%t", q.Index, q.PK, q.Desc), func(t *testing.T) {
			for pages := 0; ; pages++ {
				want, err := s.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				c0 := s.Calls()
				var got store.Page
				err = s.QueryLent(ctx, q, func(p store.Page) error {
					got = p
					got.Items = slices.Clone(p.Items)
					for i := range got.Items {
						got.Items[i].Data = bytes.Clone(p.Items[i].Data)
					}
					return nil
				})
				if err != nil || s.Calls() != c0+1 {
					t.Fatalf("lent: %v, %d calls", err, s.Calls()-c0)
				}
				if !slices.EqualFunc(got.Items, want.Items, sameItem) {
					t.Fatalf("page %d: lent %v, want %v", pages, got.Items, want.Items)
				}
				// The tokens are sealed alike (same key), so either resumes.
				if (got.Next == "") != (want.Next == "") {
					t.Fatalf("page %d: next %q, want %q", pages, got.Next, want.Next)
				}
				if want.Next == "" {
					return
				}
				q.Token = got.Next
			}
		})
	}

	boom := errors.New("boom")
	if err := s.QueryLent(ctx, store.Query{PK: "ACC#1"}, func(store.Page) error { return boom }); err != boom {
		t.Fatalf("callback error: %v", err)
	}
	if err := s.QueryLent(ctx, store.Query{}, func(store.Page) error { return nil }); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid query: %v", err)
	}
	// QueryWith uses the lent page of a Lender.
	n := 0
	if err := store.QueryWith(ctx, s, store.Query{PK: "ACC#1"}, func(p store.Page) error { n = len(p.Items); return nil }); err != nil || n != 30 {
		t.Fatalf("QueryWith: %v, %d items", err, n)
	}
}

func sameItem(a, b store.Item) bool {
	return a.PK == b.PK && a.SK == b.SK && a.GSI1PK == b.GSI1PK && a.GSI1SK == b.GSI1SK &&
		a.Version == b.Version && a.TTL == b.TTL && bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}
