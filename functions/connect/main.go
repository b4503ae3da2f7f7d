// Command connect is the Lambda of the hosted connect page and the provider callbacks.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("connect", app.ConnectGroup) }
