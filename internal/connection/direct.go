package connection

import (
	"context"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// DirectLogin logs a party's provider customer in at a bank with
// credentials the user gave OpenAgg's API (provider.DirectLogin) and
// returns the provider's connection.
type DirectLogin func(ctx context.Context, customerID string) (provider.Connection, error)

// ConnectDirect connects prof's party to bank b without a connect session
// (the finAPI import): it makes sure the party has a customer at b's
// provider, calls login with that customer's id, and stores the provider's
// connection as active, due for its daily refresh, with no import queued
// (the caller queues it, once its own records are written). created is
// false, and nothing is written, when the party already has a connection
// to b (stored meanwhile: the write is conditional). A login error is
// returned as the provider gave it. Store round trips: one conditional
// write (a transaction with the profile when a customer was created).
func (s *Service) ConnectDirect(ctx context.Context, prof party.Profile, b bank.Bank, login DirectLogin) (c Connection, created bool, err error) {
	prov, ok := s.providers[b.Provider]
	if !ok {
		return Connection{}, false, fmt.Errorf("connect %s directly: provider %q is not configured", b.Code, b.Provider)
	}
	customerID, _, ops, err := s.parties.EnsureCustomer(ctx, prof, prov)
	if err != nil {
		return Connection{}, false, err
	}
	// undo deletes a customer just created for this attempt, as Create
	// does: else a retry would meet the provider's duplicate.
	undo := func() {
		if len(ops) == 0 {
			return
		}
		if derr := prov.DeleteCustomer(ctx, customerID); derr != nil && !errors.Is(derr, provider.ErrNotFound) {
			s.log.WarnContext(ctx, "connect directly: could not delete the customer of a failed attempt",
				"party", prof.PartyID, "provider", prov.Name(), "customer", customerID, "err", derr)
		}
	}
	pc, err := login(ctx, customerID)
	if err != nil {
		undo()
		return Connection{}, false, err
	}
	if pc.CustomerID == "" {
		pc.CustomerID = customerID
	}
	now := s.now()
	c, _, _ = reconcile(nil, prof, b.Provider, b.Code, pc, now, s.cfg.RefreshEvery, true)
	if c.BankName == "" {
		c.BankName = b.Name
	}
	if c.Country == "" {
		c.Country = b.CountryCode
	}
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	it, err := c.Item()
	if err != nil {
		undo()
		return Connection{}, false, err
	}
	if len(ops) == 0 {
		err = s.st.Put(ctx, it, store.IfNotExists())
	} else {
		err = s.st.Transact(ctx, append(ops, store.TxPut(it, store.IfNotExists())))
	}
	if errors.Is(err, store.ErrConditionFailed) {
		// A connection to b was stored meanwhile (its provider connection
		// is the one just logged in to: it stays).
		undo()
		return Connection{}, false, nil
	}
	if err != nil {
		undo()
		return Connection{}, false, fmt.Errorf("store connection %s/%s: %w", prof.PartyID, b.Code, err)
	}
	s.log.InfoContext(ctx, "connection active (direct login)", "party", prof.PartyID, "bank", b.Code, "provider", b.Provider)
	return c, true, nil
}
