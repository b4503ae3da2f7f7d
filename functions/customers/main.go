// Command customers is the Lambda of the Open Bank Project 1.4.0/2.0.0/2.1.0 API group.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("customers", app.CustomersGroup) }
