// Command directory-loader is the Lambda of the SQS worker that loads the bank directory page by page.
// Configuration comes from the environment (README, "Configuration").
package main

import "github.com/openagg/openagg/internal/app"

func main() { app.LambdaMain("directory-loader", app.DirectoryLoader) }
