package app

import (
	"fmt"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/platform"
)

// obpGroup is the OBP 1.2 group over the account query (the bank
// directory, the imported holdings, views and metadata read together,
// internal/account), views and metadata. Its routes are served by
// obp.Router (API Gateway matching): OBP 1.2 has paths net/http's ServeMux
// cannot hold together (…/permissions/USER_ID and …/VIEW_ID/account).
func (a *App) obpGroup() (Group, error) {
	dir, err := a.BankDirectory()
	if err != nil {
		return Group{}, fmt.Errorf("obp group: %w", err)
	}
	accounts, err := account.New(account.Deps{Store: a.Store, Banks: dir, Holdings: a.Holdings()})
	if err != nil {
		return Group{}, fmt.Errorf("obp group: %w", err)
	}
	api := obp.New(obp.Deps{
		Accounts:  accounts,
		Views:     a.Views(),
		Metadata:  a.Metadata(),
		Log:       a.Log,
		HostedBy:  obp.HostedBy{Organisation: "OpenAgg"},
		GitCommit: platform.Version,
	})
	return Group{Name: "obp", Render: api.Render, Router: obp.Router, Routes: api.Routes()}, nil
}
