package saltedge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/provider"
)

// Wire shapes of Salt Edge API v6 (only the fields OpenAgg uses).

// ID is a Salt Edge id: a string of digits on the wire, tolerated as a
// number or null.
type ID string

// UnmarshalJSON accepts "123", 123 and null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = ID(n.String())
	}
	return nil
}

// Date is a Salt Edge date (YYYY-MM-DD), decoded as UTC midnight.
type Date struct{ time.Time }

// UnmarshalJSON accepts "YYYY-MM-DD" and null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		d.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	if s == "" {
		d.Time = time.Time{}
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q: %w", s, err)
	}
	d.Time = t
	return nil
}

// MarshalJSON writes YYYY-MM-DD.
func (d Date) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Format(time.DateOnly))
}

type meta struct {
	NextID   ID     `json:"next_id"`
	NextPage string `json:"next_page"`
}

type envelope[T any] struct {
	Data T     `json:"data"`
	Meta *meta `json:"meta,omitempty"`
}

type wireProvider struct {
	ID                      ID        `json:"id"`
	Code                    string    `json:"code"`
	Name                    string    `json:"name"`
	Mode                    string    `json:"mode"`
	Status                  string    `json:"status"`
	CountryCode             string    `json:"country_code"`
	HomeURL                 string    `json:"home_url"`
	LoginURL                string    `json:"login_url"`
	LogoURL                 string    `json:"logo_url"`
	Timezone                string    `json:"timezone"`
	SupportedFetchScopes    []string  `json:"supported_fetch_scopes"`
	SupportedAccountNatures []string  `json:"supported_account_natures"`
	SupportedAccountTypes   []string  `json:"supported_account_types"`
	MaxConsentDays          *int      `json:"max_consent_days"`
	Interactive             bool      `json:"interactive"`
	UpdatedAt               time.Time `json:"updated_at"`
}

func (w wireProvider) bank() provider.Bank {
	b := provider.Bank{
		Code: w.Code, Name: w.Name, CountryCode: w.CountryCode, Mode: w.Mode, Status: w.Status,
		HomeURL: w.HomeURL, LoginURL: w.LoginURL, LogoURL: w.LogoURL, Timezone: w.Timezone,
		SupportedFetchScopes: w.SupportedFetchScopes, SupportedAccountNatures: w.SupportedAccountNatures,
		SupportedAccountTypes: w.SupportedAccountTypes, Interactive: w.Interactive, UpdatedAt: w.UpdatedAt,
	}
	if w.MaxConsentDays != nil {
		b.MaxConsentDays = *w.MaxConsentDays
	}
	return b
}

// wireCustomer is a v6 customer: its id is customer_id (v5 said id,
// still read as a fallback).
type wireCustomer struct {
	CustomerID ID     `json:"customer_id"`
	ID         ID     `json:"id"`
	Identifier string `json:"identifier"`
	Secret     string `json:"secret"`
}

func (w wireCustomer) customer() provider.Customer {
	id := w.CustomerID
	if id == "" {
		id = w.ID
	}
	return provider.Customer{ID: string(id), Identifier: w.Identifier, Secret: w.Secret}
}

type wireStage struct {
	Name string `json:"name"`
}

type wireAttempt struct {
	Finished       bool       `json:"finished"`
	FailErrorClass string     `json:"fail_error_class"`
	FailMessage    string     `json:"fail_message"`
	LastStage      *wireStage `json:"last_stage"`
	CreatedAt      time.Time  `json:"created_at"`
}

type wireConnection struct {
	ID               ID           `json:"id"`
	CustomerID       ID           `json:"customer_id"`
	ProviderCode     string       `json:"provider_code"`
	ProviderName     string       `json:"provider_name"`
	CountryCode      string       `json:"country_code"`
	Status           string       `json:"status"`
	AutomaticRefresh *bool        `json:"automatic_refresh"`
	DailyRefresh     *bool        `json:"daily_refresh"` // v5's name, read as a fallback
	NextRefreshAt    time.Time    `json:"next_refresh_possible_at"`
	LastSuccessAt    time.Time    `json:"last_success_at"`
	CreatedAt        time.Time    `json:"created_at"`
	UpdatedAt        time.Time    `json:"updated_at"`
	LastAttempt      *wireAttempt `json:"last_attempt"`
}

