// Package storetest is the one conformance suite of the store port: every
// driver's tests call Run with a constructor of fresh, empty stores, and a
// driver is correct when the suite passes. Bench measures the same calls.
package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/store"
)

// Run runs every case on its own fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetPutNotFound", testGetPut},
		{"InvalidRequests", testInvalid},
		{"SortOrder", testSortOrder},
		{"PrefixQuery", testPrefixQuery},
		{"RangeQuery", testRangeQuery},
		{"Pagination", testPagination},
		{"IndexQuery", testIndexQuery},
		{"Conditions", testConditions},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"Transact", testTransact},
		{"TransactLimits", testTransactLimits},
		{"BatchWrite", testBatchWrite},
		{"BatchDelete", testBatchDelete},
		{"BatchGet", testBatchGet},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"LargeItems", testLargeItems},
		{"TokenTampering", testTokens},
		{"TokenAfter", testTokenAfter},
		{"TTL", testTTL},
		{"CanceledContext", testCanceled},
		{"CallCounter", testCallCounter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newStore(t))
		})
	}
}

// ---- helpers ----

func item(pk, sk string) store.Item {
	return store.Item{PK: pk, SK: sk, Version: 1, Data: []byte(`{"pk":"` + pk + `","sk":"` + sk + `"}`)}
}

func indexed(pk, sk, gpk, gsk string) store.Item {
	it := item(pk, sk)
	it.GSI1PK, it.GSI1SK = gpk, gsk
	return it
}

func putAll(t *testing.T, s store.Store, items []store.Item) {
	t.Helper()
	if err := s.BatchWrite(t.Context(), items, nil); err != nil {
		t.Fatalf("BatchWrite %d items: %v", len(items), err)
	}
}

func mustGet(t *testing.T, s store.Store, k store.Key) store.Item {
	t.Helper()
	it, err := s.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get %s: %v", k, err)
	}
	return it
}

func mustMissing(t *testing.T, s store.Store, k store.Key) {
	t.Helper()
	if it, err := s.Get(t.Context(), k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get %s = %+v, %v; want ErrNotFound", k, it, err)
	}
}

func sameItem(a, b store.Item) bool {
	return a.PK == b.PK && a.SK == b.SK && a.GSI1PK == b.GSI1PK && a.GSI1SK == b.GSI1SK &&
		a.Version == b.Version && a.TTL == b.TTL && bytes.Equal(a.Data, b.Data)
}

func wantItem(t *testing.T, got, want store.Item) {
	t.Helper()
	if !sameItem(got, want) {
		t.Fatalf("item mismatch:\n got  %s\n want %s", show(got), show(want))
	}
}

func show(it store.Item) string {
	d := it.Data
	if len(d) > 64 {
		d = d[:64]
	}
	return fmt.Sprintf("{PK:%q SK:%q GSI1PK:%q GSI1SK:%q V:%d TTL:%d Data(%d):%q}", it.PK, it.SK, it.GSI1PK, it.GSI1SK, it.Version, it.TTL, len(it.Data), d)
}

func query(t *testing.T, s store.Store, q store.Query) store.Page {
	t.Helper()
	p, err := s.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("Query %+v: %v", q, err)
	}
	return p
}

// queryAll follows continuation tokens to the end and returns every item
// and the number of pages read.
func queryAll(t *testing.T, s store.Store, q store.Query) ([]store.Item, int) {
	t.Helper()
	var all []store.Item
	pages := 0
	for {
		p := query(t, s, q)
		pages++
		all = append(all, p.Items...)
		if p.Next == "" {
			return all, pages
		}
		if pages > 10000 {
			t.Fatalf("query %+v: more than 10000 pages", q)
		}
		q.Token = p.Next
	}
}

func sortKeys(items []store.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.SK
	}
	return out
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func wantSKs(t *testing.T, what string, items []store.Item, want []string) {
	t.Helper()
	got := sortKeys(items)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: sort keys\n got  %q\n want %q", what, got, want)
	}
}

// ---- cases ----

func testGetPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := store.Key{PK: "USR#1", SK: "PROFILE"}
	mustMissing(t, s, k)

	it := store.Item{PK: k.PK, SK: k.SK, GSI1PK: "EMAIL#a@example.org", GSI1SK: "USR#1", Version: 7, TTL: 0, Data: []byte(`{"name":"Ann"}`)}
	if err := s.Put(ctx, it, store.Condition{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	wantItem(t, mustGet(t, s, k), it)

	// A put replaces the whole item: the index entry goes with GSI1PK.
	repl := store.Item{PK: k.PK, SK: k.SK, Version: 8, Data: []byte(`{"name":"Bo"}`)}
	if err := s.Put(ctx, repl, store.Condition{}); err != nil {
		t.Fatalf("Put replacement: %v", err)
	}
	wantItem(t, mustGet(t, s, k), repl)
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "EMAIL#a@example.org"}); len(p.Items) != 0 {
		t.Fatalf("index still holds replaced item: %v", p.Items)
	}

	// Empty data round-trips as empty.
	empty := store.Item{PK: k.PK, SK: "EMPTY"}
	if err := s.Put(ctx, empty, store.Condition{}); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	if got := mustGet(t, s, empty.Key()); len(got.Data) != 0 || got.Version != 0 {
		t.Fatalf("empty item read back as %s", show(got))
	}

	// Keys differing only in the partition/sort split are distinct items.
	a, b := item("ab", "c"), item("a", "bc")
	putAll(t, s, []store.Item{a, b})
	wantItem(t, mustGet(t, s, a.Key()), a)
	wantItem(t, mustGet(t, s, b.Key()), b)
	mustMissing(t, s, store.Key{PK: "USR#1", SK: "PROFILE2"})
	mustMissing(t, s, store.Key{PK: "USR#2", SK: "PROFILE"})
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	bad := []struct {
		name string
		err  error
	}{}
	add := func(name string, err error) {
		bad = append(bad, struct {
			name string
			err  error
		}{name, err})
	}
	_, err := s.Get(ctx, store.Key{PK: "p"})
	add("get empty SK", err)
	add("put empty PK", s.Put(ctx, store.Item{SK: "s"}, store.Condition{}))
	add("put half index key", s.Put(ctx, store.Item{PK: "p", SK: "s", GSI1PK: "g"}, store.Condition{}))
	add("put invalid UTF-8", s.Put(ctx, store.Item{PK: "p", SK: "s\xff"}, store.Condition{}))
	add("put long PK", s.Put(ctx, store.Item{PK: strings.Repeat("p", 2049), SK: "s"}, store.Condition{}))
	add("put long SK", s.Put(ctx, store.Item{PK: "p", SK: strings.Repeat("s", 1025)}, store.Condition{}))
	add("put unknown condition", s.Put(ctx, item("p", "s"), store.Condition{Kind: 99}))
	add("delete empty key", s.Delete(ctx, store.Key{}, store.Condition{}))
	_, err = s.Update(ctx, store.Item{PK: "p"})
	add("update empty SK", err)
	for _, q := range []store.Query{
		{},
		{PK: "p", Index: "GSI9"},
		{PK: "p", SKPrefix: "a", From: "a"},
		{PK: "p", From: "b", To: "a"},
		{PK: "p", Limit: -1},
	} {
		_, err := s.Query(ctx, q)
		add(fmt.Sprintf("query %+v", q), err)
	}
	add("batch duplicate put", s.BatchWrite(ctx, []store.Item{item("p", "1"), item("p", "1")}, nil))
	add("batch put and delete same key", s.BatchWrite(ctx, []store.Item{item("p", "1")}, []store.Key{{PK: "p", SK: "1"}}))
	add("batch invalid delete", s.BatchWrite(ctx, []store.Item{item("p", "2")}, []store.Key{{PK: "p"}}))
	_, err = s.BatchGet(ctx, []store.Key{{PK: "p", SK: "1"}, {SK: "x"}})
	add("batch get empty PK", err)
	add("transact same key twice", s.Transact(ctx, []store.TxOp{store.TxPut(item("p", "1"), store.Condition{}), store.TxDelete(store.Key{PK: "p", SK: "1"}, store.Condition{})}))
	add("transact check without condition", s.Transact(ctx, []store.TxOp{store.TxCheck(store.Key{PK: "p", SK: "1"}, store.Condition{})}))
	add("transact empty op", s.Transact(ctx, []store.TxOp{{}}))
	for _, b := range bad {
		if !errors.Is(b.err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", b.name, b.err)
		}
	}
	// None of the refused writes happened.
	if p := query(t, s, store.Query{PK: "p"}); len(p.Items) != 0 {
		t.Fatalf("refused writes left items: %v", sortKeys(p.Items))
	}
}

