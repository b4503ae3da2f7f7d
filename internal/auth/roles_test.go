package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/store"
)

func TestCheckRole(t *testing.T) {
	for _, tc := range []struct {
		name, role, bank string
		want             error
	}{
		{"system role at every bank", RoleCanCreateEntitlementAtAnyBank, "", nil},
		{"bank role at a bank", RoleCanCreateCustomer, "gh.29.uk", nil},
		{"openagg role", "CanManageBankDirectory", "", nil},
		{"unknown", "CanFly", "", ErrInvalidRole},
		{"empty", "", "", ErrInvalidRole},
		{"case matters", "canmanagebankdirectory", "", ErrInvalidRole},
		{"bank role without bank", RoleCanCreateEntitlementAtOneBank, "", ErrBankRole},
		{"system role at a bank", "CanManageParties", "gh.29.uk", ErrSystemRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRole(tc.role, tc.bank)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("CheckRole(%q, %q) = %v, want %v", tc.role, tc.bank, err, tc.want)
			}
			if err != nil && fault.ClassOf(err) != fault.Invalid {
				t.Errorf("class %v, want invalid", fault.ClassOf(err))
			}
		})
	}
	names := RoleNames()
	if !slices.IsSorted(names) || len(names) != len(Roles()) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("RoleNames not sorted or not unique: %v", names)
	}
}

func TestValidUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"alice": true, "auth0|5f7c8ec7": true, "alice@example.com": true, "ü-user": true,
		"": false, "a b": false, "a\tb": false, "a\x00": false, "\xff": false,
		strings.Repeat("x", MaxUserIDLen): true, strings.Repeat("x", MaxUserIDLen+1): false,
	} {
		if got := ValidUserID(id); got != want {
			t.Errorf("ValidUserID(%q) = %v", id, got)
		}
	}
}

// TestGrantKnown: OBP-API's order of checks, nothing written when one
// fails, the bank checked only once the granter's right is known.
func TestGrantKnown(t *testing.T) {
	errNoBank := errors.New("no such bank")
	ctx := context.Background()
	e, cs := newEntitlements(t)
	root := Principal{Subject: "root"}
	nobody := Principal{Subject: "nobody"}
	var bankChecks []string
	bankOK := func(_ context.Context, id string) error {
		bankChecks = append(bankChecks, id)
		if id != "gh.29.uk" {
			return errNoBank
		}
		return nil
	}
	for _, tc := range []struct {
		name            string
		granter         Principal
		sub, bank, role string
		code            string
		bankChecked     bool
	}{
		{"unknown role before the right", nobody, "bob", "", "CanFly", "INVALID_ROLE", false},
		{"scope before the right", nobody, "bob", "", RoleCanCreateCustomer, "BANK_ROLE", false},
		{"system role at a bank", root, "bob", "gh.29.uk", "CanManageParties", "SYSTEM_ROLE", false},
		{"bad user id", root, "a b", "", "CanManageParties", "INVALID_USER", false},
		{"right before the bank", nobody, "bob", "nope", RoleCanCreateCustomer, "MISSING_ROLE", false},
		{"unknown bank", root, "bob", "nope", RoleCanCreateCustomer, "bank check's error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bankChecks = nil
			_, err := e.GrantKnown(ctx, tc.granter, tc.sub, tc.bank, tc.role, bankOK)
			if got := code(err); got != tc.code && !(errors.Is(err, errNoBank) && tc.code == "bank check's error") {
				t.Fatalf("err %v (%s), want %s", err, got, tc.code)
			}
			if (len(bankChecks) > 0) != tc.bankChecked {
				t.Errorf("bank checked: %v", bankChecks)
			}
			if list, _ := e.List(ctx, tc.sub); len(list) != 0 {
				t.Errorf("written on error: %+v", list)
			}
		})
	}
	ent, err := e.GrantKnown(ctx, root, "bob", "gh.29.uk", RoleCanCreateEntitlementAtOneBank, bankOK)
	if err != nil || ent.BankID != "gh.29.uk" || ent.Role != RoleCanCreateEntitlementAtOneBank {
		t.Fatalf("grant: %+v %v", ent, err)
	}
	// bob's stored one-bank right lets him grant at that bank: one BatchGet
	// for his right, none for the bank check itself (it is bankOK's).
	bob := Principal{Subject: "bob"}
	before := cs.batchGets
	if _, err := e.GrantKnown(ctx, bob, "carol", "gh.29.uk", RoleCanGetSocialMediaHandles, bankOK); err != nil {
		t.Fatalf("one-bank grant: %v", err)
	}
	if n := cs.batchGets - before; n != 1 {
		t.Errorf("batch gets for a stored one-bank right: %d, want 1", n)
	}
	if _, err := e.GrantKnown(ctx, bob, "carol", "gh.29.uk", RoleCanGetSocialMediaHandles, bankOK); code(err) != "ENTITLEMENT_EXISTS" {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := e.GrantKnown(ctx, bob, "carol", "", RoleCanCreateCustomerAtAnyBank, bankOK); code(err) != "MISSING_ROLE" {
		t.Fatalf("one-bank manager granting a system role: %v", err)
	}
	var mr *MissingRolesError
	_, err = e.GrantKnown(ctx, nobody, "carol", "", RoleCanCreateCustomerAtAnyBank, bankOK)
	if !errors.As(err, &mr) || !errors.Is(err, ErrNotAllowed) || !slices.Equal(mr.Roles, []string{RoleCanCreateEntitlementAtAnyBank, RoleCanCreateEntitlementAtOneBank}) {
		t.Fatalf("missing roles: %v", err)
	}
}

