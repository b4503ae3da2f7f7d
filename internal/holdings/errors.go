package holdings

import "github.com/openagg/openagg/internal/fault"

// The kinds of failure of the holdings domain (docs/architecture.md). Each
// dialect maps them to its status and code (api/aggregation); a caller
// that only cares whether something was missing asks
// fault.IsClass(err, fault.NotFound).
var (
	// What a read names does not exist (for that account or party).
	ErrAccountNotFound      = fault.New(fault.NotFound, "holdings: account not found")
	ErrTransactionNotFound  = fault.New(fault.NotFound, "holdings: transaction not found")
	ErrCounterpartyNotFound = fault.New(fault.NotFound, "holdings: counterparty not found")
	ErrImportNotFound       = fault.New(fault.NotFound, "holdings: no import")

	// A page query that cannot be served: a limit out of range, a
	// malformed date or an empty date range, a page token of another
	// query.
	ErrInvalidLimit     = fault.New(fault.Invalid, "holdings: invalid limit")
	ErrInvalidDate      = fault.New(fault.Invalid, "holdings: invalid date")
	ErrInvalidDateRange = fault.New(fault.Invalid, "holdings: invalid date range")
	ErrInvalidPageToken = fault.New(fault.Invalid, "holdings: invalid page token")

	// An import or a removal that lacks what it needs.
	ErrInvalidImport  = fault.New(fault.Invalid, "holdings: invalid import request")
	ErrInvalidRemoval = fault.New(fault.Invalid, "holdings: invalid removal request")
	// ErrConnectionRemoving: the connection's data is being removed; no
	// import may start.
	ErrConnectionRemoving = fault.New(fault.Conflict, "holdings: connection being removed")
)
