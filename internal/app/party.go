package app

import (
	"context"
	"fmt"

	"github.com/openagg/openagg/internal/activity"
	partyapi "github.com/openagg/openagg/internal/api/party"
	"github.com/openagg/openagg/internal/queue"
)

// partyGroup is the Aggregation API's party group (profiles, connections).
func (a *App) partyGroup() (Group, error) {
	parties, err := a.Parties()
	if err != nil {
		return Group{}, fmt.Errorf("party group: %w", err)
	}
	conns, err := a.Connections()
	if err != nil {
		return Group{}, fmt.Errorf("party group: %w", err)
	}
	return Group{Name: "party", Render: a.aggregationRender,
		Routes: partyapi.New(partyapi.Deps{Log: a.Log, Profiles: parties, Connections: conns}).Routes()}, nil
}

// connectionSync is the worker consuming queue.Connections
// (connections.load and connections.refresh jobs).
func (a *App) connectionSync() (Worker, error) {
	conns, err := a.Connections()
	if err != nil {
		return Worker{}, fmt.Errorf("connection-sync: %w", err)
	}
	handle := func(ctx context.Context, job queue.Job) error {
		// A job names the channel it was asked through; one that names
		// none was the sync's own.
		return conns.HandleJob(activity.WithChannel(ctx, activity.ChannelSync), job)
	}
	return Worker{Name: "connection-sync", Queue: queue.Connections, Handler: queue.Consumer(a.Log, handle)}, nil
}

// refreshScheduler queues the refresh of every connection whose daily
// refresh is due (EventBridge rule in AWS, the ticker of `openagg serve`).
func (a *App) refreshScheduler() (Schedule, error) {
	conns, err := a.Connections()
	if err != nil {
		return Schedule{}, fmt.Errorf("refresh-scheduler: %w", err)
	}
	return Schedule{Name: "refresh-scheduler", Run: func(ctx context.Context) error {
		ctx = activity.WithChannel(ctx, activity.ChannelScheduler)
		n, err := conns.RefreshDue(ctx, a.Clock.Now())
		if n > 0 || err != nil {
			a.Log.InfoContext(ctx, "refresh scheduler run", "queued", n, "err", err)
		}
		return err
	}}, nil
}
