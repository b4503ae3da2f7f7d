package obperr

import (
	"errors"
	"net/http"
	"strings"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/platform"
)

// authRow maps internal/auth's failures. They are not fault kinds yet:
// *platform.Error values with auth's own codes (INVALID_TOKEN,
// UNAUTHENTICATED from auth.Require; MISSING_ROLE from auth.MissingRole,
// whose cause is an *auth.MissingRolesError; INVALID_ROLE, BANK_ROLE,
// SYSTEM_ROLE, INVALID_USER, ENTITLEMENT_EXISTS, ENTITLEMENT_NOT_FOUND,
// ENTITLEMENT_OF_OTHER_USER wrapping auth's sentinels). Once auth declares
// kinds, these become rows like the other domains'. auth.ErrInvalidRole is
// not here: OBP names the role that was asked for, which only the handler
// knows (api/customers).
func authRow(err error) (row Row, message string, ok bool) {
	var missing *auth.MissingRolesError
	switch {
	case errors.As(err, &missing):
		return Row{Status: http.StatusForbidden, Code: CodeMissingRoles, Text: TextMissingRoles, Detail: true}, strings.Join(missing.Roles, " or "), true
	case errors.Is(err, auth.ErrBankRole):
		return Row{Status: http.StatusBadRequest, Code: CodeBankRole, Text: TextBankRole}, "", true
	case errors.Is(err, auth.ErrSystemRole):
		return Row{Status: http.StatusBadRequest, Code: CodeSystemRole, Text: TextSystemRole}, "", true
	case errors.Is(err, auth.ErrInvalidUser):
		return Row{Status: http.StatusNotFound, Code: CodeUserNotFound, Text: TextUserNotFound}, "", true
	case errors.Is(err, auth.ErrEntitlementExists):
		return Row{Status: http.StatusBadRequest, Code: CodeEntitlementExists, Text: TextEntitlementExists}, "", true
	case errors.Is(err, auth.ErrEntitlementNotFound):
		return Row{Status: http.StatusNotFound, Code: CodeEntitlementMissing, Text: TextEntitlementMissing}, "", true
	case errors.Is(err, auth.ErrEntitlementOfOtherUser):
		return Row{Status: http.StatusBadRequest, Code: CodeNotUsersEntitlement, Text: TextNotUsersEntitlement}, "", true
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrNoToken):
		// auth.Require's 401s: OBP's text, then auth's message.
		return Row{Status: http.StatusUnauthorized, Code: CodeNotLoggedIn, Text: TextNotLoggedIn, Detail: true}, platform.AsError(err).Message, true
	}
	return Row{}, "", false
}
