package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/api/finapi"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
	"github.com/openagg/openagg/internal/webhook"
)

// domainKinds is every exported failure kind of every package under
// internal/, by package path (relative to internal/) and variable name.
// TestDomainKindsAreListed holds it to the source: a new kind fails the
// test until it is listed here, and then TestDialectsMapEveryKind until
// every dialect that meets it has its row.
var domainKinds = map[string]map[string]*fault.Kind{
	"account": {
		"ErrInvalidBankID":        account.ErrInvalidBankID,
		"ErrNotFound":             account.ErrNotFound,
		"ErrTransactionNotFound":  account.ErrTransactionNotFound,
		"ErrOtherAccountNotFound": account.ErrOtherAccountNotFound,
	},
	"auth": {
		"ErrNoToken":                auth.ErrNoToken,
		"ErrInvalidToken":           auth.ErrInvalidToken,
		"ErrNotAllowed":             auth.ErrNotAllowed,
		"ErrInvalidRole":            auth.ErrInvalidRole,
		"ErrBankRole":               auth.ErrBankRole,
		"ErrSystemRole":             auth.ErrSystemRole,
		"ErrInvalidUser":            auth.ErrInvalidUser,
		"ErrEntitlementExists":      auth.ErrEntitlementExists,
		"ErrEntitlementNotFound":    auth.ErrEntitlementNotFound,
		"ErrEntitlementOfOtherUser": auth.ErrEntitlementOfOtherUser,
	},
	"bank": {
		"ErrNotFound":        bank.ErrNotFound,
		"ErrUnknownProvider": bank.ErrUnknownProvider,
		"ErrLoadNotFound":    bank.ErrLoadNotFound,
		"ErrInvalidCode":     bank.ErrInvalidCode,
		"ErrInvalidID":       bank.ErrInvalidID,
		"ErrInvalidCountry":  bank.ErrInvalidCountry,
		"ErrInvalidAccess":   bank.ErrInvalidAccess,
		"ErrBusy":            bank.ErrBusy,
	},
	"bankconn": {
		"ErrNotFound":          bankconn.ErrNotFound,
		"ErrMissingField":      bankconn.ErrMissingField,
		"ErrInvalidField":      bankconn.ErrInvalidField,
		"ErrTooManyIDs":        bankconn.ErrTooManyIDs,
		"ErrPageSize":          bankconn.ErrPageSize,
		"ErrOrder":             bankconn.ErrOrder,
		"ErrFilter":            bankconn.ErrFilter,
		"ErrExists":            bankconn.ErrExists,
		"ErrBusy":              bankconn.ErrBusy,
		"ErrForbidden":         bankconn.ErrForbidden,
		"ErrUnsupportedBank":   bankconn.ErrUnsupportedBank,
		"ErrNoAccountsForType": bankconn.ErrNoAccountsForType,
		"ErrRejected":          bankconn.ErrRejected,
		"ErrBankFailed":        bankconn.ErrBankFailed,
		"ErrChallenge":         bankconn.ErrChallenge,
		"ErrNoChallenge":       bankconn.ErrNoChallenge,
	},
	"connection": {
		"ErrInvalidRequest":         connection.ErrInvalidRequest,
		"ErrInvalidDate":            connection.ErrInvalidDate,
		"ErrInvalidPeriod":          connection.ErrInvalidPeriod,
		"ErrPeriodTooLong":          connection.ErrPeriodTooLong,
		"ErrInvalidScope":           connection.ErrInvalidScope,
		"ErrUnsupportedScope":       connection.ErrUnsupportedScope,
		"ErrUnsupportedAccountType": connection.ErrUnsupportedAccountType,
		"ErrCustomerMismatch":       connection.ErrCustomerMismatch,
		"ErrBankDisabled":           connection.ErrBankDisabled,
		"ErrBankUnavailable":        connection.ErrBankUnavailable,
		"ErrNotFound":               connection.ErrNotFound,
		"ErrExists":                 connection.ErrExists,
		"ErrRemoving":               connection.ErrRemoving,
		"ErrBusy":                   connection.ErrBusy,
		"ErrNotActive":              connection.ErrNotActive,
		"ErrRefreshTooEarly":        connection.ErrRefreshTooEarly,
		"ErrUnknownSession":         connection.ErrUnknownSession,
	},
	"customer": {
		"ErrBankNotFound":     customer.ErrBankNotFound,
		"ErrMissingRoles":     customer.ErrMissingRoles,
		"ErrNumberExists":     customer.ErrNumberExists,
		"ErrUserNotFound":     customer.ErrUserNotFound,
		"ErrLinkExists":       customer.ErrLinkExists,
		"ErrCustomerNotFound": customer.ErrCustomerNotFound,
		"ErrInvalid":          customer.ErrInvalid,
		"ErrConflict":         customer.ErrConflict,
	},
	"holdings": {
		"ErrAccountNotFound":      holdings.ErrAccountNotFound,
		"ErrTransactionNotFound":  holdings.ErrTransactionNotFound,
		"ErrCounterpartyNotFound": holdings.ErrCounterpartyNotFound,
		"ErrImportNotFound":       holdings.ErrImportNotFound,
		"ErrInvalidLimit":         holdings.ErrInvalidLimit,
		"ErrInvalidDate":          holdings.ErrInvalidDate,
		"ErrInvalidDateRange":     holdings.ErrInvalidDateRange,
		"ErrInvalidPageToken":     holdings.ErrInvalidPageToken,
		"ErrInvalidImport":        holdings.ErrInvalidImport,
		"ErrInvalidRemoval":       holdings.ErrInvalidRemoval,
		"ErrConnectionRemoving":   holdings.ErrConnectionRemoving,
	},
	"metadata": {
		"ErrInvalid":   metadata.ErrInvalid,
		"ErrTooLong":   metadata.ErrTooLong,
		"ErrTooMuch":   metadata.ErrTooMuch,
		"ErrNotFound":  metadata.ErrNotFound,
		"ErrNotAuthor": metadata.ErrNotAuthor,
		"ErrConflict":  metadata.ErrConflict,
	},
	"party": {
		"ErrInvalidID":           party.ErrInvalidID,
		"ErrNotFound":            party.ErrNotFound,
		"ErrForbidden":           party.ErrForbidden,
		"ErrProfileExists":       party.ErrProfileExists,
		"ErrCustomerConflict":    party.ErrCustomerConflict,
		"ErrProviderRejected":    party.ErrProviderRejected,
		"ErrProviderNotFound":    party.ErrProviderNotFound,
		"ErrProviderTooEarly":    party.ErrProviderTooEarly,
		"ErrProviderUnavailable": party.ErrProviderUnavailable,
	},
	"view": {
		"ErrNotFound":          view.ErrNotFound,
		"ErrLoginRequired":     view.ErrLoginRequired,
		"ErrNoAccess":          view.ErrNoAccess,
		"ErrNotOwner":          view.ErrNotOwner,
		"ErrNoPermission":      view.ErrNoPermission,
		"ErrInvalid":           view.ErrInvalid,
		"ErrNotAllowedValue":   view.ErrNotAllowedValue,
		"ErrTooLong":           view.ErrTooLong,
		"ErrInvalidCharacters": view.ErrInvalidCharacters,
		"ErrSystemView":        view.ErrSystemView,
		"ErrExists":            view.ErrExists,
		"ErrCannotGrant":       view.ErrCannotGrant,
		"ErrCannotRevoke":      view.ErrCannotRevoke,
		"ErrGrantNotFound":     view.ErrGrantNotFound,
		"ErrConflict":          view.ErrConflict,
	},
	"webhook": {
		"ErrNotFound":      webhook.ErrNotFound,
		"ErrInvalidName":   webhook.ErrInvalidName,
		"ErrInvalidURL":    webhook.ErrInvalidURL,
		"ErrInvalidEvents": webhook.ErrInvalidEvents,
		"ErrInvalidLimit":  webhook.ErrInvalidLimit,
		"ErrConflict":      webhook.ErrConflict,
	},
	// The store's one kind, a database busy past its retries: every
	// dialect answers it by its class (TestDialectsAnswerBusy).
	"store": {"ErrBusy": store.ErrBusy},
	// The provider port's errors are plain sentinels (party.ProviderError
	// turns them into kinds); listed so that kinds declared there later
	// must be mapped by the dialects whose groups call providers.
	"provider": {},
}

