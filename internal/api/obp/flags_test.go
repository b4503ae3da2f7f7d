package obp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// The tests of this file check every view flag on its own: each can_see_*
// flag shows exactly its fields, each endpoint is gated by exactly its
// can_see_/can_add_/can_edit_/can_delete_ flag. The expectations are
// written out from the OBP 1.2 page, not derived from the code.

// shownPaths records the path of every non-null node of a JSON value
// (objects and arrays too; "[]" for array items) under ep.
func shownPaths(ep, path string, v any, out map[string]bool) {
	if v == nil {
		return
	}
	out[ep+":"+path] = true
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			shownPaths(ep, path+"."+k, e, out)
		}
	case []any:
		for _, e := range x {
			shownPaths(ep, path+"[]", e, out)
		}
	}
}

// otherAccountMetadataActions are the actions that need
// can_see_other_account_metadata (OBP 1.2, "Create a view").
var otherAccountMetadataActions = []string{
	"can_see_more_info", "can_see_url", "can_see_image_url", "can_see_open_corporates_url",
	"can_see_corporate_location", "can_see_physical_location", "can_see_public_alias", "can_see_private_alias",
	"can_add_more_info", "can_add_url", "can_add_image_url", "can_add_open_corporates_url",
	"can_add_corporate_location", "can_add_physical_location", "can_add_public_alias", "can_add_private_alias",
	"can_delete_corporate_location", "can_delete_physical_location",
}

var transactionMetadataActions = []string{
	"can_see_narrative", "can_edit_narrative", "can_see_comments", "can_add_comment", "can_delete_comment",
	"can_see_tags", "can_add_tag", "can_delete_tag", "can_see_images", "can_add_image", "can_delete_image",
	"can_see_where_tag", "can_add_where_tag", "can_delete_where_tag",
}

// gatesOf lists what a view needs besides flag for flag to matter.
func gatesOf(flag string) []string {
	switch {
	case slices.Contains(transactionMetadataActions, flag):
		return []string{"can_see_transaction_metadata"}
	case slices.Contains(otherAccountMetadataActions, flag):
		return []string{"can_see_transaction_other_bank_account", "can_see_other_account_metadata"}
	case flag == "can_see_other_account_metadata" || strings.HasPrefix(flag, "can_see_other_account_"):
		return []string{"can_see_transaction_other_bank_account"}
	case slices.Contains([]string{"can_see_bank_account_type", "can_see_bank_account_national_identifier", "can_see_bank_account_swift_bic",
		"can_see_bank_account_iban", "can_see_bank_account_number", "can_see_bank_account_bank_name"}, flag):
		return []string{"can_see_transaction_this_bank_account"} // they also show in this_account
	}
	return nil
}

// setActions replaces the flags of a custom view through the API.
func (e *env) setActions(t *testing.T, viewID string, actions []string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"allowed_actions": append([]string{}, actions...)})
	if r := e.do("PUT", base+acc1+"/views/"+viewID, alice, string(body)); r.status != 200 {
		t.Fatalf("set %s to %v: %d %s", viewID, actions, r.status, r.body)
	}
}

// probeViews creates the custom views ids, granted to bob.
func (e *env) probeViews(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if r := e.do("POST", base+acc1+"/views", alice, `{"name":"`+id+`","description":"probe","is_Public":false,"which_alias_to_use":"none","allowed_actions":[]}`); r.status != 201 {
			t.Fatalf("create %s: %d %s", id, r.status, r.body)
		}
		if r := e.do("POST", base+acc1+"/permissions/"+bob+"/views/"+id, alice, ""); r.status != 201 {
			t.Fatalf("grant %s: %d %s", id, r.status, r.body)
		}
	}
}

// changeTxMeta changes the metadata of tx1 on viewID directly (as a write
// through a view with every flag would).
func (e *env) changeTxMeta(t *testing.T, viewID string, change metadata.Change) metadata.TxMeta {
	t.Helper()
	ctx := context.Background()
	var cur metadata.TxMeta
	it, err := e.st.Get(ctx, metadata.TxMetaKey(acc1, "tx1", viewID))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		t.Fatal(err)
	default:
		if cur, err = metadata.DecodeTxMeta(it); err != nil {
			t.Fatal(err)
		}
	}
	m, err := e.meta.UpdateTx(ctx, e.txs[0], viewID, cur, change)
	if err != nil {
		t.Fatalf("metadata on %s: %v", viewID, err)
	}
	return m
}

var bobUser = view.User{ID: bob, Provider: issuer, DisplayName: "Bob"}

