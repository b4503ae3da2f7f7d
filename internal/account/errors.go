package account

import "github.com/openagg/openagg/internal/fault"

// Kinds of failure of the account query (api/obperr maps them to OBP
// codes). A BANK_ID that names no bank with access enabled is the bank
// directory's bank.ErrNotFound.
var (
	// ErrInvalidBankID: a BANK_ID breaks OBP's id rule (view.ValidID).
	ErrInvalidBankID = fault.New(fault.Invalid, "account: invalid bank id")
	// ErrNotFound: no account with that id at that bank.
	ErrNotFound = fault.New(fault.NotFound, "account: not found")
	// ErrTransactionNotFound: the account has no transaction with that id.
	ErrTransactionNotFound = fault.New(fault.NotFound, "account: transaction not found")
	// ErrOtherAccountNotFound: the account (or the transaction) has no
	// other account with that id.
	ErrOtherAccountNotFound = fault.New(fault.NotFound, "account: other account not found")
)

// The messages quote ids from the request: cut, so that a message stays
// short whatever was sent.
const maxQuoted = 64
