package obp_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/view"
)

// leaves flattens a JSON value into path → value ("[]" for array items).
func leaves(prefix string, v any, out map[string][]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			leaves(prefix+"."+k, e, out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix+"[]"] = append(out[prefix+"[]"], "empty")
		}
		for _, e := range x {
			leaves(prefix+"[]", e, out)
		}
	default:
		out[prefix] = append(out[prefix], v)
	}
}

func leafMap(t testing.TB, b []byte) map[string][]any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	out := map[string][]any{}
	leaves("", v, out)
	return out
}

// keysOf lists the key paths of a JSON document (objects only).
func keysOf(t testing.TB, b []byte) []string {
	var out []string
	for k := range leafMap(t, b) {
		out = append(out, strings.TrimSuffix(k, "[]"))
	}
	sort.Strings(out)
	return out
}

// withMetadata adds metadata on tx1 (owner view) and on the Shop One other
// account, so that no metadata field is null for the owner.
func (e *env) withMetadata(t *testing.T) {
	cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
	oa := base + acc1 + "/owner/other_accounts/" + cp
	tm := base + acc1 + "/owner/transactions/tx1/metadata/"
	for _, w := range []struct{ path, body string }{
		{oa + "/private_alias", golden(t, "req_alias")},
		{oa + "/metadata/more_info", golden(t, "req_more_info")},
		{oa + "/metadata/url", golden(t, "req_url")},
		{oa + "/metadata/image_url", golden(t, "req_image_url")},
		{oa + "/metadata/open_corporates_url", golden(t, "req_open_corporates_url")},
		{oa + "/metadata/corporate_location", golden(t, "req_corporate_location")},
		{oa + "/metadata/physical_location", golden(t, "req_physical_location")},
		{tm + "narrative", golden(t, "req_narrative")},
		{tm + "comments", golden(t, "req_comment")},
		{tm + "tags", golden(t, "req_tag")},
		{tm + "images", golden(t, "req_image_wrapped")},
		{tm + "where", golden(t, "req_where")},
	} {
		if r := e.do("POST", w.path, alice, w.body); r.status != 201 {
			t.Fatalf("POST %s: %d %s", w.path, r.status, r.body)
		}
	}
}

// TestGoldenKeys: every key of the page's example response is in our
// response (the owner view, all metadata set).
func TestGoldenKeys(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		e.withMetadata(t)
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		own := base + acc1 + "/owner"
		cases := []struct {
			golden, method, path, body string
			status                     int
		}{
			{"root", "GET", obp.Prefix + "/", "", 200},
			{"banks", "GET", obp.Prefix + "/banks", "", 200},
			{"bank", "GET", obp.Prefix + "/banks/" + bankID, "", 200},
			{"accounts", "GET", obp.Prefix + "/banks/" + bankID + "/accounts", "", 200},
			{"accounts_public", "GET", obp.Prefix + "/banks/" + bankID + "/accounts/public", "", 200},
			{"accounts_private", "GET", obp.Prefix + "/banks/" + bankID + "/accounts/private", "", 200},
			{"account", "GET", own + "/account", "", 200},
			{"views", "GET", base + acc1 + "/views", "", 200},
			{"view_updated", "PUT", base + acc1 + "/views/team", golden(t, "req_update_view"), 200},
			{"permissions", "GET", base + acc1 + "/permissions", "", 200},
			{"permission_views", "GET", base + acc1 + "/permissions/" + bob, "", 200},
			{"view_granted", "POST", base + acc1 + "/permissions/" + carol + "/views/full", "", 201},
			{"views_granted", "POST", base + acc1 + "/permissions/" + carol + "/views", `{"views":["none"]}`, 201},
			{"other_accounts", "GET", own + "/other_accounts", "", 200},
			{"other_account", "GET", own + "/other_accounts/" + cp, "", 200},
			{"other_account_metadata", "GET", own + "/other_accounts/" + cp + "/metadata", "", 200},
			{"alias", "GET", own + "/other_accounts/" + cp + "/public_alias", "", 200},
			{"success", "POST", own + "/other_accounts/" + cp + "/public_alias", golden(t, "req_alias"), 201},
			{"transactions", "GET", own + "/transactions", "", 200},
			{"transaction", "GET", own + "/transactions/tx1/transaction", "", 200},
			{"tx_other_account", "GET", own + "/transactions/tx1/other_account", "", 200},
			{"narrative", "GET", own + "/transactions/tx1/metadata/narrative", "", 200},
			{"comments", "GET", own + "/transactions/tx1/metadata/comments", "", 200},
			{"comment", "POST", own + "/transactions/tx1/metadata/comments", golden(t, "req_comment"), 201},
			{"tags", "GET", own + "/transactions/tx1/metadata/tags", "", 200},
			{"tag", "POST", own + "/transactions/tx1/metadata/tags", golden(t, "req_tag"), 201},
			{"images", "GET", own + "/transactions/tx1/metadata/images", "", 200},
			{"image", "POST", own + "/transactions/tx1/metadata/images", `{"label":"cool image","URL":"http://www.mysuperimage.com"}`, 201},
			{"where", "GET", own + "/transactions/tx1/metadata/where", "", 200},
		}
		for _, c := range cases {
			t.Run(c.golden, func(t *testing.T) {
				r := e.do(c.method, c.path, alice, c.body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				got := keysOf(t, r.body)
				for _, k := range keysOf(t, []byte(golden(t, c.golden))) {
					if !slices.Contains(got, k) {
						t.Errorf("key %s of the page's example is missing from %.300s", k, r.body)
					}
				}
			})
		}
	})
}

