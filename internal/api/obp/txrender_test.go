package obp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// uncached is the OBP handler over e's store without the rendered
// transactions cache: what every response must equal.
func uncached(t *testing.T, e *env) http.Handler {
	t.Helper()
	api := obp.New(obp.Deps{Accounts: e.accounts, Views: e.views, Metadata: e.meta, RenderCacheBytes: -1})
	h, err := obp.Router(api.Routes(), api.Render)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: jwtKey})
	if err != nil {
		t.Fatal(err)
	}
	return authn.Middleware(h)
}

// TestTransactionsFresh: the transactions list is served from rendered
// transactions kept between requests, and every change shows on the next
// request: metadata writes on any view, view definitions, grants, an
// overwritten transaction (same version), other-account metadata, the
// account. After each change every (user, view, order) answer equals the
// answer of a handler that keeps nothing.
func TestTransactionsFresh(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		plain := uncached(t, e)
		type ask struct{ user, view, dir string }
		var asks []ask
		for _, v := range []string{view.Owner, "team", "none", "full", "everyone", "counterparty"} {
			for _, u := range []string{alice, bob, ""} {
				asks = append(asks, ask{u, v, "DESC"})
			}
		}
		asks = append(asks, ask{alice, view.Owner, "ASC"}, ask{bob, "full", "ASC"}, ask{"", "everyone", "ASC"})
		do := func(h http.Handler, a ask) (int, string) {
			req := httptest.NewRequest("GET", base+acc1+"/"+a.view+"/transactions", nil)
			if a.user != "" {
				req.Header.Set("Authorization", "Bearer "+token(t, a.user))
			}
			req.Header.Set("obp_sort_direction", a.dir)
			req.Header.Set("obp_limit", "4")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code, rec.Body.String()
		}
		// After a change, what did not change is served from the cache.
		check := func(step string) {
			t.Helper()
			for _, a := range asks {
				code, got := do(e.h, a)
				wantCode, want := do(plain, a)
				if code != wantCode || got != want {
					t.Fatalf("%s: %+v: %d %s\nwant %d %s", step, a, code, got, wantCode, want)
				}
			}
		}
		ok := func(method, path, user, body string, want int) {
			t.Helper()
			if r := e.do(method, path, user, body); r.status != want {
				t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
			}
		}
		check("start")
		check("from the cache")
		// The newest transactions, as the owner lists them.
		var page struct {
			Transactions []struct {
				ID           string `json:"id"`
				OtherAccount *struct {
					ID string `json:"id"`
				} `json:"other_account"`
			} `json:"transactions"`
		}
		if err := json.Unmarshal(e.do("GET", base+acc1+"/owner/transactions", alice, "").body, &page); err != nil || len(page.Transactions) < 3 {
			t.Fatalf("owner page: %v %+v", err, page)
		}
		// Metadata on three views of the page's transactions: a page of 4
		// then spans more than one query result (limit 2 × 4 + 2 items).
		for _, p := range page.Transactions {
			ok("POST", base+acc1+"/owner/transactions/"+p.ID+"/metadata/tags", alice, `{"value":"mine"}`, 201)
			ok("POST", base+acc1+"/team/transactions/"+p.ID+"/metadata/comments", bob, `{"value":"team note"}`, 201)
			ok("POST", base+acc1+"/full/transactions/"+p.ID+"/metadata/tags", bob, `{"value":"full"}`, 201)
		}
		check("metadata on three views")
		tx := page.Transactions[1].ID
		md := base + acc1 + "/full/transactions/" + tx + "/metadata/"

		ok("POST", md+"comments", bob, `{"value":"first comment"}`, 201)
		check("comment on the full view")
		ok("POST", base+acc1+"/owner/transactions/"+tx+"/metadata/narrative", alice, `{"narrative":"owner narrative"}`, 201)
		check("narrative on the owner view")
		ok("PUT", md+"narrative", bob, `{"narrative":"full narrative"}`, 200)
		ok("POST", md+"where", bob, `{"where":{"latitude":52.5,"longitude":13.4}}`, 201)
		check("narrative and where on the full view")
		ok("DELETE", md+"where", bob, "", 204)
		ok("DELETE", md+"narrative", bob, "", 204)
		check("metadata deleted")

		ok("PUT", base+acc1+"/views/full", alice, `{"description":"fewer fields","is_public":false,"which_alias_to_use":"private","hide_metadata_if_alias_used":true,"allowed_actions":["can_see_transaction_label","can_see_transaction_other_bank_account","can_see_transaction_metadata","can_see_comments","can_see_other_account_metadata","can_see_private_alias"]}`, 200)
		check("view updated")
		ok("DELETE", base+acc1+"/permissions/"+bob+"/views/full", alice, "", 204)
		check("grant revoked")
		ok("POST", base+acc1+"/permissions/"+bob+"/views/full", alice, "", 201)
		check("grant given")

		// A re-import overwrites a transaction without changing its version.
		var old store.Item
		items, err := e.st.BatchGet(context.Background(), []store.Key{{PK: holdings.AccountPK(acc1), SK: holdings.TxSK(tx)}})
		if err != nil || len(items) != 1 {
			t.Fatalf("read %s: %v", tx, err)
		}
		old = items[0]
		var stored holdings.Transaction
		if err := json.Unmarshal(old.Data, &stored); err != nil {
			t.Fatal(err)
		}
		stored.Description = "re-imported label"
		old.Data = mustJSON(t, stored)
		e.put(old)
		check("transaction overwritten")

		if other := page.Transactions[1].OtherAccount; other != nil {
			oa := base + acc1 + "/owner/other_accounts/" + other.ID
			ok("POST", oa+"/private_alias", alice, `{"alias":"the shop"}`, 201)
			check("private alias")
			ok("POST", oa+"/metadata/more_info", alice, `{"more_info":"corner shop"}`, 201)
			ok("DELETE", oa+"/public_alias", alice, "", 204)
			check("more info, public alias deleted")
		} else {
			t.Fatalf("transaction %s has no other account", tx)
		}

		acc := holdings.Account{ID: acc1, PartyID: "party1", OwnerSub: alice, BankCode: bankID, BankName: "Renamed Bank", Provider: "sandbox", Name: "Renamed account",
			Nature: "account", Currency: "EUR", IBAN: "DE89370400440532013000", Number: "0532013000", HolderName: "Alice Renamed", Balance: dec("1.00")}
		e.putAccount(acc)
		check("account re-imported")
	})
}

