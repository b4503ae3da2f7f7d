package customers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

// SuperAdminRole is the pseudo role OBP-API appends to the list of a
// super admin's entitlements (empty entitlement and bank ids).
const SuperAdminRole = "SuperAdmin"

// EntitlementJSON is OBP 2.0.0's entitlement.
type EntitlementJSON struct {
	EntitlementID string `json:"entitlement_id"`
	RoleName      string `json:"role_name"`
	BankID        string `json:"bank_id"`
}

// EntitlementsJSON is OBP 2.0.0's list of entitlements.
type EntitlementsJSON struct {
	List []EntitlementJSON `json:"list"`
}

// createEntitlementJSON is the body of addEntitlement. OBP-API requires
// both fields (an empty bank_id for a system role).
type createEntitlementJSON struct {
	BankID   *string `json:"bank_id"`
	RoleName *string `json:"role_name"`
}

func toJSON(e auth.Entitlement) EntitlementJSON {
	return EntitlementJSON{EntitlementID: e.ID, RoleName: e.Role, BankID: e.BankID}
}

// userRequest reads the caller (401 OBP-20001 first), then USER_ID: a
// token's sub. OpenAgg keeps no user registry, so an id no identity
// provider issues is the only user it can tell is not found (OBP-20005).
func userRequest(r *http.Request) (auth.Principal, string, error) {
	p, err := user(r.Context())
	if err != nil {
		return auth.Principal{}, "", err
	}
	id := r.PathValue("USER_ID")
	if !auth.ValidUserID(id) {
		return auth.Principal{}, "", platform.NotFound(obperr.CodeUserNotFound, "%s", obperr.TextUserNotFound)
	}
	return p, id, nil
}

// addEntitlement: POST /users/USER_ID/entitlements, body {"bank_id",
// "role_name"} → 201 the entitlement. OBP-API's order of checks: login,
// user, JSON, role name (OBP-10007), bank or system role (OBP-30205/6),
// the caller's right (super admin, CanCreateEntitlementAtAnyBank, or
// CanCreateEntitlementAtOneBank at that bank: OBP-20006), the bank
// (OBP-30001), a duplicate (OBP-30216).
func (a *API) addEntitlement(w http.ResponseWriter, r *http.Request) error {
	p, sub, err := userRequest(r)
	if err != nil {
		return err
	}
	bankID, role, err := entitlementBody(w, r)
	if err != nil {
		return err
	}
	ent, err := a.ents.GrantKnown(r.Context(), p, sub, bankID, role, a.bankExists)
	if err != nil {
		return obpError(err, role)
	}
	platform.WriteJSON(w, http.StatusCreated, toJSON(ent))
	return nil
}

// entitlementBody decodes a CreateEntitlementJSON: both fields required
// (the role and the bank are the domain's checks).
func entitlementBody(w http.ResponseWriter, r *http.Request) (bankID, role string, err error) {
	var body createEntitlementJSON
	if err := obperr.DecodeJSON(w, r, &body); err != nil {
		return "", "", err
	}
	if body.BankID == nil || body.RoleName == nil {
		return "", "", obperr.InvalidJSON("The Json body should be the CreateEntitlementJSON: bank_id and role_name are required.")
	}
	return *body.BankID, *body.RoleName, nil
}

// bankExists answers OBP-30001 for a BANK_ID that is not a bank.
func (a *API) bankExists(ctx context.Context, bankID string) error {
	ok, err := a.banks.Exists(ctx, bankID)
	if err != nil {
		return fmt.Errorf("check bank %s: %w", bankID, err)
	}
	if !ok {
		return fault.Errorf(bank.ErrNotFound, "No bank %q with access enabled.", platform.Truncate(bankID, 64))
	}
	return nil
}

// getEntitlements: GET /users/USER_ID/entitlements → 200 {"list": [...]},
// for the user themself, a super admin, or a holder of
// CanGetEntitlementsForAnyUserAtAnyBank. Stored entitlements only (roles in
// a token's claim are the identity provider's); a super admin's list ends
// with OBP-API's {"entitlement_id":"","role_name":"SuperAdmin","bank_id":""}.
func (a *API) getEntitlements(w http.ResponseWriter, r *http.Request) error {
	p, sub, err := userRequest(r)
	if err != nil {
		return err
	}
	ents, err := a.ents.ListFor(r.Context(), p, sub)
	if err != nil {
		return obpError(err, "")
	}
	out := EntitlementsJSON{List: make([]EntitlementJSON, 0, len(ents)+1)}
	for _, e := range ents {
		out.List = append(out.List, toJSON(e))
	}
	if a.ents.IsSuperAdmin(auth.Principal{Subject: sub}) {
		out.List = append(out.List, EntitlementJSON{RoleName: SuperAdminRole})
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteEntitlement: DELETE /users/USER_ID/entitlement/ENTITLEMENT_ID →
// 204, for a super admin or a holder of CanDeleteEntitlementAtAnyBank
// (OBP-20006, checked first); an unknown id is 404 OBP-30212, another
// user's 400 OBP-30213.
func (a *API) deleteEntitlement(w http.ResponseWriter, r *http.Request) error {
	p, sub, err := userRequest(r)
	if err != nil {
		return err
	}
	if err := a.ents.Revoke(r.Context(), p, sub, r.PathValue("ENTITLEMENT_ID")); err != nil {
		return obpError(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// obpError adds to internal/auth's errors what only the handler knows:
// the role name that was asked for (OBP-10007 names it). Every other error
// passes as is: api/obperr maps auth's errors and the domains' kinds.
func obpError(err error, role string) error {
	if errors.Is(err, auth.ErrInvalidRole) {
		return &platform.Error{Status: http.StatusBadRequest, Code: obperr.CodeIncorrectRoleName,
			Message: fmt.Sprintf("%s %s. Possible roles are %s", obperr.TextIncorrectRoleName, clip(role, 100), strings.Join(auth.RoleNames(), ", ")), Err: err}
	}
	return err
}

// clip shortens s to at most n bytes (whole runes) for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
