// Command connection-sync is the Lambda of the SQS worker that loads and refreshes connections.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("connection-sync", app.ConnectionSync) }
