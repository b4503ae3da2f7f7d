package app

import (
	"fmt"
	"slices"
	"sort"

	"github.com/openagg/openagg/internal/api/system"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
)

// orderedProviders lists the providers in a fixed order (configuration
// order, sandbox first, then any other registered one by name), because
// lookups across providers answer in provider order.
func (a *App) orderedProviders() []provider.Provider {
	names := make([]string, 0, len(a.Providers))
	for name := range a.Providers {
		names = append(names, name)
	}
	rank := func(name string) int {
		if name == platform.ProviderSandbox {
			return -1
		}
		if i := slices.Index(a.Config.Providers, name); i >= 0 {
			return i
		}
		return len(a.Config.Providers)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	out := make([]provider.Provider, 0, len(names))
	for _, name := range names {
		out = append(out, a.Providers[name])
	}
	return out
}

// systemGroup is the Aggregation API's system group (bank directory,
// webhook endpoints).
func (a *App) systemGroup() (Group, error) {
	banks, err := a.BankDirectory()
	if err != nil {
		return Group{}, fmt.Errorf("system group: %w", err)
	}
	hooks, err := a.Webhooks()
	if err != nil {
		return Group{}, fmt.Errorf("system group: %w", err)
	}
	return Group{Name: "system", Render: a.aggregationRender,
		Routes: system.New(system.Deps{Log: a.Log, Banks: banks, Roles: a.Entitlements, Webhooks: hooks}).Routes()}, nil
}

// directoryLoader is the worker consuming queue.Directory (one
// directory.load job per provider page).
func (a *App) directoryLoader() (Worker, error) {
	banks, err := a.BankDirectory()
	if err != nil {
		return Worker{}, fmt.Errorf("directory-loader: %w", err)
	}
	return Worker{Name: "directory-loader", Queue: queue.Directory, Handler: queue.Consumer(a.Log, banks.HandleJob)}, nil
}
