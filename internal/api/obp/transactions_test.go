package obp_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
)

func txIDs(t *testing.T, r resp) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("transactions: %d %s", r.status, r.body)
	}
	var out []string
	for _, x := range r.json(t)["transactions"].([]any) {
		out = append(out, x.(map[string]any)["id"].(string))
	}
	return out
}

func TestTransactionsPaging(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		list := base + acc1 + "/owner/transactions"
		cases := []struct {
			name    string
			headers []string
			want    []string
		}{
			{"default: completed, DESC", nil, []string{"tx5", "tx4", "tx3", "tx2", "tx1"}},
			{"ASC", []string{"obp_sort_direction", "ASC"}, []string{"tx1", "tx2", "tx3", "tx4", "tx5"}},
			{"asc lower case", []string{"obp_sort_direction", "asc", "obp_sort_by", "completed"}, []string{"tx1", "tx2", "tx3", "tx4", "tx5"}},
			{"limit", []string{"obp_limit", "2"}, []string{"tx5", "tx4"}},
			{"limit and offset", []string{"obp_limit", "2", "obp_offset", "2"}, []string{"tx3", "tx2"}},
			{"offset past the end", []string{"obp_offset", "9"}, nil},
			{"from date", []string{"obp_from_date", "2024-03-01T12:01:00.000Z"}, []string{"tx5", "tx4", "tx3"}},
			{"to date (inclusive)", []string{"obp_to_date", "2024-03-01T11:01:00.000Z"}, []string{"tx2", "tx1"}},
			{"from and to, ASC", []string{"obp_from_date", "2024-03-01T11:00:00.000Z", "obp_to_date", "2024-03-01T13:00:00.000Z", "obp_sort_direction", "ASC"}, []string{"tx2", "tx3"}},
			// OBP-API's fallback format yyyy-MM-dd'T'HH:mm:ss.SSSZ (an RFC 822
			// zone): the same instants, also in another zone.
			{"from date, fallback format", []string{"obp_from_date", "2024-03-01T12:01:00.000+0000"}, []string{"tx5", "tx4", "tx3"}},
			{"from date, fallback format east of UTC", []string{"obp_from_date", "2024-03-01T13:01:00.000+0100"}, []string{"tx5", "tx4", "tx3"}},
			{"to date, fallback format west of UTC", []string{"obp_to_date", "2024-03-01T06:01:00.000-0500"}, []string{"tx2", "tx1"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if got := txIDs(t, e.do("GET", list, alice, "", c.headers...)); !slices.Equal(got, c.want) {
					t.Errorf("got %v, want %v", got, c.want)
				}
			})
		}
		bad := []struct {
			name, header, value, code string
		}{
			{"sort by", "obp_sort_by", "amount", obperr.CodeSortBy},
			{"direction", "obp_sort_direction", "UP", obperr.CodeSortDirection},
			{"limit zero", "obp_limit", "0", obperr.CodeLimit},
			{"limit too big", "obp_limit", "501", obperr.CodeLimit},
			{"limit not a number", "obp_limit", "ten", obperr.CodeLimit},
			{"negative offset", "obp_offset", "-1", obperr.CodeOffset},
			{"from date format", "obp_from_date", "2024-03-01", obperr.CodeDateFormat},
			{"to date format", "obp_to_date", "yesterday", obperr.CodeDateFormat},
			{"zone with a colon", "obp_from_date", "2024-03-01T12:01:00.000+00:00", obperr.CodeDateFormat},
		}
		for _, c := range bad {
			t.Run("bad "+c.name, func(t *testing.T) {
				expectError(t, e.do("GET", list, alice, "", c.header, c.value), 400, c.code)
			})
		}
	})
}

