// Package party is the `party` API group of the Aggregation microservice
// dialect (shared/contracts/aggregation.md, operations 1 to 6): create a
// customer profile, create a connection (consent + connect URL), load,
// list, refresh and remove connections, and the connection details.
//
// Every route needs a bearer token. A profile belongs to the user who
// created it; only that user, or a holder of the role CanManageParties,
// may act on the party afterwards (403 PARTY_FORBIDDEN; an unknown party is
// 404 PARTY_NOT_FOUND for everyone). Errors use the Aggregation format of
// internal/api/aggregation.
package party

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	partydomain "github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
)

// StatusLoading is the answer of the connections load, byte for byte as the
// reference document prints it (note the space before the colon).
const StatusLoading = "Initiated : Loading Connections for Customer"

// MessageRemoved is the message of a successful removal.
const MessageRemoved = "success"

// MaxDeviceLength bounds data.device (free text).
const MaxDeviceLength = 256

// Profiles creates profiles (*party.Service).
type Profiles interface {
	CreateProfile(ctx context.Context, p auth.Principal, partyID string) (partydomain.Created, error)
}

// Connections manages connections (*connection.Service).
type Connections interface {
	Create(ctx context.Context, p auth.Principal, partyID, bankCode string, req connection.ConnectParams) (provider.ConnectSession, error)
	RequestLoad(ctx context.Context, p auth.Principal, partyID string) error
	Details(ctx context.Context, p auth.Principal, partyID string) (partydomain.Profile, []connection.Detail, error)
	Refresh(ctx context.Context, p auth.Principal, partyID, bankCode string) (connection.Connection, error)
	Remove(ctx context.Context, p auth.Principal, partyID, bankCode string) (connection.Connection, error)
}

// Deps are what the group needs.
type Deps struct {
	Log         *slog.Logger
	Profiles    Profiles
	Connections Connections
}

// API is the party group.
type API struct {
	log   *slog.Logger
	prof  Profiles
	conns Connections
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, prof: d.Profiles, conns: d.Connections}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// Routes are the group's endpoints, with the contract's paths. The
// document spells the path parameters partyID/partyid and
// bankCode/bankcode; they are the same values and are not on the wire, so
// every route names them {partyid} and {bankcode} (API Gateway wants one
// name per path level).
func (a *API) Routes() []platform.Route {
	h := func(f func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
		return aggregation.Handle(a.log, f)
	}
	return []platform.Route{
		{Method: http.MethodPost, Path: "/party/profiles/{partyid}", Handler: h(a.createProfile)},
		{Method: http.MethodPost, Path: "/party/profiles/{partyid}/banks/{bankcode}/connections", Handler: h(a.createConnection)},
		{Method: http.MethodGet, Path: "/party/profiles/{partyid}/connections", Handler: h(a.loadConnections)},
		{Method: http.MethodPut, Path: "/party/profiles/{partyid}/banks/{bankcode}/refreshConnections", Handler: h(a.refreshConnection)},
		{Method: http.MethodDelete, Path: "/party/profiles/{partyid}/banks/{bankcode}/removeConnections", Handler: h(a.removeConnection)},
		{Method: http.MethodGet, Path: "/party/profiles/{partyid}/connectionDetails", Handler: h(a.connectionDetails)},
	}
}

// Wire types.

// ProfileResponse is the answer of POST /party/profiles/{partyID}.
type ProfileResponse struct {
	Data ProfileData `json:"data"`
}

// ProfileData is the provider's customer.
type ProfileData struct {
	ID         string `json:"id"`
	Identifier string `json:"identifier"`
	Secret     string `json:"secret"`
}

// EmptyRequest is the "{}" body of the profile, refresh and remove calls:
// optional, and any field in it is an error.
type EmptyRequest struct{}

// ConnectionRequest is the body of POST .../banks/{bankCode}/connections.
type ConnectionRequest struct {
	Data *ConnectionData `json:"data"`
}

// ConnectionData is the request under "data".
type ConnectionData struct {
	CustomerID             string       `json:"customer_id"`
	Consent                *ConsentData `json:"consent"`
	Attempt                *AttemptData `json:"attempt"`
	JavascriptCallbackType string       `json:"javascript_callback_type,omitempty"`
	Device                 string       `json:"device,omitempty"`
}

