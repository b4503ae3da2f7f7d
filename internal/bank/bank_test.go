package bank_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
)

// The sandbox directory as the tests rely on it (internal/provider/sandbox).
const (
	sandboxBanks = 17
	sandboxPages = 2
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is one directory on a real store with the embedded queue, drained
// synchronously.
type env struct {
	t     *testing.T
	st    store.Store
	q     *local.Queue
	clock *clocktest.Clock
	svc   *bank.Service
}

// newEnv builds the directory over st with a sandbox provider hiding the
// given codes. The queue lives in its own bbolt file so that the same env
// runs on every store driver.
func newEnv(t *testing.T, st store.Store, hidden ...string) *env {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "queue.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := local.New(db, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, q: q, clock: clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))}
	e.useProvider(sandbox.New(st, sandbox.Options{Clock: e.clock, Hidden: hidden}))
	return e
}

// useProvider rebuilds the service over p (same store, queue and clock),
// as a new deployment with another provider configuration would.
func (e *env) useProvider(p provider.Provider) {
	e.t.Helper()
	svc, err := bank.New(bank.Deps{Store: e.st, Queue: e.q, Providers: []provider.Provider{p}, Clock: e.clock, Log: discard})
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
	e.q.Register(queue.Directory, queue.Consumer(discard, func(ctx context.Context, job queue.Job) error {
		err := e.svc.HandleJob(ctx, job)
		if err != nil {
			e.t.Errorf("directory job %s failed: %v", job.Key, err)
		}
		return err
	}), local.ConsumerConfig{MaxReceiveCount: 1})
}

func (e *env) drain() {
	e.t.Helper()
	if err := e.q.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	dead, err := e.q.DeadLetters(queue.Directory)
	if err != nil || len(dead) > 0 {
		e.t.Fatalf("dead letters: %v %v", dead, err)
	}
}

// load runs a complete load and returns its state.
func (e *env) load() bank.LoadState {
	e.t.Helper()
	e.clock.Advance(time.Minute)
	id, err := e.svc.StartLoad(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	e.drain()
	st, err := e.svc.LoadStatus(context.Background(), sandbox.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	if st.LoadID != id || !st.Done {
		e.t.Fatalf("load %s not done: %+v", id, st)
	}
	return st
}

func (e *env) get(code string) bank.Bank {
	e.t.Helper()
	b, err := e.svc.Get(context.Background(), sandbox.Name, code)
	if err != nil {
		e.t.Fatalf("get %s: %v", code, err)
	}
	return b
}

// allBanks reads every sandbox bank by code+provider.
func (e *env) allBanks() map[string]bank.Bank {
	e.t.Helper()
	sb := sandbox.New(e.st, sandbox.Options{})
	out := map[string]bank.Bank{}
	for cursor := ""; ; {
		page, err := sb.ListBanks(context.Background(), cursor)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, pb := range page.Banks {
			out[pb.Code] = e.get(pb.Code)
		}
		if cursor = page.Next; cursor == "" {
			return out
		}
	}
}

func TestDirectoryBolt(t *testing.T) {
	runDirectorySuite(t, func(t *testing.T) store.Store {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// runDirectorySuite runs the domain tests on stores made by newStore: all
// of them, or those named in only.
func runDirectorySuite(t *testing.T, newStore func(t *testing.T) store.Store, only ...string) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"LoadThenReadThreeWays", testLoadThenRead},
		{"ReloadKeepsIdsAndAccess", testReloadKeepsIDsAndAccess},
		{"HiddenBankBecomesInactive", testHiddenBankInactive},
		{"RedeliveryIsNoOp", testRedelivery},
		{"NewLoadSupersedesRunningOne", testSupersede},
		{"InternalIDCollisionProbesNextID", testIDCollision},
		{"AccessChangeDuringLoadIsKept", testAccessDuringLoad},
		{"SetAccess", testSetAccess},
		{"BadInput", testBadInput},
		{"PoisonJobs", testPoison},
		{"StoreCallBudget", testCallBudget},
	}
	for _, tc := range tests {
		if len(only) > 0 && !slices.Contains(only, tc.name) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newEnv(t, newStore(t)))
		})
	}
}

