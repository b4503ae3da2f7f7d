package app

import (
	"context"
	"fmt"
	"os"

	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
)

// RouteTables returns every group's routes by group name: what
// deploy.Render takes.
func (a *App) RouteTables() (map[string][]platform.Route, error) {
	groups, err := a.Groups()
	if err != nil {
		return nil, err
	}
	routes := map[string][]platform.Route{}
	for _, g := range groups {
		routes[g.Name] = g.Routes
	}
	return routes, nil
}

// Template renders template.yaml (the SAM application) from the route
// tables of the groups (TemplateRoutes).
func Template(ctx context.Context) ([]byte, error) {
	routes, err := TemplateRoutes(ctx)
	if err != nil {
		return nil, err
	}
	return deploy.Render(routes)
}

// TemplateRoutes returns RouteTables of a throwaway App. Route tables need
// no I/O, but the groups are built from an App, so one is assembled on a
// temporary data directory with the default configuration: the
// environment is ignored, because the routes never depend on it and the
// template must not depend on who renders it.
func TemplateRoutes(ctx context.Context) (map[string][]platform.Route, error) {
	dir, err := os.MkdirTemp("", "openagg-template-")
	if err != nil {
		return nil, fmt.Errorf("render template: temp data dir: %w", err)
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
		return nil, fmt.Errorf("render template: %w", err)
	}
	a, err := New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	defer a.Close()
	return a.RouteTables()
}
