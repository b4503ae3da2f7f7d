package app

import (
	"fmt"
	"strings"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/saltedge"
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
		case saltedge.Name:
			// Checked again here: a provider secret (Secrets Manager) fills
			// the settings after LoadConfig. Without them Salt Edge refuses
			// every live request or OpenAgg every callback: fail at start.
			if missing := cfg.SaltEdgeMissing(); len(missing) > 0 {
				return nil, fmt.Errorf("build provider %s: %s required (environment or provider secret)", name, strings.Join(missing, ", "))
			}
			if _, err := saltedge.ParsePublicKeyPEM(cfg.CallbackPublicKey); err != nil {
				return nil, fmt.Errorf("build provider %s: OPENAGG_CALLBACK_PUBLIC_KEY: %w", name, err)
			}
			c, err := saltedge.New(saltedge.Config{
				BaseURL:          cfg.SaltEdge.BaseURL,
				AppID:            cfg.SaltEdge.AppID,
				Secret:           cfg.SaltEdge.Secret,
				PrivateKeyPEM:    cfg.SaltEdge.PrivateKeyPEM,
				IncludeSandboxes: cfg.SaltEdge.IncludeSandboxes,
				Clock:            clock,
			})
			if err != nil {
				return nil, fmt.Errorf("build provider %s: %w", name, err)
			}
			m[name] = c
		default:
			return nil, fmt.Errorf("provider %q is not built into this binary", name)
		}
	}
	return m, nil
}
