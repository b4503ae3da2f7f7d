package view_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/view"
)

func TestIDFromName(t *testing.T) {
	for name, want := range map[string]string{"Team": "team", "My Auditors": "my_auditors", "  a B c ": "a_b_c"} {
		if got := view.IDFromName(name); got != want {
			t.Errorf("IDFromName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPermissionsFromActions(t *testing.T) {
	cases := []struct {
		name    string
		actions []string
		kind    *fault.Kind // nil: accepted
	}{
		{"empty", nil, nil},
		{"transaction metadata with gate", []string{"can_see_transaction_metadata", "can_add_comment"}, nil},
		{"transaction metadata without gate", []string{"can_add_comment"}, view.ErrInvalid},
		{"other-account metadata without gate", []string{"can_add_public_alias"}, view.ErrInvalid},
		{"other-account metadata with gate", []string{"can_see_other_account_metadata", "can_delete_physical_location"}, nil},
		{"unknown", []string{"can_see_everything"}, view.ErrNotAllowedValue},
		{"every action", view.ActionNames(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := view.PermissionsFromActions(c.actions)
			if c.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range c.actions {
					if !p.Allows(a) {
						t.Errorf("%s not set", a)
					}
				}
				return
			}
			if !errors.Is(err, c.kind) {
				t.Fatalf("err %v, want %s", err, c.kind)
			}
		})
	}
	if p := view.AllPermissions(); p != view.OwnerView().Permissions {
		t.Error("owner view lacks a flag")
	}
	if n := len(view.ActionNames()); n != 59 {
		t.Errorf("%d actions, OBP 1.2 has 59", n)
	}
}

// countStore counts writes.
type countStore struct {
	store.Store
	writes int
}

func (c *countStore) Transact(ctx context.Context, ops []store.TxOp) error {
	c.writes++
	return c.Store.Transact(ctx, ops)
}

func TestAccountsImported(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "v.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs := &countStore{Store: s}
	svc := view.New(view.Deps{Store: cs, Provider: "https://issuer.test"})
	ctx := context.Background()
	accs := []holdings.Account{
		{ID: "a1", OwnerSub: "u1", OwnerName: "Ursula One", BankCode: "b1", Name: "Main", Balance: decimal.Zero},
		{ID: "a2", OwnerSub: "u1", BankCode: "b1", Name: "Savings"},
	}
	if err := svc.AccountsImported(ctx, accs); err != nil {
		t.Fatal(err)
	}
	if cs.writes != 2 {
		t.Errorf("%d writes for two new accounts", cs.writes)
	}
	// Idempotent: a second delivery writes nothing.
	if err := svc.AccountsImported(ctx, accs); err != nil {
		t.Fatal(err)
	}
	if cs.writes != 2 {
		t.Errorf("%d writes after a repeated hook", cs.writes)
	}
	acl, err := svc.LoadACL(ctx, "a1", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if !acl.IsOwner("u1") || acl.Label != "Main" || acl.Version != 1 {
		t.Errorf("acl %+v", acl)
	}
	// The owner is shown by the display name the profile recorded, and by
	// id where the import knew no name.
	if o := acl.Owners(); len(o) != 1 || o[0].DisplayName != "Ursula One" || o[0].Provider != "https://issuer.test" {
		t.Errorf("owners of a1 %+v", o)
	}
	if acl2, err := svc.LoadACL(ctx, "a2", "b1"); err != nil || acl2.Owners()[0].DisplayName != "u1" {
		t.Errorf("owners of a2 %+v %v", acl2.Owners(), err)
	}
	entries, err := svc.UserAccounts(ctx, "u1", "b1")
	if err != nil || len(entries) != 2 || entries[0].Views[0].ID != view.Owner {
		t.Errorf("user accounts %+v %v", entries, err)
	}
	// A renamed account updates the label in the index.
	accs[0].Name = "Main (renamed)"
	if err := svc.AccountsImported(ctx, accs); err != nil {
		t.Fatal(err)
	}
	entries, _ = svc.UserAccounts(ctx, "u1", "b1")
	if entries[0].Label != "Main (renamed)" {
		t.Errorf("label %q", entries[0].Label)
	}
	// A stale ACL (concurrent change) is retried, not lost.
	stale, _ := svc.LoadACL(ctx, "a1", "b1")
	if _, err := svc.Grant(ctx, stale, view.User{ID: "u2"}, []string{view.Owner}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateView(ctx, stale, view.Spec{Name: "Team"}); err != nil {
		t.Fatalf("create with a stale acl: %v", err)
	}
	acl, _ = svc.LoadACL(ctx, "a1", "b1")
	if !acl.IsOwner("u2") || len(acl.Views) != 1 {
		t.Errorf("acl after concurrent changes %+v", acl)
	}
}

func TestPatchView(t *testing.T) {
	if got := view.AllPermissions().Actions(); len(got) != len(view.ActionNames()) {
		t.Errorf("Actions of every flag: %v", got)
	}
	s, err := bolt.Open(filepath.Join(t.TempDir(), "v.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := view.New(view.Deps{Store: s, Provider: "https://issuer.test"})
	ctx := context.Background()
	if err := svc.AccountsImported(ctx, []holdings.Account{{ID: "a1", OwnerSub: "u1", BankCode: "b1", Name: "Main"}}); err != nil {
		t.Fatal(err)
	}
	acl, _ := svc.LoadACL(ctx, "a1", "b1")
	actions := []string{"can_see_transaction_metadata", "can_see_comments", "can_see_transaction_label"}
	if _, err := svc.CreateView(ctx, acl, view.Spec{Name: "Team", IsPublic: true, WhichAliasToUse: "public", AllowedActions: actions}); err != nil {
		t.Fatal(err)
	}
	stale, _ := svc.LoadACL(ctx, "a1", "b1")
	hide := true
	if _, err := svc.PatchView(ctx, stale, "team", view.Patch{HideMetadataIfAliasUsed: &hide}); err != nil {
		t.Fatal(err)
	}
	// A patch made on the stale ACL applies to the view as stored: the
	// concurrent change survives, what the patch leaves out is kept.
	desc := "the team"
	v, err := svc.PatchView(ctx, stale, "team", view.Patch{Description: &desc})
	if err != nil {
		t.Fatal(err)
	}
	if v.Description != desc || !v.HideMetadataIfAliasUsed || !v.IsPublic || v.WhichAliasToUse != "public" || v.ShortName != "Team" {
		t.Errorf("patched view %+v", v)
	}
	if got := v.Actions(); len(got) != len(actions) || !v.Allows("can_see_comments") {
		t.Errorf("actions %v, want %v", got, actions)
	}
	same, other := "Team", "Crew"
	if _, err := svc.PatchView(ctx, stale, "team", view.Patch{Name: &same}); err != nil {
		t.Errorf("its own name: %v", err)
	}
	if _, err := svc.PatchView(ctx, stale, "team", view.Patch{Name: &other}); !errors.Is(err, view.ErrInvalid) {
		t.Errorf("another name: %v", err)
	}
	if _, err := svc.PatchView(ctx, stale, view.Owner, view.Patch{Description: &desc}); !errors.Is(err, view.ErrSystemView) {
		t.Errorf("the owner view: %v", err)
	}
}
