package bankconn

import "github.com/openagg/openagg/internal/fault"

// The failures of finAPI bank connections and their reads. The finAPI
// dialect (internal/api/finapi) maps each to its status and code. Errors of
// the domains this package calls (party, connection, holdings, bank) and of
// the provider are turned into these where the caller must tell them apart.
var (
	// ErrNotFound: no such connection, account, transaction, bank or
	// category for the caller (another user's is not found either).
	ErrNotFound = fault.New(fault.NotFound, "bankconn: not found")
	// ErrMissingField: a required field was not sent.
	ErrMissingField = fault.New(fault.Invalid, "bankconn: missing field")
	// ErrInvalidField: a field's value is not allowed (too long, out of
	// range, unknown id in a list).
	ErrInvalidField = fault.New(fault.Invalid, "bankconn: illegal field value")
	// ErrTooManyIDs: more ids than a list parameter allows.
	ErrTooManyIDs = fault.New(fault.Invalid, "bankconn: too many ids")
	// ErrPageSize: a page size out of range.
	ErrPageSize = fault.New(fault.Invalid, "bankconn: illegal page size")
	// ErrOrder: an order the list cannot be sorted by.
	ErrOrder = fault.New(fault.Invalid, "bankconn: unsupported order")
	// ErrFilter: filter options that contradict each other or are malformed.
	ErrFilter = fault.New(fault.Invalid, "bankconn: invalid filter options")
	// ErrExists: the user already has a connection to the bank.
	ErrExists = fault.New(fault.Exists, "bankconn: connection to the bank exists")
	// ErrBusy: the connection is importing, updating or categorizing.
	ErrBusy = fault.New(fault.Conflict, "bankconn: connection busy")
	// ErrForbidden: the user's finAPI party belongs to another user.
	ErrForbidden = fault.New(fault.Forbidden, "bankconn: party belongs to another user")
	// ErrUnsupportedBank: the bank cannot be imported with credentials
	// (its provider logs users in on its own page, it is not listed, or
	// access to it is disabled).
	ErrUnsupportedBank = fault.New(fault.Rejected, "bankconn: unsupported bank")
	// ErrNoAccountsForType: none of the bank's accounts has a requested type.
	ErrNoAccountsForType = fault.New(fault.Rejected, "bankconn: no accounts for the type list")
	// ErrRejected: the bank refused the login (wrong PIN, wrong answer);
	// the message is the bank's.
	ErrRejected = fault.New(fault.Rejected, "bankconn: the bank rejected the login")
	// ErrBankFailed: the bank's service failed during the login.
	ErrBankFailed = fault.New(fault.Unavailable, "bankconn: the bank's service failed")
	// ErrChallenge: the bank asks an additional authentication step; the
	// message is its challenge, answered by repeating the request with a
	// challengeResponse.
	ErrChallenge = fault.New(fault.Rejected, "bankconn: additional authentication required")
	// ErrNoChallenge: a challengeResponse was sent but the bank asked none.
	ErrNoChallenge = fault.New(fault.Conflict, "bankconn: no challenge to answer")
)
