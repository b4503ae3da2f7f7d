package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/fault"
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
//	GSI1PK ENTITLEMENT#<entitlementID>  GSI1SK ENTITLEMENT
//
// so "does sub hold role at bank" is one Get (or one BatchGet for "at this
// bank or at any bank") and "list sub's roles" is one partition query. The
// index entry only tells a revoke that an id unknown in the named user's
// partition belongs to another user (OBP answers that apart).
type Entitlements struct {
	store       store.Store
	superAdmins []string
	clock       platform.Clock
}

// EntitlementsDeps are the dependencies and settings of Entitlements.
type EntitlementsDeps struct {
	Store       store.Store
	SuperAdmins []string       // subjects that may grant and revoke any role
	Clock       platform.Clock // default the system clock
}

// NewEntitlements builds Entitlements.
func NewEntitlements(d EntitlementsDeps) *Entitlements {
	return &Entitlements{store: d.Store, superAdmins: d.SuperAdmins, clock: d.Clock}
}

// UserPK is the partition of a user's records.
func UserPK(sub string) string { return "USER#" + sub }

// roleSK is the sort key of an entitlement.
func roleSK(role, bankID string) string { return "ROLE#" + role + "#" + bankID }

const rolePrefix = "ROLE#"

// entitlementGSI1PK indexes an entitlement by its id.
func entitlementGSI1PK(id string) string { return "ENTITLEMENT#" + id }

const entitlementGSI1SK = "ENTITLEMENT"

// IsSuperAdmin reports whether p is configured as a super admin.
func (e *Entitlements) IsSuperAdmin(p Principal) bool {
	return p.Subject != "" && slices.Contains(e.superAdmins, p.Subject)
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
	_, err := e.store.Get(ctx, store.Key{PK: UserPK(p.Subject), SK: roleSK(role, "")})
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
	items, err := e.store.BatchGet(ctx, []store.Key{
		{PK: UserPK(p.Subject), SK: roleSK(role, "")},
		{PK: UserPK(p.Subject), SK: roleSK(role, bankID)},
	})
	if err != nil {
		return false, fmt.Errorf("check role %s of %s at %s: %w", role, p.Subject, bankID, err)
	}
	return len(items) > 0, nil
}

