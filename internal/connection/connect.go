package connection

import (
	"context"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

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
	prof, rec, err := s.sessionPair(ctx, o)
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
	return s.apply(ctx, prof, o.Provider, o.BankCode, pc, true, &firstRead{rec: rec}, "")
}

// FailConnect records a failed connect session on the pending connection
// it belongs to (matched by token hash, so a stale session cannot fail a
// newer one).
func (s *Service) FailConnect(ctx context.Context, o Outcome, reason string) (Connection, error) {
	prof, rec, err := s.sessionPair(ctx, o)
	if err != nil {
		return Connection{}, err
	}
	if rec == nil {
		return Connection{}, fault.Errorf(ErrUnknownSession, "no connection of party %s to bank %s", prof.PartyID, o.BankCode)
	}
	k := Key(prof.PartyID, o.BankCode)
	hash := TokenHash(o.Token)
	var out Connection
	failed := false
	err = s.mutateFrom(ctx, k, rec, func(c *Connection) (bool, error) {
		out, failed = *c, false
		if c.Status != StatusPending || c.ConnectTokenHash != hash {
			return false, nil
		}
		failed = true
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
		return Connection{}, fault.Errorf(ErrUnknownSession, "no connection of party %s to bank %s", prof.PartyID, o.BankCode)
	}
	if failed {
		s.reportChange(ctx, rec, out, change{})
	}
	return out, nil
}

// sessionPair finds the profile of a session's customer and the party's
// connection to the session's bank (nil when there is none): a Get of the
// customer index, then one BatchGet of profile and connection, so that a
// connect outcome costs three store round trips with its write.
func (s *Service) sessionPair(ctx context.Context, o Outcome) (party.Profile, *Connection, error) {
	if _, ok := s.providers[o.Provider]; !ok {
		return party.Profile{}, nil, fault.Errorf(ErrUnknownSession, "provider %q is not configured", o.Provider)
	}
	partyID, err := party.PartyOfCustomer(ctx, s.st, o.Provider, o.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return party.Profile{}, nil, fault.Wrap(ErrUnknownSession, err, "no party for %s customer %s", o.Provider, o.CustomerID)
	}
	if err != nil {
		return party.Profile{}, nil, err
	}
	items, err := s.st.BatchGet(ctx, []store.Key{party.ProfileKey(partyID), Key(partyID, o.BankCode)})
	if err != nil {
		return party.Profile{}, nil, fmt.Errorf("read party %s and connection %s: %w", partyID, o.BankCode, err)
	}
	var prof *party.Profile
	var conn *Connection
	for _, it := range items {
		if it.SK == party.ProfileSK {
			pr, err := party.Decode(it)
			if err != nil {
				return party.Profile{}, nil, err
			}
			prof = &pr
			continue
		}
		c, err := Decode(it)
		if err != nil {
			return party.Profile{}, nil, err
		}
		conn = &c
	}
	if prof == nil {
		return party.Profile{}, nil, fault.Errorf(ErrUnknownSession, "no profile for party %q", partyID)
	}
	return *prof, conn, nil
}
