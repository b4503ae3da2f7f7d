package auth

import (
	"strings"

	"github.com/openagg/openagg/internal/fault"
)

// Failures of authentication (internal/authn reports them) and of roles
// and entitlements. Each dialect maps them (api/aggregation, api/obperr).
var (
	// ErrNoToken: a route that needs a caller got a request without a token.
	ErrNoToken = fault.New(fault.Unauthenticated, "auth: no bearer token")
	// ErrInvalidToken: a token was sent but does not verify (every
	// verification failure wraps it).
	ErrInvalidToken = fault.New(fault.Unauthenticated, "auth: invalid bearer token")
	// ErrNotAllowed: the caller lacks a role the operation needs; the
	// cause is a *MissingRolesError naming the roles.
	ErrNotAllowed = fault.New(fault.Forbidden, "auth: missing role")
	// ErrInvalidRole: a role name that is malformed or not a known role.
	ErrInvalidRole = fault.New(fault.Invalid, "auth: invalid role name")
	// ErrBankRole: a bank role was asked for at every bank (empty bank id).
	ErrBankRole = fault.New(fault.Invalid, "auth: the role is a bank role: a bank id is required")
	// ErrSystemRole: a system role was asked for at one bank.
	ErrSystemRole = fault.New(fault.Invalid, "auth: the role is a system role: the bank id must be empty")
	// ErrInvalidUser: a user id that no identity provider issues (empty,
	// too long, white space or control characters).
	ErrInvalidUser = fault.New(fault.Invalid, "auth: invalid user id")
	// ErrEntitlementExists: the user already holds that role there.
	ErrEntitlementExists = fault.New(fault.Exists, "auth: entitlement already exists")
	// ErrEntitlementNotFound: no entitlement with that id.
	ErrEntitlementNotFound = fault.New(fault.NotFound, "auth: entitlement not found")
	// ErrEntitlementOfOtherUser: the entitlement id exists, but belongs to
	// another user than the one named.
	ErrEntitlementOfOtherUser = fault.New(fault.Invalid, "auth: the entitlement belongs to another user")
)

// MissingRole is the failure of a role check; the message names the roles
// any one of which would do (OBP-20006 lists them). Its cause is a
// *MissingRolesError, so a dialect can list the roles its own way.
func MissingRole(roles ...string) error {
	return fault.Wrap(ErrNotAllowed, &MissingRolesError{Roles: roles}, "missing role: %s", strings.Join(roles, " or "))
}

// MissingRolesError names the roles any one of which the caller lacked.
type MissingRolesError struct {
	Roles []string
}

func (m *MissingRolesError) Error() string {
	return "missing role " + strings.Join(m.Roles, " or ")
}
