package app

import (
	"fmt"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store"
)

// buildProviders returns the configured providers by name. The sandbox is
// always there (it keeps its state in the table, so every function sees
// the same fake banks); others are added as cfg.Providers lists them.
func buildProviders(cfg platform.Config, st store.Store, clock platform.Clock) (map[string]provider.Provider, error) {
	m := map[string]provider.Provider{
		sandbox.Name: sandbox.New(st, sandbox.Options{Clock: clock, PublicURL: cfg.PublicURL}),
	}
	for _, name := range cfg.Providers {
		if _, ok := m[name]; ok {
			continue
		}
		switch name {
		default:
			return nil, fmt.Errorf("provider %q is not built into this binary", name)
		}
	}
	return m, nil
}
