// Command activity-recorder is the worker that records what happens to
// connections (OBP CRM events of the customers linked to the owner).
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("activity-recorder", app.ActivityRecorder) }
