package app

import (
	"context"
	"net/http"
	"slices"
	"sort"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/api/system"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
)

// BankDirectory builds the bank directory over the configured providers:
// the system group and the directory-loader use it, and so may other
// groups (connection creation checks banks, the OBP 1.2 API lists the
// enabled ones). It is cheap: no I/O.
func (a *App) BankDirectory() (*bank.Service, error) {
	return bank.NewService(bank.Deps{Store: a.Store, Queue: a.Queue, Providers: a.orderedProviders(), Clock: a.Clock, Log: a.Log})
}

// orderedProviders lists the providers in a fixed order (configuration
// order, sandbox first, then any other registered one by name), because
// lookups across providers answer in provider order.
func (a *App) orderedProviders() []provider.Provider {
	names := make([]string, 0, len(a.Providers))
	for name := range a.Providers {
		names = append(names, name)
	}
	rank := func(name string) int {
		if name == platform.ProviderSandbox {
			return -1
		}
		if i := slices.Index(a.Config.Providers, name); i >= 0 {
			return i
		}
		return len(a.Config.Providers)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	out := make([]provider.Provider, 0, len(names))
	for _, name := range names {
		out = append(out, a.Providers[name])
	}
	return out
}

// systemGroup is the Aggregation API's system group (bank directory).
func (a *App) systemGroup() Group {
	render := func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, a.Log, err) }
	return Group{Name: "system", Render: render, Routes: func() []platform.Route {
		banks, err := a.BankDirectory()
		if err != nil {
			// Only a broken provider registry gets here (a nil provider, or
			// two registered under one name): keep the routes, so the SAM
			// template and the mux agree, and answer each with the cause.
			a.Log.Error("system group: bank directory unavailable", "err", err)
			routes := system.New(system.Deps{Log: a.Log}).Routes()
			for i := range routes {
				routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
			}
			return routes
		}
		return system.New(system.Deps{Log: a.Log, Banks: banks, Roles: a.Entitlements}).Routes()
	}}
}

// directoryLoader is the worker consuming queue.Directory (one
// directory.load job per provider page).
func (a *App) directoryLoader() Worker {
	banks, err := a.BankDirectory()
	handle := func(ctx context.Context, job queue.Job) error {
		if err != nil {
			return err // retried, then dead-lettered with the cause logged
		}
		return banks.HandleJob(ctx, job)
	}
	return Worker{Name: "directory-loader", Queue: queue.Directory, Handler: queue.Consumer(a.Log, handle)}
}
