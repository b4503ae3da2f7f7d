// Command holdings is the Lambda of the Aggregation API holdings group (import and reads).
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("holdings", app.HoldingsGroup) }
