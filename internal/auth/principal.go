// Package auth is who the caller is and what they may do: the principal (a
// token's subject, name, issuer and roles), the role catalogue, and the
// entitlements (roles granted in the store), with their failures. How a
// bearer token becomes a principal is internal/authn's.
package auth

import "slices"

// Principal is the authenticated caller.
type Principal struct {
	Subject  string   // the token's sub: the user id everywhere (OBP USER_ID)
	Name     string   // display name (name / preferred_username claim)
	Provider string   // the token issuer (OBP user.provider)
	Roles    []string // roles from the token's roles claim
}

// HasTokenRole reports whether the token itself carries role. Stored
// entitlements are checked by Entitlements.HasRole.
func (p Principal) HasTokenRole(role string) bool { return slices.Contains(p.Roles, role) }
