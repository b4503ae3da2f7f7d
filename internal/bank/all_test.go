package bank_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store/bolt"
)

// TestAll: the whole directory, whatever the access and status of a bank,
// in code order, one query per provider.
func TestAll(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	ctx := context.Background()
	if all, err := e.svc.All(ctx); err != nil || len(all) != 0 {
		t.Fatalf("before a load: %d banks, %v", len(all), err)
	}
	e.load()
	if _, err := e.svc.SetAccess(ctx, sandbox.BankDefault, false); err != nil {
		t.Fatal(err)
	}
	all, err := e.svc.All(ctx)
	if err != nil || len(all) != sandboxBanks {
		t.Fatalf("%d banks, want %d: %v", len(all), sandboxBanks, err)
	}
	if !slices.IsSortedFunc(all, func(a, b bank.Bank) int {
		if a.Code < b.Code {
			return -1
		}
		return 1
	}) {
		t.Error("not in code order")
	}
	i := slices.IndexFunc(all, func(b bank.Bank) bool { return b.Code == sandbox.BankDefault })
	j := slices.IndexFunc(all, func(b bank.Bank) bool { return b.Code == sandbox.BankInactive })
	if i < 0 || all[i].AccessEnabled || j < 0 || all[j].ProviderStatus != bank.StatusInactive {
		t.Errorf("disabled and inactive banks are listed as they are: %d %d", i, j)
	}
}
