package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
)

// templateCmd prints template.yaml: the SAM skeleton with each function's
// HttpApi events taken from the route tables of the groups it serves, so
// the template and the handlers cannot disagree.
func templateCmd(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	routes, err := groupRoutes(ctx)
	if err != nil {
		return err
	}
	out, err := deploy.Render(routes)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(out)
	return err
}

// groupRoutes lists every group's routes. Route tables need no I/O, but the
// groups are built from an App, so one is assembled on a throwaway data
// directory with the default configuration (the environment is ignored:
// the routes never depend on it).
func groupRoutes(ctx context.Context) (map[string][]platform.Route, error) {
	dir, err := os.MkdirTemp("", "openagg-template-")
	if err != nil {
		return nil, fmt.Errorf("temp data dir: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg, err := platform.LoadConfig(func(k string) string {
		switch k {
		case "OPENAGG_DATA_DIR":
			return dir
		case "OPENAGG_LOG_LEVEL":
			return "error"
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	routes := map[string][]platform.Route{}
	for _, g := range a.Groups() {
		routes[g.Name] = g.Routes()
	}
	return routes, nil
}
