// Command refresh-scheduler is the Lambda of the scheduled function that enqueues refresh jobs for due connections.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("refresh-scheduler", app.RefreshScheduler) }
