package obperr

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/fault"
)

// obpDomains are the domain packages (under internal/) whose failures the
// OBP groups can meet: every exported kind they declare needs a row of its
// own in Table.
var obpDomains = []string{"view", "metadata", "account", "bank", "auth"}

// declaredKind is an exported package-level `var X = fault.New(class,
// "name")` of a domain package, as its source declares it.
type declaredKind struct {
	pos   string // file:line
	ident string // pkg.X
	class string // the fault class's identifier (NotFound)
	name  string // the kind's name ("view: not found")
}

// declaredKinds parses the non-test Go files of internal/<pkg> and returns
// the exported kinds they declare.
func declaredKinds(t *testing.T, pkg string) []declaredKind {
	t.Helper()
	dir := filepath.Join("..", "..", pkg)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []declaredKind
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		faultName := "" // how the file names internal/fault
		for _, im := range f.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); p == "github.com/openagg/openagg/internal/fault" {
				faultName = "fault"
				if im.Name != nil {
					faultName = im.Name.Name
				}
			}
		}
		if faultName == "" {
			continue
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) || !name.IsExported() {
						continue
					}
					call, ok := vs.Values[i].(*ast.CallExpr)
					if !ok || !isSelector(call.Fun, faultName, "New") {
						continue
					}
					k := declaredKind{pos: fset.Position(name.Pos()).String(), ident: pkg + "." + name.Name}
					if len(call.Args) != 2 {
						t.Fatalf("%s: fault.New with %d arguments", k.pos, len(call.Args))
					}
					class, ok := call.Args[0].(*ast.SelectorExpr)
					lit, ok2 := call.Args[1].(*ast.BasicLit)
					if !ok || !ok2 || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not fault.New(fault.<Class>, \"<name>\")", k.pos, k.ident)
					}
					k.class = class.Sel.Name
					k.name, _ = strconv.Unquote(lit.Value)
					out = append(out, k)
				}
			}
		}
	}
	return out
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// TestEveryDomainKindHasARow: every exported kind of the domains the OBP
// groups use has its own row in Table (not only its class's), a client
// error or a 401/403/404/409 (never a 500), and renders with its row's
// status and code. Kinds are found by name in the domains' source, so a
// kind added to a domain without a row fails here.
func TestEveryDomainKindHasARow(t *testing.T) {
	byName := map[string]*fault.Kind{}
	for k := range Table.Kinds {
		if other, dup := byName[k.Error()]; dup {
			t.Errorf("two kinds named %q (%p, %p): names must tell kinds apart", k.Error(), k, other)
		}
		byName[k.Error()] = k
	}
	declared := map[string]bool{}
	for _, pkg := range obpDomains {
		for _, d := range declaredKinds(t, pkg) {
			declared[d.name] = true
			t.Run(d.ident, func(t *testing.T) {
				k, ok := byName[d.name]
				if !ok {
					t.Fatalf("%s: %s (%q) has no row in obperr.Table", d.pos, d.ident, d.name)
				}
				if got := k.Class().String(); !strings.EqualFold(strings.ReplaceAll(got, " ", ""), d.class) {
					t.Errorf("%s: class %s, the source says %s", d.ident, got, d.class)
				}
				row := Table.Kinds[k]
				if row.Status < 400 || row.Status >= 500 || !strings.HasPrefix(row.Code, "OBP-") || row.Code == CodeUnknown {
					t.Fatalf("%s: row %+v", d.ident, row)
				}
				rec := httptest.NewRecorder()
				Write(rec, httptest.NewRequest(http.MethodGet, "/obp/v1.2/x", nil), nil, fault.Errorf(k, "what is wrong"))
				var body Body
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != row.Status || body.Code != row.Status ||
					!strings.HasPrefix(body.Message, row.Code+": ") {
					t.Errorf("%s renders %d %s, want %d %s: ...", d.ident, rec.Code, rec.Body, row.Status, row.Code)
				}
			})
		}
	}
	// No row for a kind no domain declares any more.
	for name := range byName {
		if !declared[name] {
			t.Errorf("obperr.Table has a row for %q, which none of %v declares", name, obpDomains)
		}
	}
}

// TestRowMessages: a row shows OBP's fixed text, the domain's message, or
// OBP's text followed by the domain's message (Detail).
func TestRowMessages(t *testing.T) {
	for _, tc := range []struct {
		row  Row
		want string
	}{
		{Row{Status: 404, Code: CodeBankNotFound, Text: TextBankNotFound}, "OBP-30001: " + TextBankNotFound},
		{Row{Status: 400, Code: CodeInvalidValueLength}, "OBP-20010: the domain's words"},
		{Row{Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true}, "OBP-10001: Incorrect json format. the domain's words"},
	} {
		if got := tc.row.message("the domain's words"); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.row, got, tc.want)
		}
	}
}
