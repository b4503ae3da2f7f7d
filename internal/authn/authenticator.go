// Package authn turns a request's bearer token into the caller: JWT
// verification (locally HS256 with a key in the data directory, RS256
// against a JWKS URL when configured), the claims the API Gateway HttpApi
// JWT authorizer already validated in AWS, the HTTP middleware, and Caller
// and Require, the one way every API group reads the caller. Who may do
// what is internal/auth's.
package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/platform"
)

// DefaultLeeway tolerates small clock skew on exp/nbf/iat.
const DefaultLeeway = 30 * time.Second

// Options configures an Authenticator.
type Options struct {
	Issuer string // required iss
	// Audiences: the token's aud must contain one of them (at least one
	// is required).
	Audiences []string
	// HMACKey verifies HS256 tokens (the local key); nil disables HS256.
	HMACKey []byte
	// JWKSURL, when set, verifies RS256 tokens against that key set.
	JWKSURL    string
	HTTPClient *http.Client   // for the JWKS; default 10s timeout
	Clock      platform.Clock // default SystemClock
	Leeway     time.Duration  // default DefaultLeeway
}

// Authenticator verifies bearer tokens. It is safe for concurrent use.
type Authenticator struct {
	issuer    string
	audiences []string
	hmacKey   []byte
	jwks      *JWKS
	clock     platform.Clock
	leeway    time.Duration
	methods   []string
}

// New builds an Authenticator; at least one of HMACKey and
// JWKSURL must be set, unless the caller relies on API Gateway claims only.
func New(o Options) (*Authenticator, error) {
	a := &Authenticator{issuer: o.Issuer, audiences: o.Audiences, clock: o.Clock, leeway: o.Leeway}
	if a.clock == nil {
		a.clock = platform.SystemClock{}
	}
	if a.leeway == 0 {
		a.leeway = DefaultLeeway
	}
	if o.Issuer == "" || len(o.Audiences) == 0 || slices.Contains(o.Audiences, "") {
		return nil, errors.New("authenticator: issuer and audience are required")
	}
	if o.HMACKey != nil {
		if len(o.HMACKey) < 16 {
			return nil, errors.New("authenticator: HMAC key shorter than 16 bytes")
		}
		a.hmacKey = append([]byte(nil), o.HMACKey...)
		a.methods = append(a.methods, jwt.SigningMethodHS256.Alg())
	}
	if o.JWKSURL != "" {
		a.jwks = NewJWKS(o.JWKSURL, o.HTTPClient, a.clock)
		a.methods = append(a.methods, jwt.SigningMethodRS256.Alg())
	}
	return a, nil
}

// Verify checks a compact JWT (signature, alg allow-list, iss, aud, exp,
// nbf) and returns its principal. Errors wrap auth.ErrInvalidToken.
func (a *Authenticator) Verify(ctx context.Context, token string) (auth.Principal, error) {
	if len(a.methods) == 0 {
		return auth.Principal{}, fmt.Errorf("%w: no verification key configured", auth.ErrInvalidToken)
	}
	var tc tokenClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods(a.methods), // never "none", never an alg we hold no key for
		jwt.WithIssuer(a.issuer),
		// The audience is checked below, the way the API Gateway JWT
		// authorizer checks it.
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(a.leeway),
		jwt.WithTimeFunc(a.clock.Now),
	)
	_, err := parser.ParseWithClaims(token, &tc, func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case jwt.SigningMethodHS256.Alg():
			return a.hmacKey, nil
		case jwt.SigningMethodRS256.Alg():
			kid, _ := t.Header["kid"].(string)
			return a.jwks.Key(ctx, kid)
		}
		return nil, fmt.Errorf("unexpected alg %s", t.Method.Alg())
	})
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%w: %v", auth.ErrInvalidToken, err)
	}
	if !a.audienceOK(tc) {
		return auth.Principal{}, fmt.Errorf("%w: token has invalid audience", auth.ErrInvalidToken)
	}
	if tc.Subject == "" {
		return auth.Principal{}, fmt.Errorf("%w: token has no sub", auth.ErrInvalidToken)
	}
	if !auth.ValidUserID(tc.Subject) {
		// One subject rule for every group: the sub is the user id of
		// parties, views, customers and entitlements alike.
		return auth.Principal{}, fmt.Errorf("%w: token sub is not a valid user id", auth.ErrInvalidToken)
	}
	name := tc.Name
	if name == "" {
		name = tc.PreferredUsername
	}
	return auth.Principal{Subject: tc.Subject, Name: name, Provider: tc.Issuer, Roles: parseRoles(tc.Roles)}, nil
}

// audienceOK applies the API Gateway JWT authorizer's rule, so that a
// token the gateway accepts on a JWT route is accepted on a public route
// too (where the function verifies it): one of the aud values must be a
// configured audience, or, only when the token has no aud, its client_id
// must be (Amazon Cognito access tokens carry client_id, not aud).
func (a *Authenticator) audienceOK(tc tokenClaims) bool {
	if len(tc.Audience) > 0 {
		return slices.ContainsFunc(tc.Audience, func(aud string) bool { return slices.Contains(a.audiences, aud) })
	}
	return tc.ClientID != "" && slices.Contains(a.audiences, tc.ClientID)
}

// parseRoles accepts the roles claim as a JSON array of strings, or a string
// separated by spaces or commas (also API Gateway's "[a b]" rendering of an
// array claim).
func parseRoles(v any) []string {
	var out []string
	add := func(s string) {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '[' || r == ']' })...)
	}
	switch r := v.(type) {
	case string:
		add(r)
	case []any:
		for _, e := range r {
			if s, ok := e.(string); ok {
				add(s)
			}
		}
	case []string:
		for _, s := range r {
			add(s)
		}
	}
	return out
}