// nonNull lists the leaf paths that have a non-null value somewhere.
func nonNull(t testing.TB, b []byte) []string {
	var out []string
	for k, vs := range leafMap(t, b) {
		for _, v := range vs {
			if v != nil {
				out = append(out, strings.ReplaceAll(k, "[]", ""))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func nulls(t testing.TB, b []byte) []string {
	var out []string
	for k, vs := range leafMap(t, b) {
		if slices.Contains(vs, nil) {
			out = append(out, strings.ReplaceAll(k, "[]", ""))
		}
	}
	sort.Strings(out)
	return out
}

// TestModeration compares a view that hides every field ("none") with
// one that shows every field (owner): null for each hidden value, the
// holder's name always present.
func TestModeration(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		e.withMetadata(t)
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		cases := []struct {
			name, suffix string
			hideAllShows []string // non-null leaves under the "none" view
			ownerNulls   []string // null leaves under the owner view (unknown data)
		}{
			{"account", "/account", []string{".bank_id", ".id", ".views_available.can_add_comment", ".views_available.description", ".views_available.hide_metadata_if_alias_used"}, nil},
			{"transaction", "/transactions/tx1/transaction", []string{".id", ".uuid"},
				[]string{".other_account.bank.name", ".other_account.bank.national_identifier", ".other_account.kind", ".other_account.number"}},
			{"transactions", "/transactions", []string{".transactions.id", ".transactions.uuid"},
				[]string{".transactions.other_account.IBAN", ".transactions.other_account.bank.name", ".transactions.other_account.bank.national_identifier", ".transactions.other_account.kind",
					".transactions.other_account.number", ".transactions.other_account.metadata.URL", ".transactions.other_account.metadata.corporate_location",
					".transactions.other_account.metadata.image_URL", ".transactions.other_account.metadata.more_info", ".transactions.other_account.metadata.open_corporates_URL",
					".transactions.other_account.metadata.physical_location", ".transactions.other_account.metadata.private_alias",
					".transactions.metadata.narrative", ".transactions.metadata.where", ".transactions.other_account"}},
			{"other account", "/other_accounts/" + cp, []string{".holder.is_alias", ".holder.name", ".id"},
				[]string{".bank.name", ".bank.national_identifier", ".kind", ".number"}},
			{"transaction other account", "/transactions/tx1/other_account", []string{".holder.is_alias", ".holder.name", ".id"},
				[]string{".bank.name", ".bank.national_identifier", ".kind", ".number"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				hideAll := "/none"
				if strings.Contains(c.suffix, "other_account") {
					hideAll = "/counterparty" // only can_see_transaction_other_bank_account
				}
				hidden := e.do("GET", base+acc1+hideAll+c.suffix, bob, "")
				if hidden.status != 200 {
					t.Fatalf("none view: %d %s", hidden.status, hidden.body)
				}
				for _, k := range nonNull(t, hidden.body) {
					if strings.Contains(k, "views_available") && c.name == "account" {
						continue // the views list is not moderated
					}
					if !slices.Contains(c.hideAllShows, k) {
						t.Errorf("none view shows %s: %.300s", k, hidden.body)
					}
				}
				full := e.do("GET", base+acc1+"/owner"+c.suffix, alice, "")
				if full.status != 200 {
					t.Fatalf("owner view: %d %s", full.status, full.body)
				}
				for _, k := range nulls(t, full.body) {
					if !slices.Contains(c.ownerNulls, k) {
						t.Errorf("owner view hides %s", k)
					}
				}
			})
		}
		// The owners list, balance and IBAN of the show-all view.
		acc := e.do("GET", base+acc1+"/owner/account", alice, "").json(t)
		owners := acc["owners"].([]any)
		if len(owners) != 2 || owners[0].(map[string]any)["id"] != alice || owners[0].(map[string]any)["provider"] != issuer {
			t.Errorf("owners %v", owners)
		}
		if b := acc["balance"].(map[string]any); b["amount"] != "1234.56" || b["currency"] != "EUR" {
			t.Errorf("balance %v", b)
		}
	})
}

// TestAliasAndSign covers which_alias_to_use, hide_metadata_if_alias_used
// and the sign-only new_balance.
func TestAliasAndSign(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		holderOf := func(viewID, user string) map[string]any {
			r := e.do("GET", base+acc1+"/"+viewID+"/other_accounts/"+cp, user, "")
			if r.status != 200 {
				t.Fatalf("%s: %d %s", viewID, r.status, r.body)
			}
			return r.json(t)["holder"].(map[string]any)
		}
		// Public view: the generated public alias.
		h := holderOf("everyone", "")
		if name := h["name"].(string); !strings.HasPrefix(name, "ALIAS_") || len(name) != 12 || h["is_alias"] != true {
			t.Errorf("public alias holder %v", h)
		}
		if again := holderOf("everyone", ""); again["name"] != h["name"] {
			t.Errorf("public alias not stable: %v %v", h, again)
		}
		// Owner view: the real name.
		if h := holderOf(view.Owner, alice); h["name"] != "Shop One" || h["is_alias"] != false {
			t.Errorf("owner holder %v", h)
		}
		// Team uses the private alias: real name until one is set.
		if h := holderOf("team", bob); h["name"] != "Shop One" {
			t.Errorf("team holder without private alias %v", h)
		}
		if r := e.do("POST", base+acc1+"/owner/other_accounts/"+cp+"/private_alias", alice, `{"alias":"The shop"}`); r.status != 201 {
			t.Fatalf("set private alias: %d %s", r.status, r.body)
		}
		if h := holderOf("team", bob); h["name"] != "The shop" || h["is_alias"] != true {
			t.Errorf("team holder %v", h)
		}
		// Deleting the public alias: null, and the real name on the public view.
		if r := e.do("DELETE", base+acc1+"/owner/other_accounts/"+cp+"/public_alias", alice, ""); r.status != 204 {
			t.Fatalf("delete public alias: %d %s", r.status, r.body)
		}
		if r := e.do("GET", base+acc1+"/owner/other_accounts/"+cp+"/public_alias", alice, ""); string(r.body) != "{\"alias\":null}\n" {
			t.Errorf("deleted alias: %s", r.body)
		}
		if h := holderOf("everyone", ""); h["name"] != "Shop One" || h["is_alias"] != false {
			t.Errorf("public holder after delete %v", h)
		}
		// hide_metadata_if_alias_used: metadata null when the alias shows.
		body := `{"name":"Hider","description":"","is_Public":false,"which_alias_to_use":"private","hide_metadata_if_alias_used":true,
			"allowed_actions":["can_see_transaction_other_bank_account","can_see_other_account_metadata","can_see_more_info"]}`
		if r := e.do("POST", base+acc1+"/views", alice, body); r.status != 201 {
			t.Fatalf("create view: %d %s", r.status, r.body)
		}
		if r := e.do("POST", base+acc1+"/permissions/"+alice+"/views/hider", alice, ""); r.status != 201 {
			t.Fatalf("grant: %d %s", r.status, r.body)
		}
		oa := e.do("GET", base+acc1+"/hider/other_accounts/"+cp, alice, "").json(t)
		if oa["metadata"] != nil || oa["holder"].(map[string]any)["name"] != "The shop" {
			t.Errorf("hider other account %v", oa)
		}
		other := e.do("GET", base+acc1+"/hider/other_accounts/"+holdings.CounterpartyID("Power Co", ""), alice, "").json(t)
		if other["metadata"] == nil {
			t.Errorf("metadata hidden without an alias: %v", other)
		}
		// Sign only: team sees amounts but not balances.
		txs := e.do("GET", base+acc1+"/team/transactions", bob, "").json(t)["transactions"].([]any)
		signs := map[string]string{}
		for _, x := range txs {
			tx := x.(map[string]any)
			nb := tx["details"].(map[string]any)["new_balance"].(map[string]any)
			signs[tx["id"].(string)] = nb["amount"].(string)
			if nb["currency"] != nil {
				t.Errorf("team sees the currency: %v", nb)
			}
		}
		if signs["tx4"] != "-" || signs["tx1"] != "+" {
			t.Errorf("signs %v", signs)
		}
	})
}