// TestTransactionsCachedStoreCalls: a page is still one BatchGet and one
// index query, whether its transactions are rendered or found rendered.
func TestTransactionsCachedStoreCalls(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		for i := range 3 {
			e.st.Reset()
			r := e.do("GET", base+acc1+"/owner/transactions", alice, "")
			if r.status != 200 || !bytes.HasPrefix(r.body, []byte(`{"transactions":[{`)) || !strings.HasSuffix(string(r.body), "]}\n") {
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
			if n := e.st.Reads.Load(); n != 2 {
				t.Fatalf("request %d: %d store reads, want 2", i, n)
			}
			if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
				t.Fatalf("Content-Length %s for %d bytes", cl, len(r.body))
			}
		}
	})
}

// TestTransactionsConcurrent: readers on several views share the cache
// while metadata is written (run with -race); every answer is a whole
// page.
func TestTransactionsConcurrent(t *testing.T) {
	e := newEnv(t, drivers()[0].Open(t)) // bolt
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	tokens := map[string]string{alice: token(t, alice), bob: token(t, bob)}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, v := alice, view.Owner
			if g%2 == 1 {
				user, v = bob, "full"
			}
			for range 40 {
				req := httptest.NewRequest("GET", base+acc1+"/"+v+"/transactions", nil)
				req.Header.Set("Authorization", "Bearer "+tokens[user])
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, req)
				var page struct {
					Transactions []json.RawMessage `json:"transactions"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &page); rec.Code != 200 || err != nil || len(page.Transactions) != 5 {
					errs <- fmt.Errorf("%s on %s: %d %v %s", user, v, rec.Code, err, rec.Body)
					return
				}
			}
		}()
	}
	for i := range 20 {
		path := fmt.Sprintf("%s%s/full/transactions/tx%d/metadata/comments", base, acc1, i%5+1)
		if r := e.do("POST", path, bob, `{"value":"busy"}`); r.status != 201 {
			t.Fatalf("comment: %d %s", r.status, r.body)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
