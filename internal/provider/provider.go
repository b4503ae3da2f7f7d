// Package provider is the bank-data provider port: the outside system that
// knows banks, customers, connections, accounts and transactions (Salt Edge
// in production, provider/sandbox as the embedded default). The shapes follow
// Salt Edge's Account Information API (the Aggregation API was designed on
// top of it); provider/saltedge speaks its v6 wire format.
package provider

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// Portable errors; drivers wrap them with the provider's own message.
var (
	ErrNotFound          = errors.New("provider: not found")
	ErrDuplicateCustomer = errors.New("provider: duplicated customer")
	// ErrTooEarly: a refresh asked before next_refresh_possible_at.
	ErrTooEarly = errors.New("provider: refresh not yet allowed")
	// ErrInvalid: the provider refused the request (bad scope, dates...).
	ErrInvalid = errors.New("provider: invalid request")
	// ErrUnavailable: the provider failed or timed out (retryable).
	ErrUnavailable = errors.New("provider: unavailable")
	// ErrConsentExpired and ErrConsentRevoked: the user's consent to share
	// the connection's data ended; only a reconnect (a new consent given
	// through the provider's page) renews it.
	ErrConsentExpired = errors.New("provider: consent expired")
	ErrConsentRevoked = errors.New("provider: consent revoked")
)

// TooEarlyError is the detail of ErrTooEarly when the provider says when a
// refresh is next allowed (read it with errors.As).
type TooEarlyError struct {
	At time.Time
}

func (e *TooEarlyError) Error() string {
	return "refresh not allowed before " + e.At.UTC().Format(time.RFC3339)
}

// Unwrap makes errors.Is(err, ErrTooEarly) hold.
func (e *TooEarlyError) Unwrap() error { return ErrTooEarly }

// Stop reasons of a connection that the user renews by reconnecting
// (Connection.StopReason).
const (
	StopConsentExpired = "consent_expired"
	StopConsentRevoked = "consent_revoked"
)

// StopReasonOf is the stop reason an error of the port stands for ("" for
// none).
func StopReasonOf(err error) string {
	switch {
	case errors.Is(err, ErrConsentExpired):
		return StopConsentExpired
	case errors.Is(err, ErrConsentRevoked):
		return StopConsentRevoked
	}
	return ""
}

// Bank is a provider's bank ("provider" in Salt Edge terms).
type Bank struct {
	Code                    string    `json:"code"`
	Name                    string    `json:"name"`
	CountryCode             string    `json:"country_code"`
	Mode                    string    `json:"mode"`   // oauth, web, api, file
	Status                  string    `json:"status"` // active, inactive, disabled
	HomeURL                 string    `json:"home_url"`
	LoginURL                string    `json:"login_url"`
	LogoURL                 string    `json:"logo_url"`
	Timezone                string    `json:"timezone"`
	SupportedFetchScopes    []string  `json:"supported_fetch_scopes"`
	SupportedAccountNatures []string  `json:"supported_account_natures"`
	SupportedAccountTypes   []string  `json:"supported_account_types"`
	MaxConsentDays          int       `json:"max_consent_days"`
	Interactive             bool      `json:"interactive"` // asks a challenge (multi-step)
	UpdatedAt               time.Time `json:"updated_at"`
}

// BankPage is one page of the bank directory.
type BankPage struct {
	Banks []Bank
	Next  string // empty at the end
}

// Customer is the provider's customer (one per party).
type Customer struct {
	ID         string `json:"id"`
	Identifier string `json:"identifier"`
	Secret     string `json:"secret"`
}

// ConnectRequest asks for a connect session (Salt Edge POST
// /connections/connect), or, with ConnectionID, for a reconnect session of
// that existing connection (POST /connections/{id}/reconnect): the user
// gives a new consent and the provider keeps the same connection.
type ConnectRequest struct {
	// ConnectionID, when set, names the provider connection to reconnect.
	ConnectionID           string
	CustomerID             string
	BankCode               string
	ConsentScopes          []string
	ConsentFrom            time.Time
	ConsentPeriodDays      int
	FetchScopes            []string
	AttemptFrom            time.Time
	AttemptPeriodDays      int
	DailyRefresh           bool
	JavascriptCallbackType string
	ReturnTo               string
}

