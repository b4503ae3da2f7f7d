// Package system is the `system` API group of the Aggregation microservice
// dialect (shared/contracts/aggregation.md, operations 7 to 11): load the
// bank directory from the providers (async), read banks by code and
// provider, by internal id and by country, and enable or disable access to
// a bank.
//
// Every route needs a bearer token. Reading banks is open to any
// authenticated user; loading the directory and changing access are admin
// operations that need the role CanManageBankDirectory (in the token's
// roles claim or as a stored entitlement), else 403.
package system

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

// Response texts, byte for byte as the reference document prints them
// (note "Initiated: Loading" and the leading space of " Successfully").
const (
	StatusLoading  = "Initiated: Loading all providers"
	StatusEnabled  = " Successfully modified Record, Enabled access"
	StatusDisabled = " Successfully modified Record, Disabled access"
)

// Values of setAccess.
const (
	AccessYes = "Yes"
	AccessNo  = "No"
)

// Directory is what the group needs from the bank directory
// (*bank.Service).
type Directory interface {
	StartLoad(ctx context.Context) (string, error)
	Get(ctx context.Context, provider, code string) (bank.Bank, error)
	ByInternalID(ctx context.Context, id string) (bank.Bank, error)
	ByCountry(ctx context.Context, countryCode string) ([]bank.Bank, error)
	SetAccess(ctx context.Context, code string, enabled bool) ([]bank.Bank, error)
}

// Roles checks stored entitlements (*auth.Entitlements).
type Roles interface {
	HasRole(ctx context.Context, p auth.Principal, role string) (bool, error)
}

// Deps are what the group needs.
type Deps struct {
	Log   *slog.Logger
	Banks Directory
	// Roles resolves stored entitlements; nil means token roles only.
	Roles Roles
	// Webhooks registers webhook endpoints (nil: the group has no
	// webhook routes).
	Webhooks Webhooks
}

// API is the system group.
type API struct {
	log      *slog.Logger
	banks    Directory
	roles    Roles
	webhooks Webhooks
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, banks: d.Banks, roles: d.Roles, webhooks: d.Webhooks}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// Routes are the group's endpoints. ServeMux keeps the two bank reads
// apart: /system/banks/{bank} has one segment after "banks", the
// code+provider read three. Both name that segment {bank} (a bank code in
// one, an internal id in the other): API Gateway refuses two variables of
// different names at the same level of the route tree.
func (a *API) Routes() []platform.Route {
	h := func(f func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
		return aggregation.Handle(a.log, f)
	}
	routes := []platform.Route{
		{Method: http.MethodGet, Path: "/system/banks", Handler: h(a.loadDirectory)},
		{Method: http.MethodGet, Path: "/system/banks/{bank}/provider/{providername}", Handler: h(a.bankByCodeAndProvider)},
		{Method: http.MethodGet, Path: "/system/banks/{bank}", Handler: h(a.bankByID)},
		{Method: http.MethodGet, Path: "/system/countries/{countrycode}/banks", Handler: h(a.banksOfCountry)},
		{Method: http.MethodPut, Path: "/system/bank/{bankcode}/access", Handler: h(a.setAccess)},
	}
	if a.webhooks != nil {
		routes = append(routes,
			platform.Route{Method: http.MethodPut, Path: "/system/webhooks/{name}", Handler: h(a.putWebhook)},
			platform.Route{Method: http.MethodGet, Path: "/system/webhooks", Handler: h(a.listWebhooks)},
			platform.Route{Method: http.MethodGet, Path: "/system/webhooks/{name}", Handler: h(a.getWebhook)},
			platform.Route{Method: http.MethodDelete, Path: "/system/webhooks/{name}", Handler: h(a.deleteWebhook)},
			platform.Route{Method: http.MethodGet, Path: "/system/webhooks/{name}/deliveries", Handler: h(a.webhookDeliveries)},
		)
	}
	return routes
}

// Bank is the wire form of a directory bank (operations 8 to 10). Field
// names are the contract's, including the doubled "ss".
type Bank struct {
	BankCode                 string   `json:"bankCode"`
	BankName                 string   `json:"bankName"`
	InternalBankID           string   `json:"internalBankId"`
	HomeURL                  string   `json:"homeUrl"`
	LoginURL                 string   `json:"loginUrl"`
	LogoURL                  string   `json:"logoUrl"`
	TimeZone                 string   `json:"timeZone"`
	ProviderStatus           string   `json:"providerStatus"`
	IsActive                 string   `json:"isActive"`
	CountryCode              string   `json:"countryCode"`
	Provider                 string   `json:"provider"`
	Mode                     string   `json:"mode"`
	SupportedAccountNaturess []string `json:"supportedAccountNaturess"`
	SupportedFetchScopess    []string `json:"supportedFetchScopess"`
	SupportedAccountTypess   []string `json:"supportedAccountTypess"`
}

// StatusBody is the {"Status": ...} answer of the system group (capital S,
// unlike the party and holdings groups).
type StatusBody struct {
	Status string `json:"Status"`
}