// fullTxMeta gives tx1 a narrative, a comment, a tag, an image and a where
// tag.
func fullTxMeta(m *metadata.TxMeta, now time.Time) error {
	m.Narrative = "probe narrative"
	m.Comments = append(m.Comments, metadata.Comment{ID: metadata.NewItemID(), Value: "c", Date: now, User: bobUser})
	m.Tags = append(m.Tags, metadata.Tag{ID: metadata.NewItemID(), Value: "t", Date: now, User: bobUser})
	m.Images = append(m.Images, metadata.Image{ID: metadata.NewItemID(), Label: "l", URL: "https://img.test/i.png", Date: now, User: bobUser})
	m.Where = &metadata.Location{Latitude: 1, Longitude: 2, Date: now, User: bobUser}
	return nil
}

// TestEachSeeFlagGovernsItsFields: for every can_see_* flag, a view with
// the flag (and the flags it needs) shows exactly the fields listed here
// more than the same view without it, on the account, a transaction (one
// and in the list), its other account, an other account (one and in the
// list), its metadata and aliases.
func TestEachSeeFlagGovernsItsFields(t *testing.T) {
	user := []string{".user", ".user.id", ".user.provider", ".user.display_name"}
	item := func(ep, path string, fields ...string) []string {
		out := []string{ep + ":" + path, ep + ":" + path + "[]"}
		for _, f := range append(fields, user...) {
			out = append(out, ep+":"+path+"[]"+f)
		}
		return out
	}
	loc := func(ep, path string) []string {
		out := []string{ep + ":" + path}
		for _, f := range append([]string{".latitude", ".longitude", ".date"}, user...) {
			out = append(out, ep+":"+path+f)
		}
		return out
	}
	// otherMeta: an other-account metadata field in its four places.
	otherMeta := func(field string, location bool) []string {
		var out []string
		for _, p := range [][2]string{{"tx", ".other_account.metadata." + field}, {"oa", ".metadata." + field}, {"txoa", ".metadata." + field}, {"oameta", "." + field}} {
			if location {
				out = append(out, loc(p[0], p[1])...)
			} else {
				out = append(out, p[0]+":"+p[1])
			}
		}
		return out
	}
	otherHolder := func(ep, prefix string) []string {
		return []string{ep + ":" + prefix, ep + ":" + prefix + ".id", ep + ":" + prefix + ".holder", ep + ":" + prefix + ".holder.name", ep + ":" + prefix + ".holder.is_alias"}
	}
	cat := func(lists ...[]string) []string { return slices.Concat(lists...) }
	want := map[string][]string{
		"can_see_transaction_this_bank_account": {"tx:.this_account", "tx:.this_account.id", "tx:.this_account.holders", "tx:.this_account.holders[]",
			"tx:.this_account.holders[].name", "tx:.this_account.holders[].is_alias"},
		"can_see_transaction_other_bank_account":   cat(otherHolder("tx", ".other_account"), otherHolder("oa", ""), otherHolder("txoa", "")),
		"can_see_transaction_metadata":             {"tx:.metadata"},
		"can_see_transaction_label":                {"tx:.details.label"},
		"can_see_transaction_amount":               {"tx:.details.value", "tx:.details.value.amount", "tx:.details.new_balance", "tx:.details.new_balance.amount"},
		"can_see_transaction_type":                 {"tx:.details.type"},
		"can_see_transaction_currency":             {"tx:.details.value", "tx:.details.value.currency", "tx:.details.new_balance", "tx:.details.new_balance.currency"},
		"can_see_transaction_start_date":           {"tx:.details.posted"},
		"can_see_transaction_finish_date":          {"tx:.details.completed"},
		"can_see_transaction_balance":              {"tx:.details.new_balance", "tx:.details.new_balance.amount"},
		"can_see_comments":                         item("tx", ".metadata.comments", ".id", ".value", ".date"),
		"can_see_narrative":                        {"tx:.metadata.narrative"},
		"can_see_tags":                             item("tx", ".metadata.tags", ".id", ".value", ".date"),
		"can_see_images":                           item("tx", ".metadata.images", ".id", ".label", ".URL", ".date"),
		"can_see_where_tag":                        loc("tx", ".metadata.where"),
		"can_see_bank_account_owners":              {"account:.owners", "account:.owners[]", "account:.owners[].id", "account:.owners[].provider", "account:.owners[].display_name"},
		"can_see_bank_account_type":                {"account:.type", "tx:.this_account.kind"},
		"can_see_bank_account_balance":             {"account:.balance", "account:.balance.amount"},
		"can_see_bank_account_currency":            {"account:.balance", "account:.balance.currency"},
		"can_see_bank_account_label":               {"account:.label"},
		"can_see_bank_account_national_identifier": {"tx:.this_account.bank", "tx:.this_account.bank.national_identifier"},
		"can_see_bank_account_swift_bic":           nil, // OBP 1.2 has no field for it
		"can_see_bank_account_iban":                {"account:.IBAN", "tx:.this_account.IBAN"},
		"can_see_bank_account_number":              {"account:.number", "tx:.this_account.number"},
		"can_see_bank_account_bank_name":           {"tx:.this_account.bank", "tx:.this_account.bank.name"},
		// The banks name no counterparty bank, number or kind: the
		// objects show, their values are unknown (null).
		"can_see_other_account_national_identifier": {"tx:.other_account.bank", "oa:.bank", "txoa:.bank"},
		"can_see_other_account_swift_bic":           nil,
		"can_see_other_account_iban":                {"tx:.other_account.IBAN", "oa:.IBAN", "txoa:.IBAN"},
		"can_see_other_account_bank_name":           {"tx:.other_account.bank", "oa:.bank", "txoa:.bank"},
		"can_see_other_account_number":              nil,
		"can_see_other_account_metadata":            {"tx:.other_account.metadata", "oa:.metadata", "txoa:.metadata", "oameta:"},
		"can_see_other_account_kind":                nil,
		"can_see_more_info":                         otherMeta("more_info", false),
		"can_see_url":                               otherMeta("URL", false),
		"can_see_image_url":                         otherMeta("image_URL", false),
		"can_see_open_corporates_url":               otherMeta("open_corporates_URL", false),
		"can_see_corporate_location":                otherMeta("corporate_location", true),
		"can_see_physical_location":                 otherMeta("physical_location", true),
		"can_see_public_alias":                      cat(otherMeta("public_alias", false), []string{"pa:", "pa:.alias"}),
		"can_see_private_alias":                     cat(otherMeta("private_alias", false), []string{"pra:", "pra:.alias"}),
	}
	var seeFlags []string
	for _, a := range view.ActionNames() {
		if strings.HasPrefix(a, "can_see_") {
			seeFlags = append(seeFlags, a)
		}
	}
	if got := slices.Sorted(maps.Keys(want)); !slices.Equal(got, slices.Sorted(slices.Values(seeFlags))) {
		t.Fatalf("the table covers %v, the view has %v", got, seeFlags)
	}

	onBolt(t, func(t *testing.T, e *env) {
		e.withMetadata(t) // every other-account metadata field of Shop One
		e.probeViews(t, "probe", "base")
		for _, id := range []string{"probe", "base"} {
			e.changeTxMeta(t, id, fullTxMeta)
		}
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		get := func(path string) (int, any) {
			r := e.do("GET", path, bob, "")
			var v any
			if r.status == 200 {
				if err := json.Unmarshal(r.body, &v); err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
			}
			return r.status, v
		}
		// observe lists what viewID shows; a refused endpoint is "ep:<status>".
		observe := func(viewID string) map[string]bool {
			out := map[string]bool{}
			v := base + acc1 + "/" + viewID
			eps := []struct{ ep, path string }{
				{"account", v + "/account"}, {"tx", v + "/transactions/tx1/transaction"},
				{"oa", v + "/other_accounts/" + cp}, {"txoa", v + "/transactions/tx1/other_account"},
				{"oameta", v + "/other_accounts/" + cp + "/metadata"},
				{"pa", v + "/other_accounts/" + cp + "/public_alias"}, {"pra", v + "/other_accounts/" + cp + "/private_alias"},
			}
			for _, x := range eps {
				status, body := get(x.path)
				if status != 200 {
					out[fmt.Sprintf("%s:%d", x.ep, status)] = true
					continue
				}
				if x.ep == "account" {
					delete(body.(map[string]any), "views_available") // not moderated
				}
				shownPaths(x.ep, "", body, out)
			}
			// The lists show their items as the single endpoints do.
			lists := []struct{ ep, path, key, id, single string }{
				{"list", v + "/transactions", "transactions", "tx1", "tx"},
				{"oalist", v + "/other_accounts", "other_accounts", cp, "oa"},
			}
			for _, l := range lists {
				status, body := get(l.path)
				if status != 200 {
					if !out[fmt.Sprintf("%s:%d", l.single, status)] {
						t.Errorf("%s: %s answers %d, %s does not", viewID, l.ep, status, l.single)
					}
					continue
				}
				found := false
				for _, x := range body.(map[string]any)[l.key].([]any) {
					if x.(map[string]any)["id"] != l.id {
						continue
					}
					found = true
					fromList := map[string]bool{}
					shownPaths(l.single, "", x, fromList)
					for k := range out {
						if strings.HasPrefix(k, l.single+":") && !fromList[k] {
							t.Errorf("%s: %s shows %s, its list item does not", viewID, l.single, k)
						}
					}
					for k := range fromList {
						if !out[k] {
							t.Errorf("%s: the %s item shows %s, %s does not", viewID, l.ep, k, l.single)
						}
					}
				}
				if !found {
					t.Errorf("%s: %s lacks %s", viewID, l.ep, l.id)
				}
			}
			return out
		}
		for _, flag := range seeFlags {
			t.Run(flag, func(t *testing.T) {
				gates := gatesOf(flag)
				e.setActions(t, "probe", append(slices.Clone(gates), flag))
				e.setActions(t, "base", gates)
				with, without := observe("probe"), observe("base")
				var added, removed []string
				for k := range with {
					if !without[k] {
						added = append(added, k)
					}
				}
				for k := range without {
					if !with[k] && !strings.HasSuffix(k, ":403") {
						removed = append(removed, k)
					}
				}
				sort.Strings(added)
				exp := slices.Sorted(slices.Values(slices.Compact(slices.Sorted(slices.Values(want[flag])))))
				if !slices.Equal(added, exp) {
					t.Errorf("%s shows\n  %v\nmore than without it, want\n  %v", flag, added, exp)
				}
				if len(removed) > 0 {
					t.Errorf("%s hides %v", flag, removed)
				}
			})
		}
	})
}

