package app

import (
	"context"
	"fmt"

	"github.com/openagg/openagg/internal/activity"
	holdingsapi "github.com/openagg/openagg/internal/api/holdings"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/queue"
)

// holdingsGroup is the Aggregation API's holdings group (operation 12 and
// the account and transaction reads).
func (a *App) holdingsGroup() (Group, error) {
	parties, err := a.Parties()
	if err != nil {
		return Group{}, fmt.Errorf("holdings group: %w", err)
	}
	conns, err := a.Connections()
	if err != nil {
		return Group{}, fmt.Errorf("holdings group: %w", err)
	}
	return Group{Name: "holdings", Render: a.aggregationRender,
		Routes: holdingsapi.New(holdingsapi.Deps{Log: a.Log, Holdings: a.Holdings(), Parties: parties, Connections: conns}).Routes()}, nil
}

// holdingsImporter is the worker consuming queue.Holdings (holdings.import
// jobs: one chunk of an import each; finAPI's categorization jobs).
func (a *App) holdingsImporter() (Worker, error) {
	h := a.Holdings()
	cat := a.Categorizer()
	handle := func(ctx context.Context, job queue.Job) error {
		// A job names the channel its import was asked through.
		ctx = activity.WithChannel(ctx, activity.ChannelImporter)
		if job.Type == bankconn.JobCategorize {
			// finAPI's categorization of a download runs on the holdings
			// workers too.
			return cat.HandleJob(ctx, job)
		}
		return h.HandleJob(ctx, job)
	}
	return Worker{Name: "holdings-importer", Queue: queue.Holdings, Handler: queue.Consumer(a.Log, handle)}, nil
}