// AccessRequest is the body of PUT /system/bank/{bankcode}/access.
type AccessRequest struct {
	SetAccess *string `json:"setAccess"`
}

// ToWire renders a directory bank; isActive is the access flag.
func ToWire(b bank.Bank) Bank {
	isActive := bank.StatusInactive
	if b.AccessEnabled {
		isActive = bank.StatusActive
	}
	return Bank{
		BankCode:                 b.Code,
		BankName:                 b.Name,
		InternalBankID:           b.InternalID,
		HomeURL:                  b.HomeURL,
		LoginURL:                 b.LoginURL,
		LogoURL:                  b.LogoURL,
		TimeZone:                 b.TimeZone,
		ProviderStatus:           b.ProviderStatus,
		IsActive:                 isActive,
		CountryCode:              b.CountryCode,
		Provider:                 b.Provider,
		Mode:                     b.Mode,
		SupportedAccountNaturess: nonNil(b.SupportedAccountNatures),
		SupportedFetchScopess:    nonNil(b.SupportedFetchScopes),
		SupportedAccountTypess:   nonNil(b.SupportedAccountTypes),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// requireManager returns the caller if authenticated and holding
// CanManageBankDirectory: 401 without a valid token, 403 without the role.
func (a *API) requireManager(ctx context.Context) (auth.Principal, error) {
	return a.requireRole(ctx, bank.RoleManageDirectory)
}

// requireRole returns the caller if authenticated and holding role (in the
// token or as a stored entitlement): 401 without a valid token, 403
// without the role.
func (a *API) requireRole(ctx context.Context, role string) (auth.Principal, error) {
	p, err := aggregation.User(ctx)
	if err != nil {
		return p, err
	}
	if p.HasTokenRole(role) {
		return p, nil
	}
	if a.roles != nil {
		ok, err := a.roles.HasRole(ctx, p, role)
		if err != nil {
			return p, err
		}
		if ok {
			return p, nil
		}
	}
	return p, auth.MissingRole(role)
}

// GET /system/banks: start loading every provider's directory (202).
func (a *API) loadDirectory(w http.ResponseWriter, r *http.Request) error {
	p, err := a.requireManager(r.Context())
	if err != nil {
		return err
	}
	loadID, err := a.banks.StartLoad(r.Context())
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "directory load requested", "by", p.Subject, "loadId", loadID)
	platform.WriteJSON(w, http.StatusAccepted, StatusBody{Status: StatusLoading})
	return nil
}

// GET /system/banks/{bank}/provider/{providername}: {bank} is the bank code.
func (a *API) bankByCodeAndProvider(w http.ResponseWriter, r *http.Request) error {
	if _, err := aggregation.User(r.Context()); err != nil {
		return err
	}
	b, err := a.banks.Get(r.Context(), r.PathValue("providername"), r.PathValue("bank"))
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, ToWire(b))
	return nil
}

// GET /system/banks/{bank}: by internal id ("BD" + 10 digits).
func (a *API) bankByID(w http.ResponseWriter, r *http.Request) error {
	if _, err := aggregation.User(r.Context()); err != nil {
		return err
	}
	b, err := a.banks.ByInternalID(r.Context(), r.PathValue("bank"))
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, ToWire(b))
	return nil
}

// GET /system/countries/{countrycode}/banks: sorted by bank name; a
// country without banks is an empty array.
func (a *API) banksOfCountry(w http.ResponseWriter, r *http.Request) error {
	if _, err := aggregation.User(r.Context()); err != nil {
		return err
	}
	banks, err := a.banks.ByCountry(r.Context(), r.PathValue("countrycode"))
	if err != nil {
		return err
	}
	out := make([]Bank, len(banks))
	for i, b := range banks {
		out[i] = ToWire(b)
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

// accessOf decodes an AccessRequest: whether it enables the access.
func accessOf(w http.ResponseWriter, r *http.Request) (bool, error) {
	var req AccessRequest
	if err := platform.DecodeJSON(w, r, &req); err != nil {
		return false, err
	}
	if req.SetAccess == nil {
		return false, fault.Errorf(bank.ErrInvalidAccess, `setAccess is required: "Yes" or "No"`)
	}
	switch *req.SetAccess {
	case AccessYes:
		return true, nil
	case AccessNo:
		return false, nil
	}
	return false, fault.Errorf(bank.ErrInvalidAccess, `setAccess must be "Yes" or "No", got %q`, platform.Truncate(*req.SetAccess, 32))
}

// PUT /system/bank/{bankcode}/access with {"setAccess":"Yes"|"No"}.
func (a *API) setAccess(w http.ResponseWriter, r *http.Request) error {
	p, err := a.requireManager(r.Context())
	if err != nil {
		return err
	}
	enabled, err := accessOf(w, r)
	if err != nil {
		return err
	}
	code := r.PathValue("bankcode")
	if _, err := a.banks.SetAccess(r.Context(), code, enabled); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "bank access set", "by", p.Subject, "code", code, "enabled", enabled)
	status := StatusDisabled
	if enabled {
		status = StatusEnabled
	}
	platform.WriteJSON(w, http.StatusOK, StatusBody{Status: status})
	return nil
}
