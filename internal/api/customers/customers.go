// Package customers is the `customers` API group: the Open Bank Project
// 1.4.0 / 2.0.0 / 2.1.0 operations of shared/contracts/obp2-customers.md:
// customers (create, the caller's at every bank and at one bank),
// user–customer links, social media handles, CRM events, and the roles
// (entitlements) operations of OBP 2.0.0. Each operation is served under
// its own version prefix and under every newer one, as OBP-API does (a
// 2.0.0 operation answers under /obp/v2.0.0 and /obp/v2.1.0, a 1.4.0 one
// under all three).
//
// Every route needs a bearer token (401 OBP-20001 with a Bearer challenge).
// USER_ID is a token's sub. The rules are the domains': internal/auth for
// roles (who may grant, list, delete; which roles exist and at which
// scope), internal/customer for customers, links, handles and CRM events.
// This package decodes, calls them and renders OBP JSON and OBP errors
// (api/obperr).
package customers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/platform"
)

// Versions lists the OBP versions the group serves, oldest first.
func Versions() []string { return []string{"1.4.0", "2.0.0", "2.1.0"} }

// Prefix is the path prefix of an OBP version ("2.0.0" → "/obp/v2.0.0").
func Prefix(version string) string { return "/obp/v" + version }

// Entitlements is what the group needs from the role store
// (*auth.Entitlements).
type Entitlements interface {
	GrantKnown(ctx context.Context, granter auth.Principal, sub, bankID, role string, bank auth.BankCheck) (auth.Entitlement, error)
	ListFor(ctx context.Context, reader auth.Principal, sub string) ([]auth.Entitlement, error)
	Revoke(ctx context.Context, revoker auth.Principal, sub, id string) error
	IsSuperAdmin(p auth.Principal) bool
}

// Banks is the bank directory as the OBP dialects see it: BANK_ID is the
// code of a bank whose access is enabled.
type Banks interface {
	// Exists reports whether bankID names such a bank (false for an id no
	// bank can have).
	Exists(ctx context.Context, bankID string) (bool, error)
}

// Deps are what the group needs.
type Deps struct {
	Log          *slog.Logger
	Entitlements Entitlements
	Banks        Banks
	Customers    Customers
}

// API is the customers group.
type API struct {
	log       *slog.Logger
	ents      Entitlements
	banks     Banks
	customers Customers
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, ents: d.Entitlements, banks: d.Banks, customers: d.Customers}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// operation is one OBP operation: the version that introduced it and its
// path under the version prefix.
type operation struct {
	version string
	method  string
	path    string
	handle  func(w http.ResponseWriter, r *http.Request) error
}

func (a *API) operations() []operation {
	return []operation{
		// OBPv2.0.0-addEntitlement, getEntitlements, deleteEntitlement.
		{"2.0.0", http.MethodPost, "/users/{USER_ID}/entitlements", a.addEntitlement},
		{"2.0.0", http.MethodGet, "/users/{USER_ID}/entitlements", a.getEntitlements},
		{"2.0.0", http.MethodDelete, "/users/{USER_ID}/entitlement/{ENTITLEMENT_ID}", a.deleteEntitlement},
		// OBPv1.4.0-getCrmEvents.
		{"1.4.0", http.MethodGet, "/banks/{BANK_ID}/crm-events", a.getCrmEvents},
		// OBPv2.0.0-createUserCustomerLinks, addSocialMediaHandle, getSocialMediaHandles.
		{"2.0.0", http.MethodPost, "/banks/{BANK_ID}/user_customer_links", a.createUserCustomerLinks},
		{"2.0.0", http.MethodPost, "/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles", a.addSocialMediaHandle},
		{"2.0.0", http.MethodGet, "/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles", a.getSocialMediaHandles},
		// OBPv2.1.0-createCustomer, getCustomersForUser, getCustomersForCurrentUserAtBank.
		{"2.1.0", http.MethodPost, "/banks/{BANK_ID}/customers", a.createCustomer},
		{"2.1.0", http.MethodGet, "/users/current/customers", a.getCustomersForUser},
		{"2.1.0", http.MethodGet, "/banks/{BANK_ID}/customers", a.getCustomersForCurrentUserAtBank},
	}
}

// Routes lists every operation under its own version and each newer one.
func (a *API) Routes() []platform.Route {
	var routes []platform.Route
	versions := Versions()
	for _, op := range a.operations() {
		from := slices.Index(versions, op.version)
		for _, v := range versions[from:] {
			routes = append(routes, platform.Route{Method: op.method, Path: Prefix(v) + op.path, Handler: a.handle(op.handle)})
		}
	}
	return routes
}

// Render writes errors in OBP's format (also the group's 404/405 and
// panics).
func (a *API) Render(w http.ResponseWriter, r *http.Request, err error) {
	obperr.Write(w, r, a.log, err)
}

func (a *API) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.Render(w, r, err)
		}
	}
}

// user returns the caller, or 401 OBP-20001 (also for a token that was
// sent but does not verify).
func user(ctx context.Context) (auth.Principal, error) {
	p, err := authn.Require(ctx)
	if err == nil {
		return p, nil
	}
	if errors.Is(err, auth.ErrInvalidToken) {
		return auth.Principal{}, obperr.InvalidToken(err)
	}
	return auth.Principal{}, &platform.Error{Status: http.StatusUnauthorized, Code: obperr.CodeNotLoggedIn, Message: obperr.TextNotLoggedIn, Err: err}
}