func testLoadThenRead(t *testing.T, e *env) {
	ctx := context.Background()
	st := e.load()
	if st.Pages != sandboxPages || st.Banks != sandboxBanks || st.Written != sandboxBanks || st.Inactivated != 0 {
		t.Fatalf("load state %+v", st)
	}
	banks := e.allBanks()
	if len(banks) != sandboxBanks {
		t.Fatalf("%d banks, want %d", len(banks), sandboxBanks)
	}
	ids := map[string]bool{}
	for code, b := range banks {
		if !bank.ValidInternalID(b.InternalID) || ids[b.InternalID] {
			t.Errorf("%s: bad or duplicate internal id %q", code, b.InternalID)
		}
		ids[b.InternalID] = true
		if !b.AccessEnabled {
			t.Errorf("%s: new bank not enabled", code)
		}
		want := bank.StatusActive
		if code == sandbox.BankInactive {
			want = bank.StatusInactive // the provider lists it inactive
		}
		if b.ProviderStatus != want || b.Provider != sandbox.Name || b.LastSeenLoad != st.LoadID {
			t.Errorf("%s: status %q provider %q seen %q", code, b.ProviderStatus, b.Provider, b.LastSeenLoad)
		}
		// by internal id
		byID, err := e.svc.ByInternalID(ctx, b.InternalID)
		if err != nil || byID.Code != code || byID.Provider != sandbox.Name {
			t.Errorf("by id %s: %+v %v", b.InternalID, byID, err)
		}
	}
	bk := banks["bkbklull_oauth_client_lu_xf"]
	if bk.Name != "Bankinter PSD2 (Sandbox)" || bk.CountryCode != "XF" || bk.TimeZone != "Europe/Luxembourg" ||
		bk.HomeURL != "https://www.bankinter.lu" || bk.Mode != "oauth" ||
		!slices.Equal(bk.SupportedFetchScopes, []string{"accounts", "transactions"}) ||
		!slices.Equal(bk.SupportedAccountTypes, []string{"personal"}) || !bk.SupportsFetchScope("accounts") {
		t.Errorf("bankinter record %+v", bk)
	}

	// by country: sorted by name, case-insensitive country code
	for _, cc := range []string{"GB", "gb"} {
		gb, err := e.svc.ByCountry(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range gb {
			if b.CountryCode != "GB" {
				t.Errorf("country GB lists %s of %s", b.Code, b.CountryCode)
			}
			names = append(names, b.Name)
		}
		want := []string{"Sandbox Bank UK", "Sandbox Big Bank", "Sandbox Challenge Bank", "Thames Building Society (Sandbox)"}
		if !slices.Equal(names, want) {
			t.Errorf("GB banks %q, want %q", names, want)
		}
	}
	xf, err := e.svc.ByCountry(ctx, "XF")
	if err != nil || len(xf) != 5 {
		t.Errorf("XF: %d banks, %v", len(xf), err)
	}
	if !slices.IsSortedFunc(xf, func(a, b bank.Bank) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) }) {
		t.Errorf("XF banks not sorted by name")
	}
	none, err := e.svc.ByCountry(ctx, "ZZ")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("unknown country: %v %v (want empty, non-nil)", none, err)
	}

	// enabled list (OBP)
	enabled, err := e.svc.ListEnabled(ctx)
	if err != nil || len(enabled) != sandboxBanks {
		t.Fatalf("enabled: %d %v", len(enabled), err)
	}
	if !slices.IsSortedFunc(enabled, func(a, b bank.Bank) int { return strings.Compare(a.Code, b.Code) }) {
		t.Errorf("enabled banks not sorted by code")
	}
	b, err := e.svc.ByCode(ctx, sandbox.BankDefault)
	if err != nil || b.Code != sandbox.BankDefault {
		t.Errorf("by code: %+v %v", b, err)
	}
}

