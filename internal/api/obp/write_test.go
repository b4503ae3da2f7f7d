package obp_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/view"
)

// refused checks an OBP error and that nothing was written.
func (e *env) refused(t *testing.T, method, path, user, body string, status int, code string) {
	t.Helper()
	e.st.Reset()
	expectError(t, e.do(method, path, user, body), status, code)
	if n := e.st.Writes.Load(); n != 0 {
		t.Errorf("%s %s: %d store writes on a refused request", method, path, n)
	}
}

func TestViewsAdmin(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		views := base + acc1 + "/views"
		// The page's own create body: 201, id from the name.
		r := e.do("POST", views, alice, golden(t, "req_create_view"))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		v := r.json(t)
		if v["id"] != "the_view_name" || v["short_name"] != "the view name" || v["is_public"] != true ||
			v["which_alias_to_use"] != "public" || v["can_see_transaction_label"] != true || v["can_see_comments"] != false {
			t.Errorf("created view %v", v)
		}
		list := e.do("GET", views, alice, "").json(t)["views"].([]any)
		var ids []string
		for _, x := range list {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		if !slices.Equal(ids, []string{"owner", "team", "none", "full", "everyone", "counterparty", "the_view_name"}) {
			t.Errorf("views %v", ids)
		}
		// Update with the page's body: 200, the name stays.
		r = e.do("PUT", views+"/the_view_name", alice, golden(t, "req_update_view"))
		if r.status != 200 {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		if u := r.json(t); u["short_name"] != "the view name" || u["can_see_transaction_label"] != true || u["hide_metadata_if_alias_used"] != true {
			t.Errorf("updated view %.300v", u)
		}
		// What the body leaves out keeps its value (which_alias_to_use,
		// hide_metadata_if_alias_used); allowed_actions [] clears every flag.
		r = e.do("PUT", views+"/the_view_name", alice, `{"description":"changed","is_public":false,"allowed_actions":[]}`)
		if u := r.json(t); r.status != 200 || u["description"] != "changed" || u["is_public"] != false || u["can_see_transaction_label"] != false ||
			u["which_alias_to_use"] != "public" || u["hide_metadata_if_alias_used"] != true {
			t.Errorf("updated view %.300v", u)
		}
		// The change reaches the accounts lists (index items rewritten).
		if strings.Contains(string(e.do("GET", obp.Prefix+"/banks/"+bankID+"/accounts/public", "", "").body), "the_view_name") {
			t.Error("a view made private still listed as public")
		}

		bad := []struct {
			name, method, path, user, body string
			status                         int
			code                           string
		}{
			{"anonymous", "POST", views, "", `{"name":"x"}`, 401, obperr.CodeNotLoggedIn},
			{"not an owner", "POST", views, bob, `{"name":"x"}`, 403, obperr.CodeNoOwnerView},
			{"bad JSON", "POST", views, alice, `{"name":`, 400, obperr.CodeInvalidJSON},
			{"unknown field", "POST", views, alice, `{"name":"x","colour":"red"}`, 400, obperr.CodeInvalidJSON},
			{"wrong type", "POST", views, alice, `{"name":"x","is_Public":"yes"}`, 400, obperr.CodeInvalidJSON},
			{"no name", "POST", views, alice, `{"description":"x"}`, 400, obperr.CodeInvalidJSON},
			{"reserved owner", "POST", views, alice, `{"name":"Owner"}`, 400, obperr.CodeSystemView},
			{"reserved public", "POST", views, alice, `{"name":"public"}`, 400, obperr.CodeSystemView},
			// A view with id permissions could never be read: .../ACCOUNT_ID/permissions/account
			// is the permissions route.
			{"reserved permissions", "POST", views, alice, `{"name":"Permissions"}`, 400, obperr.CodeSystemView},
			{"bad characters", "POST", views, alice, `{"name":"a/b"}`, 400, obperr.CodeInvalidCharacters},
			{"exists", "POST", views, alice, `{"name":"TEAM"}`, 400, obperr.CodeViewExists},
			{"unknown action", "POST", views, alice, `{"name":"x","allowed_actions":["can_fly"]}`, 400, obperr.CodeAllowedValues},
			{"metadata action without gate", "POST", views, alice, `{"name":"x","allowed_actions":["can_add_comment"]}`, 400, obperr.CodeInvalidJSON},
			{"other-account action without gate", "POST", views, alice, `{"name":"x","allowed_actions":["can_see_more_info"]}`, 400, obperr.CodeInvalidJSON},
			{"bad alias", "POST", views, alice, `{"name":"x","which_alias_to_use":"secret"}`, 400, obperr.CodeAllowedValues},
			{"update the owner view", "PUT", views + "/owner", alice, `{"description":"x"}`, 400, obperr.CodeSystemView},
			{"update unknown view", "PUT", views + "/nosuch", alice, `{"description":"x"}`, 404, obperr.CodeViewNotFound},
			{"rename", "PUT", views + "/team", alice, `{"name":"other"}`, 400, obperr.CodeInvalidJSON},
			{"list as non-owner", "GET", views, bob, "", 403, obperr.CodeNoOwnerView},
			{"unknown account", "GET", base + "nosuch/views", alice, "", 404, obperr.CodeAccountNotFound},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) { e.refused(t, c.method, c.path, c.user, c.body, c.status, c.code) })
		}
		// Both national-identifier spellings (and the page's misprint).
		r = e.do("POST", views, alice, `{"name":"Nat","allowed_actions":["can_see_bank_acother_account_national_identifier"]}`)
		if n := r.json(t); r.status != 201 || n["can_see_bank_account_national_identifier"] != true || n["can_see_other_account_national_identifier"] != true {
			t.Errorf("national identifier actions: %d %s", r.status, r.body)
		}
	})
}

