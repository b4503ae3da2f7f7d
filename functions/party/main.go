// Command party is the Lambda of the Aggregation API party group (profiles, connections).
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("party", app.PartyGroup) }
