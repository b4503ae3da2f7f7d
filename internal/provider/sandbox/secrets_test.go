package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openagg/openagg/internal/platform/clocktest"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store/bolt"
)

// TestSecretsAtRest (issue 12, finding 5): the sandbox keeps what a real
// provider keeps of its bearer secrets. A customer secret is random (two
// customers of the same identifier on two installations with the same
// seed get different secrets) and is returned once; a connect token works
// on the page; neither appears in the data file, in any encoding the store
// writes (the raw bytes of the file are searched).
func TestSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(name string) (*Provider, string) {
		path := filepath.Join(dir, name)
		st, err := bolt.Open(path, bolt.Options{TokenSecret: []byte("sandbox-test-token-secret")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return New(st, Options{Clock: clocktest.New(t0), PublicURL: publicURL}), path
	}
	p, path := open("a.db")
	other, _ := open("b.db")

	const identifier = "GB0010001-100100"
	c, err := p.CreateCustomer(ctx, identifier)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := other.CreateCustomer(ctx, identifier)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != c2.ID {
		t.Errorf("customer ids differ (%s, %s): they derive from the seed and identifier", c.ID, c2.ID)
	}
	if c.Secret == c2.Secret {
		t.Errorf("two customers got the same secret %q: it derives from a constant seed", c.Secret)
	}

	var tokens []string
	for _, bank := range []string{BankDefault, BankChallenge} {
		cs, err := p.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: c.ID, BankCode: bank, ConsentScopes: consentScopes, ConsentPeriodDays: 90})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tokenOf(t, cs.ConnectURL))
	}
	// The first session ends (spent), the second stays open: a stored
	// session is found by its token in both states.
	if s, err := p.SubmitLogin(ctx, tokens[0], "alex", Password); err != nil || s.Stage != StageDone || s.Token != tokens[0] {
		t.Fatalf("login: %+v, %v", s, err)
	}
	if _, err := p.Session(ctx, tokens[0]); err != ErrSessionUsed {
		t.Fatalf("spent session: %v, want ErrSessionUsed", err)
	}
	if s, err := p.Session(ctx, tokens[1]); err != nil || s.Stage != StageLogin || s.Token != tokens[1] || s.CustomerID != c.ID {
		t.Fatalf("open session: %+v, %v", s, err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range map[string]string{"customer secret": c.Secret, "open connect token": tokens[1], "spent connect token": tokens[0]} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the data file holds the %s in plain text", what)
		}
	}
}
