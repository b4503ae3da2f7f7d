package auth

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
)

// countingStore counts the calls that reach the real bolt driver.
type countingStore struct {
	store.Store
	gets, batchGets int
}

func (c *countingStore) Get(ctx context.Context, k store.Key) (store.Item, error) {
	c.gets++
	return c.Store.Get(ctx, k)
}

func (c *countingStore) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	c.batchGets++
	return c.Store.BatchGet(ctx, keys)
}

func newEntitlements(t *testing.T) (*Entitlements, *countingStore) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "ent.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	return NewEntitlements(EntitlementsDeps{Store: cs, SuperAdmins: []string{"root"}, Clock: clocktest.New(t0)}), cs
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// codes names the kinds as the Aggregation dialect shows them (the
// dialects' own tests check their status codes and bodies).
var codes = map[*fault.Kind]string{
	ErrNotAllowed:             "MISSING_ROLE",
	ErrEntitlementExists:      "ENTITLEMENT_EXISTS",
	ErrEntitlementNotFound:    "ENTITLEMENT_NOT_FOUND",
	ErrEntitlementOfOtherUser: "ENTITLEMENT_OF_OTHER_USER",
	ErrInvalidRole:            "INVALID_ROLE",
	ErrBankRole:               "BANK_ROLE",
	ErrSystemRole:             "SYSTEM_ROLE",
	ErrInvalidUser:            "INVALID_USER",
}

func code(err error) string {
	if err == nil {
		return ""
	}
	if k, _, ok := fault.Of(err); ok && codes[k] != "" {
		return codes[k]
	}
	return "internal: " + err.Error()
}

func TestEntitlements(t *testing.T) {
	ctx := context.Background()
	e, cs := newEntitlements(t)
	root := Principal{Subject: "root"}
	alice := Principal{Subject: "alice"}
	tokenAdmin := Principal{Subject: "ta", Roles: []string{RoleCanCreateEntitlementAtAnyBank}}

	// Token roles need no store call.
	if ok, err := e.HasRole(ctx, tokenAdmin, RoleCanCreateEntitlementAtAnyBank); !ok || err != nil || cs.gets != 0 {
		t.Fatalf("token role: %v %v gets=%d", ok, err, cs.gets)
	}
	// A stored role costs one Get.
	if ok, err := e.HasRole(ctx, alice, "CanCreateCustomer"); ok || err != nil || cs.gets != 1 {
		t.Fatalf("missing role: %v %v gets=%d", ok, err, cs.gets)
	}
	if ok, _ := e.HasRole(ctx, Principal{}, "X"); ok {
		t.Fatal("anonymous has a role")
	}

	// Only super admins and entitlement managers grant.
	if _, err := e.Grant(ctx, alice, "alice", "", "CanCreateCustomer"); code(err) != "MISSING_ROLE" || !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("self-grant: %v", err)
	}
	ent, err := e.Grant(ctx, root, "alice", "", "CanCreateCustomer")
	if err != nil || ent.ID == "" || ent.UserID != "alice" || ent.GrantedBy != "root" || !ent.CreatedAt.Equal(t0) {
		t.Fatalf("root grant: %+v %v", ent, err)
	}
	if _, err := e.Grant(ctx, root, "alice", "", "CanCreateCustomer"); code(err) != "ENTITLEMENT_EXISTS" || fault.ClassOf(err) != fault.Exists {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := e.Grant(ctx, tokenAdmin, "bob", "gh.29.uk", "CanGetCustomer"); err != nil {
		t.Fatalf("token admin grant: %v", err)
	}
	if _, err := e.Grant(ctx, root, "bob", "", "bad role!"); code(err) != "INVALID_ROLE" {
		t.Fatalf("bad role: %v", err)
	}
	if ok, err := e.HasRole(ctx, alice, "CanCreateCustomer"); !ok || err != nil {
		t.Fatalf("granted role: %v %v", ok, err)
	}

	// Bank scope: a role at one bank is not a role at any bank; a role at
	// any bank counts at every bank; one BatchGet either way.
	bob := Principal{Subject: "bob"}
	before := cs.batchGets
	if ok, _ := e.HasBankRole(ctx, bob, "gh.29.uk", "CanGetCustomer"); !ok {
		t.Fatal("bank role missing")
	}
	if ok, _ := e.HasBankRole(ctx, bob, "other", "CanGetCustomer"); ok {
		t.Fatal("bank role leaks to another bank")
	}
	if ok, _ := e.HasRole(ctx, bob, "CanGetCustomer"); ok {
		t.Fatal("bank role counted as any-bank role")
	}
	if ok, _ := e.HasBankRole(ctx, alice, "gh.29.uk", "CanCreateCustomer"); !ok {
		t.Fatal("any-bank role not valid at a bank")
	}
	if cs.batchGets-before != 3 {
		t.Errorf("batch gets = %d, want 3", cs.batchGets-before)
	}

	// One-bank managers grant at their bank only.
	if _, err := e.Grant(ctx, root, "carol", "gh.29.uk", RoleCanCreateEntitlementAtOneBank); err != nil {
		t.Fatal(err)
	}
	carol := Principal{Subject: "carol"}
	if _, err := e.Grant(ctx, carol, "dan", "gh.29.uk", "CanGetCustomer"); err != nil {
		t.Fatalf("one-bank manager at own bank: %v", err)
	}
	if _, err := e.Grant(ctx, carol, "dan", "other", "CanGetCustomer"); code(err) != "MISSING_ROLE" {
		t.Fatalf("one-bank manager elsewhere: %v", err)
	}
	if _, err := e.Grant(ctx, carol, "dan", "", "CanGetCustomer"); code(err) != "MISSING_ROLE" {
		t.Fatalf("one-bank manager at any bank: %v", err)
	}

	// List and revoke.
	list, err := e.List(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != ent.ID || list[0].Role != "CanCreateCustomer" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := e.Revoke(ctx, alice, "alice", ent.ID); code(err) != "MISSING_ROLE" {
		t.Fatalf("revoke without right: %v", err)
	}
	if err := e.Revoke(ctx, root, "alice", "nope"); code(err) != "ENTITLEMENT_NOT_FOUND" || fault.ClassOf(err) != fault.NotFound {
		t.Fatalf("revoke unknown: %v", err)
	}
	if err := e.Revoke(ctx, root, "alice", ent.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if ok, _ := e.HasRole(ctx, alice, "CanCreateCustomer"); ok {
		t.Fatal("role survives revoke")
	}
	if list, _ := e.List(ctx, "alice"); len(list) != 0 {
		t.Fatalf("list after revoke: %+v", list)
	}
	// Re-granting after a revoke works.
	if _, err := e.Grant(ctx, root, "alice", "", "CanCreateCustomer"); err != nil {
		t.Fatalf("re-grant: %v", err)
	}
}
