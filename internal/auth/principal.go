// Package auth verifies bearer JWTs (locally HS256 with a key in the data
// directory, RS256 against a JWKS URL when configured, or the claims of the
// API Gateway HttpApi JWT authorizer in AWS) and resolves a principal's
// roles from the token's roles claim plus stored entitlements.
package auth

import (
	"context"
	"slices"
)

// Principal is the authenticated caller.
type Principal struct {
	Subject  string   // the token's sub: the user id everywhere (OBP USER_ID)
	Name     string   // display name (name / preferred_username claim)
	Provider string   // the token issuer (OBP user.provider)
	Roles    []string // roles from the token's roles claim
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated principal, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && p.Subject != ""
}

// HasTokenRole reports whether the token itself carries role. Stored
// entitlements are checked by Entitlements.HasRole.
func (p Principal) HasTokenRole(role string) bool { return slices.Contains(p.Roles, role) }
