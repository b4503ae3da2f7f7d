package customer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Handle is a customer's social media handle.
type Handle struct {
	CustomerNumber string    `json:"customerNumber"`
	Type           string    `json:"type"`
	Handle         string    `json:"handle"`
	DateAdded      time.Time `json:"dateAdded"`
	DateActivated  time.Time `json:"dateActivated"`
	AddedBy        string    `json:"addedBy"`
}

// AddHandle adds (or, for the same type and handle, replaces) a social
// media handle of the customer customerID at bankID. Order of checks: the
// bank, the body, the role (CanAddSocialMediaHandle at the bank), the
// customer (at this bank), the body's customer number (the customer's).
// Store calls: one BatchGet (the bank and the customer), the caller's
// stored roles when the token lacks the role, one Put.
func (s *Service) AddHandle(ctx context.Context, p auth.Principal, bankID, customerID string, in Input[Handle]) error {
	c, err := s.customerAt(ctx, p, bankID, customerID, in.Err, addHandleRoles)
	if err != nil {
		return err
	}
	h := in.Value
	switch {
	case h.CustomerNumber != c.Number:
		return fault.Errorf(ErrInvalid, "customer_number %q is not the number of customer %s", platform.Truncate(h.CustomerNumber, 64), c.ID)
	case h.Type == "" || h.Handle == "" || len(h.Type) > MaxHandleLen || len(h.Handle) > MaxHandleLen:
		return fault.Errorf(ErrInvalid, "type and handle must be 1 to %d bytes", MaxHandleLen)
	}
	h.AddedBy = p.Subject
	it, err := encode(HandleKey(c.ID, h.Type, h.Handle), h)
	if err != nil {
		return err
	}
	if err := s.store.Put(ctx, it, store.Condition{}); err != nil {
		return fmt.Errorf("add social media handle of customer %s: %w", c.ID, err)
	}
	return nil
}

// Handles lists the social media handles of the customer customerID at
// bankID, by date added. Order of checks: the bank, the role
// (CanGetSocialMediaHandles at the bank), the customer. Store calls: one
// BatchGet (the bank and the customer), the caller's stored roles when the
// token lacks the role, a query of the handles (one per 1,000).
func (s *Service) Handles(ctx context.Context, p auth.Principal, bankID, customerID string) ([]Handle, error) {
	c, err := s.customerAt(ctx, p, bankID, customerID, nil, getHandlesRoles)
	if err != nil {
		return nil, err
	}
	out := []Handle{}
	q := store.Query{PK: CustomerPK(c.ID), SKPrefix: handleSKPrefix}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list social media handles of customer %s: %w", c.ID, err)
		}
		for _, it := range page.Items {
			h, err := decode[Handle](it)
			if err != nil {
				return nil, err
			}
			out = append(out, h)
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	slices.SortFunc(out, func(a, b Handle) int {
		return cmp.Or(a.DateAdded.Compare(b.DateAdded), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Handle, b.Handle))
	})
	return out, nil
}

// customerAt reads the bank and a customer in one BatchGet and checks, in
// order: the bank, the body (bodyErr), the roles, the customer at the bank.
func (s *Service) customerAt(ctx context.Context, p auth.Principal, bankID, customerID string, bodyErr error, req requirement) (Customer, error) {
	var keys []store.Key
	if ValidCustomerID(customerID) {
		keys = append(keys, CustomerKey(customerID))
	}
	r, err := s.read(ctx, bankID, keys...)
	if err != nil {
		return Customer{}, err
	}
	if err := r.bankErr(bankID); err != nil {
		return Customer{}, err
	}
	if bodyErr != nil {
		return Customer{}, bodyErr
	}
	if err := s.authorize(ctx, p, bankID, req); err != nil {
		return Customer{}, err
	}
	c, found, err := r.customer(customerID)
	if err != nil {
		return Customer{}, err
	}
	if !found || c.BankID != bankID {
		return Customer{}, customerNotFound(customerID, bankID)
	}
	return c, nil
}
