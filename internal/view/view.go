// Package view holds the views of OBP 1.2 accounts and who was granted them.
//
// A view is a set of can_* flags plus is_public, which_alias_to_use and
// hide_metadata_if_alias_used. Every account has the built-in "owner" view
// (every flag); an owner creates custom views. Users are granted views per
// account; public views need no grant (and cannot be granted).
//
// Storage layout (docs/data-model.md, "OBP 1.2"): everything lives in the
// account partition ACC#<accountID>, so removing a connection (holdings
// deletes whole account partitions) removes views and grants too.
//
//	acl        PK=ACC#<acc> SK=OBP#ACL                                       custom views + grants, versioned
//	grant idx  PK=ACC#<acc> SK=OBP#GRANT#<sub>  GSI1PK=OBP#USER#<sub>#BANK#<bank> GSI1SK=<acc>
//	public idx PK=ACC#<acc> SK=OBP#PUBLIC       GSI1PK=OBP#PUBLIC#BANK#<bank>     GSI1SK=<acc>
//
// The ACL item is the single source of truth; it is written with a version
// condition, in one transaction with the index items derived from it. Index
// items carry the account label and the full definitions of the views they
// list, so "accounts a user can see at a bank" and "public accounts at a
// bank" are one index query each.
package view

import (
	"regexp"
	"strings"

	"github.com/openagg/openagg/internal/fault"
)

// Owner is the id of the built-in view that every account has.
const Owner = "owner"

// Reserved view names/ids: owner is built in; public is how OBP names the
// public view, which custom views may not shadow; permissions is a literal
// segment where VIEW_ID stands (.../ACCOUNT_ID/permissions/USER_ID beats
// .../ACCOUNT_ID/VIEW_ID/account in routing), so a view with that id could
// never be read.
var reserved = []string{Owner, "public", "permissions"}

// Alias choices of which_alias_to_use.
const (
	AliasPublic  = "public"
	AliasPrivate = "private"
	AliasNone    = "none"
)

// View is one view of an account. The JSON form is OBP's view object.
type View struct {
	ID                      string `json:"id"`
	ShortName               string `json:"short_name"`
	Description             string `json:"description"`
	IsPublic                bool   `json:"is_public"`
	WhichAliasToUse         string `json:"which_alias_to_use"`
	HideMetadataIfAliasUsed bool   `json:"hide_metadata_if_alias_used"`
	Permissions
}

// OwnerView is the built-in owner view: every flag, real names.
func OwnerView() View {
	return View{
		ID:              Owner,
		ShortName:       "Owner",
		Description:     "The owner view of the account: everything, and administration of views and permissions.",
		WhichAliasToUse: AliasNone,
		Permissions:     AllPermissions(),
	}
}

// idPattern is OBP's id rule (BANK_ID, VIEW_ID ...): OBP-30111.
var idPattern = regexp.MustCompile(`^[0-9A-Za-z._-]+$`)

// ValidID reports whether s follows OBP's id rule: only 0-9 a-z A-Z - . _
// and shorter than 255 characters.
func ValidID(s string) bool { return len(s) < 255 && idPattern.MatchString(s) }

// IDFromName derives a view id from its name the way OBP-API does:
// lower-case, spaces replaced by underscores.
func IDFromName(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), " ", "_")
}

// Spec is the body of "create a view" / "update a view" after decoding.
type Spec struct {
	Name                    string
	Description             string
	IsPublic                bool
	WhichAliasToUse         string
	HideMetadataIfAliasUsed bool
	AllowedActions          []string
}

// Limits on view fields (OBP-20010).
const (
	maxNameLen        = 100
	maxDescriptionLen = 1000
)

// build validates spec and returns the view with id (create: derived from
// the name; update: the existing id and name).
func (s Spec) build(id, name string) (View, error) {
	if len(s.Description) > maxDescriptionLen {
		return View{}, fault.Errorf(ErrTooLong, "Value too long: description is limited to %d characters.", maxDescriptionLen)
	}
	alias := s.WhichAliasToUse
	switch alias {
	case "":
		alias = AliasNone // OBP 1.2: "" means no alias
	case AliasPublic, AliasPrivate, AliasNone:
	default:
		return View{}, fault.Errorf(ErrNotAllowedValue, "Allowed values are: public, private, none (which_alias_to_use).")
	}
	perms, err := PermissionsFromActions(s.AllowedActions)
	if err != nil {
		return View{}, err
	}
	return View{
		ID:                      id,
		ShortName:               name,
		Description:             s.Description,
		IsPublic:                s.IsPublic,
		WhichAliasToUse:         alias,
		HideMetadataIfAliasUsed: s.HideMetadataIfAliasUsed,
		Permissions:             perms,
	}, nil
}

// Patch is an update of a custom view (OBP 1.2 "Update a view"): the fields
// it sets replace the view's, nil ones keep the view's value, so a client
// that leaves out is_public or allowed_actions does not silently turn a
// public view private and blind.
type Patch struct {
	// Name is not editable: when present it must be the view's name.
	Name                    *string
	Description             *string
	IsPublic                *bool
	WhichAliasToUse         *string
	HideMetadataIfAliasUsed *bool
	// AllowedActions replaces every flag (listed: true, others: false);
	// nil keeps the view's flags.
	AllowedActions []string
}

// apply returns the spec of cur changed by p.
func (p Patch) apply(cur View) (Spec, error) {
	if p.Name != nil && strings.TrimSpace(*p.Name) != cur.ShortName {
		return Spec{}, fault.Errorf(ErrInvalid, "the name of a view cannot be changed (it is only set when the view is created).")
	}
	s := Spec{Name: cur.ShortName, Description: cur.Description, IsPublic: cur.IsPublic,
		WhichAliasToUse: cur.WhichAliasToUse, HideMetadataIfAliasUsed: cur.HideMetadataIfAliasUsed,
		AllowedActions: cur.Actions()}
	if p.Description != nil {
		s.Description = *p.Description
	}
	if p.IsPublic != nil {
		s.IsPublic = *p.IsPublic
	}
	if p.WhichAliasToUse != nil {
		s.WhichAliasToUse = *p.WhichAliasToUse
	}
	if p.HideMetadataIfAliasUsed != nil {
		s.HideMetadataIfAliasUsed = *p.HideMetadataIfAliasUsed
	}
	if p.AllowedActions != nil {
		s.AllowedActions = p.AllowedActions
	}
	return s, nil
}

// NewView validates a create-view spec.
func NewView(s Spec) (View, error) {
	name := strings.TrimSpace(s.Name)
	if name == "" {
		return View{}, fault.Errorf(ErrInvalid, "name is required.")
	}
	if len(name) > maxNameLen {
		return View{}, fault.Errorf(ErrTooLong, "Value too long: name is limited to %d characters.", maxNameLen)
	}
	id := IDFromName(name)
	if !ValidID(id) {
		return View{}, fault.Errorf(ErrInvalidCharacters, "Value contains invalid characters: a view name may contain only letters, digits, spaces, '-', '.' and '_'.")
	}
	for _, r := range reserved {
		if id == r {
			return View{}, fault.Errorf(ErrSystemView, "System Views can not be modified. The view name %q is reserved.", name)
		}
	}
	return s.build(id, name)
}
