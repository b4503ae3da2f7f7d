package customer

import (
	"strings"

	"github.com/openagg/openagg/internal/fault"
)

// Kinds of failure of the customer domain. Each dialect maps them in its
// table (OBP: api/obperr rows_customer.go).
var (
	// ErrBankNotFound: BANK_ID is not a bank of the directory whose access
	// is enabled.
	ErrBankNotFound = fault.New(fault.NotFound, "customer: bank not found")
	// ErrMissingRoles: the caller lacks the roles of the operation; the
	// cause is a *MissingRolesError naming them.
	ErrMissingRoles = fault.New(fault.Forbidden, "customer: missing roles")
	// ErrNumberExists: the customer number is taken at the bank.
	ErrNumberExists = fault.New(fault.Exists, "customer: customer number exists at the bank")
	// ErrUserNotFound: the user named is not one OpenAgg has seen.
	ErrUserNotFound = fault.New(fault.NotFound, "customer: user not found")
	// ErrLinkExists: the user is linked to the customer already.
	ErrLinkExists = fault.New(fault.Exists, "customer: user already linked to the customer")
	// ErrCustomerNotFound: no such customer at the bank.
	ErrCustomerNotFound = fault.New(fault.NotFound, "customer: customer not found")
	// ErrInvalid: a request the domain refuses as such (a value out of
	// bounds, a handle's customer number that is not the customer's).
	ErrInvalid = fault.New(fault.Invalid, "customer: invalid request")
	// ErrConflict: concurrent changes of the same records outlasted the
	// retries.
	ErrConflict = fault.New(fault.Conflict, "customer: changed concurrently")
)

// MissingRolesError names what the caller lacks: any one of the
// alternatives, each a set of roles held together. Only the roles the
// caller does not hold are listed.
type MissingRolesError struct {
	Alternatives [][]string
}

// List reads as OBP writes a requirement: "A and B or C and D".
func (m *MissingRolesError) List() string {
	alts := make([]string, len(m.Alternatives))
	for i, a := range m.Alternatives {
		alts[i] = strings.Join(a, " and ")
	}
	return strings.Join(alts, " or ")
}

func (m *MissingRolesError) Error() string { return "missing roles: " + m.List() }

func missingRoles(alternatives [][]string) error {
	m := &MissingRolesError{Alternatives: alternatives}
	return fault.Wrap(ErrMissingRoles, m, "User is missing one or more roles: %s", m.List())
}
