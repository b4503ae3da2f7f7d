package bank

import (
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

// The kinds of failure of the bank directory (docs/architecture.md). Each
// dialect maps them to its status and code (api/aggregation).
var (
	// ErrNotFound: no bank with that code (at that provider), or with that
	// internal id.
	ErrNotFound = fault.New(fault.NotFound, "bank: not found")
	// ErrUnknownProvider: the provider is not configured.
	ErrUnknownProvider = fault.New(fault.NotFound, "bank: unknown provider")
	// ErrLoadNotFound: the provider's directory was never loaded.
	ErrLoadNotFound = fault.New(fault.NotFound, "bank: directory never loaded")
	// ErrInvalidCode, ErrInvalidID, ErrInvalidCountry: a malformed bank
	// code (ValidCode), internal id (ValidInternalID) or country code
	// (ValidCountry).
	ErrInvalidCode    = fault.New(fault.Invalid, "bank: invalid bank code")
	ErrInvalidID      = fault.New(fault.Invalid, "bank: invalid bank id")
	ErrInvalidCountry = fault.New(fault.Invalid, "bank: invalid country code")
	// ErrInvalidAccess: an access value that is neither enabled nor
	// disabled.
	ErrInvalidAccess = fault.New(fault.Invalid, "bank: invalid access value")
	// ErrBusy: the bank kept changing under concurrent writers; retry.
	ErrBusy = fault.New(fault.Conflict, "bank: modified concurrently")
)

func notFound(provider, code string) error {
	return fault.Errorf(ErrNotFound, "bank '%s' not found for provider '%s'", code, provider)
}

func codeNotFound(code string) error {
	return fault.Errorf(ErrNotFound, "bank '%s' not found", code)
}

func idNotFound(id string) error {
	return fault.Errorf(ErrNotFound, "no bank with internal id '%s'", id)
}

func unknownProvider(name string) error {
	return fault.Errorf(ErrUnknownProvider, "provider '%s' is not configured", name)
}

func invalidCode(code string) error {
	return fault.Errorf(ErrInvalidCode, "bank code '%s' is not 1 to %d letters, digits, '_', '-' or '.'", platform.Truncate(code, 64), MaxCodeLen)
}
