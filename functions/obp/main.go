// Command obp is the Lambda of the Open Bank Project 1.2 API group.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("obp", app.OBPGroup) }