// StopReason is the port's stop reason of a Salt Edge error class: the
// classes of an ended consent, which only a reconnect renews ("" for any
// other class).
func StopReason(class string) string {
	return provider.StopReasonOf(classKinds[class])
}

func (w wireConnection) connection() provider.Connection {
	c := provider.Connection{
		ID: string(w.ID), CustomerID: string(w.CustomerID), BankCode: w.ProviderCode, BankName: w.ProviderName,
		CountryCode: w.CountryCode, Status: w.Status,
		NextRefreshPossibleAt: w.NextRefreshAt, LastSuccessAt: w.LastSuccessAt,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	switch {
	case w.AutomaticRefresh != nil:
		c.DailyRefresh = *w.AutomaticRefresh
	case w.DailyRefresh != nil:
		c.DailyRefresh = *w.DailyRefresh
	}
	if a := w.LastAttempt; a != nil {
		c.AttemptAt = a.CreatedAt
		// An unfinished attempt has not fetched everything yet.
		c.Fetching = !a.Finished && w.Status == "active"
		if a.FailErrorClass != "" {
			c.LastError = a.FailErrorClass + ": " + a.FailMessage
			if w.Status != "active" {
				c.StopReason = StopReason(a.FailErrorClass)
			}
		}
	}
	return c
}

type wireAccountExtra struct {
	IBAN            string      `json:"iban"`
	SWIFT           string      `json:"swift"`
	AccountNumber   string      `json:"account_number"`
	HolderName      string      `json:"holder_name"`
	ClientName      string      `json:"client_name"`
	AvailableAmount json.Number `json:"available_amount"`
}

type wireAccount struct {
	ID           ID               `json:"id"`
	ConnectionID ID               `json:"connection_id"`
	Name         string           `json:"name"`
	Nature       string           `json:"nature"`
	Balance      json.Number      `json:"balance"`
	CurrencyCode string           `json:"currency_code"`
	Extra        wireAccountExtra `json:"extra"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

func (w wireAccount) account() (provider.Account, error) {
	bal, err := amount(w.Balance)
	if err != nil {
		return provider.Account{}, fmt.Errorf("account %s balance: %w", w.ID, err)
	}
	avail := bal
	if w.Extra.AvailableAmount != "" {
		if avail, err = amount(w.Extra.AvailableAmount); err != nil {
			return provider.Account{}, fmt.Errorf("account %s available amount: %w", w.ID, err)
		}
	}
	holder := w.Extra.HolderName
	if holder == "" {
		holder = w.Extra.ClientName
	}
	return provider.Account{
		ID: string(w.ID), ConnectionID: string(w.ConnectionID), Name: w.Name, Nature: w.Nature,
		Balance: bal, Available: avail, CurrencyCode: w.CurrencyCode,
		IBAN: w.Extra.IBAN, SWIFT: w.Extra.SWIFT, AccountNumber: w.Extra.AccountNumber, HolderName: holder,
		UpdatedAt: w.UpdatedAt,
	}, nil
}

type wireTransactionExtra struct {
	Payee                  string      `json:"payee"`
	PayeeInformation       string      `json:"payee_information"`
	Payer                  string      `json:"payer"`
	PayerInformation       string      `json:"payer_information"`
	AccountBalanceSnapshot json.Number `json:"account_balance_snapshot"`
	PostingDate            Date        `json:"posting_date"`
	PostingTime            string      `json:"posting_time"`
}

type wireTransaction struct {
	ID           ID                   `json:"id"`
	AccountID    ID                   `json:"account_id"`
	MadeOn       Date                 `json:"made_on"`
	Amount       json.Number          `json:"amount"`
	CurrencyCode string               `json:"currency_code"`
	Description  string               `json:"description"`
	Category     string               `json:"category"`
	Mode         string               `json:"mode"`
	Status       string               `json:"status"`
	Duplicated   bool                 `json:"duplicated"`
	Extra        wireTransactionExtra `json:"extra"`
}

var ibanRE = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`)

func looksLikeIBAN(s string) bool { return ibanRE.MatchString(strings.ReplaceAll(s, " ", "")) }

func (w wireTransaction) transaction() (provider.Transaction, error) {
	amt, err := amount(w.Amount)
	if err != nil {
		return provider.Transaction{}, fmt.Errorf("transaction %s amount: %w", w.ID, err)
	}
	t := provider.Transaction{
		ID: string(w.ID), AccountID: string(w.AccountID), MadeOn: w.MadeOn.Time, Amount: amt,
		CurrencyCode: w.CurrencyCode, Description: w.Description, Category: w.Category, Mode: w.Mode, Status: w.Status,
	}
	if t.Status == "" {
		t.Status = "posted"
	}
	if t.Status == "posted" {
		// Booking time: extra.posting_date (+ posting_time) when the bank
		// gives it, else the value date.
		t.PostedAt = w.MadeOn.Time
		if !w.Extra.PostingDate.IsZero() {
			t.PostedAt = w.Extra.PostingDate.Time
			if tm, err := time.Parse(time.TimeOnly, w.Extra.PostingTime); err == nil {
				t.PostedAt = t.PostedAt.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute + time.Duration(tm.Second())*time.Second)
			}
		}
	}
	// The counterparty is the payee of a debit, the payer of a credit; one
	// of the two fields may hold the IBAN, the other the name.
	name, info := w.Extra.Payer, w.Extra.PayerInformation
	if amt.IsNegative() {
		name, info = w.Extra.Payee, w.Extra.PayeeInformation
	}
	if looksLikeIBAN(name) {
		name, info = info, name
	}
	if name == "" && !looksLikeIBAN(info) {
		name, info = info, ""
	}
	t.CounterpartyName = name
	if looksLikeIBAN(info) {
		t.CounterpartyIBAN = strings.ReplaceAll(info, " ", "")
	}
	if w.Extra.AccountBalanceSnapshot != "" {
		snap, err := amount(w.Extra.AccountBalanceSnapshot)
		if err != nil {
			return provider.Transaction{}, fmt.Errorf("transaction %s balance snapshot: %w", w.ID, err)
		}
		t.BalanceAfter = &snap
	}
	return t, nil
}