// ConsentData is data.consent.
type ConsentData struct {
	FromDate   string   `json:"from_date"`
	PeriodDays string   `json:"period_days"`
	Scope      []string `json:"scope"`
}

// AttemptData is data.attempt.
type AttemptData struct {
	FromDate   string   `json:"from_date"`
	PeriodDays string   `json:"period_days"`
	FetchScope []string `json:"fetch_scope"`
	// ReturnTo (optional, Salt Edge's attempt.return_to) is where the
	// connect page sends the user back, with the outcome.
	ReturnTo string `json:"return_to,omitempty"`
}

// ConnectResponse is the answer of a connection creation.
type ConnectResponse struct {
	Data ConnectData `json:"data"`
}

// ConnectData holds the connect URL and its expiry.
type ConnectData struct {
	ExpiresAt  string `json:"expires_at"`
	ConnectURL string `json:"connect_url"`
}

// StatusBody is the {"status": ...} answer (lower-case "status" in the
// party group, unlike the system group's "Status").
type StatusBody struct {
	Status string `json:"status"`
}

// RefreshResponse is the answer of refresh and remove.
type RefreshResponse struct {
	DailyRefresh  string `json:"daily_refresh"`
	NextRefreshAt string `json:"next_refresh_at"`
	Message       string `json:"message"`
}

// DetailsResponse is the answer of GET .../connectionDetails.
type DetailsResponse struct {
	Connections []ConnectionDetail `json:"connections"`
}

// ConnectionDetail is one connection; the contract's fields (with their
// mixed case) and, as OpenAgg additions, why a connection that is not
// active stopped when connecting again renews it (statusReason:
// consent_expired, consent_revoked), the last error and the import
// progress.
type ConnectionDetail struct {
	DigitalProfileID         string        `json:"DigitalProfileID"`
	Provider                 string        `json:"provider"`
	BankCode                 string        `json:"bankCode"`
	BankName                 string        `json:"bankName"`
	NextRefresh              string        `json:"NextRefresh"`
	CreatedAt                string        `json:"CreatedAt"`
	Status                   string        `json:"status"`
	ProviderConnectionStatus string        `json:"providerConnectionStatus"`
	CountryCode              string        `json:"CountryCode"`
	StatusReason             string        `json:"statusReason,omitempty"`
	LastError                string        `json:"lastError,omitempty"`
	Import                   *ImportStatus `json:"import,omitempty"`
}

// ImportStatus is the progress of the connection's last import.
type ImportStatus struct {
	State        string `json:"state"` // none, queued, running, done, failed
	Accounts     int    `json:"accounts"`
	Transactions int64  `json:"transactions"`
	LastImportAt string `json:"lastImportAt,omitempty"`
	LastError    string `json:"lastError,omitempty"`
}

// rfc3339 renders t as RFC 3339 UTC with seconds; a zero time (no next
// refresh) is "".
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// Handlers.

// caller authenticates the request and reads the party id of the path.
func caller(r *http.Request) (auth.Principal, string, error) {
	p, err := authn.Require(r.Context())
	if err != nil {
		return p, "", err
	}
	partyID := r.PathValue("partyid")
	if err := partydomain.ValidateID(partyID); err != nil {
		return p, "", err
	}
	return p, partyID, nil
}

// callerAndBank also reads and checks the bank code of the path.
func callerAndBank(r *http.Request) (auth.Principal, string, string, error) {
	p, partyID, err := caller(r)
	if err != nil {
		return p, "", "", err
	}
	bankCode := r.PathValue("bankcode")
	if err := connection.ValidateBankCode(bankCode); err != nil {
		return p, "", "", err
	}
	return p, partyID, bankCode, nil
}

