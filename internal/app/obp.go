package app

import (
	"net/http"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

// OBP builds the Open Bank Project 1.2 API over the account query (the
// bank directory, the imported holdings, views and metadata read together,
// internal/account), views and metadata.
func (a *App) OBP() (*obp.API, error) {
	dir, err := a.BankDirectory()
	if err != nil {
		return nil, err
	}
	accounts, err := account.New(account.Deps{Store: a.Store, Banks: dir, Holdings: a.Holdings()})
	if err != nil {
		return nil, err
	}
	return a.obpAPI(accounts), nil
}

func (a *App) obpAPI(accounts *account.Service) *obp.API {
	return obp.New(obp.Deps{
		Accounts:  accounts,
		Views:     &view.Service{Store: a.Store, Provider: a.Config.JWTIssuer},
		Metadata:  &metadata.Service{Store: a.Store, Clock: a.Clock},
		Log:       a.Log,
		HostedBy:  obp.HostedBy{Organisation: "OpenAgg"},
		GitCommit: platform.Version,
	})
}

// obpGroup is the OBP 1.2 group. Its routes are served by obp.Router (API
// Gateway matching): OBP 1.2 has paths net/http's ServeMux cannot hold
// together (…/permissions/USER_ID and …/VIEW_ID/account).
func (a *App) obpGroup() Group {
	render := a.obpAPI(nil).Render
	return Group{Name: "obp", Render: render, Router: obp.Router, Routes: func() []platform.Route {
		api, err := a.OBP()
		if err == nil {
			return api.Routes()
		}
		// A broken provider registry: keep the routes (the SAM template and
		// the router agree) and answer each with the cause.
		a.Log.Error("obp group: services unavailable", "err", err)
		routes := a.obpAPI(nil).Routes()
		for i := range routes {
			routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
		}
		return routes
	}}
}
