package view

import (
	"strings"

	"github.com/openagg/openagg/internal/fault"
)

// Kinds of failure of views and grants (api/obperr maps them to OBP codes).
// Messages are complete sentences, except where a kind says otherwise.
var (
	// ErrNotFound: the account has no view with that id.
	ErrNotFound = fault.New(fault.NotFound, "view: not found")
	// ErrLoginRequired: the view is not public and the caller is anonymous.
	ErrLoginRequired = fault.New(fault.Unauthenticated, "view: login required")
	// ErrNoAccess: the caller was not granted the view.
	ErrNoAccess = fault.New(fault.Forbidden, "view: no access")
	// ErrNotOwner: administration needs the owner view.
	ErrNotOwner = fault.New(fault.Forbidden, "view: owner view required")
	// ErrNoPermission: the view does not allow an action; the message is
	// the action's name (can_add_comment).
	ErrNoPermission = fault.New(fault.Forbidden, "view: action not permitted")
	// ErrInvalid: a view definition or request is malformed; the message
	// says what is wrong ("name is required.").
	ErrInvalid = fault.New(fault.Invalid, "view: invalid")
	// ErrNotAllowedValue: a field holds a value outside its allowed set.
	ErrNotAllowedValue = fault.New(fault.Invalid, "view: value not allowed")
	// ErrTooLong: a field is longer than allowed.
	ErrTooLong = fault.New(fault.Invalid, "view: value too long")
	// ErrInvalidCharacters: a name or user id has characters ids cannot.
	ErrInvalidCharacters = fault.New(fault.Invalid, "view: invalid characters")
	// ErrSystemView: the owner view (and the reserved names) cannot be
	// created or changed.
	ErrSystemView = fault.New(fault.Invalid, "view: system view")
	// ErrExists: a view with that id exists.
	ErrExists = fault.New(fault.Exists, "view: already exists")
	// ErrCannotGrant: the grant is not possible (a public view, too many
	// users).
	ErrCannotGrant = fault.New(fault.Invalid, "view: cannot grant")
	// ErrCannotRevoke: the revocation is not possible (a public view, the
	// last owner).
	ErrCannotRevoke = fault.New(fault.Invalid, "view: cannot revoke")
	// ErrGrantNotFound: the user does not hold the view.
	ErrGrantNotFound = fault.New(fault.NotFound, "view: grant not found")
	// ErrConflict: concurrent changes of the ACL outlived the retries.
	ErrConflict = fault.New(fault.Conflict, "view: changed concurrently")
)

func errUnknownActions(names []string) error {
	return fault.Errorf(ErrNotAllowedValue, "Allowed values are: the OBP 1.2 view actions. Unknown allowed_actions: %s", strings.Join(names, ", "))
}

func errActionNeeds(action, gate string) error {
	return fault.Errorf(ErrInvalid, "allowed_actions containing %s must also contain %s.", action, gate)
}
