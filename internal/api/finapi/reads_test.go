package finapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/finapi"
	"github.com/openagg/openagg/internal/category"
)

func TestBanks(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	type bankList struct {
		Banks []struct {
			ID         int64
			Name, BLZ  string
			BIC        *string
			IsTestBank bool
			Location   *string
		}
		Paging finapi.Paging
	}
	list := func(t *testing.T, query string) bankList {
		t.Helper()
		r := e.do("GET", "/api/v1/banks"+query, alice, "")
		mustConformTo(t, "PageableBankList", r.body)
		var out bankList
		r.json(t, http.StatusOK, &out)
		return out
	}
	all := list(t, "?perPage=500")
	if all.Paging.TotalCount != 17 || len(all.Banks) != 17 || all.Paging.PageCount != 1 {
		t.Fatalf("the directory: %+v", all.Paging)
	}
	if !slices.IsSortedFunc(all.Banks, func(a, b struct {
		ID         int64
		Name, BLZ  string
		BIC        *string
		IsTestBank bool
		Location   *string
	}) int {
		return int(a.ID - b.ID)
	}) {
		t.Error("not in id order")
	}
	byName := all.Banks[slices.IndexFunc(all.Banks, func(b struct {
		ID         int64
		Name, BLZ  string
		BIC        *string
		IsTestBank bool
		Location   *string
	}) bool {
		return b.Name == "Sandbox Bank Deutschland"
	})]
	cases := []struct {
		name, query string
		want        []string // names, in order
		total       int
	}{
		{"demo by BLZ", "?search=00000000", []string{"finAPI Demo Bank (Sandbox)"}, 1},
		{"by name, any case", "?search=sANDBOX%20bank%20uk", []string{"Sandbox Bank UK"}, 1},
		{"by BIC", "?search=" + *byName.BIC, []string{"Sandbox Bank Deutschland"}, 1},
		{"by BLZ of a German bank", "?search=10050000", []string{"Sandbox Bank Deutschland"}, 1},
		{"by city", "?search=m%C3%BCnchen", []string{"finAPI Demo Bank (Sandbox)"}, 1},
		{"location", "?location=FR&order=name", []string{"Banque des Alpes (Sandbox)", "Sandbox Banque France", "Sandbox Slow Bank"}, 3},
		{"paging", "?location=FR&order=name,desc&perPage=2&page=2", []string{"Banque des Alpes (Sandbox)"}, 3},
		{"past the end", "?location=FR&perPage=2&page=9", []string{}, 3},
		{"test banks only", "?isTestBank=false", []string{}, 0},
		{"unsupported", "?isSupported=false&order=name", []string{"Fake Inactive Bank"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := list(t, tc.query)
			names := []string{}
			for _, b := range got.Banks {
				names = append(names, b.Name)
			}
			if !slices.Equal(names, tc.want) || got.Paging.TotalCount != tc.total {
				t.Errorf("%v (total %d), want %v (%d)", names, got.Paging.TotalCount, tc.want, tc.total)
			}
		})
	}
	demo := list(t, "?search=00000000").Banks[0]
	if !demo.IsTestBank || demo.BLZ != "00000000" || demo.Location == nil || *demo.Location != "DE" {
		t.Errorf("demo bank %+v", demo)
	}
	ids := list(t, fmt.Sprintf("?ids=%d,%d&ids=1", demo.ID, byName.ID))
	if len(ids.Banks) != 2 {
		t.Errorf("by ids: %+v", ids)
	}
	r := e.do("GET", fmt.Sprintf("/api/v1/banks/%d", demo.ID), alice, "")
	mustConformTo(t, "Bank", r.body)
	if !strings.Contains(r.body, `"blz":"00000000"`) || r.reads != 2 {
		t.Errorf("bank by id (%d reads): %s", r.reads, r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/banks/%d,1,%d", demo.ID, byName.ID), alice, "")
	mustConformTo(t, "BankList", r.body)
	var many struct{ Banks []struct{ ID int64 } }
	r.json(t, 200, &many)
	if len(many.Banks) != 2 || many.Banks[0].ID > many.Banks[1].ID {
		t.Errorf("deprecated get multiple banks: %+v", many)
	}
	e.do("GET", "/api/v1/banks/1", alice, "").wantError(t, 404, "UNKNOWN_ENTITY")
	e.do("GET", "/api/v1/banks/x1", alice, "").wantError(t, 400, "BAD_REQUEST")
	e.do("GET", "/api/v1/banks?perPage=501", alice, "").wantError(t, 400, "ILLEGAL_PAGE_SIZE")
	e.do("GET", "/api/v1/banks?order=city", alice, "").wantError(t, 400, "UNSUPPORTED_ORDER")
	e.do("GET", "/api/v1/banks?isTestBank=maybe", alice, "").wantError(t, 400, "BAD_REQUEST")
}

func TestCategories(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	r := e.do("GET", "/api/v1/categories?perPage=500", alice, "")
	mustConformTo(t, "PageableCategoryList", r.body)
	var page struct {
		Categories []struct {
			ID       int64
			Name     string
			ParentID *int64
			Children []int64
		}
		Paging finapi.Paging
	}
	r.json(t, 200, &page)
	if len(page.Categories) != len(category.All()) || page.Paging.TotalCount != len(category.All()) || r.reads != 0 {
		t.Fatalf("categories: %d of %d (%d reads)", len(page.Categories), page.Paging.TotalCount, r.reads)
	}
	r = e.do("GET", "/api/v1/categories/301", alice, "")
	mustConformTo(t, "Category", r.body)
	if !strings.Contains(r.body, `"id":301,"name":"Groceries","parentId":300,"parentName":"Food \u0026 drink","isCustom":false,"children":[]`) {
		t.Errorf("groceries: %s", r.body)
	}
	r = e.do("GET", "/api/v1/categories/300", alice, "")
	if !strings.Contains(r.body, `"parentId":null`) || !strings.Contains(r.body, `"children":[301,302]`) {
		t.Errorf("food: %s", r.body)
	}
	e.do("GET", "/api/v1/categories?search=groc&order=name,desc", alice, "").json(t, 200, &page)
	if len(page.Categories) != 1 || page.Categories[0].ID != 301 {
		t.Errorf("search: %+v", page)
	}
	e.do("GET", "/api/v1/categories/42", alice, "").wantError(t, 404, "UNKNOWN_ENTITY")
	r = e.do("GET", "/api/v1/categories/301,42,100", alice, "")
	mustConformTo(t, "CategoryList", r.body)
	if !strings.HasPrefix(r.body, `{"categories":[{"id":100,`) || strings.Count(r.body, `"isCustom"`) != 2 {
		t.Errorf("deprecated get multiple categories: %s", r.body)
	}
}

// txList is a PageableTransactionList as the tests read it.
type txList struct {
	Transactions []struct {
		ID              int64
		AccountID       int64
		Amount          finapi.Amount
		Purpose         *string
		CounterpartName *string
		BankBookingDate string
		Category        *struct{ ID int64 }
	}
	Paging                    finapi.Paging
	Income, Spending, Balance finapi.Amount
}

func TestAccountsAndTransactions(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	c := e.importDemo(alice)
	accID := c.AccountIDs[0]

	// Accounts.
	r := e.do("GET", "/api/v1/accounts", alice, "")
	mustConformTo(t, "AccountList", r.body)
	var accs struct {
		Accounts []struct {
			ID, BankConnectionID int64
			AccountTypeID        int
			AccountTypeName      string
			Balance              finapi.Amount
			Status, IBAN         string
		}
	}
	r.json(t, 200, &accs)
	if len(accs.Accounts) != 1 || r.reads != 2 {
		t.Fatalf("accounts (%d reads): %+v", r.reads, accs)
	}
	a := accs.Accounts[0]
	if a.ID != accID || a.BankConnectionID != c.ID || a.AccountTypeID != 1 || a.AccountTypeName != "Checking" || a.Status != "UPDATED" ||
		!a.Balance.Equal(decimal.RequireFromString("1918.54")) || !strings.HasPrefix(a.IBAN, "DE") {
		t.Errorf("the demo account: %+v", a)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/accounts/%d", accID), alice, "")
	mustConformTo(t, "Account", r.body)
	if r.code != 200 || r.reads != 2 {
		t.Errorf("account by id: %d, %d reads", r.code, r.reads)
	}
	for _, q := range []string{fmt.Sprintf("?bankConnectionIds=%d", c.ID), "?search=girokonto", "?accountTypeIds=1,2", "?minBalance=1000&maxBalance=1918.54",
		fmt.Sprintf("/%d,%d", accID, accID+100)} {
		var got struct{ Accounts []struct{ ID int64 } }
		e.do("GET", "/api/v1/accounts"+q, alice, "").json(t, 200, &got)
		if len(got.Accounts) != 1 {
			t.Errorf("%s: %+v", q, got)
		}
	}
	for _, q := range []string{"?bankConnectionIds=999", "?search=savings", "?accountTypeIds=2", "?minBalance=1918.55"} {
		var got struct{ Accounts []struct{ ID int64 } }
		e.do("GET", "/api/v1/accounts"+q, alice, "").json(t, 200, &got)
		if len(got.Accounts) != 0 {
			t.Errorf("%s: %+v", q, got)
		}
	}

	// Transactions: sums over everything the query selects, exact.
	list := func(t *testing.T, tok, query string) txList {
		t.Helper()
		r := e.do("GET", "/api/v1/transactions?view=bankView"+query, tok, "")
		mustConformTo(t, "PageableTransactionList", r.body)
		var out txList
		r.json(t, 200, &out)
		return out
	}
	dec := decimal.RequireFromString
	all := list(t, alice, "&perPage=500")
	if all.Paging.TotalCount != 16 || len(all.Transactions) != 16 || !all.Income.Equal(dec("2515")) || !all.Spending.Equal(dec("-1596.46")) ||
		!all.Balance.Equal(dec("918.54")) {
		t.Fatalf("all: %d/%d income %s spending %s balance %s", len(all.Transactions), all.Paging.TotalCount, all.Income, all.Spending, all.Balance)
	}
	ids := make([]int64, len(all.Transactions))
	for i, tx := range all.Transactions {
		ids[i] = tx.ID
		if tx.AccountID != accID || tx.Category == nil || tx.ID>>27 != accID {
			t.Errorf("transaction %+v", tx)
		}
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids not ascending: %v", ids)
	}
	categoryOf := func(purpose string) int64 {
		for _, tx := range all.Transactions {
			if tx.Purpose != nil && strings.HasPrefix(*tx.Purpose, purpose) {
				return tx.Category.ID
			}
		}
		return -1
	}
	for purpose, want := range map[string]int64{"REWE": category.Groceries, "GEHALT": category.Salary, "MIETE": category.Rent,
		"NETFLIX": category.Subscriptions, "BARGELD": category.Cash, "KONTOFUEHRUNG": category.BankFees, "EDEKA": category.Groceries} {
		if got := categoryOf(purpose); got != want {
			t.Errorf("%s: category %d, want %d", purpose, got, want)
		}
	}
	cases := []struct {
		name, query string
		total       int
		first       string // purpose prefix of the page's first transaction
		pageLen     int
	}{
		{"default page", "", 16, "GEHALT", 16},
		{"page 2 of 5", "&perPage=5&page=2", 16, "BARGELD", 5},
		{"last page", "&perPage=5&page=4", 16, "EDEKA", 1},
		{"descending ids", "&order=id,desc&perPage=3", 16, "EDEKA", 3},
		{"income", "&direction=income", 2, "GEHALT", 2},
		{"spending", "&direction=spending&perPage=1", 14, "MIETE", 1},
		{"search purpose", "&search=rewe", 1, "REWE", 1},
		{"search counterpart", "&counterpart=mustermann", 2, "RUECKZAHLUNG", 2},
		{"food and below", "&categoryIds=300", 3, "REWE", 3},
		{"food only", "&categoryIds=300&includeChildCategories=false", 0, "", 0},
		{"amount bounds", "&minAmount=-50&maxAmount=-20", 5, "MOBILFUNK", 5},
		{"by amount", "&order=amount,asc&perPage=1", 16, "MIETE", 1},
		{"by amount desc", "&order=amount,desc&perPage=1", 16, "GEHALT", 1},
		{"booking dates", "&minBankBookingDate=2026-02-16&maxBankBookingDate=2026-02-22", 4, "SHELL", 4},
		{"accountIds", fmt.Sprintf("&accountIds=%d", accID), 16, "GEHALT", 16},
		{"accountIds not mine", "&accountIds=999", 0, "", 0},
		{"ids", fmt.Sprintf("&ids=%d,%d", ids[3], ids[1]), 2, "MIETE", 2},
		{"no labels", "&labelIds=1", 0, "", 0},
		{"isNew", "&isNew=true", 0, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := list(t, alice, tc.query)
			if got.Paging.TotalCount != tc.total || len(got.Transactions) != tc.pageLen ||
				(tc.pageLen > 0 && !strings.HasPrefix(*got.Transactions[0].Purpose, tc.first)) {
				first := ""
				if len(got.Transactions) > 0 {
					first = *got.Transactions[0].Purpose
				}
				t.Errorf("total %d, page %d, first %q; want %d, %d, %q", got.Paging.TotalCount, len(got.Transactions), first, tc.total, tc.pageLen, tc.first)
			}
			sum := got.Income.Add(got.Spending.Decimal)
			if !got.Balance.Equal(sum) {
				t.Errorf("balance %s is not income + spending %s", got.Balance, sum)
			}
		})
	}
	if got := list(t, alice, "&direction=income"); !got.Income.Equal(dec("2515")) || !got.Spending.IsZero() {
		t.Errorf("income sums: %s %s", got.Income, got.Spending)
	}

	// One transaction, and the deprecated list form.
	r = e.do("GET", fmt.Sprintf("/api/v1/transactions/%d", ids[2]), alice, "")
	mustConformTo(t, "Transaction", r.body)
	if r.code != 200 || r.reads != 2 || !strings.Contains(r.body, `"purpose":"REWE SAGT DANKE 12345678"`) ||
		!strings.Contains(r.body, `"amount":-54.23`) || !strings.Contains(r.body, `"category":{"id":301,"name":"Groceries"`) {
		t.Errorf("transaction (%d reads): %s", r.reads, r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/transactions/%d,%d,99", ids[5], ids[0]), alice, "")
	mustConformTo(t, "TransactionList", r.body)
	var two struct{ Transactions []struct{ ID int64 } }
	r.json(t, 200, &two)
	if len(two.Transactions) != 2 || two.Transactions[0].ID != ids[0] {
		t.Errorf("list: %+v", two)
	}

	// Another user's account and transactions are unknown.
	if got := list(t, bob, ""); got.Paging.TotalCount != 0 || len(got.Transactions) != 0 {
		t.Errorf("bob's transactions: %+v", got)
	}
	if got := list(t, bob, fmt.Sprintf("&accountIds=%d&ids=%d", accID, ids[0])); got.Paging.TotalCount != 0 {
		t.Errorf("bob filtering alice's ids: %+v", got)
	}
	e.do("GET", fmt.Sprintf("/api/v1/transactions/%d", ids[0]), bob, "").wantError(t, 404, "UNKNOWN_ENTITY")
	e.do("GET", fmt.Sprintf("/api/v1/accounts/%d", accID), bob, "").wantError(t, 404, "UNKNOWN_ENTITY")
	var none struct{ Accounts []any }
	e.do("GET", "/api/v1/accounts?ids="+strconv.FormatInt(accID, 10), bob, "").json(t, 200, &none)
	if len(none.Accounts) != 0 {
		t.Errorf("bob's accounts: %+v", none)
	}
	e.do("GET", fmt.Sprintf("/api/v1/transactions/%d", ids[15]+1), alice, "").wantError(t, 404, "UNKNOWN_ENTITY")
}

// TestBadInput: every broken request is a 400 in finAPI's format (or 413,
// 404, 422 as finAPI answers), and nothing is written.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	c := e.importDemo(alice)
	bank := e.demoBankID(alice)
	imp := "/api/v1/bankConnections/import"
	edit := fmt.Sprintf("/api/v1/bankConnections/%d", c.ID)
	long := func(n int) string { return strings.Repeat("ä", n) }
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", imp, `{"bankId":`, 400, "BAD_REQUEST"},
		{"not an object", "POST", imp, `[1]`, 400, "BAD_REQUEST"},
		{"empty body", "POST", imp, ``, 400, "BAD_REQUEST"},
		{"trailing data", "POST", imp, fmt.Sprintf(`{"bankId":%d} {}`, bank), 400, "BAD_REQUEST"},
		{"wrong type", "POST", imp, `{"bankId":"1"}`, 400, "BAD_REQUEST"},
		{"float id", "POST", imp, `{"bankId":1.5}`, 400, "BAD_REQUEST"},
		{"unknown field", "POST", imp, fmt.Sprintf(`{"bankId":%d,"bankingPIN":"x"}`, bank), 400, "BAD_REQUEST"},
		{"duplicate key", "POST", imp, fmt.Sprintf(`{"bankId":%d,"bankId":%d}`, bank, bank), 400, "BAD_REQUEST"},
		{"too large", "POST", imp, `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "BAD_REQUEST"},
		{"no bankId", "POST", imp, `{"name":"x"}`, 400, "MISSING_FIELD"},
		{"negative bankId", "POST", imp, `{"bankId":-1}`, 400, "ILLEGAL_FIELD_VALUE"},
		{"long user id", "POST", imp, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"%s"}`, bank, long(65)), 400, "ILLEGAL_FIELD_VALUE"},
		{"long customer id", "POST", imp, fmt.Sprintf(`{"bankId":%d,"bankingCustomerId":"%s"}`, bank, long(65)), 400, "ILLEGAL_FIELD_VALUE"},
		{"long PIN", "POST", imp, fmt.Sprintf(`{"bankId":%d,"bankingPin":"%s"}`, bank, long(171)), 400, "ILLEGAL_FIELD_VALUE"},
		{"long name", "POST", imp, fmt.Sprintf(`{"bankId":%d,"name":"%s"}`, bank, long(65)), 400, "ILLEGAL_FIELD_VALUE"},
		{"maxDays", "POST", imp, fmt.Sprintf(`{"bankId":%d,"maxDaysForDownload":7}`, bank), 400, "ILLEGAL_FIELD_VALUE"},
		{"account type", "POST", imp, fmt.Sprintf(`{"bankId":%d,"accountTypeIds":[9]}`, bank), 400, "ILLEGAL_FIELD_VALUE"},
		{"update without id", "POST", "/api/v1/bankConnections/update", `{}`, 400, "MISSING_FIELD"},
		{"update unknown field", "POST", "/api/v1/bankConnections/update", fmt.Sprintf(`{"bankConnectionId":%d,"x":1}`, c.ID), 400, "BAD_REQUEST"},
		{"update unknown id", "POST", "/api/v1/bankConnections/update", `{"bankConnectionId":424242}`, 404, "UNKNOWN_ENTITY"},
		{"edit long name", "PATCH", edit, `{"name":"` + long(65) + `"}`, 400, "ILLEGAL_FIELD_VALUE"},
		{"edit wrong type", "PATCH", edit, `{"name":1}`, 400, "BAD_REQUEST"},
		{"edit no body", "PATCH", edit, ``, 400, "BAD_REQUEST"},
		{"edit a list", "PATCH", edit + ",1", `{"name":"x"}`, 400, "BAD_REQUEST"},
		{"id not a number", "GET", "/api/v1/bankConnections/abc", ``, 400, "BAD_REQUEST"},
		{"id zero", "DELETE", "/api/v1/bankConnections/0", ``, 400, "BAD_REQUEST"},
		{"id too big", "GET", "/api/v1/bankConnections/9007199254740992", ``, 400, "BAD_REQUEST"},
		{"ids not numbers", "GET", "/api/v1/bankConnections?ids=1,x", ``, 400, "BAD_REQUEST"},
		{"view missing", "GET", "/api/v1/transactions", ``, 400, "MISSING_FIELD"},
		{"view unknown", "GET", "/api/v1/transactions?view=mine", ``, 400, "ILLEGAL_FIELD_VALUE"},
		{"perPage", "GET", "/api/v1/transactions?view=bankView&perPage=501", ``, 400, "ILLEGAL_PAGE_SIZE"},
		{"page 0", "GET", "/api/v1/transactions?view=bankView&page=-1", ``, 400, "BAD_REQUEST"},
		{"order", "GET", "/api/v1/transactions?view=bankView&order=colour", ``, 400, "UNSUPPORTED_ORDER"},
		{"direction", "GET", "/api/v1/transactions?view=bankView&direction=up", ``, 400, "INVALID_FILTER_OPTIONS"},
		{"date", "GET", "/api/v1/transactions?view=bankView&minBankBookingDate=01.02.2026", ``, 400, "BAD_REQUEST"},
		{"date range", "GET", "/api/v1/transactions?view=bankView&minBankBookingDate=2026-02-10&maxBankBookingDate=2026-02-01", ``, 400, "INVALID_FILTER_OPTIONS"},
		{"amount", "GET", "/api/v1/transactions?view=bankView&minAmount=ten", ``, 400, "BAD_REQUEST"},
		{"too many ids", "GET", "/api/v1/transactions?view=bankView&ids=" + strings.Repeat("1,", 1001), ``, 400, "TOO_MANY_IDS"},
		{"too many account ids", "GET", "/api/v1/accounts?ids=" + strings.Repeat("7,", 1001), ``, 400, "TOO_MANY_IDS"},
		{"repeated single parameter", "GET", "/api/v1/transactions?view=bankView&view=userView", ``, 400, "BAD_REQUEST"},
		{"malformed query", "GET", "/api/v1/banks?search=%zz", ``, 400, "BAD_REQUEST"},
		{"method", "PUT", "/api/v1/bankConnections", `{}`, 405, "METHOD_NOT_ALLOWED"},
		{"route", "GET", "/api/v1/nothing", ``, 404, "UNKNOWN_ENTITY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, alice, tc.body)
			r.wantError(t, tc.status, tc.code)
			mustConformTo(t, "ErrorMessage", r.body)
			if r.writes != 0 {
				t.Errorf("a refused request wrote %d times", r.writes)
			}
		})
	}
	if got := e.get(alice, c.ID); got.Name != nil || got.UpdateStatus != "READY" {
		t.Errorf("the connection changed: %+v", got)
	}
}

// TestAuthAndErrorFormat: no token, a bad token; X-REQUEST-ID echoed.
func TestAuthAndErrorFormat(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api/v1/bankConnections", "/api/v1/banks", "/api/v1/transactions?view=bankView", "/api/v1/categories/301"} {
		r := e.do("GET", path, "", "", "X-REQUEST-ID", "req-42")
		r.wantError(t, 401, "UNAUTHORIZED_ACCESS")
		if r.header.Get("WWW-Authenticate") == "" || !strings.Contains(r.body, `"requestId":"req-42"`) || !strings.Contains(r.body, `"type":"TECHNICAL"`) {
			t.Errorf("%s: %v %s", path, r.header, r.body)
		}
		e.do("GET", path, "not-a-token", "").wantError(t, 401, "INVALID_TOKEN")
	}
	r := e.do("GET", "/api/v1/bankConnections/1", e.token("alice"), "")
	r.wantError(t, 404, "UNKNOWN_ENTITY")
	if !strings.Contains(r.body, `"date":"2026-03-01 12:00:00.000"`) {
		t.Errorf("date: %s", r.body)
	}
}