// TestBanksAndAccounts covers root, banks and the three accounts lists.
func TestBanksAndAccounts(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		root := e.do("GET", obp.Prefix+"/", "", "").json(t)
		if root["version"] != "1.2" || root["git_commit"] != "abc123" {
			t.Errorf("root %v", root)
		}
		banks := e.do("GET", obp.Prefix+"/banks", "", "").json(t)["banks"].([]any)
		if len(banks) != 2 || banks[1].(map[string]any)["logo"] != nil {
			t.Errorf("banks %v", banks)
		}
		expectError(t, e.do("GET", obp.Prefix+"/banks/nosuch", "", ""), 404, obperr.CodeBankNotFound)
		expectError(t, e.do("GET", obp.Prefix+"/banks/bad%20id", "", ""), 400, obperr.CodeInvalidBankID)
		expectError(t, e.do("GET", obp.Prefix+"/banks/nosuch/accounts", "", ""), 404, obperr.CodeBankNotFound)
		expectError(t, e.do("GET", obp.Prefix+"/banks/bad!id/accounts/public", "", ""), 400, obperr.CodeInvalidBankID)

		list := func(path, user string) map[string][]string {
			t.Helper()
			r := e.do("GET", obp.Prefix+"/banks/"+bankID+"/accounts"+path, user, "")
			if r.status != 200 {
				t.Fatalf("%s as %q: %d %s", path, user, r.status, r.body)
			}
			var body struct {
				Accounts []struct {
					ID     string      `json:"id"`
					Label  string      `json:"label"`
					BankID string      `json:"bank_id"`
					Views  []view.View `json:"views_available"`
				} `json:"accounts"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			out := map[string][]string{}
			for _, a := range body.Accounts {
				if a.BankID != bankID || a.Label == "" {
					t.Errorf("account entry %+v", a)
				}
				out[a.ID] = []string{}
				for _, v := range a.Views {
					out[a.ID] = append(out[a.ID], v.ID)
				}
			}
			return out
		}
		check := func(got map[string][]string, want map[string][]string) {
			t.Helper()
			if len(got) != len(want) {
				t.Errorf("accounts %v, want %v", got, want)
			}
			for id, vs := range want {
				if !slices.Equal(got[id], vs) {
					t.Errorf("account %s views %v, want %v", id, got[id], vs)
				}
			}
		}
		check(list("", ""), map[string][]string{acc1: {"everyone"}})
		check(list("", bob), map[string][]string{acc1: {"team", "none", "full", "counterparty", "everyone"}})
		check(list("", alice), map[string][]string{acc1: {"owner", "everyone"}, acc2: {"owner"}})
		check(list("/public", alice), map[string][]string{acc1: {"everyone"}})
		check(list("/private", alice), map[string][]string{acc1: {"owner"}, acc2: {"owner"}})
		check(list("/private", carol), map[string][]string{})
		expectError(t, e.do("GET", obp.Prefix+"/banks/"+bankID+"/accounts/private", "", ""), 401, obperr.CodeNotLoggedIn)
		if r := e.do("GET", obp.Prefix+"/banks/"+bankID+"/accounts/private", "", ""); r.header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		// An invalid token is a 401 even where anonymous access works.
		r := e.do("GET", obp.Prefix+"/banks/"+bankID+"/accounts", "", "", "Authorization", "Bearer not-a-jwt")
		expectError(t, r, 401, obperr.CodeNotLoggedIn)
		// The account by view: views_available is what the caller may use.
		acc := e.do("GET", base+acc1+"/everyone/account", "", "").json(t)
		if vs := acc["views_available"].([]any); len(vs) != 1 {
			t.Errorf("anonymous views_available %v", vs)
		}
		expectError(t, e.do("GET", base+"nosuch/owner/account", alice, ""), 404, obperr.CodeAccountNotFound)
		expectError(t, e.do("GET", obp.Prefix+"/banks/otherbank/accounts/"+acc1+"/owner/account", alice, ""), 404, obperr.CodeAccountNotFound)
		expectError(t, e.do("GET", obp.Prefix+"/banks/nosuch/accounts/"+acc1+"/owner/account", alice, ""), 404, obperr.CodeBankNotFound)
	})
}