// sortKeyCases are ordered by UTF-8 bytes, DynamoDB's order: mixed lengths,
// case, digits, NUL bytes, accents, BMP characters above the surrogate range
// (U+E000, U+FFFF sort before U+1F600 in UTF-8, after it in UTF-16) and emoji.
var sortKeyCases = []string{
	"10", "9", "A", "B", "Z", "a", "a\x00", "a\x00b", "a b", "aa", "aaa", "ab", "a~",
	"b", "z", "zz", "\u00e4", "\u00e9", "e\u0301", "\u00ff", "\u0100", "\u65e5",
	"\u65e5\u672c", "\ue000", "\uffff", "\U0001f600", "\U0001f600a",
}

func testSortOrder(t *testing.T, s store.Store) {
	want := slices.Clone(sortKeyCases)
	sort.Strings(want)
	shuffled := slices.Clone(want)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var items []store.Item
	for i, sk := range shuffled {
		items = append(items, item("ORDER", sk))
		// The same strings as index sort keys, on other table keys.
		items = append(items, indexed("IDX", fmt.Sprintf("%03d", i), "GORDER", sk))
	}
	putAll(t, s, items)

	asc := query(t, s, store.Query{PK: "ORDER"})
	wantSKs(t, "ascending", asc.Items, want)
	desc := query(t, s, store.Query{PK: "ORDER", Desc: true})
	wantSKs(t, "descending", desc.Items, reversed(want))

	gsk := func(items []store.Item) []string {
		out := make([]string, len(items))
		for i, it := range items {
			out[i] = it.GSI1SK
		}
		return out
	}
	gasc := query(t, s, store.Query{Index: store.IndexGSI1, PK: "GORDER"})
	if got := gsk(gasc.Items); !slices.Equal(got, want) {
		t.Fatalf("index ascending\n got  %q\n want %q", got, want)
	}
	gdesc := query(t, s, store.Query{Index: store.IndexGSI1, PK: "GORDER", Desc: true})
	if got := gsk(gdesc.Items); !slices.Equal(got, reversed(want)) {
		t.Fatalf("index descending\n got  %q\n want %q", got, reversed(want))
	}
}