// gatedRoute: the flag that gates one VIEW_ID endpoint (after {VIEW_ID}).
var gatedRoutes = map[string]string{
	"GET /other_accounts":                                                    "can_see_transaction_other_bank_account",
	"GET /other_accounts/{OTHER_ACCOUNT_ID}":                                 "can_see_transaction_other_bank_account",
	"GET /other_accounts/{OTHER_ACCOUNT_ID}/metadata":                        "can_see_other_account_metadata",
	"GET /other_accounts/{OTHER_ACCOUNT_ID}/public_alias":                    "can_see_public_alias",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/public_alias":                   "can_add_public_alias",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/public_alias":                    "can_add_public_alias",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/public_alias":                 "can_add_public_alias",
	"GET /other_accounts/{OTHER_ACCOUNT_ID}/private_alias":                   "can_see_private_alias",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/private_alias":                  "can_add_private_alias",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/private_alias":                   "can_add_private_alias",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/private_alias":                "can_add_private_alias",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/metadata/more_info":             "can_add_more_info",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/metadata/more_info":              "can_add_more_info",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/metadata/more_info":           "can_add_more_info",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/metadata/url":                   "can_add_url",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/metadata/url":                    "can_add_url",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/metadata/url":                 "can_add_url",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/metadata/image_url":             "can_add_image_url",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/metadata/image_url":              "can_add_image_url",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/metadata/image_url":           "can_add_image_url",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/metadata/open_corporates_url":   "can_add_open_corporates_url",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/metadata/open_corporates_url":    "can_add_open_corporates_url",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/metadata/open_corporates_url": "can_add_open_corporates_url",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/metadata/corporate_location":    "can_add_corporate_location",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/metadata/corporate_location":     "can_add_corporate_location",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/metadata/corporate_location":  "can_delete_corporate_location",
	"POST /other_accounts/{OTHER_ACCOUNT_ID}/metadata/physical_location":     "can_add_physical_location",
	"PUT /other_accounts/{OTHER_ACCOUNT_ID}/metadata/physical_location":      "can_add_physical_location",
	"DELETE /other_accounts/{OTHER_ACCOUNT_ID}/metadata/physical_location":   "can_delete_physical_location",
	"GET /transactions/{TRANSACTION_ID}/other_account":                       "can_see_transaction_other_bank_account",
	"GET /transactions/{TRANSACTION_ID}/metadata/narrative":                  "can_see_narrative",
	"POST /transactions/{TRANSACTION_ID}/metadata/narrative":                 "can_edit_narrative",
	"PUT /transactions/{TRANSACTION_ID}/metadata/narrative":                  "can_edit_narrative",
	"DELETE /transactions/{TRANSACTION_ID}/metadata/narrative":               "can_edit_narrative",
	"GET /transactions/{TRANSACTION_ID}/metadata/comments":                   "can_see_comments",
	"POST /transactions/{TRANSACTION_ID}/metadata/comments":                  "can_add_comment",
	"DELETE /transactions/{TRANSACTION_ID}/metadata/comments/{COMMENT_ID}":   "can_delete_comment",
	"GET /transactions/{TRANSACTION_ID}/metadata/tags":                       "can_see_tags",
	"POST /transactions/{TRANSACTION_ID}/metadata/tags":                      "can_add_tag",
	"DELETE /transactions/{TRANSACTION_ID}/metadata/tags/{TAG_ID}":           "can_delete_tag",
	"GET /transactions/{TRANSACTION_ID}/metadata/images":                     "can_see_images",
	"POST /transactions/{TRANSACTION_ID}/metadata/images":                    "can_add_image",
	"DELETE /transactions/{TRANSACTION_ID}/metadata/images/{IMAGE_ID}":       "can_delete_image",
	"GET /transactions/{TRANSACTION_ID}/metadata/where":                      "can_see_where_tag",
	"POST /transactions/{TRANSACTION_ID}/metadata/where":                     "can_add_where_tag",
	"PUT /transactions/{TRANSACTION_ID}/metadata/where":                      "can_add_where_tag",
	"DELETE /transactions/{TRANSACTION_ID}/metadata/where":                   "can_delete_where_tag",
}