// amount parses a JSON number exactly.
func amount(n json.Number) (decimal.Decimal, error) {
	if n == "" {
		return decimal.Zero, nil
	}
	return decimal.NewFromString(string(n))
}

// ListBanks implements provider.Provider: one page of GET /providers
// (with include_sandboxes only when configured).
func (c *Client) ListBanks(ctx context.Context, cursor string) (provider.BankPage, error) {
	q := url.Values{}
	if c.cfg.IncludeSandboxes {
		q.Set("include_sandboxes", "true")
	}
	if cursor != "" {
		q.Set("from_id", cursor)
	}
	var env envelope[[]wireProvider]
	if err := c.call(ctx, "GET", "/providers", q, nil, &env); err != nil {
		return provider.BankPage{}, fmt.Errorf("list banks: %w", err)
	}
	page := provider.BankPage{Banks: make([]provider.Bank, 0, len(env.Data))}
	for _, w := range env.Data {
		page.Banks = append(page.Banks, w.bank())
	}
	if env.Meta != nil {
		page.Next = string(env.Meta.NextID)
	}
	return page, nil
}

// Bank returns one provider by code (GET /providers/{code}).
func (c *Client) Bank(ctx context.Context, code string) (provider.Bank, error) {
	var env envelope[wireProvider]
	if err := c.call(ctx, "GET", "/providers/"+url.PathEscape(code), nil, nil, &env); err != nil {
		return provider.Bank{}, fmt.Errorf("bank %s: %w", code, err)
	}
	return env.Data.bank(), nil
}