func testPrefixQuery(t *testing.T, s store.Store) {
	sks := []string{"ACC#1", "ACC#1#BAL", "ACC#1#TX#2024-01-01#a", "ACC#1#TX#2024-01-02#b", "ACC#1#TX#2024-02-01#c",
		"ACC#10#TX#2024-01-01#x", "ACC#2#TX#2024-01-01#d", "ACC#\u00e9#TX#1", "ACC#\u00e9#TX#2", "ACC#\u00ea", "ACC#\x00#1", "ACD"}
	var items []store.Item
	for _, sk := range sks {
		items = append(items, item("p1", sk))
		items = append(items, indexed("x", "p1/"+sk, "g1", sk))
	}
	// Neighbouring partitions must never leak into p1 / g1.
	items = append(items, item("p10", "ACC#1#TX#0"), item("p", "ACC#1#TX#0"), item("p1\x00", "ACC#1#TX#0"),
		indexed("y", "1", "g10", "ACC#1#TX#0"), indexed("y", "2", "g", "ACC#1#TX#0"))
	putAll(t, s, items)

	cases := []struct {
		prefix string
		want   []string
	}{
		{"ACC#1#TX#", []string{"ACC#1#TX#2024-01-01#a", "ACC#1#TX#2024-01-02#b", "ACC#1#TX#2024-02-01#c"}},
		{"ACC#1#TX#2024-01", []string{"ACC#1#TX#2024-01-01#a", "ACC#1#TX#2024-01-02#b"}},
		{"ACC#1", []string{"ACC#1", "ACC#1#BAL", "ACC#1#TX#2024-01-01#a", "ACC#1#TX#2024-01-02#b", "ACC#1#TX#2024-02-01#c", "ACC#10#TX#2024-01-01#x"}},
		{"ACC#\u00e9", []string{"ACC#\u00e9#TX#1", "ACC#\u00e9#TX#2"}},
		{"ACC#\x00", []string{"ACC#\x00#1"}},
		{"ACC#1#TX#2024-01-01#a", []string{"ACC#1#TX#2024-01-01#a"}},
		{"ACC#3", nil},
		{"B", nil},
	}
	for _, c := range cases {
		for _, desc := range []bool{false, true} {
			want := c.want
			if desc {
				want = reversed(want)
			}
			p := query(t, s, store.Query{PK: "p1", SKPrefix: c.prefix, Desc: desc})
			wantSKs(t, fmt.Sprintf("table prefix %q desc=%v", c.prefix, desc), p.Items, want)
			if p.Next != "" {
				t.Fatalf("prefix %q: unexpected continuation token", c.prefix)
			}
			g := query(t, s, store.Query{Index: store.IndexGSI1, PK: "g1", SKPrefix: c.prefix, Desc: desc})
			var got []string
			for _, it := range g.Items {
				got = append(got, it.GSI1SK)
				if it.SK != "p1/"+it.GSI1SK || it.GSI1PK != "g1" {
					t.Fatalf("index prefix %q returned %s", c.prefix, show(it))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("index prefix %q desc=%v\n got  %q\n want %q", c.prefix, desc, got, want)
			}
		}
	}
	// No prefix: the whole partition, nothing from its neighbours.
	wantAll := slices.Clone(sks)
	sort.Strings(wantAll)
	wantSKs(t, "whole partition", query(t, s, store.Query{PK: "p1"}).Items, wantAll)
	if g := query(t, s, store.Query{Index: store.IndexGSI1, PK: "g1"}); len(g.Items) != len(sks) {
		t.Fatalf("whole index partition: %d items, want %d", len(g.Items), len(sks))
	}
}

func testRangeQuery(t *testing.T, s store.Store) {
	var sks []string
	var items []store.Item
	for d := 1; d <= 9; d++ {
		sk := fmt.Sprintf("TX#2024-03-0%d", d)
		sks = append(sks, sk)
		items = append(items, item("acc", sk), indexed("other", sk, "gacc", sk))
	}
	items = append(items, item("acc", "TX#2024-03-05#late"), indexed("other", "TX#2024-03-05#late", "gacc", "TX#2024-03-05#late"))
	putAll(t, s, items)
	all := append(slices.Clone(sks[:5]), append([]string{"TX#2024-03-05#late"}, sks[5:]...)...)

	cases := []struct {
		name     string
		from, to string
		want     []string
	}{
		{"closed", "TX#2024-03-03", "TX#2024-03-05", all[2:5]},
		{"closed through extension", "TX#2024-03-03", "TX#2024-03-05~", all[2:6]},
		{"single", "TX#2024-03-04", "TX#2024-03-04", all[3:4]},
		{"bounds not present", "TX#2024-03-02a", "TX#2024-03-04a", all[2:4]},
		{"from only", "TX#2024-03-07", "", all[7:]},
		{"to only", "", "TX#2024-03-02", all[:2]},
		{"open", "", "", all},
		{"empty", "TX#2024-03-05a", "TX#2024-03-05z", nil},
		{"before all", "A", "B", nil},
		{"after all", "U", "", nil},
	}
	for _, c := range cases {
		for _, desc := range []bool{false, true} {
			want := c.want
			if desc {
				want = reversed(want)
			}
			p := query(t, s, store.Query{PK: "acc", From: c.from, To: c.to, Desc: desc})
			wantSKs(t, fmt.Sprintf("table range %s desc=%v", c.name, desc), p.Items, want)
			g := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gacc", From: c.from, To: c.to, Desc: desc})
			wantSKs(t, fmt.Sprintf("index range %s desc=%v", c.name, desc), g.Items, want)
		}
	}
}

func testPagination(t *testing.T, s store.Store) {
	const n = 53
	var items []store.Item
	var sks []string
	for i := range n {
		sk := fmt.Sprintf("item#%03d", i)
		sks = append(sks, sk)
		// Index sort keys tie in threes: pages must still see each item once.
		items = append(items, indexed("page", sk, "gpage", fmt.Sprintf("g#%02d", i/3)))
	}
	items = append(items, item("page2", "x"), indexed("zz", "1", "gpage2", "g#00"))
	putAll(t, s, items)

	for _, limit := range []int{1, 7, 53, 60} {
		for _, desc := range []bool{false, true} {
			want := sks
			if desc {
				want = reversed(sks)
			}
			got, pages := queryAll(t, s, store.Query{PK: "page", Limit: limit, Desc: desc})
			wantSKs(t, fmt.Sprintf("table limit %d desc=%v", limit, desc), got, want)
			if wantPages := (n + limit - 1) / limit; pages != wantPages {
				t.Fatalf("table limit %d: %d pages, want %d (Next must be empty after the last item)", limit, pages, wantPages)
			}

			got, pages = queryAll(t, s, store.Query{Index: store.IndexGSI1, PK: "gpage", Limit: limit, Desc: desc})
			if wantPages := (n + limit - 1) / limit; pages != wantPages {
				t.Fatalf("index limit %d: %d pages, want %d", limit, pages, wantPages)
			}
			seen := map[string]int{}
			for i, it := range got {
				seen[it.SK]++
				if i > 0 {
					prev := got[i-1].GSI1SK
					if (!desc && prev > it.GSI1SK) || (desc && prev < it.GSI1SK) {
						t.Fatalf("index limit %d desc=%v: %q after %q", limit, desc, it.GSI1SK, prev)
					}
				}
			}
			if len(got) != n || len(seen) != n {
				t.Fatalf("index limit %d desc=%v: %d items, %d distinct, want %d each", limit, desc, len(got), len(seen), n)
			}
		}
	}

	// Prefix and range queries paginate within their selection.
	got, _ := queryAll(t, s, store.Query{PK: "page", SKPrefix: "item#01", Limit: 3, Desc: true})
	wantSKs(t, "prefix pages", got, reversed(sks[10:20]))
	got, _ = queryAll(t, s, store.Query{PK: "page", From: "item#005", To: "item#031", Limit: 4})
	wantSKs(t, "range pages", got, sks[5:32])
	got, _ = queryAll(t, s, store.Query{Index: store.IndexGSI1, PK: "gpage", From: "g#02", To: "g#04", Limit: 2, Desc: true})
	if len(got) != 9 {
		t.Fatalf("index range pages: %d items, want 9", len(got))
	}

	// The page size may change between pages.
	p1 := query(t, s, store.Query{PK: "page", Limit: 5})
	p2 := query(t, s, store.Query{PK: "page", Limit: 10, Token: p1.Next})
	wantSKs(t, "resized page", p2.Items, sks[5:15])

	// Items written after a page are seen by the next page if they sort
	// after the token; removed items are simply absent.
	p1 = query(t, s, store.Query{PK: "page", Limit: 10})
	if err := s.Put(t.Context(), item("page", "item#0105"), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), store.Key{PK: "page", SK: "item#009"}, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), store.Key{PK: "page", SK: "item#010"}, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	p2 = query(t, s, store.Query{PK: "page", Limit: 3, Token: p1.Next})
	wantSKs(t, "page after writes", p2.Items, []string{"item#0105", "item#011", "item#012"})
}

