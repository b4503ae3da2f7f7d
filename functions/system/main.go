// Command system is the Lambda of the Aggregation API system group (bank directory) and the health check.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("system", app.SystemGroup, app.HealthGroup) }
