package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/api/customers"
	"github.com/openagg/openagg/internal/bank"
)

// customersGroup is the OBP 1.4.0 / 2.0.0 / 2.1.0 group (roles so far),
// over the stored entitlements and the bank directory.
func (a *App) customersGroup() (Group, error) {
	dir, err := a.BankDirectory()
	if err != nil {
		return Group{}, fmt.Errorf("customers group: %w", err)
	}
	api := customers.New(customers.Deps{Log: a.Log, Entitlements: a.Entitlements, Banks: customerBanks{dir: dir}})
	return Group{Name: "customers", Render: api.Render, Routes: api.Routes()}, nil
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