func testReloadKeepsIDsAndAccess(t *testing.T, e *env) {
	ctx := context.Background()
	e.load()
	before := e.allBanks()
	if _, err := e.svc.SetAccess(ctx, sandbox.BankDefault, false); err != nil {
		t.Fatal(err)
	}
	st := e.load()
	// Only LastSeenLoad changed: every bank is written once more.
	if st.Written != sandboxBanks {
		t.Errorf("reload wrote %d banks", st.Written)
	}
	after := e.allBanks()
	for code, b := range after {
		if b.InternalID != before[code].InternalID {
			t.Errorf("%s: id %s became %s", code, before[code].InternalID, b.InternalID)
		}
		if want := code != sandbox.BankDefault; b.AccessEnabled != want {
			t.Errorf("%s: access %v after reload, want %v", code, b.AccessEnabled, want)
		}
		if !b.CreatedAt.Equal(before[code].CreatedAt) || b.LastSeenLoad != st.LoadID {
			t.Errorf("%s: created %v→%v, seen %s", code, before[code].CreatedAt, b.CreatedAt, b.LastSeenLoad)
		}
	}
	enabled, err := e.svc.ListEnabled(ctx)
	if err != nil || len(enabled) != sandboxBanks-1 || slices.ContainsFunc(enabled, func(b bank.Bank) bool { return b.Code == sandbox.BankDefault }) {
		t.Errorf("enabled after disabling one: %d %v", len(enabled), err)
	}
	if _, err := e.svc.ByCode(ctx, sandbox.BankDefault); !errors.Is(err, bank.ErrNotFound) {
		t.Errorf("disabled bank by code: %v", err)
	}
	// The system API still sees it.
	if b := e.get(sandbox.BankDefault); b.AccessEnabled {
		t.Errorf("disabled bank reads enabled")
	}
}

func testHiddenBankInactive(t *testing.T, e *env) {
	e.load()
	id := e.get(sandbox.BankDefault).InternalID

	e.useProvider(sandbox.New(e.st, sandbox.Options{Clock: e.clock, Hidden: []string{sandbox.BankDefault}}))
	st := e.load()
	if st.Banks != sandboxBanks-1 || st.Inactivated != 1 {
		t.Errorf("hidden load: %+v", st)
	}
	b := e.get(sandbox.BankDefault)
	if b.ProviderStatus != bank.StatusInactive || b.InternalID != id || !b.AccessEnabled || b.Listed() {
		t.Errorf("hidden bank: %+v", b)
	}
	if got := e.get(sandbox.BankBig); got.ProviderStatus != bank.StatusActive {
		t.Errorf("listed bank became %s", got.ProviderStatus)
	}
	// Still hidden: nothing more to mark.
	if st := e.load(); st.Inactivated != 0 {
		t.Errorf("second hidden load inactivated %d", st.Inactivated)
	}
	// Listed again: active again, same id.
	e.useProvider(sandbox.New(e.st, sandbox.Options{Clock: e.clock}))
	e.load()
	if b := e.get(sandbox.BankDefault); b.ProviderStatus != bank.StatusActive || b.InternalID != id {
		t.Errorf("relisted bank: %+v", b)
	}
}

