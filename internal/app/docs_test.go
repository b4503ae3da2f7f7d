package app

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/api.md is the endpoint table users read: every route a group serves
// is listed there, and nothing is listed that no group serves.
func TestAPIDocListsEveryRoute(t *testing.T) {
	a := newTestApp(t)
	served := map[string]bool{}
	for _, g := range groups(t, a) {
		for _, r := range g.Routes {
			served[r.Method+" "+normalizeDocPath(r.Path)] = true
		}
	}

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

	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
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
