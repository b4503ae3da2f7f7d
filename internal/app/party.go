package app

import (
	"context"
	"net/http"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/api/aggregation"
	partyapi "github.com/openagg/openagg/internal/api/party"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
)

// Parties builds the party profile service. New profiles get their
// customer at the last configured provider (Salt Edge when configured,
// else the sandbox); a party connecting a bank of another provider gets a
// customer there on the way. It is cheap: no I/O.
func (a *App) Parties() (*party.Service, error) {
	primary := platform.ProviderSandbox
	for _, name := range a.Config.Providers {
		if _, ok := a.Providers[name]; ok {
			primary = name
		}
	}
	return party.NewService(a.Store, a.Providers, a.Entitlements, a.Clock, party.Config{CompanyID: a.Config.CompanyID, Provider: primary})
}

// Connections builds the connection service: the party and connect groups,
// the connection-sync worker and the refresh scheduler use it. Removing a
// connection deletes its imported data through the holdings service.
func (a *App) Connections() (*connection.Service, error) {
	parties, err := a.Parties()
	if err != nil {
		return nil, err
	}
	banks, err := a.BankDirectory()
	if err != nil {
		return nil, err
	}
	data := holdings.New(holdings.Config{Store: a.Store, Queue: a.Queue, Providers: a.Provider, Clock: a.Clock, Log: a.Log, RunGuard: connection.Key})
	return connection.NewService(connection.Deps{
		Store: a.Store, Queue: a.Queue, Providers: a.Providers, Parties: parties,
		Banks: banks, Data: data, Clock: a.Clock, Log: a.Log, Activity: a.activitySink(),
	}, connection.Config{})
}

// partyGroup is the Aggregation API's party group (profiles, connections).
func (a *App) partyGroup() Group {
	render := func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, a.Log, err) }
	return Group{Name: "party", Render: render, Routes: func() []platform.Route {
		parties, err := a.Parties()
		var conns *connection.Service
		if err == nil {
			conns, err = a.Connections()
		}
		if err != nil {
			// A broken provider registry: keep the routes (the SAM template
			// and the mux agree) and answer each with the cause.
			a.Log.Error("party group: services unavailable", "err", err)
			routes := partyapi.New(partyapi.Deps{Log: a.Log}).Routes()
			for i := range routes {
				routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
			}
			return routes
		}
		return partyapi.New(partyapi.Deps{Log: a.Log, Profiles: parties, Connections: conns}).Routes()
	}}
}

// connectionSync is the worker consuming queue.Connections
// (connections.load and connections.refresh jobs).
func (a *App) connectionSync() Worker {
	conns, err := a.Connections()
	handle := func(ctx context.Context, job queue.Job) error {
		if err != nil {
			return err // retried, then dead-lettered with the cause logged
		}
		// A job names the channel it was asked through; one that names
		// none was the sync's own.
		return conns.HandleJob(activity.WithChannel(ctx, activity.ChannelSync), job)
	}
	return Worker{Name: "connection-sync", Queue: queue.Connections, Handler: queue.Consumer(a.Log, handle)}
}

// refreshScheduler queues the refresh of every connection whose daily
// refresh is due (EventBridge rule in AWS, the ticker of `openagg serve`).
func (a *App) refreshScheduler() Schedule {
	return Schedule{Name: "refresh-scheduler", Run: func(ctx context.Context) error {
		ctx = activity.WithChannel(ctx, activity.ChannelScheduler)
		conns, err := a.Connections()
		if err != nil {
			return err
		}
		n, err := conns.RefreshDue(ctx, a.Clock.Now())
		if n > 0 || err != nil {
			a.Log.InfoContext(ctx, "refresh scheduler run", "queued", n, "err", err)
		}
		return err
	}}
}
