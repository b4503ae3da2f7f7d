package connection

import (
	"time"

	"github.com/openagg/openagg/internal/fault"
)

// The kinds of failure of the connection domain (docs/architecture.md).
// Each dialect maps them to its status and code (api/aggregation). A bank
// code that is malformed or names no bank fails with the bank domain's
// kinds (bank.ErrInvalidCode, bank.ErrNotFound).
var (
	// The connection request, checked against the profile and the bank.
	ErrInvalidRequest         = fault.New(fault.Invalid, "connection: invalid request")
	ErrInvalidDate            = fault.New(fault.Invalid, "connection: invalid date")
	ErrInvalidPeriod          = fault.New(fault.Invalid, "connection: invalid period")
	ErrPeriodTooLong          = fault.New(fault.Invalid, "connection: period too long for the bank")
	ErrInvalidScope           = fault.New(fault.Invalid, "connection: invalid scope")
	ErrUnsupportedScope       = fault.New(fault.Invalid, "connection: fetch scope not supported by the bank")
	ErrUnsupportedAccountType = fault.New(fault.Invalid, "connection: account type not served by the bank")
	ErrCustomerMismatch       = fault.New(fault.Invalid, "connection: customer id is not the party's identifier")

	// The bank: access disabled in OpenAgg, or not connectable at its
	// provider (inactive, disabled).
	ErrBankDisabled    = fault.New(fault.Forbidden, "connection: access to the bank is disabled")
	ErrBankUnavailable = fault.New(fault.Conflict, "connection: bank cannot be connected")

	// The connection's state.
	ErrNotFound        = fault.New(fault.NotFound, "connection: not found")
	ErrExists          = fault.New(fault.Exists, "connection: active connection exists")
	ErrRemoving        = fault.New(fault.Conflict, "connection: being removed")
	ErrBusy            = fault.New(fault.Conflict, "connection: changed concurrently")
	ErrNotActive       = fault.New(fault.Conflict, "connection: not active")
	ErrRefreshTooEarly = fault.New(fault.Conflict, "connection: refresh too early") // cause: *TooEarlyError

	// ErrUnknownSession: a finished connect session names a customer or a
	// connection that OpenAgg does not know (the profile or connection was
	// removed meanwhile).
	ErrUnknownSession = fault.New(fault.NotFound, "connection: connect session does not match a connection")
)

// TooEarlyError is the detail of ErrRefreshTooEarly (read it with
// errors.As): when the provider allows the next refresh.
type TooEarlyError struct {
	At time.Time
}

func (e *TooEarlyError) Error() string {
	return "next refresh possible at " + e.At.UTC().Format(time.RFC3339)
}
