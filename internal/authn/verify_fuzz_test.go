package authn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/auth"
)

// FuzzVerify: whatever a client sends as a bearer token, Verify never
// panics, and it accepts only tokens signed with the key whose subject is a
// user id; everything else is auth.ErrInvalidToken.
func FuzzVerify(f *testing.F) {
	clock := clocktest.New(t0.Add(time.Minute))
	a, err := New(Options{Issuer: testIss, Audiences: []string{testAud}, HMACKey: testKey(), Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	good, err := Mint(testKey(), Claims{Sub: "alice", Issuer: testIss, Audience: testAud, Now: t0})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", good, good + "x", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "...", good[:len(good)/2]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := a.Verify(context.Background(), token)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("error %v is not an invalid token", err)
			}
			return
		}
		if !auth.ValidUserID(p.Subject) {
			t.Fatalf("accepted a token with subject %q", p.Subject)
		}
	})
}
