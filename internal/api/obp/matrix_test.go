package obp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

func routes() []platform.Route { return obp.New(obp.Deps{}).Routes() }

func TestRouteTable(t *testing.T) {
	rs := routes()
	if len(rs) != 65 {
		t.Fatalf("%d routes, want the 65 of OBP 1.2", len(rs))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.Pattern()] {
			t.Errorf("duplicate route %s", r.Pattern())
		}
		seen[r.Pattern()] = true
		if !strings.HasPrefix(r.Path, obp.Prefix+"/") {
			t.Errorf("route %s is outside %s", r.Pattern(), obp.Prefix)
		}
		// Public: root, banks, the accounts lists and every VIEW_ID route.
		wantPublic := !strings.Contains(r.Path, "/views") && !strings.Contains(r.Path, "/permissions") && !strings.HasSuffix(r.Path, "/private")
		if r.Public != wantPublic {
			t.Errorf("route %s public=%v, want %v", r.Pattern(), r.Public, wantPublic)
		}
	}
	if _, err := obp.Router(rs, nil); err != nil {
		t.Fatalf("router: %v", err)
	}
	// The reason for Router: ServeMux cannot hold OBP 1.2's route shapes.
	if _, err := platform.Mux(rs, nil); err == nil {
		t.Log("platform.Mux accepts the table too")
	}
}

func TestUnknownRoutes(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		expectError(t, e.do("GET", obp.Prefix+"/nope", "", ""), 404, obperr.CodeInvalidURI)
		expectError(t, e.do("GET", base+acc1+"/owner/nope", alice, ""), 404, obperr.CodeInvalidURI)
		r := e.do("PATCH", base+acc1+"/views", alice, "")
		expectError(t, r, 405, obperr.CodeMethodNotAllowed)
		if got := r.header.Get("Allow"); got != "GET, POST" {
			t.Errorf("Allow %q", got)
		}
		// permissions/{USER_ID} beats {VIEW_ID}/account for .../permissions/account.
		r = e.do("GET", base+acc1+"/permissions/account", alice, "")
		if r.status != 200 || !strings.Contains(string(r.body), `"views":[]`) {
			t.Errorf("permissions/account: %d %s", r.status, r.body)
		}
	})
}

// viewRoute is one VIEW_ID route with how it behaves.
type viewRoute struct {
	method, path string
	ok           int    // success status
	body         string // request body (the page's example)
	gated        bool   // needs a can_* flag beyond view access
	anonWrite    bool   // a public view may write it without a token
	userWrite    bool   // needs a user even on a public view
}

func requestBody(t *testing.T, path string) string {
	for suffix, name := range map[string]string{
		"/public_alias": "req_alias", "/private_alias": "req_alias", "/more_info": "req_more_info", "/url": "req_url",
		"/image_url": "req_image_url", "/open_corporates_url": "req_open_corporates_url",
		"/corporate_location": "req_corporate_location", "/physical_location": "req_physical_location",
		"/narrative": "req_narrative", "/comments": "req_comment", "/tags": "req_tag", "/images": "req_image_wrapped", "/where": "req_where",
	} {
		if strings.HasSuffix(path, suffix) {
			return golden(t, name)
		}
	}
	return ""
}

func viewRoutes(t *testing.T) []viewRoute {
	var out []viewRoute
	for _, r := range routes() {
		if !strings.Contains(r.Path, "{VIEW_ID}") || strings.Contains(r.Path, "/views/") || strings.Contains(r.Path, "/permissions/") {
			continue
		}
		vr := viewRoute{method: r.Method, path: r.Path}
		switch r.Method {
		case http.MethodGet:
			vr.ok = 200
		case http.MethodPost:
			vr.ok = 201
		case http.MethodPut:
			vr.ok = 200
			if strings.HasSuffix(r.Path, "/where") {
				vr.ok = 201
			}
		case http.MethodDelete:
			vr.ok = 204
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			vr.body = requestBody(t, r.Path)
		}
		// Reads that a view hiding everything still answers (with nulls);
		// the other-account ones need can_see_transaction_other_bank_account.
		plainRead := r.Method == http.MethodGet && (strings.HasSuffix(r.Path, "/account") ||
			strings.HasSuffix(r.Path, "/transactions") || strings.HasSuffix(r.Path, "/transaction"))
		vr.gated = !plainRead
		if r.Method != http.MethodGet {
			vr.anonWrite = strings.HasSuffix(r.Path, "_alias") || strings.HasSuffix(r.Path, "/narrative")
			vr.userWrite = !vr.anonWrite
		}
		out = append(out, vr)
	}
	return out
}

