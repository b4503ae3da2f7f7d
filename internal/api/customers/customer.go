package customers

import (
	"context"
	"net/http"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/platform"
)

// Customers is the customer domain (*customer.Service).
type Customers interface {
	Create(ctx context.Context, p auth.Principal, bankID string, in customer.Input[customer.NewCustomer]) (customer.Customer, error)
	Link(ctx context.Context, p auth.Principal, bankID string, in customer.Input[customer.NewLink]) (customer.Link, error)
	CustomersOf(ctx context.Context, p auth.Principal) ([]customer.Customer, error)
	CustomersAt(ctx context.Context, p auth.Principal, bankID string) ([]customer.Customer, error)
	AddHandle(ctx context.Context, p auth.Principal, bankID, customerID string, in customer.Input[customer.Handle]) error
	Handles(ctx context.Context, p auth.Principal, bankID, customerID string) ([]customer.Handle, error)
	Events(ctx context.Context, p auth.Principal, bankID string, pg customer.Page) ([]customer.Event, error)
}

// bankRequest reads the caller (401 OBP-20001 first), then BANK_ID's
// format (400 OBP-30111); whether it is a bank is the domain's check.
func bankRequest(r *http.Request) (auth.Principal, string, error) {
	p, err := user(r.Context())
	if err != nil {
		return auth.Principal{}, "", err
	}
	id := r.PathValue("BANK_ID")
	if err := account.CheckBankID(id); err != nil {
		return auth.Principal{}, "", err
	}
	return p, id, nil
}

// decodeBody decodes a JSON body strictly and validates it; the failure
// is handed to the domain, which answers it after the bank check.
func decodeBody[B, T any](w http.ResponseWriter, r *http.Request, validate func(B) (T, error)) customer.Input[T] {
	var b B
	if err := obperr.DecodeJSON(w, r, &b); err != nil {
		return customer.Input[T]{Err: err}
	}
	v, err := validate(b)
	return customer.Input[T]{Value: v, Err: err}
}

// createCustomer: POST /obp/v2.1.0/banks/BANK_ID/customers → 201 the
// customer, linked to user_id (empty: the caller).
func (a *API) createCustomer(w http.ResponseWriter, r *http.Request) error {
	p, bankID, err := bankRequest(r)
	if err != nil {
		return err
	}
	c, err := a.customers.Create(r.Context(), p, bankID, decodeBody(w, r, newCustomer))
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusCreated, customerJSON(c))
	return nil
}

// getCustomersForUser: GET /obp/v2.1.0/users/current/customers → 200 the
// caller's customers at every bank.
func (a *API) getCustomersForUser(w http.ResponseWriter, r *http.Request) error {
	p, err := user(r.Context())
	if err != nil {
		return err
	}
	cs, err := a.customers.CustomersOf(r.Context(), p)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, customersJSON(cs))
	return nil
}

// getCustomersForCurrentUserAtBank: GET /obp/v2.1.0/banks/BANK_ID/customers
// → 200 the caller's customers at the bank.
func (a *API) getCustomersForCurrentUserAtBank(w http.ResponseWriter, r *http.Request) error {
	p, bankID, err := bankRequest(r)
	if err != nil {
		return err
	}
	cs, err := a.customers.CustomersAt(r.Context(), p, bankID)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, customersJSON(cs))
	return nil
}

// createUserCustomerLinks: POST /obp/v2.0.0/banks/BANK_ID/user_customer_links
// → 200 (as OBP-API answers) the link.
func (a *API) createUserCustomerLinks(w http.ResponseWriter, r *http.Request) error {
	p, bankID, err := bankRequest(r)
	if err != nil {
		return err
	}
	l, err := a.customers.Link(r.Context(), p, bankID, decodeBody(w, r, newLink))
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, UserCustomerLinkJSON{
		UserCustomerLinkID: l.ID, CustomerID: l.CustomerID, UserID: l.UserID,
		DateInserted: formatDate(l.DateInserted), IsActive: l.IsActive,
	})
	return nil
}
