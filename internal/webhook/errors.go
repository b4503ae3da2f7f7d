package webhook

import "github.com/openagg/openagg/internal/fault"

// The kinds of failure of the webhook domain (docs/architecture.md); the
// Aggregation dialect maps them (api/aggregation).
var (
	// No endpoint of that name.
	ErrNotFound = fault.New(fault.NotFound, "webhook: endpoint not found")
	// A registration that cannot be served: a name, URL or event list
	// that breaks the rules, a URL whose host is not a public address.
	ErrInvalidName   = fault.New(fault.Invalid, "webhook: invalid endpoint name")
	ErrInvalidURL    = fault.New(fault.Invalid, "webhook: invalid endpoint URL")
	ErrInvalidEvents = fault.New(fault.Invalid, "webhook: invalid events")
	ErrInvalidLimit  = fault.New(fault.Invalid, "webhook: invalid limit")
	// The endpoint changed under the request, again and again.
	ErrConflict = fault.New(fault.Conflict, "webhook: endpoint changed concurrently")
)