// fill substitutes the fixture's ids into a route path; items named by
// COMMENT_ID/TAG_ID/IMAGE_ID are created first (by user, on viewID).
func (e *env) fill(vr viewRoute, viewID, user string) string {
	cp := holdings.CounterpartyID("Shop One", "DE02120300000000202051")
	p := strings.NewReplacer("{BANK_ID}", bankID, "{ACCOUNT_ID}", acc1, "{VIEW_ID}", viewID, "{OTHER_ACCOUNT_ID}", cp, "{TRANSACTION_ID}", "tx1").Replace(vr.path)
	create := func(kind, body string) string {
		if user == "" {
			return "unknown"
		}
		r := e.do("POST", base+acc1+"/"+viewID+"/transactions/tx1/metadata/"+kind, user, body)
		if r.status != 201 {
			return "unknown" // the case itself expects the refusal
		}
		return r.json(e.t)["id"].(string)
	}
	switch {
	case strings.Contains(p, "{COMMENT_ID}"):
		p = strings.Replace(p, "{COMMENT_ID}", create("comments", `{"value":"to delete"}`), 1)
	case strings.Contains(p, "{TAG_ID}"):
		p = strings.Replace(p, "{TAG_ID}", create("tags", `{"value":"to_delete"}`), 1)
	case strings.Contains(p, "{IMAGE_ID}"):
		p = strings.Replace(p, "{IMAGE_ID}", create("images", `{"label":"x","URL":"https://img.test/x.png"}`), 1)
	case strings.HasSuffix(p, "/where") && vr.method == http.MethodDelete && user != "":
		e.do("POST", base+acc1+"/"+viewID+"/transactions/tx1/metadata/where", user, golden(e.t, "req_where"))
	}
	return p
}

// TestViewRoutesAccess runs every VIEW_ID endpoint as: anonymous on a
// private view, a user without the view, a user whose view hides
// everything, anonymous on a public view, and the owner on the owner view.
func TestViewRoutesAccess(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		vrs := viewRoutes(t)
		if len(vrs) != 50 {
			t.Fatalf("%d VIEW_ID routes, want 50", len(vrs))
		}
		for _, vr := range vrs {
			t.Run(vr.method+" "+strings.TrimPrefix(vr.path, obp.Prefix+"/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/{VIEW_ID}"), func(t *testing.T) {
				type tc struct {
					name, viewID, user string
					status             int
					code               string
				}
				cases := []tc{
					{"anonymous on a private view", "team", "", 401, obperr.CodeNotLoggedIn},
					{"user without the view", "team", carol, 403, obperr.CodeNoViewAccess},
					{"unknown view", "nosuchview", alice, 404, obperr.CodeViewNotFound},
				}
				hideAll := tc{"view hiding everything", "none", bob, vr.ok, ""}
				if vr.gated {
					hideAll.status, hideAll.code = 403, obperr.CodeNoViewPermission
				}
				cases = append(cases, hideAll)
				public := tc{"anonymous on a public view", "everyone", "", vr.ok, ""}
				if vr.userWrite {
					public.status, public.code = 401, obperr.CodeNotLoggedIn
				}
				cases = append(cases, public,
					tc{"user without grant on a public view", "everyone", carol, vr.ok, ""},
					tc{"owner", view.Owner, alice, vr.ok, ""})
				for _, c := range cases {
					t.Run(c.name, func(t *testing.T) {
						path := e.fill(vr, c.viewID, c.user)
						e.st.Reset()
						r := e.do(vr.method, path, c.user, vr.body)
						if c.code != "" {
							expectError(t, r, c.status, c.code)
							if n := e.st.Writes.Load(); n != 0 {
								t.Errorf("%d store writes on a refused request", n)
							}
							return
						}
						if r.status != c.status {
							t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
						}
						if c.status == 204 {
							if len(r.body) != 0 {
								t.Errorf("204 with a body: %s", r.body)
							}
							return
						}
						r.json(t)
					})
				}
			})
		}
	})
}
