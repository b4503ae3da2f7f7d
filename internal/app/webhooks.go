package app

import (
	"fmt"

	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/webhook"
	"github.com/openagg/openagg/internal/webhook/outbound"
)

// Webhooks is the webhook endpoints and their deliveries: the system group
// registers endpoints, the activity-recorder hands it each event, the
// webhooks worker delivers. Secrets are sealed with the credentials
// keyring (KMS in AWS, the local key on the embedded default); deliveries
// go out through the guarded client (https to public addresses; http and
// private ones too with OPENAGG_WEBHOOKS_ALLOW_PRIVATE).
func (a *App) Webhooks() (*webhook.Service, error) {
	return a.svc.webhooks.get(func() (*webhook.Service, error) {
		keys, err := a.Keyring()
		if err != nil {
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		return webhook.New(webhook.Deps{
			Store: a.Store, Queue: a.Queue, Keys: keys, Clock: a.Clock, Log: a.Log,
			Transport: outbound.New(outbound.Options{AllowPrivate: a.Config.WebhooksAllowPrivate}),
		}), nil
	})
}

// webhooksWorker consumes queue.Webhooks: one delivery attempt per job.
func (a *App) webhooksWorker() (Worker, error) {
	svc, err := a.Webhooks()
	if err != nil {
		return Worker{}, fmt.Errorf("webhooks worker: %w", err)
	}
	return Worker{Name: "webhooks", Queue: queue.Webhooks, Handler: queue.Consumer(a.Log, svc.HandleJob)}, nil
}