// POST /party/profiles/{partyID}: 200 with the provider's customer.
func (a *API) createProfile(w http.ResponseWriter, r *http.Request) error {
	p, partyID, err := caller(r)
	if err != nil {
		return err
	}
	if _, err := platform.DecodeOptionalJSON(w, r, &EmptyRequest{}); err != nil {
		return err
	}
	c, err := a.prof.CreateProfile(r.Context(), p, partyID)
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "profile created", "party", partyID, "owner", p.Subject)
	platform.WriteJSON(w, http.StatusOK, ProfileResponse{Data: ProfileData{ID: c.CustomerID, Identifier: c.Identifier, Secret: c.Secret}})
	return nil
}

// POST /party/profiles/{partyID}/banks/{bankCode}/connections
func (a *API) createConnection(w http.ResponseWriter, r *http.Request) error {
	p, partyID, bankCode, err := callerAndBank(r)
	if err != nil {
		return err
	}
	var req ConnectionRequest
	if err := platform.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	params, err := req.Params()
	if err != nil {
		return err
	}
	sess, err := a.conns.Create(r.Context(), p, partyID, bankCode, params)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, ConnectResponse{Data: ConnectData{ExpiresAt: rfc3339(sess.ExpiresAt), ConnectURL: sess.ConnectURL}})
	return nil
}

// GET /party/profiles/{partyid}/connections: 202, load queued.
func (a *API) loadConnections(w http.ResponseWriter, r *http.Request) error {
	p, partyID, err := caller(r)
	if err != nil {
		return err
	}
	if err := a.conns.RequestLoad(r.Context(), p, partyID); err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusAccepted, StatusBody{Status: StatusLoading})
	return nil
}

// PUT /party/profiles/{partyid}/banks/{bankcode}/refreshConnections
func (a *API) refreshConnection(w http.ResponseWriter, r *http.Request) error {
	p, partyID, bankCode, err := callerAndBank(r)
	if err != nil {
		return err
	}
	if _, err := platform.DecodeOptionalJSON(w, r, &EmptyRequest{}); err != nil {
		return err
	}
	c, err := a.conns.Refresh(r.Context(), p, partyID, bankCode)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, RefreshResponse{
		DailyRefresh:  strconv.FormatBool(c.DailyRefresh),
		NextRefreshAt: rfc3339(c.NextRefresh),
		Message:       "refresh of the connection to bank '" + bankCode + "' initiated",
	})
	return nil
}

// DELETE /party/profiles/{partyid}/banks/{bankcode}/removeConnections
func (a *API) removeConnection(w http.ResponseWriter, r *http.Request) error {
	p, partyID, bankCode, err := callerAndBank(r)
	if err != nil {
		return err
	}
	if _, err := platform.DecodeOptionalJSON(w, r, &EmptyRequest{}); err != nil {
		return err
	}
	c, err := a.conns.Remove(r.Context(), p, partyID, bankCode)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, RefreshResponse{
		DailyRefresh:  strconv.FormatBool(c.DailyRefresh),
		NextRefreshAt: rfc3339(c.NextRefresh),
		Message:       MessageRemoved,
	})
	return nil
}

