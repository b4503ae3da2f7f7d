package party

import (
	"errors"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/provider"
)

// The kinds of failure of the party domain (docs/architecture.md). Each
// dialect maps them to its status and code (api/aggregation).
var (
	// ErrInvalidID: a party id that is not 1–64 of [A-Za-z0-9_.-].
	ErrInvalidID = fault.New(fault.Invalid, "party: invalid party id")
	// ErrNotFound: no profile for the party.
	ErrNotFound = fault.New(fault.NotFound, "party: not found")
	// ErrForbidden: the party belongs to another user and the caller
	// lacks RoleManageParties.
	ErrForbidden = fault.New(fault.Forbidden, "party: belongs to another user")
	// ErrProfileExists: the profile, or the provider's customer with its
	// identifier, already exists.
	ErrProfileExists = fault.New(fault.Exists, "party: profile exists")
	// ErrCustomerConflict: a provider already has a customer with the
	// profile's identifier that the profile does not name.
	ErrCustomerConflict = fault.New(fault.Conflict, "party: provider customer unknown to the profile")

	// The provider's answers, as ProviderError classifies them: it refused
	// the request, does not know what it names, refuses it for now, or
	// failed.
	ErrProviderRejected    = fault.New(fault.Rejected, "party: provider rejected the request")
	ErrProviderNotFound    = fault.New(fault.NotFound, "party: provider does not know it")
	ErrProviderTooEarly    = fault.New(fault.Conflict, "party: provider refuses it for now")
	ErrProviderUnavailable = fault.New(fault.Unavailable, "party: provider unavailable")
)

// NotFound is the failure of an unknown party.
func NotFound(partyID string) error {
	return fault.Errorf(ErrNotFound, "no profile for party %q", partyID)
}

// ProviderError classifies a provider failure: the provider's refusals are
// the caller's problem (rejected, not found, too early), anything else the
// upstream's (unavailable). err stays the cause, for logs and errors.Is.
func ProviderError(providerName, what string, err error) error {
	refused := func(kind *fault.Kind) error {
		return fault.Wrap(kind, err, "%s: provider %s refused the request", what, providerName)
	}
	switch {
	case errors.Is(err, provider.ErrInvalid):
		return refused(ErrProviderRejected)
	case errors.Is(err, provider.ErrNotFound):
		return refused(ErrProviderNotFound)
	case errors.Is(err, provider.ErrTooEarly):
		return refused(ErrProviderTooEarly)
	}
	// Unavailable, or a failure the driver did not classify: either way the
	// upstream failed, not OpenAgg.
	return fault.Wrap(ErrProviderUnavailable, err, "%s: provider %s is unavailable, retry later", what, providerName)
}
