package provider

import (
	"context"
	"errors"
	"time"
)

// Direct login: the optional part of the port for providers that take a
// user's bank credentials through OpenAgg's own API (the finAPI dialect
// imports a bank connection with bankingUserId and bankingPin) instead of
// a connect session on their hosted page. A provider that cannot (Salt
// Edge logs users in on its own page) simply does not implement it, and
// its banks cannot be imported that way.

// Errors of a direct login, besides the port's (ErrNotFound: unknown bank
// or connection; ErrInvalid; ErrUnavailable: the bank's service failed).
var (
	// ErrRejected: the bank refused the credentials or the challenge
	// answer. The error is a *RejectedError carrying the bank's message.
	ErrRejected = errors.New("provider: the bank rejected the login")
	// ErrChallenge: the bank asks an additional authentication step. The
	// error is a *ChallengeError carrying the bank's question; the caller
	// repeats the same login with the answer in ChallengeResponse.
	ErrChallenge = errors.New("provider: additional authentication required")
	// ErrNoChallenge: a ChallengeResponse was sent but the bank asked none.
	ErrNoChallenge = errors.New("provider: no challenge to answer")
)

// RejectedError is ErrRejected with the bank's message (safe to show to the
// user; it never contains the credentials).
type RejectedError struct{ Message string }

func (e *RejectedError) Error() string { return "provider: the bank rejected the login: " + e.Message }

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// ChallengeError is ErrChallenge with the bank's question.
type ChallengeError struct{ Challenge string }

func (e *ChallengeError) Error() string {
	return "provider: additional authentication required: " + e.Challenge
}

// Is makes errors.Is(err, ErrChallenge) true.
func (e *ChallengeError) Is(target error) bool { return target == ErrChallenge }

// DirectLoginRequest is one login with credentials. Credentials are never
// stored by the provider port and must never be logged.
type DirectLoginRequest struct {
	CustomerID string
	BankCode   string
	UserID     string
	CustomerNo string // a second login name some banks ask (finAPI bankingCustomerId)
	PIN        string
	// Label is the connection's name; the sandbox demo bank asks a
	// challenge when it is "MSA", as finAPI's demo bank does.
	Label             string
	ChallengeResponse string
	// From limits the history downloaded (zero: all the bank has).
	From time.Time
}

// DirectBank is what a provider knows of a bank for a direct login and for
// finAPI's bank model.
type DirectBank struct {
	// BLZ is the German bank code ("" when the bank has none); the demo
	// bank's is 00000000.
	BLZ  string
	BIC  string
	City string
	// Test marks a test bank (every sandbox bank); Demo the demo bank,
	// which needs no credentials and yields one account with predefined
	// transactions.
	Test bool
	Demo bool
	// Login field labels and a hint for the user.
	LoginHint            string
	LoginFieldUserID     string
	LoginFieldCustomerID string
	LoginFieldPIN        string
}

// DirectLogin is implemented by providers that take bank credentials
// directly.
type DirectLogin interface {
	// DirectBank describes a bank for direct logins; ok is false when the
	// provider does not list the bank.
	DirectBank(bankCode string) (DirectBank, bool)
	// LoginDirect connects the customer to the bank with the credentials
	// and returns the new (or reactivated) connection. Errors:
	// *ChallengeError, *RejectedError, ErrNoChallenge, ErrNotFound,
	// ErrInvalid, ErrUnavailable.
	LoginDirect(ctx context.Context, req DirectLoginRequest) (Connection, error)
	// RefreshDirect logs in again to an existing connection with the
	// credentials (CustomerID and BankCode are ignored) so that fresh data
	// can be imported at once: unlike RefreshConnection, a login with
	// credentials is never too early. Errors as for LoginDirect.
	RefreshDirect(ctx context.Context, connectionID string, req DirectLoginRequest) (Connection, error)
}