func TestPermissions(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		perms := base + acc1 + "/permissions"
		body := e.do("GET", perms, alice, "").json(t)["permissions"].([]any)
		got := map[string][]string{}
		for _, p := range body {
			m := p.(map[string]any)
			u := m["user"].(map[string]any)
			for _, v := range m["views"].([]any) {
				got[u["id"].(string)] = append(got[u["id"].(string)], v.(map[string]any)["id"].(string))
			}
		}
		if !slices.Equal(got[alice], []string{"owner"}) || !slices.Equal(got[bob], []string{"team", "none", "full", "counterparty"}) || !slices.Equal(got[dave], []string{"owner"}) {
			t.Errorf("permissions %v", got)
		}
		// Grant one, then several; carol then sees the account.
		if r := e.do("POST", perms+"/"+carol+"/views/team", alice, ""); r.status != 201 || r.json(t)["id"] != "team" {
			t.Fatalf("grant one: %d %s", r.status, r.body)
		}
		if r := e.do("POST", perms+"/"+carol+"/views", alice, golden(t, "req_grant_views")); r.status != 404 {
			t.Errorf("grant unknown views from the page's example: %d %s", r.status, r.body)
		}
		r := e.do("POST", perms+"/"+carol+"/views", alice, `{"views":["none","full"]}`)
		if r.status != 201 || len(r.json(t)["views"].([]any)) != 2 {
			t.Fatalf("grant several: %d %s", r.status, r.body)
		}
		views := func(user string) []string {
			var out []string
			for _, v := range e.do("GET", perms+"/"+user, alice, "").json(t)["views"].([]any) {
				out = append(out, v.(map[string]any)["id"].(string))
			}
			return out
		}
		if v := views(carol); !slices.Equal(v, []string{"team", "none", "full"}) {
			t.Errorf("carol's views %v", v)
		}
		if r := e.do("GET", base+acc1+"/team/account", carol, ""); r.status != 200 {
			t.Errorf("carol on team after grant: %d", r.status)
		}
		if r := e.do("DELETE", perms+"/"+carol+"/views/team", alice, ""); r.status != 204 {
			t.Fatalf("revoke one: %d %s", r.status, r.body)
		}
		expectError(t, e.do("GET", base+acc1+"/team/account", carol, ""), 403, obperr.CodeNoViewAccess)
		if r := e.do("DELETE", perms+"/"+carol+"/views", alice, ""); r.status != 204 {
			t.Fatalf("revoke all: %d %s", r.status, r.body)
		}
		if v := views(carol); len(v) != 0 {
			t.Errorf("carol's views after revoke all %v", v)
		}

		bad := []struct {
			name, method, path, user, body string
			status                         int
			code                           string
		}{
			{"grant a public view", "POST", perms + "/" + carol + "/views/everyone", alice, "", 400, obperr.CodeCannotGrant},
			{"grant several with a public view", "POST", perms + "/" + carol + "/views", alice, `{"views":["team","everyone"]}`, 400, obperr.CodeCannotGrant},
			{"grant unknown view", "POST", perms + "/" + carol + "/views/nosuch", alice, "", 404, obperr.CodeViewNotFound},
			{"grant empty list", "POST", perms + "/" + carol + "/views", alice, `{"views":[]}`, 400, obperr.CodeInvalidJSON},
			{"grant bad JSON", "POST", perms + "/" + carol + "/views", alice, `{"views":"team"}`, 400, obperr.CodeInvalidJSON},
			{"revoke a public view", "DELETE", perms + "/" + bob + "/views/everyone", alice, "", 400, obperr.CodeCannotRevoke},
			{"revoke not granted", "DELETE", perms + "/" + carol + "/views/team", alice, "", 404, obperr.CodeAccessNotFound},
			{"grant as non-owner", "POST", perms + "/" + carol + "/views/team", bob, "", 403, obperr.CodeNoOwnerView},
			{"list as anonymous", "GET", perms, "", "", 401, obperr.CodeNotLoggedIn},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) { e.refused(t, c.method, c.path, c.user, c.body, c.status, c.code) })
		}
		// The last owner keeps the owner view.
		if r := e.do("DELETE", perms+"/"+dave+"/views/owner", alice, ""); r.status != 204 {
			t.Fatalf("revoke dave's owner view: %d %s", r.status, r.body)
		}
		e.refused(t, "DELETE", perms+"/"+alice+"/views/owner", alice, "", 400, obperr.CodeCannotRevoke)
		e.refused(t, "DELETE", perms+"/"+alice+"/views", alice, "", 400, obperr.CodeCannotRevoke)
		// An owner granting themselves records their display name.
		if r := e.do("POST", perms+"/"+alice+"/views/full", alice, ""); r.status != 201 {
			t.Fatalf("self grant: %d %s", r.status, r.body)
		}
		for _, p := range e.do("GET", perms, alice, "").json(t)["permissions"].([]any) {
			u := p.(map[string]any)["user"].(map[string]any)
			if u["id"] == alice && u["display_name"] != "Alice" {
				t.Errorf("alice's user %v", u)
			}
		}
	})
}

