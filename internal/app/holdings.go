package app

import (
	"net/http"

	"github.com/openagg/openagg/internal/api/aggregation"
	holdingsapi "github.com/openagg/openagg/internal/api/holdings"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/view"
)

// Holdings builds the holdings service (import, removal, reads): the
// holdings group, the holdings-importer worker and the OBP API use it.
// Imported accounts are announced to the OBP views (the party owner gets
// the owner view; the account label follows its name). It is cheap: no I/O.
func (a *App) Holdings() *holdings.Service {
	hooks := holdings.Hooks{&view.Service{Store: a.Store, Provider: a.Config.JWTIssuer}}
	if cat, err := a.Categorizer(); err == nil {
		hooks = append(hooks, cat) // finAPI: account ids, categorization after each download (finapi.go)
	}
	return holdings.New(holdings.Config{
		Store: a.Store, Queue: a.Queue, Providers: a.Provider, Clock: a.Clock, Log: a.Log,
		Hook: hooks,
		// A run starts only while the party's connection exists: a job
		// that outlives the connection's removal writes nothing.
		RunGuard: connection.Key,
	})
}

// holdingsGroup is the Aggregation API's holdings group (operation 12 and
// the account and transaction reads).
func (a *App) holdingsGroup() Group {
	render := func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, a.Log, err) }
	return Group{Name: "holdings", Render: render, Routes: func() []platform.Route {
		parties, err := a.Parties()
		if err == nil {
			conns, cerr := a.Connections()
			if cerr == nil {
				return holdingsapi.New(holdingsapi.Deps{Log: a.Log, Holdings: a.Holdings(), Parties: parties, Connections: conns}).Routes()
			}
			err = cerr
		}
		// A broken provider registry: keep the routes (the SAM template and
		// the mux agree) and answer each with the cause.
		a.Log.Error("holdings group: services unavailable", "err", err)
		routes := holdingsapi.New(holdingsapi.Deps{Log: a.Log}).Routes()
		for i := range routes {
			routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
		}
		return routes
	}}
}

// holdingsImporter is the worker consuming queue.Holdings (holdings.import
// jobs: one chunk of an import each).
func (a *App) holdingsImporter() Worker {
	return Worker{Name: "holdings-importer", Queue: queue.Holdings, Handler: queue.Consumer(a.Log, a.holdingsJobs())}
}
