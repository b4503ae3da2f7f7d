package connection

import (
	"context"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// ErrUnknownSession: a finished connect session names a customer or a
// connection that OpenAgg does not know (the profile or connection was
// removed meanwhile).
var ErrUnknownSession = errors.New("connection: connect session does not match a connection")

// Outcome identifies a finished connect session: the provider, its
// customer and bank, the provider connection it produced (success), and the
// session's one-time token (whose hash the pending connection holds).
type Outcome struct {
	Provider     string
	CustomerID   string
	BankCode     string
	ConnectionID string
	Token        string
}

// CompleteConnect records a successful connect session (the hosted connect
// page calls it when the sandbox bank says "done"): the connection becomes
// active with the provider connection id, its next daily refresh is set and
// an import is queued. The provider's view of the connection (status, next
// possible refresh) is read with ListConnections; when that fails the
// session's own facts are enough. Completing the same session twice changes
// nothing the second time.
func (s *Service) CompleteConnect(ctx context.Context, o Outcome) (Connection, error) {
	prof, err := s.sessionProfile(ctx, o)
	if err != nil {
		return Connection{}, err
	}
	prov := s.providers[o.Provider]
	pc := provider.Connection{ID: o.ConnectionID, CustomerID: o.CustomerID, BankCode: o.BankCode, Status: "active", DailyRefresh: true}
	list, err := prov.ListConnections(ctx, o.CustomerID)
	if err != nil {
		s.log.WarnContext(ctx, "connect: list connections failed; using the session's facts", "provider", o.Provider, "customer", o.CustomerID, "err", err)
	}
	for _, c := range list {
		if c.ID == o.ConnectionID {
			pc = c
			break
		}
	}
	return s.apply(ctx, prof, o.Provider, o.BankCode, pc, true)
}

// FailConnect records a failed connect session on the pending connection
// it belongs to (matched by token hash, so a stale session cannot fail a
// newer one).
func (s *Service) FailConnect(ctx context.Context, o Outcome, reason string) (Connection, error) {
	prof, err := s.sessionProfile(ctx, o)
	if err != nil {
		return Connection{}, err
	}
	k := Key(prof.PartyID, o.BankCode)
	hash := TokenHash(o.Token)
	var out Connection
	err = s.mutate(ctx, k, func(c *Connection) (bool, error) {
		out = *c
		if c.Status != StatusPending || c.ConnectTokenHash != hash {
			return false, nil
		}
		c.Status = StatusFailed
		c.LastError = reason
		if o.ConnectionID != "" {
			// The bank failed after accepting the credentials: the provider
			// keeps an inactive connection, which a new connect reuses.
			c.ProviderConnectionID = o.ConnectionID
		}
		out = *c
		return true, nil
	})
	if err != nil {
		return Connection{}, err
	}
	if out.PartyID == "" {
		return Connection{}, fmt.Errorf("%w: no connection of party %s to bank %s", ErrUnknownSession, prof.PartyID, o.BankCode)
	}
	return out, nil
}

// sessionProfile finds the profile of a session's customer.
func (s *Service) sessionProfile(ctx context.Context, o Outcome) (party.Profile, error) {
	if _, ok := s.providers[o.Provider]; !ok {
		return party.Profile{}, fmt.Errorf("%w: provider %q is not configured", ErrUnknownSession, o.Provider)
	}
	partyID, err := party.PartyOfCustomer(ctx, s.st, o.Provider, o.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return party.Profile{}, fmt.Errorf("%w: %v", ErrUnknownSession, err)
	}
	if err != nil {
		return party.Profile{}, err
	}
	prof, err := s.parties.Get(ctx, partyID)
	if err != nil {
		return party.Profile{}, fmt.Errorf("%w: %v", ErrUnknownSession, err)
	}
	return prof, nil
}
