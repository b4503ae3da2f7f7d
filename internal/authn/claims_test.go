package authn

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openagg/openagg/internal/auth"
)

// TestClaimTypesAndSubject: RFC 7519 NumericDate claims (exp, nbf, iat) are
// JSON numbers, and a token's sub is a user id every group can take (the
// one subject rule, auth.ValidUserID): a signed token breaking either rule
// is refused, as API Gateway's JWT authorizer refuses the first.
func TestClaimTypesAndSubject(t *testing.T) {
	a := newHS(t, clocktest.New(t0.Add(time.Minute)))
	exp, iat := t0.Add(time.Hour).Unix(), t0.Unix()
	sign := func(claims jwt.MapClaims) string {
		base := jwt.MapClaims{"iss": testIss, "aud": testAud, "sub": "alice", "exp": exp}
		for k, v := range claims {
			if v == nil {
				delete(base, k)
				continue
			}
			base[k] = v
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, base).SignedString(testKey())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name   string
		claims jwt.MapClaims
		ok     bool
	}{
		{"numbers", jwt.MapClaims{"iat": iat, "nbf": iat}, true},
		{"fractional exp", jwt.MapClaims{"exp": float64(exp) + 0.5}, true},
		{"exp as a string", jwt.MapClaims{"exp": "9999999999"}, false},
		{"nbf as a string", jwt.MapClaims{"nbf": "0"}, false},
		{"iat as a string", jwt.MapClaims{"iat": "0"}, false},
		{"exp as an object", jwt.MapClaims{"exp": map[string]any{"n": exp}}, false},
		{"sub with #", jwt.MapClaims{"sub": "alice#1"}, false},
		{"sub with a space", jwt.MapClaims{"sub": "alice smith"}, false},
		{"sub with a control character", jwt.MapClaims{"sub": "alice\x01"}, false},
		{"sub of 300 characters", jwt.MapClaims{"sub": strings.Repeat("a", 300)}, false},
		{"sub of 255 characters", jwt.MapClaims{"sub": strings.Repeat("a", 255)}, true},
		{"sub with non-ASCII letters", jwt.MapClaims{"sub": "zoë"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := sign(tc.claims)
			for _, verify := range []struct {
				name string
				fn   func(context.Context, string) (auth.Principal, error)
			}{{"Verify", a.Verify}, {"cached", a.newVerifiedCache().verify}} {
				_, err := verify.fn(context.Background(), tok)
				if tc.ok && err != nil {
					t.Fatalf("%s: %v", verify.name, err)
				}
				if !tc.ok && !errors.Is(err, auth.ErrInvalidToken) {
					t.Fatalf("%s: err = %v, want an invalid token", verify.name, err)
				}
			}
		})
	}
	// API Gateway's claims follow the same subject rule.
	for _, sub := range []string{"alice#1", "a b", strings.Repeat("a", 300)} {
		if p, ok := ClaimsPrincipal(map[string]string{"sub": sub}); ok {
			t.Errorf("gateway claims with sub %q give principal %+v", sub, p)
		}
	}
}
