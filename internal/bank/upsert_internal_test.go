package bank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
)

func TestChunkPlans(t *testing.T) {
	mk := func(n, opsEach int) []plan {
		out := make([]plan, n)
		for i := range out {
			out[i] = plan{rec: Bank{Code: fmt.Sprint(i)}, ops: make([]store.TxOp, opsEach)}
		}
		return out
	}
	tests := []struct {
		name  string
		plans []plan
		want  []int // banks per chunk
	}{
		{"none", nil, nil},
		{"one new bank", mk(1, 2), []int{1}},
		{"50 new banks fill one transaction", mk(50, 2), []int{50}},
		{"51 new banks", mk(51, 2), []int{50, 1}},
		{"250 known banks", mk(250, 1), []int{100, 100, 50}},
		{"mixed never splits a bank", append(mk(99, 1), mk(2, 2)...), []int{99, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chunks := chunkPlans(tc.plans)
			var got []int
			for _, c := range chunks {
				if n := len(flatten(c)); n > store.MaxTransactItems {
					t.Errorf("chunk of %d ops", n)
				}
				got = append(got, len(c))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("chunks %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUpsertLargePage writes a provider page bigger than one transaction on
// the real store, twice: the second time nothing changes and nothing is
// written; then an older load's late page is ignored.
func TestUpsertLargePage(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := clocktest.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	s := &Service{store: st, clock: clock, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	var banks []provider.Bank
	for i := range 130 {
		banks = append(banks, provider.Bank{Code: fmt.Sprintf("bank_%03d_xf", i), Name: fmt.Sprintf("Bank %03d", i), CountryCode: "xf", Status: "active"})
	}
	banks = append(banks, banks[0]) // a repeated code is written once
	load1 := newLoadID(clock.Now())
	n, err := s.upsertPage(ctx, "sandbox", load1, banks)
	if err != nil || n != 130 {
		t.Fatalf("first upsert wrote %d: %v", n, err)
	}
	xf, err := (&Service{store: st}).ByCountry(ctx, "XF")
	if err != nil || len(xf) != 130 || xf[0].Code != "bank_000_xf" || xf[129].Code != "bank_129_xf" {
		t.Fatalf("country list: %d %v", len(xf), err)
	}
	if n, err := s.upsertPage(ctx, "sandbox", load1, banks); err != nil || n != 0 {
		t.Errorf("same page again wrote %d: %v", n, err)
	}
	clock.Advance(time.Hour)
	load2 := newLoadID(clock.Now())
	if n, err := s.upsertPage(ctx, "sandbox", load2, banks[:10]); err != nil || n != 10 {
		t.Errorf("newer load wrote %d: %v", n, err)
	}
	banks[0].Name = "Renamed by a stale load"
	if n, err := s.upsertPage(ctx, "sandbox", load1, banks[:10]); err != nil || n != 0 {
		t.Errorf("older load wrote %d: %v", n, err)
	}
	it, err := st.Get(ctx, store.Key{PK: ProviderPK("sandbox"), SK: BankSK("bank_000_xf")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := decodeBank(it)
	if b.Name != "Bank 000" || b.LastSeenLoad != load2 {
		t.Errorf("stale load overwrote a newer one: %+v", b)
	}
}

func TestFoldName(t *testing.T) {
	long := ""
	for range 150 {
		long += "é" // 2 bytes each
	}
	got := foldName(long)
	if len(got) > maxSortName || len(got)%2 != 0 {
		t.Errorf("folded to %d bytes (cut inside a rune?)", len(got))
	}
	if foldName("  Bank Of X ") != "bank of x" {
		t.Errorf("fold %q", foldName("  Bank Of X "))
	}
}

// TestRefusedCursorIsPoison: a cursor the provider refuses cannot succeed
// on a retry, so the job goes straight to the dead letters.
func TestRefusedCursorIsPoison(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	s, err := New(Deps{Store: st, Providers: []provider.Provider{sandbox.New(st, sandbox.Options{})}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	it, err := loadItem(LoadState{Provider: sandbox.Name, LoadID: "L1", Cursor: "not-a-cursor", Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, it, store.IfNotExists()); err != nil {
		t.Fatal(err)
	}
	job, err := queue.NewJob(JobLoad, "k", LoadPayload{Provider: sandbox.Name, LoadID: "L1", Cursor: "not-a-cursor"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.HandleJob(ctx, job); !errors.Is(err, queue.ErrPoison) {
		t.Errorf("err %v, want poison", err)
	}
}

// upsertPage is upsert's count of the banks it wrote.
func (s *Service) upsertPage(ctx context.Context, providerName, loadID string, banks []provider.Bank) (int, error) {
	written, _, err := s.upsert(ctx, providerName, loadID, banks)
	return written, err
}
