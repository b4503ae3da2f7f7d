package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/openagg/openagg/internal/api/customers"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
)

// customersGroup is the OBP 1.4.0 / 2.0.0 / 2.1.0 group (roles so far),
// over the stored entitlements and the bank directory.
func (a *App) customersGroup() Group {
	render := customers.New(customers.Deps{Log: a.Log}).Render
	return Group{Name: "customers", Render: render, Routes: func() []platform.Route {
		dir, err := a.BankDirectory()
		if err != nil {
			// A broken provider registry: keep the routes (the SAM template
			// and the mux agree) and answer each with the cause.
			a.Log.Error("customers group: bank directory unavailable", "err", err)
			routes := customers.New(customers.Deps{Log: a.Log}).Routes()
			for i := range routes {
				routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
			}
			return routes
		}
		return customers.New(customers.Deps{Log: a.Log, Entitlements: a.Entitlements, Banks: customerBanks{dir: dir}}).Routes()
	}}
}

// customerBanks: an OBP BANK_ID is the code of a bank whose access is
// enabled (as in the OBP 1.2 group); a code no bank can have is no bank.
type customerBanks struct{ dir *bank.Service }

func (c customerBanks) Exists(ctx context.Context, bankID string) (bool, error) {
	if !bank.ValidCode(bankID) {
		return false, nil
	}
	_, err := c.dir.ByCode(ctx, bankID)
	if errors.Is(err, bank.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
