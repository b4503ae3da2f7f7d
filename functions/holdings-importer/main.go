// Command holdings-importer is the Lambda of the SQS worker that imports accounts, balances and transactions in chunks.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("holdings-importer", app.HoldingsImporter) }