// dialect is one API dialect as this test sees it: the domains whose
// failures its groups can meet, whether its table has a row of its own
// for a kind, and its error renderer. Another dialect (OBP in api/obperr,
// finAPI) is one more entry.
type dialect struct {
	name    string
	domains []string
	has     func(*fault.Kind) bool
	// shows reports whether the dialect shows the domain's message for a
	// kind (OBP shows its own fixed text for many); nil: always.
	shows  func(*fault.Kind) bool
	render platform.ErrorRenderer
}

func dialects() []dialect {
	log := slog.New(slog.DiscardHandler)
	return []dialect{
		{
			name:    "aggregation",
			domains: []string{"party", "connection", "holdings", "bank", "provider", "auth", "webhook"},
			has:     func(k *fault.Kind) bool { _, ok := aggregation.Errors.Kinds[k]; return ok },
			render:  func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, log, err) },
		},
		{
			// OBP 1.2 and OBP 1.4/2.0/2.1 (one table).
			name:    "obp",
			domains: []string{"view", "metadata", "account", "bank", "holdings", "auth", "customer"},
			has:     func(k *fault.Kind) bool { _, ok := obperr.Table.Kinds[k]; return ok },
			shows: func(k *fault.Kind) bool {
				row := obperr.Table.Kinds[k]
				return row.Text == "" || row.Detail
			},
			render: func(w http.ResponseWriter, r *http.Request, err error) { obperr.Write(w, r, log, err) },
		},
		{
			name:    "finapi",
			domains: []string{"bankconn", "auth", "party", "connection", "holdings", "bank"},
			has:     func(k *fault.Kind) bool { _, ok := finapi.Errors.Kinds[k]; return ok },
			render:  finapi.Renderer(log, platform.SystemClock{}),
		},
	}
}