func testIndexQuery(t *testing.T, s store.Store) {
	ctx := t.Context()
	putAll(t, s, []store.Item{
		indexed("CONN#1", "META", "PARTY#7", "CONN#2024-01-02#1"),
		indexed("CONN#2", "META", "PARTY#7", "CONN#2024-01-01#2"),
		indexed("CONN#3", "META", "PARTY#8", "CONN#2024-01-01#3"),
		item("CONN#4", "META"),
	})
	p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "PARTY#7"})
	if len(p.Items) != 2 || p.Items[0].PK != "CONN#2" || p.Items[1].PK != "CONN#1" {
		t.Fatalf("PARTY#7 index: %v", p.Items)
	}
	wantItem(t, p.Items[0], indexed("CONN#2", "META", "PARTY#7", "CONN#2024-01-01#2"))

	// Moving an item in the index (new GSI1 keys) removes the old entry.
	moved := indexed("CONN#1", "META", "PARTY#8", "CONN#2024-01-02#1")
	moved.Version = 2
	if err := s.Put(ctx, moved, store.IfVersion(1)); err != nil {
		t.Fatalf("move: %v", err)
	}
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "PARTY#7"}); len(p.Items) != 1 || p.Items[0].PK != "CONN#2" {
		t.Fatalf("after move, PARTY#7 index: %v", p.Items)
	}
	p = query(t, s, store.Query{Index: store.IndexGSI1, PK: "PARTY#8", Desc: true})
	if len(p.Items) != 2 || p.Items[0].PK != "CONN#1" || p.Items[0].Version != 2 {
		t.Fatalf("after move, PARTY#8 index: %v", p.Items)
	}
	// Same index keys, new data: the index returns the new data.
	moved.Data, moved.Version = []byte(`{"v":3}`), 3
	if err := s.Put(ctx, moved, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	p = query(t, s, store.Query{Index: store.IndexGSI1, PK: "PARTY#8", SKPrefix: "CONN#2024-01-02"})
	if len(p.Items) != 1 {
		t.Fatalf("PARTY#8 prefix: %v", p.Items)
	}
	wantItem(t, p.Items[0], moved)
	// Deleting removes the entry; transactions and batches keep the index too.
	if err := s.Delete(ctx, moved.Key(), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Transact(ctx, []store.TxOp{
		store.TxPut(indexed("CONN#5", "META", "PARTY#9", "a"), store.IfNotExists()),
		store.TxDelete(store.Key{PK: "CONN#3", SK: "META"}, store.IfExists()),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.BatchWrite(ctx, []store.Item{indexed("CONN#6", "META", "PARTY#9", "b")}, []store.Key{{PK: "CONN#2", SK: "META"}}); err != nil {
		t.Fatal(err)
	}
	for gpk, want := range map[string]int{"PARTY#7": 0, "PARTY#8": 0, "PARTY#9": 2} {
		if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: gpk}); len(p.Items) != want {
			t.Fatalf("%s index: %d items, want %d: %v", gpk, len(p.Items), want, p.Items)
		}
	}
	// The table partition is not the index partition.
	if p := query(t, s, store.Query{PK: "PARTY#9"}); len(p.Items) != 0 {
		t.Fatalf("table query on an index key: %v", p.Items)
	}
}

func testConditions(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := indexed("c", "1", "gc", "1")
	orig.Version = 3
	if err := s.Put(ctx, orig, store.IfNotExists()); err != nil {
		t.Fatalf("put if not exists on missing: %v", err)
	}
	other := indexed("c", "1", "gc2", "2")
	other.Data, other.Version = []byte("changed"), 9
	failing := []struct {
		name string
		cond store.Condition
	}{
		{"not exists on existing", store.IfNotExists()},
		{"older version", store.IfVersion(2)},
		{"newer version", store.IfVersion(4)},
	}
	for _, f := range failing {
		if err := s.Put(ctx, other, f.cond); !errors.Is(err, store.ErrConditionFailed) {
			t.Fatalf("%s: err = %v, want ErrConditionFailed", f.name, err)
		}
		wantItem(t, mustGet(t, s, orig.Key()), orig)
		if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gc2"}); len(p.Items) != 0 {
			t.Fatalf("%s: failed write reached the index", f.name)
		}
	}
	missing := item("c", "2")
	for _, cond := range []store.Condition{store.IfExists(), store.IfVersion(0), store.IfVersion(1)} {
		if err := s.Put(ctx, missing, cond); !errors.Is(err, store.ErrConditionFailed) {
			t.Fatalf("%+v on missing: err = %v, want ErrConditionFailed", cond, err)
		}
		mustMissing(t, s, missing.Key())
	}
	if err := s.Put(ctx, other, store.IfVersion(3)); err != nil {
		t.Fatalf("matching version: %v", err)
	}
	wantItem(t, mustGet(t, s, orig.Key()), other)
	if err := s.Put(ctx, orig, store.IfExists()); err != nil {
		t.Fatalf("exists on existing: %v", err)
	}
	wantItem(t, mustGet(t, s, orig.Key()), orig)
	// Version 0 is a version like any other.
	zero := item("c", "3")
	zero.Version = 0
	if err := s.Put(ctx, zero, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, zero, store.IfVersion(0)); err != nil {
		t.Fatalf("version 0 matching: %v", err)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	it := indexed("u", "1", "gu", "a")
	it.Version = 1
	if err := s.Put(ctx, it, store.IfNotExists()); err != nil {
		t.Fatal(err)
	}
	next := it
	next.Data, next.GSI1SK = []byte(`{"step":2}`), "b"
	v, err := s.Update(ctx, next)
	if err != nil || v != 2 {
		t.Fatalf("Update = %d, %v; want 2", v, err)
	}
	next.Version = 2
	wantItem(t, mustGet(t, s, it.Key()), next)
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gu"}); len(p.Items) != 1 || p.Items[0].GSI1SK != "b" {
		t.Fatalf("index after update: %v", p.Items)
	}

	stale := it // still version 1
	stale.Data = []byte("stale")
	if _, err := s.Update(ctx, stale); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("stale Update: err = %v, want ErrConditionFailed", err)
	}
	wantItem(t, mustGet(t, s, it.Key()), next)

	v, err = s.Update(ctx, next)
	if err != nil || v != 3 {
		t.Fatalf("second Update = %d, %v; want 3", v, err)
	}
	if _, err := s.Update(ctx, item("u", "missing")); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("Update of missing item: err = %v, want ErrConditionFailed", err)
	}
	mustMissing(t, s, store.Key{PK: "u", SK: "missing"})
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := indexed("d", "a", "gd", "a"), item("d", "b")
	b.Version = 5
	putAll(t, s, []store.Item{a, b})

	if err := s.Delete(ctx, a.Key(), store.Condition{}); err != nil {
		t.Fatalf("unconditional delete: %v", err)
	}
	mustMissing(t, s, a.Key())
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gd"}); len(p.Items) != 0 {
		t.Fatalf("deleted item still indexed: %v", p.Items)
	}
	if err := s.Delete(ctx, a.Key(), store.Condition{}); err != nil {
		t.Fatalf("unconditional delete of missing item: %v", err)
	}
	if err := s.Delete(ctx, a.Key(), store.IfExists()); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("delete-if-exists of missing item: err = %v", err)
	}
	if err := s.Delete(ctx, a.Key(), store.IfVersion(1)); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("versioned delete of missing item: err = %v", err)
	}
	if err := s.Delete(ctx, b.Key(), store.IfVersion(4)); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("delete with wrong version: err = %v", err)
	}
	wantItem(t, mustGet(t, s, b.Key()), b)
	if err := s.Delete(ctx, b.Key(), store.IfVersion(5)); err != nil {
		t.Fatalf("delete with right version: %v", err)
	}
	mustMissing(t, s, b.Key())
	c := item("d", "c")
	if err := s.Put(ctx, c, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, c.Key(), store.IfExists()); err != nil {
		t.Fatalf("delete-if-exists: %v", err)
	}
	mustMissing(t, s, c.Key())
}