// ConnectSession is where the end user goes to log in at the bank.
type ConnectSession struct {
	ConnectURL string    `json:"connect_url"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Connection is a customer's link to one bank at the provider.
type Connection struct {
	ID                    string    `json:"id"`
	CustomerID            string    `json:"customer_id"`
	BankCode              string    `json:"provider_code"`
	BankName              string    `json:"provider_name"`
	CountryCode           string    `json:"country_code"`
	Status                string    `json:"status"` // active, inactive, disabled
	DailyRefresh          bool      `json:"daily_refresh"`
	NextRefreshPossibleAt time.Time `json:"next_refresh_possible_at"`
	LastSuccessAt         time.Time `json:"last_success_at"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
	// LastError is the last attempt's failure (error class and message), if any.
	LastError string `json:"last_error,omitempty"`
	// Fetching: an attempt started and the provider is still fetching its
	// data; it tells when the data is complete by itself (Salt Edge: the
	// success callback of the final stage), so an import now would read a
	// partial or old state. False when the provider fetches synchronously
	// (the sandbox).
	Fetching bool `json:"fetching,omitempty"`
	// AttemptAt is when the last attempt started (zero when unknown).
	AttemptAt time.Time `json:"attempt_at,omitzero"`
	// StopReason says why a connection that is not active stopped when a
	// reconnect renews it (StopConsentExpired, StopConsentRevoked); empty
	// otherwise.
	StopReason string `json:"stop_reason,omitempty"`
}

// Account is a bank account of a connection.
type Account struct {
	ID            string          `json:"id"`
	ConnectionID  string          `json:"connection_id"`
	Name          string          `json:"name"`
	Nature        string          `json:"nature"` // account, card, savings, ...
	Balance       decimal.Decimal `json:"balance"`
	Available     decimal.Decimal `json:"available_amount"`
	CurrencyCode  string          `json:"currency_code"`
	IBAN          string          `json:"iban,omitempty"`
	SWIFT         string          `json:"swift,omitempty"`
	AccountNumber string          `json:"account_number,omitempty"`
	HolderName    string          `json:"holder_name,omitempty"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// Transaction is one posted or pending transaction.
type Transaction struct {
	ID           string          `json:"id"`
	AccountID    string          `json:"account_id"`
	MadeOn       time.Time       `json:"made_on"`   // value date (UTC midnight)
	PostedAt     time.Time       `json:"posted_at"` // booking time; zero when pending
	Amount       decimal.Decimal `json:"amount"`    // signed
	CurrencyCode string          `json:"currency_code"`
	Description  string          `json:"description"`
	Category     string          `json:"category"`
	Mode         string          `json:"mode"`   // normal, fee, transfer
	Status       string          `json:"status"` // posted, pending
	// Counterparty (Salt Edge extra.payee / extra.payer).
	CounterpartyName string `json:"counterparty_name,omitempty"`
	CounterpartyIBAN string `json:"counterparty_iban,omitempty"`
	// BalanceAfter is extra.account_balance_snapshot when the bank gives it.
	BalanceAfter *decimal.Decimal `json:"account_balance_snapshot,omitempty"`
}

// TransactionPage is one page of an account's transactions.
type TransactionPage struct {
	Transactions []Transaction
	Next         string // cursor (Salt Edge next_id); empty at the end
}

// Provider is the port. Every method is safe for concurrent use.
type Provider interface {
	// Name is the provider's name on the wire ("sandbox", "saltedge").
	Name() string
	ListBanks(ctx context.Context, cursor string) (BankPage, error)
	CreateCustomer(ctx context.Context, identifier string) (Customer, error)
	DeleteCustomer(ctx context.Context, customerID string) error
	CreateConnectSession(ctx context.Context, req ConnectRequest) (ConnectSession, error)
	ListConnections(ctx context.Context, customerID string) ([]Connection, error)
	// RefreshConnection starts a refresh of the connection without the
	// user (Salt Edge background_refresh). The connection it answers says
	// whether the fetch is still under way (Fetching). ErrTooEarly (with a
	// *TooEarlyError when the provider says until when) before the next
	// allowed refresh; ErrConsentExpired / ErrConsentRevoked when only a
	// reconnect can renew the connection.
	RefreshConnection(ctx context.Context, connectionID string) (Connection, error)
	DeleteConnection(ctx context.Context, connectionID string) error
	ListAccounts(ctx context.Context, connectionID string) ([]Account, error)
	// ListTransactions pages posted transactions (pending=false) or the
	// current pending ones (pending=true), oldest first.
	ListTransactions(ctx context.Context, connectionID, accountID string, pending bool, cursor string) (TransactionPage, error)
}