// TestDomainKindsAreListed parses every package under internal/ and
// compares its exported package-level kinds (vars initialised with
// fault.New) with domainKinds: same packages, same names, and each listed
// value is the kind its declaration makes (same class and name).
func TestDomainKindsAreListed(t *testing.T) {
	found := declaredKinds(t, "..")
	for pkg, kinds := range found {
		listed, ok := domainKinds[pkg]
		if !ok {
			t.Errorf("package %s declares kinds %v: list them in domainKinds", pkg, keys(kinds))
			continue
		}
		for name, decl := range kinds {
			k, ok := listed[name]
			switch {
			case !ok:
				t.Errorf("%s.%s is not in domainKinds", pkg, name)
			case k.Error() != decl.name || k.Class().String() != decl.class:
				t.Errorf("domainKinds[%q][%q] is %q (%s); the source declares %q (%s)", pkg, name, k.Error(), k.Class(), decl.name, decl.class)
			}
		}
	}
	for pkg, listed := range domainKinds {
		for name := range listed {
			if _, ok := found[pkg][name]; !ok {
				t.Errorf("domainKinds lists %s.%s, which the source does not declare", pkg, name)
			}
		}
	}
	seen := map[*fault.Kind]string{}
	for pkg, listed := range domainKinds {
		for name, k := range listed {
			if other, dup := seen[k]; dup {
				t.Errorf("%s.%s and %s are the same kind", pkg, name, other)
			}
			seen[k] = pkg + "." + name
		}
	}
}

