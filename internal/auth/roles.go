package auth

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

// Roles of the OBP customers operations (shared/contracts/obp2-customers.md).
// The packages that check a role name it themselves (bank.RoleManageDirectory,
// party.RoleManageParties); every role any package checks is in Roles.
const (
	RoleCanCreateCustomer                  = "CanCreateCustomer"
	RoleCanCreateCustomerAtAnyBank         = "CanCreateCustomerAtAnyBank"
	RoleCanCreateUserCustomerLink          = "CanCreateUserCustomerLink"
	RoleCanCreateUserCustomerLinkAtAnyBank = "CanCreateUserCustomerLinkAtAnyBank"
	RoleCanAddSocialMediaHandle            = "CanAddSocialMediaHandle"
	RoleCanGetSocialMediaHandles           = "CanGetSocialMediaHandles"
)

// Role is a role that can be granted as a stored entitlement. OBP
// semantics: a bank role (BankLevel) is granted at one bank, a system role
// at every bank (empty bank id).
type Role struct {
	Name      string
	BankLevel bool
}

// Roles lists the roles OpenAgg knows, by name: those its groups check
// (directory and party management, entitlement management) and those of
// the OBP customers operations. A grant of any other name is refused, as
// OBP-API refuses a role it does not define; OBP's scopes are kept (its
// ApiRole requiresBankId).
func Roles() []Role {
	return []Role{
		{Name: RoleCanAddSocialMediaHandle, BankLevel: true},
		{Name: RoleCanCreateCustomer, BankLevel: true},
		{Name: RoleCanCreateCustomerAtAnyBank},
		{Name: RoleCanCreateEntitlementAtAnyBank},
		{Name: RoleCanCreateEntitlementAtOneBank, BankLevel: true},
		{Name: RoleCanCreateUserCustomerLink, BankLevel: true},
		{Name: RoleCanCreateUserCustomerLinkAtAnyBank},
		{Name: RoleCanDeleteEntitlementAtAnyBank},
		{Name: "CanGetCustomersAtAnyBank"},                  // customer.RoleGetCustomersAtAnyBank
		{Name: "CanGetCustomersAtOneBank", BankLevel: true}, // customer.RoleGetCustomersAtOneBank
		{Name: RoleCanGetEntitlementsForAnyUser},
		{Name: RoleCanGetSocialMediaHandles, BankLevel: true},
		{Name: "CanManageBankDirectory"}, // bank.RoleManageDirectory
		{Name: "CanManageParties"},       // party.RoleManageParties
		{Name: "CanManageWebhooks"},      // webhook.RoleManage
	}
}

// RoleNames lists the names of Roles, sorted.
func RoleNames() []string {
	rs := Roles()
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	slices.Sort(names)
	return names
}

// LookupRole returns the known role with that name.
func LookupRole(name string) (Role, bool) {
	for _, r := range Roles() {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// CheckRole says whether role may be granted at bankID: the role must be
// known (ErrInvalidRole), a bank role needs a bank (ErrBankRole), a system
// role takes none (ErrSystemRole).
func CheckRole(role, bankID string) error {
	r, ok := LookupRole(role)
	switch {
	case !ok:
		return fault.Errorf(ErrInvalidRole, "unknown role name %q; known roles: %s", platform.Truncate(role, 100), strings.Join(RoleNames(), ", "))
	case r.BankLevel && bankID == "":
		return fault.Errorf(ErrBankRole, "%s is granted at one bank: set bank_id", role)
	case !r.BankLevel && bankID != "":
		return fault.Errorf(ErrSystemRole, "%s is granted at every bank: set bank_id to an empty string", role)
	}
	return nil
}

// MaxUserIDLen bounds a user id (a token's sub).
const MaxUserIDLen = 255

// ValidUserID reports whether id can be a user id (a token's sub): 1 to
// MaxUserIDLen bytes of UTF-8 without white space, control characters or
// '#' (the separator of the store's keys). It is the one subject rule: a
// token whose sub breaks it is refused (internal/authn), so every group
// sees only user ids it can take.
// OpenAgg keeps no user registry (users live in the identity provider), so
// this is all it can check about a USER_ID.
func ValidUserID(id string) bool {
	if id == "" || len(id) > MaxUserIDLen || !utf8.ValidString(id) {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '#' }) < 0
}

func invalidUser(id string) error {
	return fault.Errorf(ErrInvalidUser, "user id %q is not 1 to %d characters without white space, control characters or '#'", platform.Truncate(id, 64), MaxUserIDLen)
}
