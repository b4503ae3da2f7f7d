package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Roles that manage entitlements (OBP names).
const (
	RoleCanCreateEntitlementAtAnyBank = "CanCreateEntitlementAtAnyBank"
	RoleCanCreateEntitlementAtOneBank = "CanCreateEntitlementAtOneBank"
	RoleCanDeleteEntitlementAtAnyBank = "CanDeleteEntitlementAtAnyBank"
	RoleCanGetEntitlementsForAnyUser  = "CanGetEntitlementsForAnyUserAtAnyBank"
)

// Errors of entitlement management; they come wrapped in a *platform.Error.
var (
	ErrNotAllowed          = errors.New("auth: not allowed to manage this entitlement")
	ErrEntitlementExists   = errors.New("auth: entitlement already exists")
	ErrEntitlementNotFound = errors.New("auth: entitlement not found")
	ErrInvalidRole         = errors.New("auth: invalid role name")
)

// Entitlement is a stored role grant: Role at BankID, or at any bank when
// BankID is empty (OBP semantics).
type Entitlement struct {
	ID        string    `json:"entitlement_id"`
	UserID    string    `json:"user_id"`
	BankID    string    `json:"bank_id"`
	Role      string    `json:"role_name"`
	GrantedBy string    `json:"granted_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Entitlements stores role grants in the table:
//
//	PK USER#<sub>  SK ROLE#<role>#<bankID>   (bankID empty = any bank)
//
// so "does sub hold role at bank" is one Get (or one BatchGet for "at this
// bank or at any bank") and "list sub's roles" is one partition query.
type Entitlements struct {
	Store       store.Store
	SuperAdmins []string // subjects that may grant and revoke any role
	Clock       platform.Clock
}

// UserPK is the partition of a user's records.
func UserPK(sub string) string { return "USER#" + sub }

// roleSK is the sort key of an entitlement.
func roleSK(role, bankID string) string { return "ROLE#" + role + "#" + bankID }

const rolePrefix = "ROLE#"

// IsSuperAdmin reports whether p is configured as a super admin.
func (e *Entitlements) IsSuperAdmin(p Principal) bool {
	return p.Subject != "" && slices.Contains(e.SuperAdmins, p.Subject)
}

// HasRole reports whether p holds role at any bank: from the token's roles
// (no store call), else from one stored-entitlement Get.
func (e *Entitlements) HasRole(ctx context.Context, p Principal, role string) (bool, error) {
	if p.Subject == "" {
		return false, nil
	}
	if p.HasTokenRole(role) {
		return true, nil
	}
	_, err := e.Store.Get(ctx, store.Key{PK: UserPK(p.Subject), SK: roleSK(role, "")})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("check role %s of %s: %w", role, p.Subject, err)
}

// HasBankRole reports whether p holds role at bankID or at any bank: token
// roles first, then one BatchGet of both grants.
func (e *Entitlements) HasBankRole(ctx context.Context, p Principal, bankID, role string) (bool, error) {
	if bankID == "" {
		return e.HasRole(ctx, p, role)
	}
	if p.Subject == "" {
		return false, nil
	}
	if p.HasTokenRole(role) {
		return true, nil
	}
	items, err := e.Store.BatchGet(ctx, []store.Key{
		{PK: UserPK(p.Subject), SK: roleSK(role, "")},
		{PK: UserPK(p.Subject), SK: roleSK(role, bankID)},
	})
	if err != nil {
		return false, fmt.Errorf("check role %s of %s at %s: %w", role, p.Subject, bankID, err)
	}
	return len(items) > 0, nil
}

// MissingRole is the 403 a group returns when a role check fails; the
// message names the role (OBP-20006 lists the missing roles).
func MissingRole(roles ...string) *platform.Error {
	return &platform.Error{Status: http.StatusForbidden, Code: "MISSING_ROLE",
		Message: "missing role: " + strings.Join(roles, " or "), Err: ErrNotAllowed}
}

// canManage: super admins, holders of CanCreateEntitlementAtAnyBank, or for
// a bank-scoped grant, holders of CanCreateEntitlementAtOneBank at that bank.
func (e *Entitlements) canManage(ctx context.Context, granter Principal, bankID string, anyRole, oneRole string) (bool, error) {
	if e.IsSuperAdmin(granter) {
		return true, nil
	}
	ok, err := e.HasRole(ctx, granter, anyRole)
	if err != nil || ok {
		return ok, err
	}
	if bankID == "" || oneRole == "" {
		return false, nil
	}
	return e.HasBankRole(ctx, granter, bankID, oneRole)
}

func validRole(role string) bool {
	if role == "" || len(role) > 100 {
		return false
	}
	return strings.IndexFunc(role, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0
}

// Grant gives sub the role at bankID (empty = any bank). The granter must
// be a super admin or hold CanCreateEntitlementAtAnyBank (or
// CanCreateEntitlementAtOneBank for that bank). A duplicate grant fails with
// ErrEntitlementExists (409) through a conditional put: no read-then-write.
func (e *Entitlements) Grant(ctx context.Context, granter Principal, sub, bankID, role string) (Entitlement, error) {
	if !validRole(role) {
		return Entitlement{}, &platform.Error{Status: http.StatusBadRequest, Code: "INVALID_ROLE", Message: fmt.Sprintf("invalid role name %q", role), Err: ErrInvalidRole}
	}
	if sub == "" {
		return Entitlement{}, platform.BadRequest("INVALID_USER", "user id is required")
	}
	ok, err := e.canManage(ctx, granter, bankID, RoleCanCreateEntitlementAtAnyBank, RoleCanCreateEntitlementAtOneBank)
	if err != nil {
		return Entitlement{}, fmt.Errorf("grant %s to %s: %w", role, sub, err)
	}
	if !ok {
		return Entitlement{}, MissingRole(RoleCanCreateEntitlementAtAnyBank, RoleCanCreateEntitlementAtOneBank)
	}
	clock := e.Clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	ent := Entitlement{ID: platform.NewUUID(), UserID: sub, BankID: bankID, Role: role, GrantedBy: granter.Subject, CreatedAt: clock.Now().UTC()}
	data, err := json.Marshal(ent)
	if err != nil {
		return Entitlement{}, fmt.Errorf("encode entitlement: %w", err)
	}
	err = e.Store.Put(ctx, store.Item{PK: UserPK(sub), SK: roleSK(role, bankID), Data: data}, store.IfNotExists())
	if errors.Is(err, store.ErrConditionFailed) {
		return Entitlement{}, &platform.Error{Status: http.StatusConflict, Code: "ENTITLEMENT_EXISTS",
			Message: fmt.Sprintf("user %s already has role %s at bank %q", sub, role, bankID), Err: ErrEntitlementExists}
	}
	if err != nil {
		return Entitlement{}, fmt.Errorf("grant %s to %s: %w", role, sub, err)
	}
	return ent, nil
}

// List returns sub's stored entitlements (token roles are not included),
// ordered by role then bank. One partition query per 1000 grants.
func (e *Entitlements) List(ctx context.Context, sub string) ([]Entitlement, error) {
	var out []Entitlement
	q := store.Query{PK: UserPK(sub), SKPrefix: rolePrefix}
	for {
		page, err := e.Store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list entitlements of %s: %w", sub, err)
		}
		for _, it := range page.Items {
			var ent Entitlement
			if err := json.Unmarshal(it.Data, &ent); err != nil {
				return nil, fmt.Errorf("decode entitlement %s|%s: %w", it.PK, it.SK, err)
			}
			out = append(out, ent)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// Revoke deletes sub's entitlement with id. The revoker must be a super
// admin or hold CanDeleteEntitlementAtAnyBank (or CanCreateEntitlementAtAnyBank).
func (e *Entitlements) Revoke(ctx context.Context, revoker Principal, sub, id string) error {
	ents, err := e.List(ctx, sub)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ents, func(x Entitlement) bool { return x.ID == id })
	if i < 0 {
		return &platform.Error{Status: http.StatusNotFound, Code: "ENTITLEMENT_NOT_FOUND",
			Message: fmt.Sprintf("entitlement %s of user %s not found", id, sub), Err: ErrEntitlementNotFound}
	}
	ent := ents[i]
	ok, err := e.canManage(ctx, revoker, ent.BankID, RoleCanDeleteEntitlementAtAnyBank, "")
	if err == nil && !ok {
		ok, err = e.HasRole(ctx, revoker, RoleCanCreateEntitlementAtAnyBank)
	}
	if err != nil {
		return fmt.Errorf("revoke %s of %s: %w", id, sub, err)
	}
	if !ok {
		return MissingRole(RoleCanDeleteEntitlementAtAnyBank)
	}
	if err := e.Store.Delete(ctx, store.Key{PK: UserPK(sub), SK: roleSK(ent.Role, ent.BankID)}, store.Condition{}); err != nil {
		return fmt.Errorf("revoke %s of %s: %w", id, sub, err)
	}
	return nil
}
