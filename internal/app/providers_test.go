package app

import (
	"context"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// The Salt Edge client is wired from configuration and really talks to a
// contract-faithful Salt Edge server (the fake, never the internet).
func TestBuildProvidersSaltEdge(t *testing.T) {
	priv, pub, err := saltedgetest.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := saltedgetest.New(saltedgetest.Options{AppID: "app", Secret: "sec", RequestPublicKeyPEM: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := platform.Config{
		Providers:         []string{platform.ProviderSandbox, platform.ProviderSaltEdge},
		SaltEdge:          platform.SaltEdgeConfig{AppID: "app", Secret: "sec", BaseURL: srv.URL, PrivateKeyPEM: priv},
		CallbackPublicKey: srv.CallbackPublicKeyPEM(),
	}

	// Without what live requests and callbacks need, the service does not
	// start (a provider secret may fill them after LoadConfig: checked
	// here too).
	for _, tc := range []struct {
		name string
		edit func(*platform.Config)
		want string
	}{
		{"no signing key", func(c *platform.Config) { c.SaltEdge.PrivateKeyPEM = "" }, "SALTEDGE_PRIVATE_KEY"},
		{"no callback key", func(c *platform.Config) { c.CallbackPublicKey = "" }, "OPENAGG_CALLBACK_PUBLIC_KEY"},
		{"no credentials", func(c *platform.Config) { c.SaltEdge.AppID, c.SaltEdge.Secret = "", "" }, "SALTEDGE_APP_ID, SALTEDGE_SECRET"},
		{"bad callback key", func(c *platform.Config) { c.CallbackPublicKey = "not a key" }, "OPENAGG_CALLBACK_PUBLIC_KEY"},
		{"bad signing key", func(c *platform.Config) { c.SaltEdge.PrivateKeyPEM = "not a key" }, "signing key"},
	} {
		bad := cfg
		tc.edit(&bad)
		if _, err := buildProviders(bad, nil, platform.SystemClock{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
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
	// Sandbox banks only when configured.
	for _, b := range page.Banks {
		if b.CountryCode == "XF" {
			t.Errorf("sandbox bank %s listed by default", b.Code)
		}
	}
	withSandboxes := cfg
	withSandboxes.SaltEdge.IncludeSandboxes = true
	ps2, err := buildProviders(withSandboxes, nil, platform.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	if page2, err := ps2[saltedge.Name].ListBanks(context.Background(), ""); err != nil || len(page2.Banks) <= len(page.Banks) {
		t.Errorf("with sandboxes: %d banks (%v), without: %d", len(page2.Banks), err, len(page.Banks))
	}
	for _, r := range srv.Requests() {
		if !r.Signed {
			t.Errorf("unsigned request %s %s", r.Method, r.Path)
		}
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