func TestListForAndRevoke(t *testing.T) {
	ctx := context.Background()
	e, _ := newEntitlements(t)
	root := Principal{Subject: "root"}
	alice := Principal{Subject: "alice"}
	bob := Principal{Subject: "bob"}
	reader := Principal{Subject: "reader", Roles: []string{RoleCanGetEntitlementsForAnyUser}}
	deleter := Principal{Subject: "deleter"}
	if _, err := e.Grant(ctx, root, "deleter", "", RoleCanDeleteEntitlementAtAnyBank); err != nil {
		t.Fatal(err)
	}
	entA, err := e.Grant(ctx, root, "alice", "", "CanManageParties")
	if err != nil {
		t.Fatal(err)
	}
	entB, err := e.Grant(ctx, root, "bob", "", "CanManageParties")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		reader Principal
		code   string
	}{
		{"self", alice, ""},
		{"super admin", root, ""},
		{"token role", reader, ""},
		{"other user", bob, "MISSING_ROLE"},
		{"anonymous", Principal{}, "MISSING_ROLE"},
	} {
		t.Run("list/"+tc.name, func(t *testing.T) {
			list, err := e.ListFor(ctx, tc.reader, "alice")
			if code(err) != tc.code {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
			if err == nil && (len(list) != 1 || list[0].ID != entA.ID) {
				t.Errorf("list %+v", list)
			}
		})
	}

	// The right is checked before the id: an unknown id is 403 to a user
	// without the right.
	if err := e.Revoke(ctx, alice, "alice", "nope"); code(err) != "MISSING_ROLE" {
		t.Fatalf("revoke without right: %v", err)
	}
	// The entitlement creators' role does not delete (OBP: only
	// CanDeleteEntitlementAtAnyBank).
	creator := Principal{Subject: "creator", Roles: []string{RoleCanCreateEntitlementAtAnyBank}}
	if err := e.Revoke(ctx, creator, "alice", entA.ID); code(err) != "MISSING_ROLE" {
		t.Fatalf("revoke by an entitlement creator: %v", err)
	}
	if err := e.Revoke(ctx, deleter, "alice", entB.ID); code(err) != "ENTITLEMENT_OF_OTHER_USER" || fault.ClassOf(err) != fault.Invalid {
		t.Fatalf("another user's entitlement: %v", err)
	}
	if err := e.Revoke(ctx, deleter, "alice", "nope"); code(err) != "ENTITLEMENT_NOT_FOUND" {
		t.Fatalf("unknown id: %v", err)
	}
	if err := e.Revoke(ctx, deleter, "alice", entA.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := e.Revoke(ctx, deleter, "alice", entA.ID); code(err) != "ENTITLEMENT_NOT_FOUND" {
		t.Fatalf("revoke twice: %v", err)
	}
	// The index entry goes with the grant.
	page, err := e.store.Query(ctx, store.Query{Index: store.IndexGSI1, PK: entitlementGSI1PK(entA.ID)})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("index entry after revoke: %+v %v", page.Items, err)
	}
}
