package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openagg/openagg/internal/openapi"
)

// openapiCmd writes the OpenAPI documents (internal/openapi) as files, the
// bytes the server serves at /openapi/<name>.json: a client generator or
// an API explorer can use them without a running server.
func openapiCmd(_ context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", ".", "directory to write <name>.json into")
	name := fs.String("name", "", "write only this document, to stdout ("+fmt.Sprint(openapi.Names())+")")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *name != "" {
		b, err := openapi.JSON(*name)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	for _, n := range openapi.Names() {
		b, err := openapi.JSON(n)
		if err != nil {
			return err
		}
		path := filepath.Join(*out, n+".json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", path)
	}
	return nil
}