func testTransact(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed := []store.Item{item("t", "exists"), item("t", "gone"), indexed("t", "v5", "gt", "v5")}
	seed[2].Version = 5
	putAll(t, s, seed)
	snapshot := func() []store.Item {
		t.Helper()
		items, _ := queryAll(t, s, store.Query{PK: "t"})
		return items
	}
	before := snapshot()

	newA := indexed("t", "new-a", "gt", "new-a")
	failing := []struct {
		name  string
		ops   []store.TxOp
		index int
	}{
		{"put not exists on existing", []store.TxOp{
			store.TxPut(newA, store.IfNotExists()),
			store.TxDelete(store.Key{PK: "t", SK: "gone"}, store.Condition{}),
			store.TxPut(item("t", "exists"), store.IfNotExists()),
		}, 2},
		{"check version", []store.TxOp{
			store.TxPut(newA, store.Condition{}),
			store.TxCheck(store.Key{PK: "t", SK: "v5"}, store.IfVersion(4)),
		}, 1},
		{"check missing", []store.TxOp{
			store.TxCheck(store.Key{PK: "t", SK: "nope"}, store.IfExists()),
			store.TxPut(newA, store.Condition{}),
		}, 0},
		{"delete wrong version", []store.TxOp{
			store.TxPut(newA, store.IfNotExists()),
			store.TxCheck(store.Key{PK: "t", SK: "exists"}, store.IfExists()),
			store.TxDelete(store.Key{PK: "t", SK: "v5"}, store.IfVersion(6)),
		}, 2},
		{"update missing", []store.TxOp{
			store.TxPut(item("t", "missing"), store.IfVersion(1)),
			store.TxDelete(store.Key{PK: "t", SK: "gone"}, store.Condition{}),
		}, 0},
		{"two failures report the first", []store.TxOp{
			store.TxPut(newA, store.Condition{}),
			store.TxPut(item("t", "exists"), store.IfNotExists()),
			store.TxDelete(store.Key{PK: "t", SK: "v5"}, store.IfVersion(1)),
		}, 1},
	}
	for _, f := range failing {
		err := s.Transact(ctx, f.ops)
		var txErr *store.TxError
		if !errors.As(err, &txErr) || !errors.Is(err, store.ErrConditionFailed) {
			t.Fatalf("%s: err = %v, want *TxError matching ErrConditionFailed", f.name, err)
		}
		if txErr.Index != f.index || txErr.Key != f.ops[f.index].OpKey() {
			t.Fatalf("%s: TxError{%d, %s}, want {%d, %s}", f.name, txErr.Index, txErr.Key, f.index, f.ops[f.index].OpKey())
		}
		after := snapshot()
		if len(after) != len(before) {
			t.Fatalf("%s: failed transaction changed the partition: %v", f.name, sortKeys(after))
		}
		for i := range after {
			wantItem(t, after[i], before[i])
		}
		if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gt"}); len(p.Items) != 1 {
			t.Fatalf("%s: failed transaction changed the index: %v", f.name, p.Items)
		}
	}

	// A transaction whose conditions hold applies every op.
	v6 := seed[2]
	v6.Version, v6.Data = 6, []byte("six")
	err := s.Transact(ctx, []store.TxOp{
		store.TxPut(newA, store.IfNotExists()),
		store.TxDelete(store.Key{PK: "t", SK: "gone"}, store.IfExists()),
		store.TxCheck(store.Key{PK: "t", SK: "exists"}, store.IfVersion(1)),
		store.TxPut(v6, store.IfVersion(5)),
		store.TxDelete(store.Key{PK: "t", SK: "never-was"}, store.Condition{}),
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	wantItem(t, mustGet(t, s, newA.Key()), newA)
	mustMissing(t, s, store.Key{PK: "t", SK: "gone"})
	wantItem(t, mustGet(t, s, seed[0].Key()), seed[0])
	wantItem(t, mustGet(t, s, v6.Key()), v6)
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gt"}); len(p.Items) != 2 {
		t.Fatalf("index after transaction: %v", p.Items)
	}
	if err := s.Transact(ctx, nil); err != nil {
		t.Fatalf("empty transaction: %v", err)
	}
}