func TestTransactionMetadata(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		full := base + acc1 + "/full/transactions/tx2/metadata/"
		own := base + acc1 + "/owner/transactions/tx2/metadata/"
		// Bob comments on the full view; the comment shows there only.
		r := e.do("POST", full+"comments", bob, `{"value":"lunch with the team"}`)
		if r.status != 201 {
			t.Fatalf("comment: %d %s", r.status, r.body)
		}
		c := r.json(t)
		if c["value"] != "lunch with the team" || c["user"].(map[string]any)["id"] != bob || c["date"] != "2024-03-03T10:00:00.000Z" {
			t.Errorf("comment %v", c)
		}
		if n := len(e.do("GET", full+"comments", bob, "").json(t)["comments"].([]any)); n != 1 {
			t.Errorf("%d comments on full", n)
		}
		if n := len(e.do("GET", own+"comments", alice, "").json(t)["comments"].([]any)); n != 0 {
			t.Errorf("%d comments on owner: metadata must stay on its view", n)
		}
		// Carol may not delete bob's comment (no view); alice (owner, granted full) may.
		id := c["id"].(string)
		if r := e.do("POST", base+acc1+"/permissions/"+carol+"/views/full", alice, ""); r.status != 201 {
			t.Fatal(r.status)
		}
		e.refused(t, "DELETE", full+"comments/"+id, carol, "", 403, obperr.CodeNotAuthor)
		e.refused(t, "DELETE", full+"comments/nosuch", bob, "", 404, obperr.CodeMetadataNotFound)
		if r := e.do("POST", base+acc1+"/permissions/"+alice+"/views/full", alice, ""); r.status != 201 {
			t.Fatal(r.status)
		}
		if r := e.do("DELETE", full+"comments/"+id, alice, ""); r.status != 204 {
			t.Errorf("owner deletes a comment: %d %s", r.status, r.body)
		}
		// Tags: no white space.
		e.refused(t, "POST", full+"tags", bob, `{"value":"two words"}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", full+"tags", bob, `{"value":"tab\tbed"}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", full+"tags", bob, `{"value":""}`, 400, obperr.CodeInvalidJSON)
		r = e.do("POST", full+"tags", bob, `{"value":"food"}`)
		if r.status != 201 {
			t.Fatalf("tag: %d %s", r.status, r.body)
		}
		tag := r.json(t)["id"].(string)
		if r := e.do("DELETE", full+"tags/"+tag, bob, ""); r.status != 204 {
			t.Errorf("author deletes a tag: %d", r.status)
		}
		// Images: the page's wrapped body and OBP-API's flat one.
		for _, body := range []string{golden(t, "req_image_wrapped"), `{"label":"receipt","URL":"https://img.test/r.png"}`} {
			if r := e.do("POST", full+"images", bob, body); r.status != 201 {
				t.Errorf("image %s: %d %s", body, r.status, r.body)
			}
		}
		e.refused(t, "POST", full+"images", bob, `{"label":"x","URL":"not a url"}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", full+"images", bob, `{"label":"x"}`, 400, obperr.CodeInvalidJSON)
		if n := len(e.do("GET", full+"images", bob, "").json(t)["images"].([]any)); n != 2 {
			t.Errorf("%d images", n)
		}
		// Where: set, update (201 per the page), delete by author only.
		if r := e.do("POST", full+"where", bob, `{"where":{"latitude":52.5,"longitude":13.4}}`); r.status != 201 || r.json(t)["success"] != "where tag added" {
			t.Fatalf("where: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", full+"where", bob, `{"where":{"latitude":48.1,"longitude":11.6}}`); r.status != 201 || r.json(t)["success"] != "where tag updated" {
			t.Fatalf("where update: %d %s", r.status, r.body)
		}
		w := e.do("GET", full+"where", bob, "").json(t)["where"].(map[string]any)
		if w["latitude"] != 48.1 || w["user"].(map[string]any)["id"] != bob {
			t.Errorf("where %v", w)
		}
		e.refused(t, "POST", full+"where", bob, `{"where":{"latitude":91,"longitude":0}}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", full+"where", bob, `{"where":{"latitude":1}}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "DELETE", full+"where", carol, "", 403, obperr.CodeNotAuthor)
		if r := e.do("DELETE", full+"where", bob, ""); r.status != 204 {
			t.Errorf("delete where: %d", r.status)
		}
		e.refused(t, "DELETE", full+"where", bob, "", 404, obperr.CodeMetadataNotFound)
		// Narrative.
		if r := e.do("POST", full+"narrative", bob, `{"narrative":"team lunch"}`); r.status != 201 || r.json(t)["success"] != "narrative added" {
			t.Fatalf("narrative: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", full+"narrative", bob, `{"narrative":"team dinner"}`); r.status != 200 || r.json(t)["success"] != "narrative updated" {
			t.Fatalf("narrative update: %d %s", r.status, r.body)
		}
		if n := e.do("GET", full+"narrative", bob, "").json(t)["narrative"]; n != "team dinner" {
			t.Errorf("narrative %v", n)
		}
		e.refused(t, "POST", full+"narrative", bob, `{"narrative":42}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", full+"narrative", bob, `{}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", full+"narrative", bob, ``, 400, obperr.CodeInvalidJSON)
		if r := e.do("DELETE", full+"narrative", bob, ""); r.status != 204 {
			t.Errorf("delete narrative: %d", r.status)
		}
		if n := e.do("GET", full+"narrative", bob, "").json(t)["narrative"]; n != nil {
			t.Errorf("narrative after delete %v", n)
		}
		// Team may comment but not tag; unknown transaction.
		e.refused(t, "POST", base+acc1+"/team/transactions/tx2/metadata/tags", bob, `{"value":"x"}`, 403, obperr.CodeNoViewPermission)
		e.refused(t, "GET", base+acc1+"/full/transactions/nosuch/metadata/comments", bob, "", 404, obperr.CodeTransactionNotFound)
		e.refused(t, "GET", base+acc1+"/full/transactions/nosuch/transaction", bob, "", 404, obperr.CodeTransactionNotFound)
	})
}

func TestOtherAccountMetadata(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		others := e.do("GET", base+acc1+"/owner/other_accounts", alice, "").json(t)["other_accounts"].([]any)
		byName := map[string]string{}
		var ids []string
		for _, o := range others {
			m := o.(map[string]any)
			byName[m["holder"].(map[string]any)["name"].(string)] = m["id"].(string)
			ids = append(ids, m["id"].(string))
		}
		// The counterparties of the transactions, in id order (the
		// directory's order, which OBP paging follows).
		want := map[string]string{"Power Co": holdings.CounterpartyID("Power Co", ""), "Shop One": holdings.CounterpartyID("Shop One", "DE02120300000000202051")}
		if !maps.Equal(byName, want) || !slices.IsSorted(ids) {
			t.Errorf("other accounts %v (ids %v), want %v", byName, ids, want)
		}
		cp := byName["Shop One"]
		oa := base + acc1 + "/full/other_accounts/" + cp
		for _, f := range []struct{ path, body, key, want string }{
			{"/metadata/more_info", `{"more_info":"a shop"}`, "more_info", "a shop"},
			{"/metadata/url", `{"URL":"https://shop.test"}`, "URL", "https://shop.test"},
			{"/metadata/image_url", `{"image_URL":"https://shop.test/logo.png"}`, "image_URL", "https://shop.test/logo.png"},
			{"/metadata/open_corporates_url", `{"open_corporates_URL":"https://opencorporates.com/x"}`, "open_corporates_URL", "https://opencorporates.com/x"},
			{"/private_alias", `{"alias":"my shop"}`, "private_alias", "my shop"},
		} {
			if r := e.do("POST", oa+f.path, bob, f.body); r.status != 201 {
				t.Fatalf("POST %s: %d %s", f.path, r.status, r.body)
			}
			// Shared by every view: the owner view sees it.
			m := e.do("GET", base+acc1+"/owner/other_accounts/"+cp+"/metadata", alice, "").json(t)
			if m[f.key] != f.want {
				t.Errorf("%s = %v, want %q", f.key, m[f.key], f.want)
			}
			if r := e.do("DELETE", oa+f.path, bob, ""); r.status != 204 {
				t.Fatalf("DELETE %s: %d", f.path, r.status)
			}
			if m := e.do("GET", oa+"/metadata", bob, "").json(t); m[f.key] != nil {
				t.Errorf("%s after delete = %v", f.key, m[f.key])
			}
		}
		if r := e.do("PUT", oa+"/metadata/corporate_location", bob, `{"corporate_location":{"latitude":1.5,"longitude":2.5}}`); r.status != 200 || r.json(t)["success"] != "corporate location updated" {
			t.Fatalf("corporate location: %d %s", r.status, r.body)
		}
		loc := e.do("GET", oa+"/metadata", bob, "").json(t)["corporate_location"].(map[string]any)
		if loc["longitude"] != 2.5 || loc["user"].(map[string]any)["display_name"] != "Bob" {
			t.Errorf("corporate location %v", loc)
		}
		e.refused(t, "POST", oa+"/metadata/more_info", bob, `{"more_info":""}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", oa+"/metadata/more_info", bob, `{"info":"x"}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", oa+"/metadata/physical_location", bob, `{"physical_location":{"latitude":"north","longitude":1}}`, 400, obperr.CodeInvalidJSON)
		e.refused(t, "POST", oa+"/metadata/url", "", `{"URL":"https://x.test"}`, 401, obperr.CodeNotLoggedIn)
		e.refused(t, "POST", base+acc1+"/everyone/other_accounts/"+cp+"/metadata/url", "", `{"URL":"https://x.test"}`, 401, obperr.CodeNotLoggedIn)
		e.refused(t, "GET", base+acc1+"/full/other_accounts/nosuch", bob, "", 404, obperr.CodeOtherAccountMissing)
		e.refused(t, "GET", base+acc1+"/full/transactions/tx5/other_account", bob, "", 404, obperr.CodeOtherAccountMissing)
		// Anonymous alias writes on a public view are allowed.
		if r := e.do("PUT", base+acc1+"/everyone/other_accounts/"+cp+"/public_alias", "", `{"alias":"SHOP"}`); r.status != 200 {
			t.Errorf("anonymous public alias: %d %s", r.status, r.body)
		}
		if a := e.do("GET", base+acc1+"/everyone/other_accounts/"+cp+"/public_alias", "", "").json(t)["alias"]; a != "SHOP" {
			t.Errorf("alias %v", a)
		}
	})
}

// TestStaleWritesRetried: a write made on what was read before another
// writer changed it is re-applied on the stored version: its conditional
// write fails, the service re-reads and writes again, and nothing is lost
// or overwritten. Views and grants (the ACL transaction with a version
// condition), transaction metadata (Put IfNotExists / IfVersion) and
// other-account metadata (Put IfVersion), on every driver.
func TestStaleWritesRetried(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		retried := func(what string) {
			t.Helper()
			if r, w := e.st.Reads.Load(), e.st.Writes.Load(); r != 1 || w != 2 {
				t.Errorf("%s on a stale read: %d reads, %d writes, want 1 re-read and 2 writes", what, r, w)
			}
		}

		// Views and grants: two changes made on the same ACL.
		stale := e.acl(acc2)
		if _, err := e.views.CreateView(ctx, stale, view.Spec{Name: "Audit", Description: "the auditors"}); err != nil {
			t.Fatal(err)
		}
		e.st.Reset()
		if _, err := e.views.Grant(ctx, stale, view.User{ID: carol}, []string{view.Owner}); err != nil {
			t.Fatal(err)
		}
		retried("grant")
		var ids []string
		for _, v := range e.do("GET", base+acc2+"/views", alice, "").json(t)["views"].([]any) {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		if !slices.Equal(ids, []string{view.Owner, "audit"}) {
			t.Errorf("views after the stale grant %v", ids)
		}
		if r := e.do("GET", base+acc2+"/permissions/"+carol, alice, ""); r.status != 200 || !strings.Contains(string(r.body), `"id":"owner"`) {
			t.Errorf("carol's views: %d %s", r.status, r.body)
		}

		// Transaction metadata: two comments added on the same (absent)
		// metadata.
		tx := e.txs[0]
		comment := func(text string) metadata.Change {
			return func(m *metadata.TxMeta, now time.Time) error {
				m.Comments = append(m.Comments, metadata.Comment{ID: text, Value: text, Date: now, User: view.User{ID: alice}})
				return nil
			}
		}
		if _, err := e.meta.UpdateTx(ctx, tx, view.Owner, metadata.TxMeta{}, comment("first")); err != nil {
			t.Fatal(err)
		}
		e.st.Reset()
		if _, err := e.meta.UpdateTx(ctx, tx, view.Owner, metadata.TxMeta{}, comment("second")); err != nil {
			t.Fatal(err)
		}
		retried("comment")
		var values []string
		for _, c := range e.do("GET", base+acc1+"/owner/transactions/"+tx.ID+"/metadata/comments", alice, "").json(t)["comments"].([]any) {
			values = append(values, c.(map[string]any)["value"].(string))
		}
		if !slices.Equal(values, []string{"first", "second"}) {
			t.Errorf("comments after the stale write %v", values)
		}

		// Other-account metadata: two fields set on the same document.
		cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
		doc := metadata.OADoc{AccountID: acc1}
		if err := e.meta.SetOtherAccount(ctx, doc, cp, metadata.MoreInfo, metadata.Value{Text: "regular payee"}); err != nil {
			t.Fatal(err)
		}
		e.st.Reset()
		if err := e.meta.SetOtherAccount(ctx, doc, cp, metadata.URL, metadata.Value{Text: "https://shop.test"}); err != nil {
			t.Fatal(err)
		}
		retried("other-account metadata")
		m := e.do("GET", base+acc1+"/owner/other_accounts/"+cp+"/metadata", alice, "").json(t)
		if m["more_info"] != "regular payee" || m["URL"] != "https://shop.test" {
			t.Errorf("other-account metadata after the stale write %v", m)
		}
	})
}