// TestEachEndpointChecksItsFlag: every gated VIEW_ID endpoint refuses a
// view that has every flag but its own (403 OBP-30022 naming the flag,
// nothing written) and serves a view that has only its flag and the flags
// that one needs.
func TestEachEndpointChecksItsFlag(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		e.probeViews(t, "without", "only")
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		all := view.ActionNames()
		seen := 0
		for _, vr := range viewRoutes(t) {
			suffix := strings.TrimPrefix(vr.path, obp.Prefix+"/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/{VIEW_ID}")
			flag, ok := gatedRoutes[vr.method+" "+suffix]
			if !vr.gated {
				if ok {
					t.Errorf("%s %s is not gated, the table names %s", vr.method, suffix, flag)
				}
				continue
			}
			if !ok {
				t.Errorf("%s %s: no flag in the table", vr.method, suffix)
				continue
			}
			seen++
			t.Run(vr.method+" "+suffix, func(t *testing.T) {
				without := slices.DeleteFunc(slices.Clone(all), func(a string) bool {
					return a == flag || (flag == "can_see_other_account_metadata" && slices.Contains(otherAccountMetadataActions, a))
				})
				only := append(gatesOf(flag), flag)
				if strings.HasPrefix(suffix, "/other_accounts") && flag != "can_see_transaction_other_bank_account" {
					only = append(only, "can_see_transaction_other_bank_account")
				}
				e.setActions(t, "without", without)
				e.setActions(t, "only", slices.Compact(slices.Sorted(slices.Values(only))))
				path := func(viewID string) string {
					p := strings.NewReplacer("{BANK_ID}", bankID, "{ACCOUNT_ID}", acc1, "{VIEW_ID}", viewID,
						"{OTHER_ACCOUNT_ID}", cp, "{TRANSACTION_ID}", "tx1").Replace(vr.path)
					// The item a DELETE names: bob's, on that view.
					var id string
					switch {
					case strings.Contains(p, "{COMMENT_ID}"), strings.Contains(p, "{TAG_ID}"), strings.Contains(p, "{IMAGE_ID}"):
						id = metadata.NewItemID()
						e.changeTxMeta(t, viewID, func(m *metadata.TxMeta, now time.Time) error {
							m.Comments = append(m.Comments, metadata.Comment{ID: id, Value: "c", Date: now, User: bobUser})
							m.Tags = append(m.Tags, metadata.Tag{ID: id, Value: "t", Date: now, User: bobUser})
							m.Images = append(m.Images, metadata.Image{ID: id, Label: "l", URL: "https://img.test/i.png", Date: now, User: bobUser})
							return nil
						})
					case strings.HasSuffix(p, "/where") && vr.method == http.MethodDelete:
						e.changeTxMeta(t, viewID, func(m *metadata.TxMeta, now time.Time) error {
							m.Where = &metadata.Location{Latitude: 1, Longitude: 2, Date: now, User: bobUser}
							return nil
						})
					}
					for _, param := range []string{"{COMMENT_ID}", "{TAG_ID}", "{IMAGE_ID}"} {
						p = strings.Replace(p, param, id, 1)
					}
					return p
				}
				p := path("without")
				e.st.Reset()
				r := e.do(vr.method, p, bob, vr.body)
				expectError(t, r, 403, obperr.CodeNoViewPermission)
				var body struct{ Message string }
				_ = json.Unmarshal(r.body, &body)
				if want := obperr.CodeNoViewPermission + ": " + obperr.TextNoViewPermission + " " + flag; body.Message != want {
					t.Errorf("message %q, want %q", body.Message, want)
				}
				if n := e.st.Writes.Load(); n != 0 {
					t.Errorf("%d store writes on a refused request", n)
				}
				p = path("only")
				if r := e.do(vr.method, p, bob, vr.body); r.status != vr.ok {
					t.Errorf("with only %v: %d %s, want %d", only, r.status, r.body, vr.ok)
				}
			})
		}
		if seen != len(gatedRoutes) {
			t.Errorf("%d gated routes, the table has %d", seen, len(gatedRoutes))
		}
	})
}

