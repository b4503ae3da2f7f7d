package obp

import (
	"net/http"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/view"
)

// Views and permissions: the caller needs the owner view.

// ownerScope loads an administration request (the caller holds the owner
// view). The owner's user object comes from their token: an imported owner
// is recorded by id alone; it shows at once and any change the owner makes
// stores it (in the same write).
func (a *API) ownerScope(r *http.Request) (*account.Scope, error) {
	s, err := a.load(r, account.Request{Admin: true})
	if err != nil {
		return nil, err
	}
	s.ACL = s.ACL.WithUserDetails(view.UserOf(*s.Caller))
	return s, nil
}

// listViews is GET .../views.
func (a *API) listViews(w http.ResponseWriter, r *http.Request) error {
	s, err := a.ownerScope(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewsJSON{Views: s.ACL.AllViews()})
	return nil
}

// viewBody is the body of create/update view. OBP 1.2 writes is_Public in
// requests and is_public in responses; both are accepted.
type viewBody struct {
	Name                    *string  `json:"name"`
	Description             *string  `json:"description"`
	IsPublicRequest         *bool    `json:"is_Public"`
	IsPublic                *bool    `json:"is_public"`
	WhichAliasToUse         *string  `json:"which_alias_to_use"`
	HideMetadataIfAliasUsed *bool    `json:"hide_metadata_if_alias_used"`
	AllowedActions          []string `json:"allowed_actions"`
}

func (b viewBody) spec() view.Spec {
	s := view.Spec{AllowedActions: b.AllowedActions}
	if b.Name != nil {
		s.Name = *b.Name
	}
	if b.Description != nil {
		s.Description = *b.Description
	}
	switch {
	case b.IsPublicRequest != nil:
		s.IsPublic = *b.IsPublicRequest
	case b.IsPublic != nil:
		s.IsPublic = *b.IsPublic
	}
	if b.WhichAliasToUse != nil {
		s.WhichAliasToUse = *b.WhichAliasToUse
	}
	if b.HideMetadataIfAliasUsed != nil {
		s.HideMetadataIfAliasUsed = *b.HideMetadataIfAliasUsed
	}
	return s
}

// patch is the update-view body as a view.Patch: what the body leaves out
// keeps its value; a name must be the view's own (it is not editable, but
// a client may send back the creation body).
func (b viewBody) patch() view.Patch {
	p := view.Patch{Name: b.Name, Description: b.Description, IsPublic: b.IsPublicRequest,
		WhichAliasToUse: b.WhichAliasToUse, HideMetadataIfAliasUsed: b.HideMetadataIfAliasUsed, AllowedActions: b.AllowedActions}
	if p.IsPublic == nil {
		p.IsPublic = b.IsPublic
	}
	return p
}

// viewRequest loads a create/update view request and decodes its body.
func (a *API) viewRequest(w http.ResponseWriter, r *http.Request) (*account.Scope, viewBody, error) {
	s, err := a.ownerScope(r)
	if err != nil {
		return nil, viewBody{}, err
	}
	var body viewBody
	if err := decodeBody(w, r, &body); err != nil {
		return nil, viewBody{}, err
	}
	if body.IsPublic != nil && body.IsPublicRequest != nil && *body.IsPublic != *body.IsPublicRequest {
		return nil, viewBody{}, obperr.InvalidJSON("is_Public and is_public disagree.")
	}
	return s, body, nil
}

// createView is POST .../views (201 with the view).
func (a *API) createView(w http.ResponseWriter, r *http.Request) error {
	s, body, err := a.viewRequest(w, r)
	if err != nil {
		return err
	}
	v, err := a.views.CreateView(r.Context(), s.ACL, body.spec())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// updateView is PUT .../views/VIEW_ID (200 with the view). OBP-API reads
// the body into a record whose fields are all required; the page's own
// example leaves out hide_metadata_if_alias_used, so a field left out keeps
// the view's value instead of resetting it.
func (a *API) updateView(w http.ResponseWriter, r *http.Request) error {
	s, body, err := a.viewRequest(w, r)
	if err != nil {
		return err
	}
	v, err := a.views.PatchView(r.Context(), s.ACL, r.PathValue("VIEW_ID"), body.patch())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// listPermissions is GET .../permissions.
func (a *API) listPermissions(w http.ResponseWriter, r *http.Request) error {
	s, err := a.ownerScope(r)
	if err != nil {
		return err
	}
	out := permissionsJSON{Permissions: make([]permissionJSON, 0, len(s.ACL.Grants))}
	for _, g := range s.ACL.Grants {
		out.Permissions = append(out.Permissions, permissionJSON{User: g.User, Views: nonNilViews(s.ACL.ViewsOf(g.User.ID))})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// userScope loads an administration request on the user of its path
// (USER_ID, validated).
func (a *API) userScope(r *http.Request) (*account.Scope, string, error) {
	s, err := a.ownerScope(r)
	if err != nil {
		return nil, "", err
	}
	uid := r.PathValue("USER_ID")
	if err := view.ValidUserID(uid); err != nil {
		return nil, "", err
	}
	return s, uid, nil
}

// userPermissions is GET .../permissions/USER_ID.
func (a *API) userPermissions(w http.ResponseWriter, r *http.Request) error {
	s, uid, err := a.userScope(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewsJSON{Views: nonNilViews(s.ACL.ViewsOf(uid))})
	return nil
}

// grantee is the user being granted views: the caller's own details when
// they grant themselves, else the id with the default provider.
func grantee(s *account.Scope, uid string) view.User {
	if s.Caller != nil && s.Caller.Subject == uid {
		return view.UserOf(*s.Caller)
	}
	if g, ok := s.ACL.GrantOf(uid); ok {
		return g.User
	}
	return view.User{ID: uid}
}

// grantOne is POST .../permissions/USER_ID/views/VIEW_ID (201 with the view).
func (a *API) grantOne(w http.ResponseWriter, r *http.Request) error {
	s, uid, err := a.userScope(r)
	if err != nil {
		return err
	}
	views, err := a.views.Grant(r.Context(), s.ACL, grantee(s, uid), []string{r.PathValue("VIEW_ID")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, views[0])
	return nil
}

type grantBody struct {
	Views *[]string `json:"views"`
}

// grantSeveral is POST .../permissions/USER_ID/views with {"views": [...]}
// (201 with the views granted).
func (a *API) grantSeveral(w http.ResponseWriter, r *http.Request) error {
	s, uid, err := a.userScope(r)
	if err != nil {
		return err
	}
	var body grantBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Views == nil || len(*body.Views) == 0 {
		return obperr.InvalidJSON("views must list at least one view id.")
	}
	views, err := a.views.Grant(r.Context(), s.ACL, grantee(s, uid), *body.Views)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewsJSON{Views: views})
	return nil
}

// revokeOne is DELETE .../permissions/USER_ID/views/VIEW_ID (204).
func (a *API) revokeOne(w http.ResponseWriter, r *http.Request) error {
	s, uid, err := a.userScope(r)
	if err != nil {
		return err
	}
	if err := a.views.Revoke(r.Context(), s.ACL, uid, r.PathValue("VIEW_ID")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// revokeAll is DELETE .../permissions/USER_ID/views (204).
func (a *API) revokeAll(w http.ResponseWriter, r *http.Request) error {
	s, uid, err := a.userScope(r)
	if err != nil {
		return err
	}
	if err := a.views.RevokeAll(r.Context(), s.ACL, uid); err != nil {
		return err
	}
	noContent(w)
	return nil
}