// CreateCustomer implements provider.Provider (POST /customers). When a
// retry (after a 5xx or a lost answer) meets DuplicatedCustomer, the first
// attempt created the customer: it is looked up by identifier and
// returned. A duplicate on the first attempt is provider.ErrDuplicateCustomer.
func (c *Client) CreateCustomer(ctx context.Context, identifier string) (provider.Customer, error) {
	body := envelope[map[string]string]{Data: map[string]string{"identifier": identifier}}
	var env envelope[wireCustomer]
	repeated, err := c.callRepeated(ctx, "POST", "/customers", nil, body, &env)
	if err != nil && repeated && errors.Is(err, provider.ErrDuplicateCustomer) {
		cust, ferr := c.findCustomer(ctx, identifier)
		if ferr != nil {
			return provider.Customer{}, fmt.Errorf("create customer %q: look up after a repeated create: %w", identifier, ferr)
		}
		if cust != nil {
			return *cust, nil
		}
	}
	if err != nil {
		return provider.Customer{}, fmt.Errorf("create customer %q: %w", identifier, err)
	}
	return env.Data.customer(), nil
}

// findCustomer pages GET /customers for identifier (v6 filters customers
// by nothing else); nil when there is none.
func (c *Client) findCustomer(ctx context.Context, identifier string) (*provider.Customer, error) {
	q := url.Values{}
	seen := map[ID]bool{}
	for {
		var env envelope[[]wireCustomer]
		if err := c.call(ctx, "GET", "/customers", q, nil, &env); err != nil {
			return nil, err
		}
		for _, w := range env.Data {
			if w.Identifier == identifier {
				cust := w.customer()
				return &cust, nil
			}
		}
		if env.Meta == nil || env.Meta.NextID == "" {
			return nil, nil
		}
		if seen[env.Meta.NextID] {
			return nil, fmt.Errorf("saltedge GET /customers: %w: next_id %s repeats", provider.ErrUnavailable, env.Meta.NextID)
		}
		seen[env.Meta.NextID] = true
		q.Set("from_id", string(env.Meta.NextID))
	}
}

// DeleteCustomer implements provider.Provider (DELETE /customers/{id}).
func (c *Client) DeleteCustomer(ctx context.Context, customerID string) error {
	if err := c.call(ctx, "DELETE", "/customers/"+url.PathEscape(customerID), nil, nil, nil); err != nil {
		return fmt.Errorf("delete customer %s: %w", customerID, err)
	}
	return nil
}

type wireConsent struct {
	Scopes     []string `json:"scopes"`
	FromDate   *Date    `json:"from_date,omitempty"`
	PeriodDays int      `json:"period_days,omitempty"`
}

type wireAttemptRequest struct {
	FetchScopes []string `json:"fetch_scopes,omitempty"`
	FromDate    *Date    `json:"from_date,omitempty"`
	ReturnTo    string   `json:"return_to,omitempty"`
}

type wireWidget struct {
	JavascriptCallbackType string `json:"javascript_callback_type,omitempty"`
}

type wireProviderRequest struct {
	Code             string `json:"code,omitempty"`
	IncludeSandboxes bool   `json:"include_sandboxes,omitempty"`
}

// wireConnectRequest is the body of POST /connections/connect; a
// reconnect (POST /connections/{id}/reconnect) sends the same without
// customer_id and provider.
type wireConnectRequest struct {
	CustomerID       string               `json:"customer_id,omitempty"`
	Consent          wireConsent          `json:"consent"`
	Attempt          wireAttemptRequest   `json:"attempt"`
	Widget           *wireWidget          `json:"widget,omitempty"`
	Provider         *wireProviderRequest `json:"provider,omitempty"`
	AutomaticRefresh bool                 `json:"automatic_refresh"`
}

type wireConnectSession struct {
	ExpiresAt  time.Time `json:"expires_at"`
	ConnectURL string    `json:"connect_url"`
}

func date(t time.Time) *Date {
	if t.IsZero() {
		return nil
	}
	return &Date{t.UTC()}
}

// v6ConsentScopes renames the consent scopes of v5 (the Aggregation API's
// wire values) to v6's; v6 names pass through.
var v6ConsentScopes = map[string]string{
	"account_details":      "accounts",
	"holder_information":   "holder_info",
	"transactions_details": "transactions",
}

// defaultConsentScopes apply when the request names none (Salt Edge
// requires consent.scopes).
var defaultConsentScopes = []string{"accounts", "transactions"}