func testRedelivery(t *testing.T, e *env) {
	ctx := context.Background()
	e.clock.Advance(time.Minute)
	loadID, err := e.svc.StartLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := queue.NewJob(bank.JobLoad, "dup", bank.LoadPayload{Provider: sandbox.Name, LoadID: loadID})
	if err != nil {
		t.Fatal(err)
	}
	// The first page delivered twice by hand, then the queued original: only
	// one of the three does the work, and the next-page duplicates it
	// enqueued collapse the same way.
	for range 2 {
		if err := e.svc.HandleJob(ctx, first); err != nil {
			t.Fatal(err)
		}
	}
	e.drain()
	st, err := e.svc.LoadStatus(ctx, sandbox.Name)
	if err != nil || !st.Done || st.Pages != sandboxPages || st.Banks != sandboxBanks {
		t.Fatalf("state after duplicates: %+v %v", st, err)
	}
	// A redelivery after the end writes nothing.
	before := e.allBanks()
	calls := callCounter(e.st)
	var n int64
	if calls != nil {
		n = calls()
	}
	if err := e.svc.HandleJob(ctx, first); err != nil {
		t.Fatal(err)
	}
	if calls != nil && calls()-n != 1 {
		t.Errorf("late redelivery made %d store calls, want 1 (the state Get)", calls()-n)
	}
	for code, b := range e.allBanks() {
		if b.Version != before[code].Version {
			t.Errorf("%s rewritten by a redelivery", code)
		}
	}
	if d, _ := e.q.Depth(queue.Directory); d != 0 {
		t.Errorf("%d jobs left", d)
	}
}