// GET /party/profiles/{partyid}/connectionDetails
func (a *API) connectionDetails(w http.ResponseWriter, r *http.Request) error {
	p, partyID, err := caller(r)
	if err != nil {
		return err
	}
	prof, details, err := a.conns.Details(r.Context(), p, partyID)
	if err != nil {
		return err
	}
	out := DetailsResponse{Connections: make([]ConnectionDetail, 0, len(details))}
	for _, d := range details {
		out.Connections = append(out.Connections, toDetail(prof.Identifier, d))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

func toDetail(identifier string, d connection.Detail) ConnectionDetail {
	return ConnectionDetail{
		DigitalProfileID:         identifier,
		Provider:                 d.Provider,
		BankCode:                 d.BankCode,
		BankName:                 d.BankName,
		NextRefresh:              rfc3339(d.NextRefresh),
		CreatedAt:                rfc3339(d.CreatedAt),
		Status:                   string(d.Status),
		ProviderConnectionStatus: d.ProviderStatus,
		CountryCode:              d.Country,
		StatusReason:             d.StopReason,
		LastError:                d.LastError,
		Import:                   toImport(d.Import),
	}
}

func toImport(p holdings.ImportProgress) *ImportStatus {
	return &ImportStatus{State: p.State, Accounts: p.Accounts, Transactions: p.Transactions,
		LastImportAt: rfc3339(p.LastImportAt), LastError: p.LastError}
}

// Request validation (wire syntax; the domain checks the values against
// the profile and the bank).

// Params checks the request's syntax and converts it.
func (req ConnectionRequest) Params() (connection.ConnectParams, error) {
	d := req.Data
	if d == nil {
		return connection.ConnectParams{}, missing("data")
	}
	if strings.TrimSpace(d.CustomerID) == "" {
		return connection.ConnectParams{}, missing("data.customer_id")
	}
	if d.Consent == nil {
		return connection.ConnectParams{}, missing("data.consent")
	}
	if d.Attempt == nil {
		return connection.ConnectParams{}, missing("data.attempt")
	}
	var out connection.ConnectParams
	var err error
	if out.ConsentFrom, err = parseDate("data.consent.from_date", d.Consent.FromDate); err != nil {
		return out, err
	}
	if out.ConsentPeriodDays, err = parseDays("data.consent.period_days", d.Consent.PeriodDays); err != nil {
		return out, err
	}
	if len(d.Consent.Scope) == 0 {
		return out, fault.Errorf(connection.ErrInvalidScope, "data.consent.scope must be a non-empty array of scopes (%s)", strings.Join(connection.ConsentScopes, ", "))
	}
	if out.AttemptFrom, err = parseDate("data.attempt.from_date", d.Attempt.FromDate); err != nil {
		return out, err
	}
	if out.AttemptPeriodDays, err = parseDays("data.attempt.period_days", d.Attempt.PeriodDays); err != nil {
		return out, err
	}
	if len(d.Attempt.FetchScope) == 0 {
		return out, fault.Errorf(connection.ErrInvalidScope, "data.attempt.fetch_scope must be a non-empty array of scopes (%s)", strings.Join(connection.FetchScopes, ", "))
	}
	if !utf8.ValidString(d.Device) || utf8.RuneCountInString(d.Device) > MaxDeviceLength {
		return out, fault.Errorf(connection.ErrInvalidRequest, "data.device must be at most %d characters of text", MaxDeviceLength)
	}
	out.CustomerID = d.CustomerID
	out.ConsentScopes = d.Consent.Scope
	out.FetchScopes = d.Attempt.FetchScope
	out.JavascriptCallbackType = d.JavascriptCallbackType
	out.ReturnTo = d.Attempt.ReturnTo
	out.Device = d.Device
	return out, nil
}

func missing(field string) error {
	return fault.Errorf(connection.ErrInvalidRequest, "%s is required", field)
}

// parseDate reads a "DD-MM-YYYY" date that exists in the calendar.
func parseDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, missing(field)
	}
	t, err := time.Parse(connection.DateLayout, s)
	if err != nil || t.Format(connection.DateLayout) != s {
		return time.Time{}, fault.Errorf(connection.ErrInvalidDate, "%s %q is not a calendar date in the format DD-MM-YYYY", field, platform.Truncate(s, 40))
	}
	return t.UTC(), nil
}

// maxDaysDigits bounds period_days before it is converted.
const maxDaysDigits = 5

// parseDays reads a period: a string of digits, at least 1 (the bank's
// maximum is checked by the domain).
func parseDays(field, s string) (int, error) {
	if s == "" {
		return 0, missing(field)
	}
	if strings.Trim(s, "0123456789") != "" {
		return 0, fault.Errorf(connection.ErrInvalidPeriod, "%s %q must be a string of digits, e.g. \"90\"", field, platform.Truncate(s, 40))
	}
	if len(strings.TrimLeft(s, "0")) > maxDaysDigits {
		return 0, fault.Errorf(connection.ErrPeriodTooLong, "%s %q is longer than any bank allows", field, platform.Truncate(s, 40))
	}
	n, _ := strconv.Atoi(s) // at most 5 significant digits: always fits
	if n < 1 {
		return 0, fault.Errorf(connection.ErrInvalidPeriod, "%s must be at least 1 day", field)
	}
	return n, nil
}