func consentScopes(in []string) []string {
	if len(in) == 0 {
		return slices.Clone(defaultConsentScopes)
	}
	out := make([]string, 0, len(in))
	for _, sc := range in {
		if v6, ok := v6ConsentScopes[sc]; ok {
			sc = v6
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// CreateConnectSession implements provider.Provider: POST
// /connections/connect, or POST /connections/{id}/reconnect when
// req.ConnectionID names a connection whose consent is to be renewed (the
// same connection at Salt Edge, never a second one). Salt Edge attempts
// have no period; the attempt's period is carried by the consent.
func (c *Client) CreateConnectSession(ctx context.Context, req provider.ConnectRequest) (provider.ConnectSession, error) {
	body := wireConnectRequest{
		Consent: wireConsent{
			Scopes:     consentScopes(req.ConsentScopes),
			FromDate:   date(req.ConsentFrom),
			PeriodDays: req.ConsentPeriodDays,
		},
		Attempt: wireAttemptRequest{
			FetchScopes: req.FetchScopes,
			FromDate:    date(req.AttemptFrom),
			ReturnTo:    req.ReturnTo,
		},
		AutomaticRefresh: req.DailyRefresh,
	}
	if req.JavascriptCallbackType != "" {
		body.Widget = &wireWidget{JavascriptCallbackType: req.JavascriptCallbackType}
	}
	path, what := "/connections/connect", "create connect session for bank "+req.BankCode
	if req.ConnectionID != "" {
		path, what = "/connections/"+url.PathEscape(req.ConnectionID)+"/reconnect", "create reconnect session for connection "+req.ConnectionID
	} else {
		body.CustomerID = req.CustomerID
		body.Provider = &wireProviderRequest{Code: req.BankCode, IncludeSandboxes: c.cfg.IncludeSandboxes}
	}
	var env envelope[wireConnectSession]
	if err := c.call(ctx, "POST", path, nil, envelope[wireConnectRequest]{Data: body}, &env); err != nil {
		return provider.ConnectSession{}, fmt.Errorf("%s: %w", what, err)
	}
	return provider.ConnectSession{ConnectURL: env.Data.ConnectURL, ExpiresAt: env.Data.ExpiresAt}, nil
}

// listAll follows meta.next_id through every page of a list.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var out []T
	seen := map[ID]bool{}
	for {
		var env envelope[[]T]
		if err := c.call(ctx, "GET", path, q, nil, &env); err != nil {
			return nil, err
		}
		out = append(out, env.Data...)
		if env.Meta == nil || env.Meta.NextID == "" {
			return out, nil
		}
		if seen[env.Meta.NextID] {
			return nil, fmt.Errorf("saltedge GET %s: %w: next_id %s repeats", path, provider.ErrUnavailable, env.Meta.NextID)
		}
		seen[env.Meta.NextID] = true
		q.Set("from_id", string(env.Meta.NextID))
	}
}

// ListConnections implements provider.Provider (GET /connections, every
// page).
func (c *Client) ListConnections(ctx context.Context, customerID string) ([]provider.Connection, error) {
	ws, err := listAll[wireConnection](ctx, c, "/connections", url.Values{"customer_id": {customerID}})
	if err != nil {
		return nil, fmt.Errorf("list connections of customer %s: %w", customerID, err)
	}
	out := make([]provider.Connection, len(ws))
	for i, w := range ws {
		out[i] = w.connection()
	}
	return out, nil
}

// connection reads one connection (GET /connections/{id}).
func (c *Client) connection(ctx context.Context, connectionID string) (provider.Connection, error) {
	var env envelope[wireConnection]
	if err := c.call(ctx, "GET", "/connections/"+url.PathEscape(connectionID), nil, nil, &env); err != nil {
		return provider.Connection{}, err
	}
	return env.Data.connection(), nil
}

// RefreshConnection implements provider.Provider with POST
// /connections/{id}/background_refresh, the refresh without the user: it
// starts a fetch and answers at once (Fetching true); the data follows
// with the success callbacks. Refused because a fetch is already under way
// or too early (ConnectionAlreadyProcessing, ConnectionCannotBeRefreshed —
// also what a retry of a refresh that took effect meets), the connection
// is read back: a fetch under way is what was asked for, else the answer
// is provider.ErrTooEarly with Salt Edge's next_refresh_possible_at as a
// *provider.TooEarlyError. An ended consent is provider.ErrConsentExpired
// or ErrConsentRevoked.
func (c *Client) RefreshConnection(ctx context.Context, connectionID string) (provider.Connection, error) {
	type attempt struct {
		FetchScopes []string `json:"fetch_scopes"`
	}
	type refresh struct {
		Attempt *attempt `json:"attempt,omitempty"`
	}
	body := envelope[refresh]{}
	if len(c.cfg.RefreshFetchScopes) > 0 {
		body.Data.Attempt = &attempt{FetchScopes: c.cfg.RefreshFetchScopes}
	}
	var env envelope[wireConnection]
	err := c.call(ctx, "POST", "/connections/"+url.PathEscape(connectionID)+"/background_refresh", nil, body, &env)
	if errors.Is(err, provider.ErrTooEarly) {
		pc, rerr := c.connection(ctx, connectionID)
		switch {
		case rerr != nil:
			return provider.Connection{}, fmt.Errorf("refresh connection %s: %w (then read it: %w)", connectionID, err, rerr)
		case pc.Fetching:
			return pc, nil
		case !pc.NextRefreshPossibleAt.IsZero():
			err = fmt.Errorf("%w: %w", err, &provider.TooEarlyError{At: pc.NextRefreshPossibleAt})
		}
	}
	if err != nil {
		return provider.Connection{}, fmt.Errorf("refresh connection %s: %w", connectionID, err)
	}
	pc := env.Data.connection()
	if pc.ID == "" {
		// An answer without the connection: read it (the fetch started).
		if pc, err = c.connection(ctx, connectionID); err != nil {
			return provider.Connection{}, fmt.Errorf("refresh connection %s: read it: %w", connectionID, err)
		}
	}
	return pc, nil
}

// DeleteConnection implements provider.Provider (DELETE /connections/{id}).
func (c *Client) DeleteConnection(ctx context.Context, connectionID string) error {
	if err := c.call(ctx, "DELETE", "/connections/"+url.PathEscape(connectionID), nil, nil, nil); err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	return nil
}

// ListAccounts implements provider.Provider (GET /accounts, every page).
func (c *Client) ListAccounts(ctx context.Context, connectionID string) ([]provider.Account, error) {
	ws, err := listAll[wireAccount](ctx, c, "/accounts", url.Values{"connection_id": {connectionID}})
	if err != nil {
		return nil, fmt.Errorf("list accounts of connection %s: %w", connectionID, err)
	}
	out := make([]provider.Account, len(ws))
	for i, w := range ws {
		if out[i], err = w.account(); err != nil {
			return nil, fmt.Errorf("list accounts of connection %s: %w: %w", connectionID, provider.ErrUnavailable, err)
		}
	}
	return out, nil
}

// ListTransactions implements provider.Provider: one page of GET
// /transactions, posted ones or (pending=true) the pending ones, from_id =
// cursor.
func (c *Client) ListTransactions(ctx context.Context, connectionID, accountID string, pending bool, cursor string) (provider.TransactionPage, error) {
	q := url.Values{"connection_id": {connectionID}, "account_id": {accountID}}
	if pending {
		q.Set("pending", "true")
	}
	if cursor != "" {
		q.Set("from_id", cursor)
	}
	var env envelope[[]wireTransaction]
	if err := c.call(ctx, "GET", "/transactions", q, nil, &env); err != nil {
		return provider.TransactionPage{}, fmt.Errorf("list transactions of account %s: %w", accountID, err)
	}
	page := provider.TransactionPage{Transactions: make([]provider.Transaction, 0, len(env.Data))}
	for _, w := range env.Data {
		t, err := w.transaction()
		if err != nil {
			return provider.TransactionPage{}, fmt.Errorf("list transactions of account %s: %w: %w", accountID, provider.ErrUnavailable, err)
		}
		page.Transactions = append(page.Transactions, t)
	}
	if env.Meta != nil {
		page.Next = string(env.Meta.NextID)
	}
	return page, nil
}