// TestDialectsMapEveryKind: every dialect has a row of its own for every
// kind of the domains its groups use, and renders each (bare, with a
// message, wrapped with context) with that message and never as a 500.
func TestDialectsMapEveryKind(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			for _, pkg := range d.domains {
				kinds, ok := domainKinds[pkg]
				if !ok {
					t.Fatalf("unknown domain %q", pkg)
				}
				for name, k := range kinds {
					if !d.has(k) {
						t.Errorf("%s.%s (%s) has no row", pkg, name, k.Class())
					}
					msg := "what " + pkg + "." + name + " says"
					for _, err := range []error{k, fault.Errorf(k, "%s", msg), fmt.Errorf("context: %w", fault.Wrap(k, fmt.Errorf("cause"), "%s", msg))} {
						want := msg
						if err == error(k) {
							want = k.Error()
						}
						status, body := renderOf(d, err)
						if status == http.StatusInternalServerError || status < 400 {
							t.Errorf("%s.%s (%v): status %d %s", pkg, name, err, status, body)
						}
						if (d.shows == nil || d.shows(k)) && !strings.Contains(body, want) {
							t.Errorf("%s.%s (%v): the body does not show %q: %s", pkg, name, err, want, body)
						}
					}
				}
			}
		})
	}
}

// TestDialectsAnswerBusy: a database busy past the driver's retries is a
// 503 with Retry-After in every dialect, whatever request met it.
func TestDialectsAnswerBusy(t *testing.T) {
	err := fmt.Errorf("load profile: %w", fault.Wrap(store.ErrBusy, errors.New("ThrottlingException: rate exceeded"), "the service is busy; retry in a moment"))
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			d.render(w, httptest.NewRequest(http.MethodGet, "/", nil), err)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != platform.BusyRetryAfter || !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%d (Retry-After %q) %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
			if strings.Contains(w.Body.String(), "Throttling") {
				t.Errorf("the cause shows: %s", w.Body)
			}
		})
	}
}

func renderOf(d dialect, err error) (int, string) {
	w := httptest.NewRecorder()
	d.render(w, httptest.NewRequest(http.MethodGet, "/", nil), err)
	body := w.Body.String()
	if !json.Valid([]byte(body)) {
		return w.Code, "invalid JSON: " + body
	}
	return w.Code, body
}

// declared is a kind as its source declares it.
type declared struct{ class, name string }

// declaredKinds parses the non-test Go files of every package under root
// (internal/) and returns their exported package-level variables
// initialised with fault.New(fault.<Class>, "<name>"), by package path
// relative to root. The fault package itself declares none.
func declaredKinds(t *testing.T, root string) map[string]map[string]declared {
	t.Helper()
	const faultPath = "github.com/openagg/openagg/internal/fault"
	out := map[string]map[string]declared{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if name := de.Name(); name == "testdata" || path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		local := "" // the name this file imports fault as
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == faultPath {
				local = "fault"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		if local == "" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !name.IsExported() || i >= len(vs.Values) {
						continue
					}
					d, ok := faultNew(vs.Values[i], local)
					if !ok {
						continue
					}
					if out[pkg] == nil {
						out[pkg] = map[string]declared{}
					}
					out[pkg][name.Name] = d
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no kind found: wrong root?")
	}
	return out
}

// faultNew reads a call <local>.New(<local>.<Class>, "<name>").
func faultNew(e ast.Expr, local string) (declared, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 || !isSelector(call.Fun, local, "New") {
		return declared{}, false
	}
	class, ok := call.Args[0].(*ast.SelectorExpr)
	if !ok || !isSelector(class, local, class.Sel.Name) {
		return declared{}, false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return declared{}, false
	}
	name, err := strconv.Unquote(lit.Value)
	if err != nil {
		return declared{}, false
	}
	return declared{class: classNames[class.Sel.Name], name: name}, true
}

func isSelector(e ast.Expr, pkg, sel string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == pkg && s.Sel.Name == sel
}

// classNames maps fault's class identifiers to their String.
var classNames = map[string]string{
	"Internal": fault.Internal.String(), "Invalid": fault.Invalid.String(), "NotFound": fault.NotFound.String(),
	"Exists": fault.Exists.String(), "Conflict": fault.Conflict.String(), "Forbidden": fault.Forbidden.String(),
	"Unauthenticated": fault.Unauthenticated.String(), "Unavailable": fault.Unavailable.String(), "Rejected": fault.Rejected.String(),
	"Busy": fault.Busy.String(),
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
