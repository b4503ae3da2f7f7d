package app

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/openagg/openagg/internal/platform"
)

// LambdaMain is the whole body of functions/<name>/main.go: read the
// configuration, build the App and the function from the parts it serves
// once (cold start), then serve events with lambda.Start. A configuration
// error is printed and exits non-zero, so the init failure shows in the
// function's logs. Naming the parts here (not looking them up by name)
// keeps every other group out of the function's binary.
func LambdaMain(name string, parts ...PartFunc) {
	ctx := context.Background()
	cfg, err := platform.LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	a, err := New(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: build app: %v\n", name, err)
		os.Exit(1)
	}
	fn, err := a.FunctionOf(name, parts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(fn)
}

// Function is what lambda.StartHandler runs.
var _ lambda.Handler = (*Function)(nil)
