package obp_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
)

// seedHistory writes n transactions of acc2 naming cps distinct
// counterparties, with the counterparty directory, as the holdings
// importer writes them (batches of transactions and, per batch, one
// directory item per distinct counterparty). It returns the directory's
// ids in order.
func (e *env) seedHistory(t *testing.T, n, cps int) []string {
	t.Helper()
	const chunk = 1000
	var ids []string
	seen := map[string]bool{}
	for start := 0; start < n; start += chunk {
		var items []store.Item
		dir := map[string]bool{}
		for i := start; i < min(start+chunk, n); i++ {
			tx := holdings.Transaction{ID: fmt.Sprintf("h%05d", i), AccountID: acc2, Status: "posted",
				MadeOn: t0.Add(time.Duration(i) * time.Minute), Amount: decimal.NewFromInt(-2), Currency: "EUR",
				Description: "purchase", CounterpartyName: fmt.Sprintf("Payee %02d", i%cps)}
			if i%3 == 0 {
				tx.CounterpartyIBAN = fmt.Sprintf("DE%020d", i%cps)
				tx.CounterpartyName = fmt.Sprintf("Payee %02d", i%cps+cps) // another counterparty than without IBAN
			}
			tx.CounterpartyID = holdings.CounterpartyID(tx.CounterpartyName, tx.CounterpartyIBAN)
			items = append(items, store.Item{PK: holdings.AccountPK(acc2), SK: holdings.TxSK(tx.ID),
				GSI1PK: holdings.TxByDateGSI1PK(acc2), GSI1SK: holdings.TxByDateGSI1SK(tx), Data: mustJSON(t, tx)})
			c, _ := holdings.CounterpartyOf(tx)
			if !dir[c.ID] {
				dir[c.ID] = true
				items = append(items, store.Item{PK: holdings.AccountPK(acc2), SK: holdings.CounterpartySK(c.ID), Data: mustJSON(t, c)})
			}
			if !seen[c.ID] {
				seen[c.ID] = true
				ids = append(ids, c.ID)
			}
		}
		if err := e.st.BatchWrite(t.Context(), items, nil); err != nil {
			t.Fatalf("seed history: %v", err)
		}
	}
	slices.Sort(ids)
	return ids
}

func otherIDs(t *testing.T, r resp) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("other accounts: %d %s", r.status, r.body)
	}
	var out []string
	for _, x := range r.json(t)["other_accounts"].([]any) {
		out = append(out, x.(map[string]any)["id"].(string))
	}
	return out
}

// TestOtherAccountsStoreCalls: on an account with a history of thousands
// of transactions (the old scan read it all, one query per 1,000), the
// other-accounts list costs 2 store calls per page (one BatchGet, one query
// of the counterparty directory) and every single-other-account endpoint 1
// (the directory entry is in the BatchGet), plus 1 write for a metadata
// write. Paging follows OBP's headers over the directory's id order. The
// budget is the design's, counted alike by both drivers: the transactions
// page holds it on DynamoDB (TestTransactionsStoreCalls).
func TestOtherAccountsStoreCalls(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		const n, cps = 2100, 40
		all := e.seedHistory(t, n, cps)
		if len(all) != 2*cps {
			t.Fatalf("seeded %d counterparties, want %d", len(all), 2*cps)
		}
		list := base + acc2 + "/owner/other_accounts"
		calls := func() int64 { return e.st.Reads.Load() + e.st.Writes.Load() }

		pages := []struct {
			name    string
			headers []string
			want    []string
		}{
			{"default limit 50", nil, all[:50]},
			{"limit 500: all", []string{"obp_limit", "500"}, all},
			{"second page", []string{"obp_limit", "30", "obp_offset", "30"}, all[30:60]},
			{"last page", []string{"obp_limit", "30", "obp_offset", "60"}, all[60:]},
			{"past the end", []string{"obp_offset", "500"}, nil},
		}
		for _, p := range pages {
			e.st.Reset()
			got := otherIDs(t, e.do("GET", list, alice, "", p.headers...))
			if !slices.Equal(got, p.want) {
				t.Errorf("%s: %d other accounts %v, want %d %v", p.name, len(got), got, len(p.want), p.want)
			}
			if c := calls(); c > 2 || e.st.Writes.Load() != 0 {
				t.Errorf("%s: %d store calls (%d writes), want ≤ 2 reads", p.name, c, e.st.Writes.Load())
			}
			t.Logf("%s: %d store calls on %d transactions", p.name, calls(), n)
		}
		for _, bad := range []struct{ header, value, code string }{
			{"obp_limit", "0", obperr.CodeLimit},
			{"obp_limit", "501", obperr.CodeLimit},
			{"obp_offset", "-1", obperr.CodeOffset},
			{"obp_offset", "10001", obperr.CodeOffset},
		} {
			e.st.Reset()
			expectError(t, e.do("GET", list, alice, "", bad.header, bad.value), 400, bad.code)
			if c := calls(); c != 0 {
				t.Errorf("bad %s %s: %d store calls before the refusal", bad.header, bad.value, c)
			}
		}

		// One other account, its metadata and alias: the request's BatchGet.
		oa := list + "/" + all[7]
		for _, path := range []string{oa, oa + "/metadata", oa + "/public_alias", oa + "/private_alias"} {
			e.st.Reset()
			if r := e.do("GET", path, alice, ""); r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			if c := calls(); c != 1 {
				t.Errorf("GET %s: %d store calls, want 1", path, c)
			}
		}
		if id := e.do("GET", oa, alice, "").json(t)["id"]; id != all[7] {
			t.Errorf("other account id %v, want %s", id, all[7])
		}
		e.st.Reset()
		expectError(t, e.do("GET", list+"/"+holdings.CounterpartyID("Nobody", ""), alice, ""), 404, obperr.CodeOtherAccountMissing)
		if c := calls(); c != 1 {
			t.Errorf("unknown other account: %d store calls, want 1", c)
		}
		// A metadata write: the BatchGet and one Put of the metadata
		// document; the directory entry is left as the import wrote it.
		e.st.Reset()
		if r := e.do("POST", oa+"/metadata/more_info", alice, `{"more_info":"regular payee"}`); r.status != 201 {
			t.Fatalf("more_info: %d %s", r.status, r.body)
		}
		if r, w := e.st.Reads.Load(), e.st.Writes.Load(); r != 1 || w != 1 {
			t.Errorf("more_info: %d reads, %d writes, want 1 and 1", r, w)
		}
		if m := e.do("GET", oa+"/metadata", alice, "").json(t); m["more_info"] != "regular payee" {
			t.Errorf("metadata %v", m)
		}
		// A transaction's other account comes with the transaction.
		e.st.Reset()
		if r := e.do("GET", base+acc2+"/owner/transactions/h00003/other_account", alice, ""); r.status != 200 || r.json(t)["id"] != holdings.CounterpartyID("Payee 43", "DE00000000000000000003") {
			t.Fatalf("transaction other account: %d %s", r.status, r.body)
		}
		if c := calls(); c != 1 {
			t.Errorf("transaction other account: %d store calls, want 1", c)
		}
	})
}
