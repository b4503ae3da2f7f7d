package connection

import (
	"context"

	"github.com/openagg/openagg/internal/auth"
)

// Lookup returns the party's connection at a bank after checking that p may
// act on the party (one BatchGet of profile and connection): 404
// PARTY_NOT_FOUND / CONNECTION_NOT_FOUND, 403 per the party rule. The
// holdings API uses it before queueing an import.
func (s *Service) Lookup(ctx context.Context, p auth.Principal, partyID, bankCode string) (Connection, error) {
	_, c, err := s.readPair(ctx, p, partyID, bankCode)
	if err != nil {
		return Connection{}, err
	}
	if c == nil {
		return Connection{}, notFound(partyID, bankCode)
	}
	return *c, nil
}