// TestTransactionsStoreCalls: GET .../owner/transactions with limit 50
// and metadata on every transaction costs 2 store calls (one BatchGet, one
// index query), on a history much longer than the page.
func TestTransactionsStoreCalls(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		const n = 120
		txs := make([]holdings.Transaction, n)
		for i := range n {
			bal := decimal.NewFromInt(int64(i))
			tx := holdings.Transaction{ID: fmt.Sprintf("h%03d", i), AccountID: acc2, Status: "posted",
				MadeOn: t0.Add(time.Duration(i) * time.Hour), Amount: decimal.NewFromInt(-1), Currency: "EUR",
				Description: "coffee", CounterpartyName: fmt.Sprintf("Cafe %d", i%7), BalanceAfter: &bal}
			tx.CounterpartyID = holdings.CounterpartyID(tx.CounterpartyName, "")
			txs[i] = tx
		}
		e.putTxs(txs)
		// Metadata on every other transaction (owner view) and on another
		// view, through the API.
		for i := 0; i < n; i += 2 {
			p := fmt.Sprintf("%s%s/owner/transactions/h%03d/metadata/", base, acc2, i)
			if r := e.do("POST", p+"tags", alice, `{"value":"coffee"}`); r.status != 201 {
				t.Fatalf("tag: %d %s", r.status, r.body)
			}
			if r := e.do("POST", p+"narrative", alice, `{"narrative":"morning"}`); r.status != 201 {
				t.Fatalf("narrative: %d %s", r.status, r.body)
			}
		}
		for _, dir := range []string{"DESC", "ASC"} {
			for _, offset := range []string{"0", "30"} {
				e.st.Reset()
				r := e.do("GET", base+acc2+"/owner/transactions", alice, "", "obp_limit", "50", "obp_sort_direction", dir, "obp_offset", offset)
				ids := txIDs(t, r)
				if len(ids) != 50 {
					t.Fatalf("%s offset %s: %d transactions", dir, offset, len(ids))
				}
				if calls := e.st.Reads.Load() + e.st.Writes.Load(); calls > 2 {
					t.Errorf("%s offset %s: %d store calls, want ≤ 2", dir, offset, calls)
				}
				t.Logf("%s offset %s: %d store calls", dir, offset, e.st.Reads.Load()+e.st.Writes.Load())
				// Metadata arrives with its transaction.
				for _, x := range r.json(t)["transactions"].([]any) {
					tx := x.(map[string]any)
					var i int
					fmt.Sscanf(tx["id"].(string), "h%03d", &i)
					md := tx["metadata"].(map[string]any)
					if (i%2 == 0) != (md["narrative"] == "morning") || (i%2 == 0) != (len(md["tags"].([]any)) == 1) {
						t.Errorf("%s: metadata %v", tx["id"], md)
					}
				}
				first, last := ids[0], ids[len(ids)-1]
				want := map[string][2]string{"DESC0": {"h119", "h070"}, "DESC30": {"h089", "h040"}, "ASC0": {"h000", "h049"}, "ASC30": {"h030", "h079"}}[dir+offset]
				if first != want[0] || last != want[1] {
					t.Errorf("%s offset %s: %s..%s, want %s..%s", dir, offset, first, last, want[0], want[1])
				}
			}
		}
		// One transaction: one BatchGet.
		e.st.Reset()
		if r := e.do("GET", base+acc2+"/owner/transactions/h004/transaction", alice, ""); r.status != 200 {
			t.Fatalf("transaction: %d", r.status)
		}
		if calls := e.st.Reads.Load(); calls != 1 {
			t.Errorf("one transaction: %d store calls", calls)
		}
		// Adding a comment: one read, one write.
		e.st.Reset()
		if r := e.do("POST", base+acc2+"/owner/transactions/h004/metadata/comments", alice, `{"value":"x"}`); r.status != 201 {
			t.Fatalf("comment: %d", r.status)
		}
		if r, w := e.st.Reads.Load(), e.st.Writes.Load(); r != 1 || w != 1 {
			t.Errorf("comment: %d reads, %d writes", r, w)
		}
	})
}
