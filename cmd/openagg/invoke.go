package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/openagg/openagg/internal/app"
)

// invokeCmd runs one Lambda handler in-process on an event file, exactly as
// Lambda would (app.Function is what the Lambda mains start), and prints
// its JSON response. API functions take an API Gateway HTTP API v2 event
// (requestContext.authorizer.jwt.claims are trusted as in AWS), workers an
// SQS event, schedules an EventBridge event; see events/.
func invokeCmd(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fn := fs.String("function", "", "function name (an API group, a worker or a schedule), required")
	eventFile := fs.String("event", "", "event JSON file, - for stdin, required")
	cfg, err := loadConfig(e, fs, args, false)
	if err != nil {
		return err
	}
	if *fn == "" || *eventFile == "" {
		return fmt.Errorf("--function and --event are required")
	}
	var event []byte
	if *eventFile == "-" {
		event, err = io.ReadAll(e.stdin)
	} else {
		event, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	out, err := a.Invoke(ctx, *fn, event)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}
