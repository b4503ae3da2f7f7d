package authn

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/auth"
)

func TestVerifiedCache(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0.Add(time.Minute))
	a := newHS(t, clock)
	c := a.newVerifiedCache()
	good := mint(t, testKey(), Claims{Sub: "alice", Name: "Alice", Roles: []string{"r1"}, TTL: time.Hour})

	p, err := c.verify(ctx, good)
	if err != nil || p.Subject != "alice" || len(c.tokens) != 1 {
		t.Fatalf("first: %+v %v, %d cached", p, err, len(c.tokens))
	}
	// A hit answers the same principal; its roles are the caller's own.
	p.Roles[0] = "changed"
	if p, err := c.verify(ctx, good); err != nil || p.Subject != "alice" || p.Name != "Alice" || p.Roles[0] != "r1" {
		t.Fatalf("hit: %+v %v", p, err)
	}

	// Bad tokens are refused every time and never kept.
	bad := mint(t, []byte("ffffffffffffffffffffffffffffffff"), Claims{Sub: "alice"})
	for range 2 {
		if _, err := c.verify(ctx, bad); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("bad token: %v", err)
		}
	}
	// Not yet valid: refused, not kept; valid once its time comes.
	later := mint(t, testKey(), Claims{Sub: "bob", Now: t0.Add(10 * time.Minute), TTL: time.Hour})
	if _, err := c.verify(ctx, later); !errors.Is(err, auth.ErrInvalidToken) || len(c.tokens) != 1 {
		t.Fatalf("not yet valid: %v, %d cached", err, len(c.tokens))
	}

	// A kept token is taken on trust for verifiedMaxAge at most: then it is
	// verified again (and still good).
	clock.Advance(verifiedMaxAge)
	if _, err := c.verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	if v := c.tokens[good]; !v.until.Equal(clock.Now().Add(verifiedMaxAge)) {
		t.Fatalf("re-verified token kept until %v", v.until)
	}
	clock.Set(t0.Add(10 * time.Minute))
	if _, err := c.verify(ctx, later); err != nil {
		t.Fatalf("valid now: %v", err)
	}
	// Past exp plus the leeway a kept token is refused, as Verify refuses it.
	clock.Set(t0.Add(time.Hour + DefaultLeeway - time.Second))
	if _, err := c.verify(ctx, good); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := c.verify(ctx, good); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("expired token accepted: %v", err)
	}
	// A clock set back before nbf (less the leeway) refuses it too.
	clock.Set(t0.Add(10*time.Minute - DefaultLeeway - time.Second))
	if _, err := c.verify(ctx, later); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("token before its nbf accepted: %v", err)
	}
}

func TestVerifiedCacheBound(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0.Add(time.Minute))
	c := newHS(t, clock).newVerifiedCache()
	for i := range 3 * verifiedMaxTokens {
		tok := mint(t, testKey(), Claims{Sub: fmt.Sprintf("user%d", i)})
		if p, err := c.verify(ctx, tok); err != nil || p.Subject != fmt.Sprintf("user%d", i) {
			t.Fatalf("%d: %+v %v", i, p, err)
		}
		if len(c.tokens) > verifiedMaxTokens {
			t.Fatalf("%d tokens kept, bound %d", len(c.tokens), verifiedMaxTokens)
		}
	}
}