// canManage: super admins, holders of anyRole, or for a bank-scoped grant,
// holders of oneRole at that bank (or at any bank). Token roles cost
// nothing; the stored ones are one Get, or one BatchGet when oneRole counts.
func (e *Entitlements) canManage(ctx context.Context, granter Principal, bankID string, anyRole, oneRole string) (bool, error) {
	if e.IsSuperAdmin(granter) {
		return true, nil
	}
	if bankID == "" || oneRole == "" {
		return e.HasRole(ctx, granter, anyRole)
	}
	if granter.Subject == "" {
		return false, nil
	}
	if granter.HasTokenRole(anyRole) || granter.HasTokenRole(oneRole) {
		return true, nil
	}
	pk := UserPK(granter.Subject)
	items, err := e.store.BatchGet(ctx, []store.Key{
		{PK: pk, SK: roleSK(anyRole, "")},
		{PK: pk, SK: roleSK(oneRole, "")},
		{PK: pk, SK: roleSK(oneRole, bankID)},
	})
	if err != nil {
		return false, fmt.Errorf("check roles %s, %s of %s at %s: %w", anyRole, oneRole, granter.Subject, bankID, err)
	}
	return len(items) > 0, nil
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
// Any well-formed role name is accepted; GrantKnown takes only Roles.
func (e *Entitlements) Grant(ctx context.Context, granter Principal, sub, bankID, role string) (Entitlement, error) {
	if !validRole(role) {
		return Entitlement{}, fault.Errorf(ErrInvalidRole, "invalid role name %q", role)
	}
	if sub == "" {
		return Entitlement{}, fault.Errorf(ErrInvalidUser, "user id is required")
	}
	return e.grant(ctx, granter, sub, bankID, role, nil)
}

// BankCheck says whether bankID names a bank: nil, or the error to answer
// (a bank that is not found).
type BankCheck func(ctx context.Context, bankID string) error

// GrantKnown is Grant of a known role in its scope (CheckRole) to a
// well-formed user id (ValidUserID), checked in OBP-API's order: role
// name, scope, the granter's right, the bank (bank, when bankID is not
// empty), then the write. Nothing is written when a check fails. Store
// calls: a BatchGet for a granter whose right is a stored entitlement (a Get
// for a system role), bank's, and the conditional Put.
func (e *Entitlements) GrantKnown(ctx context.Context, granter Principal, sub, bankID, role string, bank BankCheck) (Entitlement, error) {
	if err := CheckRole(role, bankID); err != nil {
		return Entitlement{}, err
	}
	if !ValidUserID(sub) {
		return Entitlement{}, invalidUser(sub)
	}
	return e.grant(ctx, granter, sub, bankID, role, bank)
}

func (e *Entitlements) grant(ctx context.Context, granter Principal, sub, bankID, role string, bank BankCheck) (Entitlement, error) {
	ok, err := e.canManage(ctx, granter, bankID, RoleCanCreateEntitlementAtAnyBank, RoleCanCreateEntitlementAtOneBank)
	if err != nil {
		return Entitlement{}, fmt.Errorf("grant %s to %s: %w", role, sub, err)
	}
	if !ok {
		return Entitlement{}, MissingRole(RoleCanCreateEntitlementAtAnyBank, RoleCanCreateEntitlementAtOneBank)
	}
	if bankID != "" && bank != nil {
		if err := bank(ctx, bankID); err != nil {
			return Entitlement{}, err
		}
	}
	clock := e.clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	ent := Entitlement{ID: platform.NewUUID(), UserID: sub, BankID: bankID, Role: role, GrantedBy: granter.Subject, CreatedAt: clock.Now().UTC()}
	data, err := json.Marshal(ent)
	if err != nil {
		return Entitlement{}, fmt.Errorf("encode entitlement: %w", err)
	}
	it := store.Item{PK: UserPK(sub), SK: roleSK(role, bankID), GSI1PK: entitlementGSI1PK(ent.ID), GSI1SK: entitlementGSI1SK, Data: data}
	err = e.store.Put(ctx, it, store.IfNotExists())
	if errors.Is(err, store.ErrConditionFailed) {
		return Entitlement{}, fault.Wrap(ErrEntitlementExists, err, "user %s already has role %s at bank %q", sub, role, bankID)
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
		page, err := e.store.Query(ctx, q)
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

// ListFor is List for reader: sub themself, a super admin, or a holder of
// CanGetEntitlementsForAnyUserAtAnyBank (else MissingRole). Store calls:
// the partition query, plus one Get for a reader whose right is a stored
// entitlement.
func (e *Entitlements) ListFor(ctx context.Context, reader Principal, sub string) ([]Entitlement, error) {
	if reader.Subject == "" || reader.Subject != sub && !e.IsSuperAdmin(reader) {
		ok, err := e.HasRole(ctx, reader, RoleCanGetEntitlementsForAnyUser)
		if err != nil {
			return nil, fmt.Errorf("list entitlements of %s: %w", sub, err)
		}
		if !ok {
			return nil, MissingRole(RoleCanGetEntitlementsForAnyUser)
		}
	}
	return e.List(ctx, sub)
}

// Revoke deletes sub's entitlement with id. The revoker must be a super
// admin or hold CanDeleteEntitlementAtAnyBank (MissingRole), checked first,
// as OBP-API does. An id that is not sub's is ErrEntitlementNotFound (404),
// or ErrEntitlementOfOtherUser (400) when another user holds it. Store
// calls: the partition query and the Delete, plus a Get for a revoker whose
// right is a stored entitlement (and an index query for an id not found).
func (e *Entitlements) Revoke(ctx context.Context, revoker Principal, sub, id string) error {
	ok, err := e.canManage(ctx, revoker, "", RoleCanDeleteEntitlementAtAnyBank, "")
	if err != nil {
		return fmt.Errorf("revoke %s of %s: %w", id, sub, err)
	}
	if !ok {
		return MissingRole(RoleCanDeleteEntitlementAtAnyBank)
	}
	ents, err := e.List(ctx, sub)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ents, func(x Entitlement) bool { return x.ID == id })
	if i < 0 {
		return e.notSubs(ctx, sub, id)
	}
	ent := ents[i]
	if err := e.store.Delete(ctx, store.Key{PK: UserPK(sub), SK: roleSK(ent.Role, ent.BankID)}, store.Condition{}); err != nil {
		return fmt.Errorf("revoke %s of %s: %w", id, sub, err)
	}
	return nil
}

// notSubs is the error for an entitlement id not in sub's partition: held
// by another user (index entry found) or not found at all.
func (e *Entitlements) notSubs(ctx context.Context, sub, id string) error {
	notFound := fault.Errorf(ErrEntitlementNotFound, "entitlement %s not found", id)
	if id == "" || len(id) > 255 { // never an id Grant made
		return notFound
	}
	page, err := e.store.Query(ctx, store.Query{Index: store.IndexGSI1, PK: entitlementGSI1PK(id), Limit: 1})
	if err != nil {
		return fmt.Errorf("find entitlement %s: %w", id, err)
	}
	if len(page.Items) == 0 {
		return notFound
	}
	return fault.Errorf(ErrEntitlementOfOtherUser, "user %s does not have entitlement %s", sub, id)
}
