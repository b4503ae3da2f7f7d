package app

import (
	"context"
	"testing"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// The Salt Edge client is wired from configuration and really talks to a
// contract-faithful Salt Edge server (the fake, never the internet).
func TestBuildProvidersSaltEdge(t *testing.T) {
	srv, err := saltedgetest.New(saltedgetest.Options{AppID: "app", Secret: "sec"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := platform.Config{
		Providers: []string{platform.ProviderSandbox, platform.ProviderSaltEdge},
		SaltEdge:  platform.SaltEdgeConfig{AppID: "app", Secret: "sec", BaseURL: srv.URL},
	}
	ps, err := buildProviders(cfg, nil, platform.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps[sandbox.Name]; !ok {
		t.Fatal("sandbox provider missing")
	}
	se, ok := ps[saltedge.Name]
	if !ok {
		t.Fatal("saltedge provider missing")
	}
	page, err := se.ListBanks(context.Background(), "")
	if err != nil {
		t.Fatalf("list banks through the configured Salt Edge client: %v", err)
	}
	if len(page.Banks) == 0 {
		t.Fatal("the Salt Edge fake served no banks")
	}

	cfg.SaltEdge.Secret = "wrong"
	ps, err = buildProviders(cfg, nil, platform.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps[saltedge.Name].ListBanks(context.Background(), ""); err == nil {
		t.Fatal("wrong Salt Edge secret accepted")
	}
}
