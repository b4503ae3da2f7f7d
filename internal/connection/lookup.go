package connection

import (
	"context"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
)

// ImportRequest is what an import of the party's connection at a bank
// needs, after checking that p may act on the party (one BatchGet of
// profile and connection): party.ErrNotFound / ErrNotFound,
// party.ErrForbidden per the party rule, ErrNotActive unless the
// connection is active at its provider. The holdings API queues the import
// with it.
func (s *Service) ImportRequest(ctx context.Context, p auth.Principal, partyID, bankCode string) (holdings.ImportRequest, error) {
	_, c, err := s.readPair(ctx, p, partyID, bankCode)
	if err != nil {
		return holdings.ImportRequest{}, err
	}
	if c == nil {
		return holdings.ImportRequest{}, notFound(partyID, bankCode)
	}
	if c.Status != StatusActive || c.ProviderConnectionID == "" {
		return holdings.ImportRequest{}, fault.Errorf(ErrNotActive,
			"the connection to bank '%s' is %s; accounts can only be imported from an active connection", bankCode, c.Status)
	}
	return c.importRequest(ctx, ""), nil
}

// importRequest is the import of c's provider connection as run runID (""
// for a new run).
func (c Connection) importRequest(ctx context.Context, runID string) holdings.ImportRequest {
	return holdings.ImportRequest{
		PartyID: c.PartyID, OwnerSub: c.OwnerSub, OwnerName: c.OwnerName, CustomerID: c.CustomerID, Provider: c.Provider,
		BankCode: c.BankCode, BankName: c.BankName, ConnectionID: c.ProviderConnectionID, RunID: runID,
		// The import reports its end on the channel of the request that
		// started it.
		Channel: activity.ChannelOf(ctx),
	}
}
