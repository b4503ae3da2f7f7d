package app

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/openagg/openagg/internal/openapi"
)

// docs/api.md is the endpoint table users read: every route a group serves
// is listed there, and nothing is listed that no group serves.
func TestAPIDocListsEveryRoute(t *testing.T) {
	a := newTestApp(t)
	served := servedRoutes(t, a)
	documented := apiMDRoutes(t)
	missing, extra := diff(served, documented)
	if len(missing) > 0 {
		t.Errorf("served but not in docs/api.md:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("in docs/api.md but not served:\n  %s", strings.Join(extra, "\n  "))
	}
	t.Logf("%d routes served, %d documented", len(served), len(documented))
	if len(served) < 90 {
		t.Fatalf("only %d routes served: the groups are not all wired", len(served))
	}
}

// TestRoutesAgree: the route tables, the OpenAPI documents, docs/api.md
// and template.yaml list the same routes. A route added to a group shows
// up here until each of them has it.
func TestRoutesAgree(t *testing.T) {
	a := newTestApp(t)
	served := servedRoutes(t, a)
	lists := []struct {
		name   string
		routes map[string]bool
	}{
		{"the OpenAPI documents (internal/openapi)", openapiRoutes(t)},
		{"docs/api.md", apiMDRoutes(t)},
		{"template.yaml (run make template)", templateRoutes(t)},
	}
	for _, l := range lists {
		missing, extra := diff(served, l.routes)
		if len(missing) > 0 {
			t.Errorf("served but not in %s:\n  %s", l.name, strings.Join(missing, "\n  "))
		}
		if len(extra) > 0 {
			t.Errorf("in %s but not served:\n  %s", l.name, strings.Join(extra, "\n  "))
		}
	}
}

// servedRoutes are the routes of every group ("METHOD /path", normalized).
func servedRoutes(t *testing.T, a *App) map[string]bool {
	served := map[string]bool{}
	for _, g := range groups(t, a) {
		for _, r := range g.Routes {
			served[r.Method+" "+normalizeDocPath(r.Path)] = true
		}
	}
	return served
}

// openapiRoutes are the operations of every OpenAPI document.
func openapiRoutes(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, name := range openapi.Names() {
		d, err := openapi.Build(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range d.Ops {
			key := o.Method + " " + normalizeDocPath(o.Path)
			if out[key] {
				t.Errorf("%s is in two OpenAPI documents", key)
			}
			out[key] = true
		}
	}
	return out
}

// templateRoutes are the routes of the HttpApi's DefinitionBody in
// template.yaml.
func templateRoutes(t *testing.T) map[string]bool {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				DefinitionBody struct {
					Paths map[string]map[string]any `yaml:"paths"`
				} `yaml:"DefinitionBody"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tmpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	out := map[string]bool{}
	for _, r := range tmpl.Resources {
		for path, methods := range r.Properties.DefinitionBody.Paths {
			for m := range methods {
				out[strings.ToUpper(m)+" "+normalizeDocPath(path)] = true
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("template.yaml: no routes found in a DefinitionBody")
	}
	return out
}

// diff lists what want has that got lacks (missing) and the other way round.
func diff(want, got map[string]bool) (missing, extra []string) {
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// apiMDRoutes are the routes the tables of docs/api.md list.
func apiMDRoutes(t *testing.T) map[string]bool {
	f, err := os.Open("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Sections whose paths are written after a prefix.
	prefixes := map[string][]string{
		"## Open Bank Project 1.2": {"/obp/v1.2"},
	}
	// Sections whose paths name the version that introduced them, served
	// under it and every newer one (OBP 1.4 / 2.0 / 2.1).
	versioned := map[string][]string{
		"## Open Bank Project 1.4 / 2.0 / 2.1 customers": {"/obp/v1.4.0", "/obp/v2.0.0", "/obp/v2.1.0"},
	}
	row := regexp.MustCompile("^\\| `(GET|POST|PUT|DELETE|PATCH) ([^`]+)`")
	documented := map[string]bool{}
	current := []string{""}
	var versions []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			current = []string{""}
			if p, ok := prefixes[line]; ok {
				current = p
			}
			versions = versioned[line]
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		path, _, _ := strings.Cut(m[2], "?")
		if i := slices.IndexFunc(versions, func(v string) bool { return strings.HasPrefix(path, v+"/") }); i >= 0 {
			rest := strings.TrimPrefix(path, versions[i])
			for _, v := range versions[i:] {
				documented[m[1]+" "+normalizeDocPath(v+rest)] = true
			}
			continue
		}
		for _, prefix := range current {
			full := path
			if !strings.HasPrefix(path, prefix+"/") && path != prefix {
				full = prefix + path
			}
			documented[m[1]+" "+normalizeDocPath(full)] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return documented
}

var upperParam = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// normalizeDocPath makes a route and its documentation comparable: path
// parameters lose their names ({partyID}, {partyid} and OBP's BANK_ID are
// the same kind of segment) and a trailing slash is dropped.
func normalizeDocPath(p string) string {
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") || upperParam.MatchString(s) {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}
