package obperr

import (
	"errors"
	"net/http"
	"strings"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
)

// authRows: who the caller is and what they may do (internal/auth). A
// missing role lists the roles after OBP-20006's text (missingRoles);
// OBP-10007 names the role that was asked for, which the entitlement
// handler adds (api/customers), so the row keeps the domain's message.
var authRows = map[*fault.Kind]Row{
	auth.ErrNoToken:                {Status: http.StatusUnauthorized, Code: CodeNotLoggedIn, Text: TextNotLoggedIn, Detail: true},
	auth.ErrInvalidToken:           {Status: http.StatusUnauthorized, Code: CodeNotLoggedIn, Text: TextNotLoggedIn, Detail: true},
	auth.ErrNotAllowed:             {Status: http.StatusForbidden, Code: CodeMissingRoles, Text: TextMissingRoles, Detail: true},
	auth.ErrInvalidRole:            {Status: http.StatusBadRequest, Code: CodeIncorrectRoleName, Text: TextIncorrectRoleName, Detail: true},
	auth.ErrBankRole:               {Status: http.StatusBadRequest, Code: CodeBankRole, Text: TextBankRole},
	auth.ErrSystemRole:             {Status: http.StatusBadRequest, Code: CodeSystemRole, Text: TextSystemRole},
	auth.ErrInvalidUser:            {Status: http.StatusNotFound, Code: CodeUserNotFound, Text: TextUserNotFound},
	auth.ErrEntitlementExists:      {Status: http.StatusBadRequest, Code: CodeEntitlementExists, Text: TextEntitlementExists},
	auth.ErrEntitlementNotFound:    {Status: http.StatusNotFound, Code: CodeEntitlementMissing, Text: TextEntitlementMissing},
	auth.ErrEntitlementOfOtherUser: {Status: http.StatusBadRequest, Code: CodeNotUsersEntitlement, Text: TextNotUsersEntitlement},
}

// missingRoles is the detail of OBP-20006: the roles any one of which
// would do, as OBP lists them ("A or B"), when the failure names them.
func missingRoles(err error) (string, bool) {
	var missing *auth.MissingRolesError
	if !errors.As(err, &missing) {
		return "", false
	}
	return strings.Join(missing.Roles, " or "), true
}