func testSupersede(t *testing.T, e *env) {
	ctx := context.Background()
	e.clock.Advance(time.Minute)
	first, err := e.svc.StartLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Started at the same instant, a second load still sorts after the
	// first (pages skip banks last seen by a newer load).
	for range 5 {
		next, err := e.svc.StartLoad(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next <= first {
			t.Fatalf("load %s started after %s sorts before it", next, first)
		}
		first = next
	}
	st := e.load() // starts another load before the others ran
	if st.Pages != sandboxPages || st.Banks != sandboxBanks {
		t.Errorf("superseding load: %+v", st)
	}
	for code, b := range e.allBanks() {
		if b.LastSeenLoad != st.LoadID {
			t.Errorf("%s last seen by %s, want %s", code, b.LastSeenLoad, st.LoadID)
		}
	}
}

func testIDCollision(t *testing.T, e *env) {
	ctx := context.Background()
	taken := bank.InternalID(sandbox.Name, sandbox.BankDefault, 0)
	other, _ := json.Marshal(map[string]string{"provider": "saltedge", "code": "some_other_bank_xf"})
	if err := e.st.Put(ctx, store.Item{PK: bank.IDPK(taken), SK: bank.IDSK, Data: other}, store.IfNotExists()); err != nil {
		t.Fatal(err)
	}
	e.load()
	b := e.get(sandbox.BankDefault)
	if b.InternalID == taken || b.InternalID != bank.InternalID(sandbox.Name, sandbox.BankDefault, 1) {
		t.Errorf("colliding bank got %s (taken %s)", b.InternalID, taken)
	}
	if got, err := e.svc.ByInternalID(ctx, b.InternalID); err != nil || got.Code != sandbox.BankDefault {
		t.Errorf("by probed id: %+v %v", got, err)
	}
	it, err := e.st.Get(ctx, store.Key{PK: bank.IDPK(taken), SK: bank.IDSK})
	if err != nil || string(it.Data) != string(other) {
		t.Errorf("the holder's pointer changed: %s %v", it.Data, err)
	}
	// Reloading keeps the probed id.
	e.load()
	if again := e.get(sandbox.BankDefault); again.InternalID != b.InternalID {
		t.Errorf("reload moved id %s to %s", b.InternalID, again.InternalID)
	}

	// A pointer that already names the bank (its record lost) is reused.
	mine := bank.InternalID(sandbox.Name, sandbox.BankBig, 0)
	if err := e.st.Delete(ctx, store.Key{PK: bank.ProviderPK(sandbox.Name), SK: bank.BankSK(sandbox.BankBig)}, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	e.load()
	if got := e.get(sandbox.BankBig); got.InternalID != mine {
		t.Errorf("bank with an orphan pointer got %s, want %s", got.InternalID, mine)
	}
}

// hookStore runs a function before the first transaction that writes a
// bank record: a real store with a concurrent writer slipped in between a
// load page's read and its write.
type hookStore struct {
	store.Store
	once   sync.Once
	before func()
}

func (h *hookStore) Transact(ctx context.Context, ops []store.TxOp) error {
	for _, op := range ops {
		if op.Put != nil && strings.HasPrefix(op.Put.SK, bank.BankSKPrefix) {
			h.once.Do(h.before)
			break
		}
	}
	return h.Store.Transact(ctx, ops)
}

func testAccessDuringLoad(t *testing.T, e *env) {
	ctx := context.Background()
	e.load()
	admin := e.svc // writes straight to the real store
	hooked := &hookStore{Store: e.st, before: func() {
		if _, err := admin.SetAccess(ctx, sandbox.BankDefault, false); err != nil {
			t.Errorf("concurrent set access: %v", err)
		}
	}}
	loader, err := bank.New(bank.Deps{Store: hooked, Queue: e.q, Clock: e.clock, Log: discard,
		Providers: []provider.Provider{sandbox.New(e.st, sandbox.Options{Clock: e.clock})}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = loader
	e.load()
	if b := e.get(sandbox.BankDefault); b.AccessEnabled {
		t.Errorf("access set during the load was lost")
	}
}

func testSetAccess(t *testing.T, e *env) {
	ctx := context.Background()
	e.load()
	tests := []struct {
		name    string
		code    string
		enabled bool
		wantErr error
	}{
		{"disable", sandbox.BankBig, false, nil},
		{"disable again is a no-op", sandbox.BankBig, false, nil},
		{"enable", sandbox.BankBig, true, nil},
		{"unknown bank", "no_such_bank_xf", true, bank.ErrNotFound},
		{"bad code", "bad code!", true, bank.ErrInvalidCode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			banks, err := e.svc.SetAccess(ctx, tc.code, tc.enabled)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			if len(banks) != 1 || banks[0].AccessEnabled != tc.enabled {
				t.Fatalf("returned %+v", banks)
			}
			if got := e.get(tc.code); got.AccessEnabled != tc.enabled || got.InternalID != banks[0].InternalID {
				t.Errorf("stored %+v", got)
			}
			enabled, err := e.svc.ListEnabled(ctx)
			if err != nil {
				t.Fatal(err)
			}
			listed := slices.ContainsFunc(enabled, func(b bank.Bank) bool { return b.Code == tc.code })
			if listed != tc.enabled {
				t.Errorf("listed in enabled: %v", listed)
			}
		})
	}
}

func testBadInput(t *testing.T, e *env) {
	ctx := context.Background()
	e.load()
	tests := []struct {
		name string
		call func() error
		want error
		code string
	}{
		{"unknown provider", func() error { _, err := e.svc.Get(ctx, "nope", sandbox.BankDefault); return err }, bank.ErrUnknownProvider, "PROVIDER_NOT_FOUND"},
		{"unknown bank", func() error { _, err := e.svc.Get(ctx, sandbox.Name, "nope"); return err }, bank.ErrNotFound, "BANK_NOT_FOUND"},
		{"bad code", func() error { _, err := e.svc.Get(ctx, sandbox.Name, "a#b"); return err }, bank.ErrInvalidCode, "INVALID_BANK_CODE"},
		{"long code", func() error { _, err := e.svc.Get(ctx, sandbox.Name, strings.Repeat("a", 129)); return err }, bank.ErrInvalidCode, "INVALID_BANK_CODE"},
		{"bad id", func() error { _, err := e.svc.ByInternalID(ctx, "BD12345"); return err }, bank.ErrInvalidID, "INVALID_BANK_ID"},
		{"unknown id", func() error { _, err := e.svc.ByInternalID(ctx, "BD0000000000"); return err }, bank.ErrNotFound, "BANK_NOT_FOUND"},
		{"bad country", func() error { _, err := e.svc.ByCountry(ctx, "GBR"); return err }, bank.ErrInvalidCountry, "INVALID_COUNTRY_CODE"},
		{"digit country", func() error { _, err := e.svc.ByCountry(ctx, "G1"); return err }, bank.ErrInvalidCountry, "INVALID_COUNTRY_CODE"},
		{"load status of unknown provider", func() error { _, err := e.svc.LoadStatus(ctx, "nope"); return err }, bank.ErrUnknownProvider, "PROVIDER_NOT_FOUND"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			// The code is the Aggregation dialect's answer (system group).
			if _, code, _ := aggregation.Resolve(err); !errors.Is(err, tc.want) || code != tc.code {
				t.Errorf("err %v, want %v with code %s", err, tc.want, tc.code)
			}
		})
	}
}

func testPoison(t *testing.T, e *env) {
	ctx := context.Background()
	tests := []struct {
		name string
		job  queue.Job
	}{
		{"unknown type", queue.Job{Type: "directory.other", Payload: json.RawMessage(`{}`)}},
		{"bad payload", queue.Job{Type: bank.JobLoad, Payload: json.RawMessage(`[1]`)}},
		{"no load id", queue.Job{Type: bank.JobLoad, Payload: json.RawMessage(`{"provider":"sandbox"}`)}},
		{"unknown provider", queue.Job{Type: bank.JobLoad, Payload: json.RawMessage(`{"provider":"nope","loadId":"x"}`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.svc.HandleJob(ctx, tc.job); !errors.Is(err, queue.ErrPoison) {
				t.Errorf("err %v, want poison", err)
			}
		})
	}
	// A job of a load that was never started is dropped.
	job, _ := queue.NewJob(bank.JobLoad, "k", bank.LoadPayload{Provider: sandbox.Name, LoadID: "x"})
	if err := e.svc.HandleJob(ctx, job); err != nil {
		t.Errorf("job without load state: %v", err)
	}
	if _, err := e.st.Get(ctx, store.Key{PK: bank.ProviderPK(sandbox.Name), SK: bank.BankSK(sandbox.BankDefault)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a dropped job wrote banks: %v", err)
	}
}

// callCounter returns the store's call counter (bolt counts the requests
// DynamoDB would serve), or nil when the driver has none.
func callCounter(st store.Store) func() int64 {
	if c, ok := st.(interface{ Calls() int64 }); ok {
		return c.Calls
	}
	return nil
}

func testCallBudget(t *testing.T, e *env) {
	calls := callCounter(e.st)
	if calls == nil {
		t.Skip("store driver does not count calls")
	}
	ctx := context.Background()
	e.load()
	id := e.get(sandbox.BankDefault).InternalID
	tests := []struct {
		name string
		max  int64
		call func() error
	}{
		{"get by code and provider", 1, func() error { _, err := e.svc.Get(ctx, sandbox.Name, sandbox.BankDefault); return err }},
		{"by internal id", 2, func() error { _, err := e.svc.ByInternalID(ctx, id); return err }},
		{"by country", 1, func() error { _, err := e.svc.ByCountry(ctx, "GB"); return err }},
		{"by code across providers", 1, func() error { _, err := e.svc.ListByCode(ctx, sandbox.BankDefault); return err }},
		{"OBP by code", 1, func() error { _, err := e.svc.ByCode(ctx, sandbox.BankDefault); return err }},
		{"OBP enabled list", 2, func() error { _, err := e.svc.ListEnabled(ctx); return err }},
		{"set access", 2, func() error { _, err := e.svc.SetAccess(ctx, sandbox.BankDefault, false); return err }},
		{"start load", 2, func() error { _, err := e.svc.StartLoad(ctx); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := calls()
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if got := calls() - n; got > tc.max {
				t.Errorf("%d store calls, budget %d", got, tc.max)
			}
		})
	}
	// A page job: state Get, provider (the sandbox reads nothing for its
	// directory), one BatchGet, one transaction, state Update.
	n := calls()
	e.drain()
	t.Logf("a complete %d-page reload made %d store calls", sandboxPages, calls()-n)
}