func testTransactLimits(t *testing.T, s store.Store) {
	ctx := t.Context()
	ops := make([]store.TxOp, store.MaxTransactItems+1)
	for i := range ops {
		ops[i] = store.TxPut(item("tl", fmt.Sprintf("%03d", i)), store.IfNotExists())
	}
	if err := s.Transact(ctx, ops); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("101 ops: err = %v, want ErrTooLarge", err)
	}
	if p := query(t, s, store.Query{PK: "tl"}); len(p.Items) != 0 {
		t.Fatalf("refused transaction wrote %d items", len(p.Items))
	}
	if err := s.Transact(ctx, ops[:store.MaxTransactItems]); err != nil {
		t.Fatalf("100 ops: %v", err)
	}
	if p := query(t, s, store.Query{PK: "tl"}); len(p.Items) != store.MaxTransactItems {
		t.Fatalf("100-op transaction wrote %d items", len(p.Items))
	}
	big := item("tl", "big")
	big.Data = make([]byte, store.MaxItemSize)
	err := s.Transact(ctx, []store.TxOp{store.TxPut(item("tl", "small"), store.Condition{}), store.TxPut(big, store.Condition{})})
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("oversized item: err = %v, want ErrTooLarge", err)
	}
	mustMissing(t, s, store.Key{PK: "tl", SK: "small"})
}