// TestAdminRoutesAccess runs the views and permissions endpoints as
// anonymous, with a token that does not verify, as users without the owner
// view (one with other views, one with none), on unknown accounts and
// banks, and as the owner.
func TestAdminRoutesAccess(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		type call struct {
			path, body string
			ok         int
		}
		// The owner's successful call per route, in an order that works.
		calls := map[string]call{
			"GET /views":                 {"/views", "", 200},
			"POST /views":                {"/views", `{"name":"Matrix","description":"","is_Public":false,"which_alias_to_use":"none","allowed_actions":[]}`, 201},
			"PUT /views/{VIEW_ID}":       {"/views/team", golden(t, "req_update_view"), 200},
			"GET /permissions":           {"/permissions", "", 200},
			"GET /permissions/{USER_ID}": {"/permissions/" + bob, "", 200},
			"POST /permissions/{USER_ID}/views/{VIEW_ID}":   {"/permissions/" + carol + "/views/full", "", 201},
			"POST /permissions/{USER_ID}/views":             {"/permissions/" + carol + "/views", `{"views":["none"]}`, 201},
			"DELETE /permissions/{USER_ID}/views/{VIEW_ID}": {"/permissions/" + bob + "/views/full", "", 204},
			"DELETE /permissions/{USER_ID}/views":           {"/permissions/" + bob + "/views", "", 204},
		}
		var order []string
		for _, r := range routes() {
			if strings.Contains(r.Path, "{VIEW_ID}/") && !strings.Contains(r.Path, "/views/{VIEW_ID}") && !strings.Contains(r.Path, "/permissions/") {
				continue
			}
			suffix, ok := strings.CutPrefix(r.Path, obp.Prefix+"/banks/{BANK_ID}/accounts/{ACCOUNT_ID}")
			if !ok || !(strings.HasPrefix(suffix, "/views") || strings.HasPrefix(suffix, "/permissions")) {
				continue
			}
			key := r.Method + " " + suffix
			if _, ok := calls[key]; !ok {
				t.Errorf("no call for %s", key)
				continue
			}
			order = append(order, key)
		}
		if len(order) != len(calls) {
			t.Fatalf("%d admin routes, want %d", len(order), len(calls))
		}
		// Reads first, then writes in the order of the table above.
		rank := []string{"GET /views", "GET /permissions", "GET /permissions/{USER_ID}", "POST /views", "PUT /views/{VIEW_ID}",
			"POST /permissions/{USER_ID}/views/{VIEW_ID}", "POST /permissions/{USER_ID}/views",
			"DELETE /permissions/{USER_ID}/views/{VIEW_ID}", "DELETE /permissions/{USER_ID}/views"}
		slices.SortFunc(order, func(a, b string) int { return slices.Index(rank, a) - slices.Index(rank, b) })
		for _, key := range order {
			c := calls[key]
			method, _, _ := strings.Cut(key, " ")
			t.Run(key, func(t *testing.T) {
				refusals := []struct {
					name, user, prefix string
					headers            []string
					status             int
					code               string
				}{
					{"anonymous", "", base + acc1, nil, 401, obperr.CodeNotLoggedIn},
					{"token that does not verify", "", base + acc1, []string{"Authorization", "Bearer not-a-jwt"}, 401, obperr.CodeNotLoggedIn},
					{"user with views but not owner", bob, base + acc1, nil, 403, obperr.CodeNoOwnerView},
					{"user without views", carol, base + acc1, nil, 403, obperr.CodeNoOwnerView},
					{"owner of another account", alice, obp.Prefix + "/banks/otherbank/accounts/" + acc1, nil, 404, obperr.CodeAccountNotFound},
					{"unknown account", alice, base + "nosuch", nil, 404, obperr.CodeAccountNotFound},
					{"unknown bank", alice, obp.Prefix + "/banks/nosuch/accounts/" + acc1, nil, 404, obperr.CodeBankNotFound},
					{"bad bank id", alice, obp.Prefix + "/banks/no$such/accounts/" + acc1, nil, 400, obperr.CodeInvalidBankID},
				}
				for _, x := range refusals {
					e.st.Reset()
					r := e.do(method, x.prefix+c.path, x.user, c.body, x.headers...)
					t.Run(x.name, func(t *testing.T) { expectError(t, r, x.status, x.code) })
					if x.status == 401 && r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s: 401 without WWW-Authenticate", x.name)
					}
					if n := e.st.Writes.Load(); n != 0 {
						t.Errorf("%s: %d store writes", x.name, n)
					}
				}
				if r := e.do(method, base+acc1+c.path, alice, c.body); r.status != c.ok {
					t.Fatalf("owner: %d %s, want %d", r.status, r.body, c.ok)
				}
			})
		}
	})
}

