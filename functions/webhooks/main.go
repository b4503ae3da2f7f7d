// Command webhooks is the worker that delivers signed webhooks to the
// registered endpoints (Standard Webhooks), with retries.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("webhooks", app.WebhooksWorker) }
