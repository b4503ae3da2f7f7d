// Command finapi is the Lambda of the finAPI v1 group (bank connections,
// banks, accounts, transactions, categories).
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("finapi", app.FinAPIGroup) }