// TestUpdateViewKeepsWhatIsLeftOut: PUT .../views/VIEW_ID changes what the
// body sets; what it leaves out keeps its value (a partial body does not
// turn a public view private and blind); the creation body with the view's
// own name is accepted, another name is not (the name is not editable).
func TestUpdateViewKeepsWhatIsLeftOut(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		views := base + acc1 + "/views"
		put := func(viewID, body string) map[string]any {
			t.Helper()
			r := e.do("PUT", views+"/"+viewID, alice, body)
			if r.status != 200 {
				t.Fatalf("PUT %s: %d %s", body, r.status, r.body)
			}
			return r.json(t)
		}
		v := put("everyone", `{"description":"changed"}`)
		if v["description"] != "changed" || v["is_public"] != true || v["which_alias_to_use"] != "public" || v["can_see_transaction_amount"] != true {
			t.Errorf("partial update %.400v", v)
		}
		if r := e.do("GET", base+acc1+"/everyone/account", "", ""); r.status != 200 {
			t.Errorf("the public view after a partial update: %d %s", r.status, r.body)
		}
		if !strings.Contains(string(e.do("GET", obp.Prefix+"/banks/"+bankID+"/accounts/public", "", "").body), `"everyone"`) {
			t.Error("the public view left the public accounts list")
		}
		v = put("everyone", `{"hide_metadata_if_alias_used":true,"is_public":false}`)
		if v["hide_metadata_if_alias_used"] != true || v["is_public"] != false || v["description"] != "changed" || v["can_see_transaction_amount"] != true {
			t.Errorf("second partial update %.400v", v)
		}
		// The page's creation body sent back with the view's own name.
		v = put("team", `{"name":"Team","description":"again","is_Public":false,"which_alias_to_use":"none","allowed_actions":["can_see_transaction_label"]}`)
		if v["short_name"] != "Team" || v["description"] != "again" || v["can_see_transaction_label"] != true || v["can_see_comments"] != false {
			t.Errorf("update with the name %.400v", v)
		}
		e.refused(t, "PUT", views+"/team", alice, `{"name":"Crew","description":"x"}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "PUT", views+"/team", alice, `{"is_Public":true,"is_public":false}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "PUT", views+"/team", alice, `{"allowed_actions":["can_add_comment"]}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "PUT", views+"/team", alice, `{"which_alias_to_use":"secret"}`, 400, obperr.CodeAllowedValues)
	})
}

// TestAliasesHiddenWithMetadata: a view that shows an alias and hides
// other-account metadata then (hide_metadata_if_alias_used) answers the
// alias endpoints with null too, as it does the metadata endpoint.
func TestAliasesHiddenWithMetadata(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		shop := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		power := holdings.CounterpartyID("Power Co", "")
		if r := e.do("POST", base+acc1+"/owner/other_accounts/"+shop+"/private_alias", alice, `{"alias":"The shop"}`); r.status != 201 {
			t.Fatalf("private alias: %d %s", r.status, r.body)
		}
		body := `{"name":"Hider","description":"","is_Public":false,"which_alias_to_use":"private","hide_metadata_if_alias_used":true,
			"allowed_actions":["can_see_transaction_other_bank_account","can_see_other_account_metadata","can_see_public_alias","can_see_private_alias"]}`
		if r := e.do("POST", base+acc1+"/views", alice, body); r.status != 201 {
			t.Fatalf("create view: %d %s", r.status, r.body)
		}
		if r := e.do("POST", base+acc1+"/permissions/"+bob+"/views/hider", alice, ""); r.status != 201 {
			t.Fatalf("grant: %d %s", r.status, r.body)
		}
		alias := func(other, kind string) any {
			r := e.do("GET", base+acc1+"/hider/other_accounts/"+other+"/"+kind, bob, "")
			if r.status != 200 {
				t.Fatalf("%s: %d %s", kind, r.status, r.body)
			}
			return r.json(t)["alias"]
		}
		// Shop One shows its private alias: its metadata, aliases included, is hidden.
		if a, p := alias(shop, "public_alias"), alias(shop, "private_alias"); a != nil || p != nil {
			t.Errorf("hidden aliases: public %v, private %v", a, p)
		}
		m := e.do("GET", base+acc1+"/hider/other_accounts/"+shop+"/metadata", bob, "").json(t)
		if m["public_alias"] != nil || m["private_alias"] != nil {
			t.Errorf("hidden metadata %v", m)
		}
		// Power Co has no private alias: the real name shows, metadata too.
		if a := alias(power, "public_alias"); a != metadata.DefaultPublicAlias(acc1, power) {
			t.Errorf("Power Co public alias %v", a)
		}
	})
}

// TestOwnerUserFromToken: an imported owner is recorded by id alone; the
// owner's user object shows their token's name to themselves at once, and
// to everyone once they change the account's views or permissions.
func TestOwnerUserFromToken(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		ownerNames := func(user, viewID string) map[string]string {
			t.Helper()
			r := e.do("GET", base+acc1+"/"+viewID+"/account", user, "")
			if r.status != 200 {
				t.Fatalf("account as %s: %d %s", user, r.status, r.body)
			}
			out := map[string]string{}
			for _, o := range r.json(t)["owners"].([]any) {
				u := o.(map[string]any)
				if u["provider"] != issuer {
					t.Errorf("owner %v: provider, want %s", u, issuer)
				}
				out[u["id"].(string)] = u["display_name"].(string)
			}
			return out
		}
		if got := ownerNames(alice, view.Owner); got[alice] != "Alice" || got[dave] != dave {
			t.Errorf("owners as alice %v", got)
		}
		if got := ownerNames(bob, "full"); got[alice] != alice {
			t.Errorf("owners as bob before alice's change %v", got)
		}
		if r := e.do("POST", base+acc1+"/permissions/"+carol+"/views/full", alice, ""); r.status != 201 {
			t.Fatalf("grant: %d %s", r.status, r.body)
		}
		if got := ownerNames(bob, "full"); got[alice] != "Alice" || got[dave] != dave {
			t.Errorf("owners as bob after alice's change %v", got)
		}
		perms := e.do("GET", base+acc1+"/permissions", dave, "").json(t)["permissions"].([]any)
		for _, p := range perms {
			u := p.(map[string]any)["user"].(map[string]any)
			if want := map[string]string{alice: "Alice", dave: "Dave", bob: "Bob", carol: carol}[u["id"].(string)]; u["display_name"] != want {
				t.Errorf("permissions as dave: user %v, want display_name %q", u, want)
			}
		}
	})
}

// TestDisabledBank: the banks of the API are the directory banks with
// access enabled. Once a bank's access is disabled every call under its
// BANK_ID answers 404 OBP-30001 (the account-level calls as the bank and
// the accounts lists), writes nothing, and the check costs no store call
// (the bank's records are in the request's BatchGet).
func TestDisabledBank(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		e.setBankAccess(bankID, false)
		n := 0
		for _, r := range routes() {
			if !strings.Contains(r.Path, "{BANK_ID}") {
				continue
			}
			n++
			p := strings.NewReplacer("{BANK_ID}", bankID, "{ACCOUNT_ID}", acc1, "{VIEW_ID}", view.Owner, "{USER_ID}", bob,
				"{OTHER_ACCOUNT_ID}", cp, "{TRANSACTION_ID}", "tx1", "{COMMENT_ID}", "c", "{TAG_ID}", "t", "{IMAGE_ID}", "i").Replace(r.Path)
			e.refused(t, r.Method, p, alice, requestBody(t, r.Path), 404, obperr.CodeBankNotFound)
		}
		if n != 63 { // all but the root and the banks list
			t.Errorf("%d routes under BANK_ID, want 63", n)
		}
		e.refused(t, "GET", base+acc1+"/everyone/transactions", "", "", 404, obperr.CodeBankNotFound)
		e.refused(t, "GET", base+"nosuch/everyone/account", "", "", 404, obperr.CodeBankNotFound)

		e.setBankAccess(bankID, true)
		e.st.Reset()
		if r := e.do("GET", base+acc1+"/owner/transactions", alice, ""); r.status != 200 {
			t.Fatalf("enabled again: %d %s", r.status, r.body)
		}
		if calls := e.st.Reads.Load(); calls != 2 {
			t.Errorf("transactions: %d store calls, want 2", calls)
		}
	})
}