func batchItems(pk string, n, dataSize int) []store.Item {
	items := make([]store.Item, n)
	for i := range items {
		it := item(pk, fmt.Sprintf("%05d", i))
		if i%2 == 0 {
			it.GSI1PK, it.GSI1SK = "G"+pk, fmt.Sprintf("%05d", n-i)
		}
		it.Data = fmt.Appendf(nil, `{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", dataSize))
		items[i] = it
	}
	return items
}

func testBatchWrite(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, n := range []int{0, 1, 25, 26, 1000} {
		pk := fmt.Sprintf("batch%d", n)
		items := batchItems(pk, n, 64)
		if err := s.BatchWrite(ctx, items, nil); err != nil {
			t.Fatalf("BatchWrite %d: %v", n, err)
		}
		got, _ := queryAll(t, s, store.Query{PK: pk})
		if len(got) != n {
			t.Fatalf("BatchWrite %d: read back %d items", n, len(got))
		}
		for i := range got {
			wantItem(t, got[i], items[i])
		}
		idx, _ := queryAll(t, s, store.Query{Index: store.IndexGSI1, PK: "G" + pk, Limit: 400})
		if len(idx) != (n+1)/2 {
			t.Fatalf("BatchWrite %d: %d index entries, want %d", n, len(idx), (n+1)/2)
		}
	}
	// The default page is 1000 items, with a token only if more follow.
	p := query(t, s, store.Query{PK: "batch1000"})
	if len(p.Items) != store.DefaultLimit || p.Next != "" {
		t.Fatalf("default page of 1000 items: %d items, Next %q", len(p.Items), p.Next)
	}
	if err := s.Put(ctx, item("batch1000", "extra"), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	p = query(t, s, store.Query{PK: "batch1000"})
	if len(p.Items) != store.DefaultLimit || p.Next == "" {
		t.Fatalf("default page of 1001 items: %d items, Next %q", len(p.Items), p.Next)
	}
	p = query(t, s, store.Query{PK: "batch1000", Token: p.Next})
	if len(p.Items) != 1 || p.Items[0].SK != "extra" || p.Next != "" {
		t.Fatalf("second page: %v, Next %q", sortKeys(p.Items), p.Next)
	}
	// Overwriting through a batch replaces items and moves index entries.
	over := batchItems("batch26", 26, 8)
	for i := range over {
		over[i].Version = 2
		over[i].GSI1PK, over[i].GSI1SK = "", ""
	}
	if err := s.BatchWrite(ctx, over, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := queryAll(t, s, store.Query{PK: "batch26"})
	for i := range got {
		wantItem(t, got[i], over[i])
	}
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "Gbatch26"}); len(p.Items) != 0 {
		t.Fatalf("overwritten batch left %d index entries", len(p.Items))
	}
	// An invalid item refuses the whole batch before anything is written.
	bad := batchItems("batchbad", 30, 8)
	bad[29].Data = make([]byte, store.MaxItemSize)
	if err := s.BatchWrite(ctx, bad, nil); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("batch with oversized item: err = %v", err)
	}
	if p := query(t, s, store.Query{PK: "batchbad"}); len(p.Items) != 0 {
		t.Fatalf("refused batch wrote %d items", len(p.Items))
	}
}

func testBatchDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	items := batchItems("bd", 60, 16)
	putAll(t, s, items)
	var dels []store.Key
	for i := 0; i < 60; i += 2 {
		dels = append(dels, items[i].Key())
	}
	dels = append(dels, store.Key{PK: "bd", SK: "never-existed"})
	// Mixed: delete the even items, add three new ones, in one call.
	puts := []store.Item{item("bd", "new1"), item("bd", "new2"), item("bd", "new3")}
	if err := s.BatchWrite(ctx, puts, dels); err != nil {
		t.Fatalf("batch delete: %v", err)
	}
	got, _ := queryAll(t, s, store.Query{PK: "bd", Limit: 7})
	var want []string
	for i := 1; i < 60; i += 2 {
		want = append(want, items[i].SK)
	}
	want = append(want, "new1", "new2", "new3")
	wantSKs(t, "after batch delete", got, want)
	if p := query(t, s, store.Query{Index: store.IndexGSI1, PK: "Gbd"}); len(p.Items) != 0 {
		t.Fatalf("batch delete left %d index entries", len(p.Items))
	}
	// Deleting everything, twice, is fine.
	var all []store.Key
	for _, it := range got {
		all = append(all, it.Key())
	}
	for range 2 {
		if err := s.BatchWrite(ctx, nil, all); err != nil {
			t.Fatalf("delete all: %v", err)
		}
	}
	if p := query(t, s, store.Query{PK: "bd"}); len(p.Items) != 0 {
		t.Fatalf("after deleting all: %v", sortKeys(p.Items))
	}
}

func testBatchGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	items := batchItems("bg", 130, 16)
	putAll(t, s, items)
	var keys []store.Key
	want := map[store.Key]store.Item{}
	for i := range 150 {
		if i < 130 && i%6 != 5 {
			keys = append(keys, items[i].Key())
			want[items[i].Key()] = items[i]
		} else {
			keys = append(keys, store.Key{PK: "bg", SK: fmt.Sprintf("missing%03d", i)})
		}
	}
	keys = append(keys, keys[0], keys[149]) // duplicates are read once
	got, err := s.BatchGet(ctx, keys)
	if err != nil {
		t.Fatalf("BatchGet: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("BatchGet: %d items, want %d", len(got), len(want))
	}
	for _, it := range got {
		w, ok := want[it.Key()]
		if !ok {
			t.Fatalf("BatchGet returned unexpected %s", it.Key())
		}
		wantItem(t, it, w)
		delete(want, it.Key())
	}
	if got, err := s.BatchGet(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty BatchGet = %v, %v", got, err)
	}
	if got, err := s.BatchGet(ctx, []store.Key{{PK: "bg", SK: "nope"}}); err != nil || len(got) != 0 {
		t.Fatalf("BatchGet of a missing key = %v, %v", got, err)
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, rounds = 10, 5
	base := item("conc", "counter")
	if err := s.Put(ctx, base, store.IfNotExists()); err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		cur := mustGet(t, s, base.Key())
		var wins atomic.Int32
		var winner atomic.Int32
		errs := make(chan error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				next := cur
				next.Data = fmt.Appendf(nil, `{"round":%d,"writer":%d}`, round, w)
				v, err := s.Update(ctx, next)
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(int32(w))
					if v != cur.Version+1 {
						errs <- fmt.Errorf("writer %d: new version %d, want %d", w, v, cur.Version+1)
					}
				case !errors.Is(err, store.ErrConditionFailed):
					errs <- fmt.Errorf("writer %d: %w", w, err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, n)
		}
		got := mustGet(t, s, base.Key())
		want := fmt.Sprintf(`{"round":%d,"writer":%d}`, round, winner.Load())
		if got.Version != cur.Version+1 || string(got.Data) != want {
			t.Fatalf("round %d: stored %s, want version %d and the winner's data %s", round, show(got), cur.Version+1, want)
		}
	}

	// The same race through transactions: each writer bumps the counter
	// and records its claim in one transaction; exactly one commits, and no
	// loser's claim is written.
	cur := mustGet(t, s, base.Key())
	var wins atomic.Int32
	errs := make(chan error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			next := cur
			next.Version++
			next.Data = fmt.Appendf(nil, `{"tx":true,"writer":%d}`, w)
			claim := item("conc", fmt.Sprintf("claim#%02d", w))
			err := s.Transact(ctx, []store.TxOp{store.TxPut(next, store.IfVersion(cur.Version)), store.TxPut(claim, store.IfNotExists())})
			var txErr *store.TxError
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.As(err, &txErr) || txErr.Index != 0:
				errs <- fmt.Errorf("transaction writer %d: %v, want success or *TxError of op 0", w, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := wins.Load(); n != 1 {
		t.Fatalf("transactions: %d winners, want exactly 1", n)
	}
	claims := query(t, s, store.Query{PK: "conc", SKPrefix: "claim#"})
	got := mustGet(t, s, base.Key())
	if len(claims.Items) != 1 || got.Version != cur.Version+1 ||
		string(got.Data) != fmt.Sprintf(`{"tx":true,"writer":%d}`, mustAtoi(t, strings.TrimPrefix(claims.Items[0].SK, "claim#"))) {
		t.Fatalf("transactions: counter %s, claims %q; want the one winner's counter and claim", show(got), sortKeys(claims.Items))
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return n
}

func testLargeItems(t *testing.T, s store.Store) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	var bigs []store.Item
	for i, size := range []int{350 * 1024, 200*1024 + 1, 64 * 1024} {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		it := indexed("large", fmt.Sprintf("%d", i), "glarge", fmt.Sprintf("%d", i))
		it.Data = data
		bigs = append(bigs, it)
	}
	if err := s.Put(ctx, bigs[0], store.IfNotExists()); err != nil {
		t.Fatalf("put 350 KB: %v", err)
	}
	wantItem(t, mustGet(t, s, bigs[0].Key()), bigs[0])
	if err := s.BatchWrite(ctx, bigs[1:], nil); err != nil {
		t.Fatalf("batch of large items: %v", err)
	}
	got, err := s.BatchGet(ctx, []store.Key{bigs[0].Key(), bigs[1].Key(), bigs[2].Key()})
	if err != nil || len(got) != 3 {
		t.Fatalf("BatchGet large = %d items, %v", len(got), err)
	}
	byKey := map[store.Key]store.Item{}
	for _, it := range got {
		byKey[it.Key()] = it
	}
	for _, b := range bigs {
		wantItem(t, byKey[b.Key()], b)
	}
	all, _ := queryAll(t, s, store.Query{Index: store.IndexGSI1, PK: "glarge", Limit: 2})
	if len(all) != 3 {
		t.Fatalf("index query of large items: %d", len(all))
	}
	for i := range all {
		wantItem(t, all[i], bigs[i])
	}

	tooBig := item("large", "huge")
	tooBig.Data = make([]byte, 400*1024)
	if err := s.Put(ctx, tooBig, store.Condition{}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("put 400 KB: err = %v, want ErrTooLarge", err)
	}
	if _, err := s.Update(ctx, tooBig); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("update 400 KB: err = %v, want ErrTooLarge", err)
	}
	grown := bigs[0]
	grown.Data = append(slices.Clone(grown.Data), make([]byte, 60*1024)...)
	if err := s.Put(ctx, grown, store.Condition{}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("put 410 KB over existing: err = %v, want ErrTooLarge", err)
	}
	mustMissing(t, s, tooBig.Key())
	wantItem(t, mustGet(t, s, bigs[0].Key()), bigs[0])
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	var items []store.Item
	for i := range 10 {
		items = append(items, indexed("tok", fmt.Sprintf("%02d", i), "gtok", fmt.Sprintf("%02d", i)), item("tok2", fmt.Sprintf("%02d", i)))
	}
	putAll(t, s, items)
	q := store.Query{PK: "tok", Limit: 3}
	tok := query(t, s, q).Next
	if tok == "" {
		t.Fatal("no token for a partial page")
	}
	// The genuine token works (also repeatedly: tokens are not single-use).
	for range 2 {
		q.Token = tok
		wantSKs(t, "genuine token", query(t, s, q).Items, []string{"03", "04", "05"})
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token is not base64url: %v", err)
	}
	invalid := map[string]store.Query{}
	for _, pos := range []int{0, 10, 16, len(raw) / 2, len(raw) - 2, len(raw) - 1} {
		flipped := slices.Clone(raw)
		flipped[pos] ^= 0x01
		tq := q
		tq.Token = base64.RawURLEncoding.EncodeToString(flipped)
		invalid[fmt.Sprintf("flipped byte %d", pos)] = tq
	}
	for name, tq := range map[string]store.Query{
		"other partition":       {PK: "tok2", Limit: 3},
		"other direction":       {PK: "tok", Limit: 3, Desc: true},
		"other prefix":          {PK: "tok", Limit: 3, SKPrefix: "0"},
		"other range":           {PK: "tok", Limit: 3, From: "00"},
		"index instead":         {Index: store.IndexGSI1, PK: "tok", Limit: 3},
		"index other partition": {Index: store.IndexGSI1, PK: "gtok", Limit: 3},
	} {
		tq.Token = tok
		invalid[name] = tq
	}
	for name, garbage := range map[string]string{
		"garbage":    "garbage",
		"not base64": "!!!not base64!!!",
		"short":      "AA",
		"truncated":  tok[:len(tok)-4],
		"extended":   tok + "AAAA",
		"padded":     tok + "==",
		"random":     base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 64)),
	} {
		tq := q
		tq.Token = garbage
		invalid[name] = tq
	}
	// A token of the index is not valid on the table, or on another index partition.
	gq := store.Query{Index: store.IndexGSI1, PK: "gtok", Limit: 3}
	gtok := query(t, s, gq).Next
	invalid["index token on table"] = store.Query{PK: "gtok", Limit: 3, Token: gtok}
	invalid["index token on other index partition"] = store.Query{Index: store.IndexGSI1, PK: "tok", Limit: 3, Token: gtok}
	for name, tq := range invalid {
		if p, err := s.Query(ctx, tq); !errors.Is(err, store.ErrInvalidToken) {
			t.Errorf("%s: Query = %d items, %v; want ErrInvalidToken", name, len(p.Items), err)
		}
	}
	gq.Token = gtok
	if p := query(t, s, gq); len(p.Items) != 3 || p.Items[0].GSI1SK != "03" {
		t.Fatalf("genuine index token: %v", p.Items)
	}
}

// testTokenAfter: a token made after any item a query returned resumes
// right after it, in both directions, on the table and on the index, and
// belongs to that query only.
func testTokenAfter(t *testing.T, s store.Store) {
	var items []store.Item
	for i := range 8 {
		items = append(items, indexed("after", fmt.Sprintf("%02d", i), "gafter", fmt.Sprintf("g%02d", i)))
	}
	putAll(t, s, items)
	for _, q := range []store.Query{
		{PK: "after", Limit: 6},
		{PK: "after", Limit: 6, Desc: true},
		{Index: store.IndexGSI1, PK: "gafter", Limit: 6},
		{Index: store.IndexGSI1, PK: "gafter", Limit: 6, Desc: true},
	} {
		page := query(t, s, q)
		for i, it := range page.Items[:5] {
			rest := q
			rest.Limit, rest.Token = 0, s.TokenAfter(q, it)
			got, _ := queryAll(t, s, rest)
			all, _ := queryAll(t, s, store.Query{Index: q.Index, PK: q.PK, Desc: q.Desc})
			wantSKs(t, fmt.Sprintf("%+v after item %d", q, i), got, sortKeys(all[i+1:]))
		}
		other := store.Query{Index: q.Index, PK: q.PK, Desc: !q.Desc, Token: s.TokenAfter(q, page.Items[0])}
		if _, err := s.Query(t.Context(), other); !errors.Is(err, store.ErrInvalidToken) {
			t.Fatalf("%+v: a token after an item is valid for the other direction: %v", q, err)
		}
	}
}

func testTTL(t *testing.T, s store.Store) {
	ctx := t.Context()
	future := indexed("ttl", "future", "gttl", "future")
	future.TTL = 4102444800 // 2100-01-01
	past := item("ttl", "past")
	past.TTL = 946684800 // 2000-01-01: reads do not hide expired items
	none := item("ttl", "none")
	if err := s.Put(ctx, future, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	putAll(t, s, []store.Item{past, none})
	wantItem(t, mustGet(t, s, future.Key()), future)
	wantItem(t, mustGet(t, s, past.Key()), past)
	wantItem(t, mustGet(t, s, none.Key()), none)
	got, _ := queryAll(t, s, store.Query{PK: "ttl"})
	if len(got) != 3 {
		t.Fatalf("query: %d items", len(got))
	}
	wantItem(t, got[0], future)
	wantItem(t, got[1], none)
	wantItem(t, got[2], past)
	g := query(t, s, store.Query{Index: store.IndexGSI1, PK: "gttl"})
	if len(g.Items) != 1 {
		t.Fatalf("index query: %v", g.Items)
	}
	wantItem(t, g.Items[0], future)
	// Update keeps a new TTL, and clearing it stores none.
	future.TTL = 4102444801
	if _, err := s.Update(ctx, future); err != nil {
		t.Fatal(err)
	}
	future.Version++
	wantItem(t, mustGet(t, s, future.Key()), future)
	future.TTL = 0
	if err := s.Transact(ctx, []store.TxOp{store.TxPut(future, store.IfVersion(future.Version))}); err != nil {
		t.Fatal(err)
	}
	bg, err := s.BatchGet(ctx, []store.Key{future.Key()})
	if err != nil || len(bg) != 1 {
		t.Fatalf("BatchGet = %v, %v", bg, err)
	}
	wantItem(t, bg[0], future)
}

func testCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	it := item("cx", "1")
	if err := s.Put(ctx, it, store.Condition{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with canceled context: err = %v", err)
	}
	if err := s.BatchWrite(ctx, []store.Item{it}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("BatchWrite with canceled context: err = %v", err)
	}
	if err := s.Transact(ctx, []store.TxOp{store.TxPut(it, store.Condition{})}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Transact with canceled context: err = %v", err)
	}
	if _, err := s.Query(ctx, store.Query{PK: "cx"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Query with canceled context: err = %v", err)
	}
	mustMissing(t, s, it.Key())
}

// testCallCounter: a context's call counter (store.WithCallCounter) sees
// exactly the round trips the driver counts for calls made with it (a batch
// of 30 writes is two), and none made with another context.
func testCallCounter(t *testing.T, s store.Store) {
	counted, ok := s.(interface{ Calls() int64 })
	if !ok {
		t.Fatalf("%T does not count its calls", s)
	}
	var n atomic.Int64
	ctx := store.WithCallCounter(context.Background(), &n)
	before := counted.Calls()
	putAll(t, s, []store.Item{item("cc", "a")}) // not counted: another context
	if err := s.BatchWrite(ctx, batchItems("cc", 30, 10), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, store.Key{PK: "cc", SK: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, store.Query{PK: "cc", Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if got, total := n.Load(), counted.Calls()-before; got != 4 || total != 5 {
		t.Fatalf("counter %d, driver %d: want 4 (2 batch chunks, get, query) of 5", got, total)
	}
}
