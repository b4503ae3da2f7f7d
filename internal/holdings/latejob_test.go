package holdings

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// levelLog records every log record's level and message.
type levelLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *levelLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *levelLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}
func (l *levelLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levelLog) WithGroup(string) slog.Handler      { return l }

// atLeast returns the messages logged at level or above.
func (l *levelLog) atLeast(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level >= level {
			out = append(out, r.Level.String()+" "+r.Message)
		}
	}
	return out
}

func (l *levelLog) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Message == msg {
			return true
		}
	}
	return false
}

// A first import job that runs after its connection was removed (at the
// provider too) is expected: it is logged at INFO, writes nothing, and
// never disturbs the import of a newer connection of the party to the same
// bank (it neither supersedes that run nor marks it failed).
func TestLateJobOfRemovedConnection(t *testing.T) {
	t.Run("connection gone", func(t *testing.T) {
		h := newHarness(t, "bolt", Limits{})
		logs := &levelLog{}
		h.svc.log = slog.New(logs)
		req := h.connect("101250", sandbox.BankDefault, recent)
		if p := h.importNow(req); p.State != StateDone {
			t.Fatalf("import: %+v", p)
		}
		if err := h.svc.RemoveConnectionData(t.Context(), req.PartyID, req.BankCode); err != nil {
			t.Fatal(err)
		}
		if err := h.sbx.DeleteConnection(t.Context(), req.ConnectionID); err != nil {
			t.Fatal(err)
		}
		late := req
		late.RunID = "late-run"
		job, err := queue.NewJob(JobImport, "late", late)
		if err != nil {
			t.Fatal(err)
		}
		h.resend(job)
		h.drain()
		if _, err := h.svc.Progress(t.Context(), req.PartyID, req.BankCode); !errors.Is(err, ErrImportNotFound) {
			t.Fatalf("late job wrote an import state: %v", err)
		}
		if ids := h.accountIDs(req.PartyID); len(ids) != 0 {
			t.Fatalf("late job wrote accounts %v", ids)
		}
		if bad := logs.atLeast(slog.LevelWarn); len(bad) != 0 {
			t.Fatalf("a late job of a removed connection logged %v", bad)
		}
		if !logs.has("import job of a removed connection ignored") {
			t.Fatal("the late job was not logged at INFO")
		}
	})

	t.Run("newer connection to the same bank", func(t *testing.T) {
		h := newHarness(t, "bolt", Limits{})
		logs := &levelLog{}
		h.svc.log = slog.New(logs)
		req := h.connect("101260", sandbox.BankDefault, recent)
		// The removed connection had another provider id, which the
		// provider no longer knows; its first job arrives around the first
		// job of the new connection's import, before and after it.
		stale := req
		stale.ConnectionID = "900000000000000001"
		for i, staleFirst := range []bool{true, false} {
			stale.RunID = "stale-run-" + string(rune('a'+i))
			job, err := queue.NewJob(JobImport, stale.RunID, stale)
			if err != nil {
				t.Fatal(err)
			}
			if staleFirst {
				h.resend(job)
			}
			if err := h.svc.EnqueueImport(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			if !staleFirst {
				h.resend(job)
			}
			h.drain()
			p := h.progress(req)
			if e := h.expect(req); p.State != StateDone || p.Transactions != e.total || p.LastError != "" {
				t.Fatalf("stale job first=%v: the new connection's import is %+v, want done with %d transactions", staleFirst, p, e.total)
			}
			if st, _ := h.state(req); st.Checkpoint.RunID == stale.RunID {
				t.Fatalf("stale job first=%v superseded the current run", staleFirst)
			}
		}
		if bad := logs.atLeast(slog.LevelWarn); len(bad) != 0 {
			t.Fatalf("late jobs of a removed connection logged %v", bad)
		}
	})
}

// listThen is a provider whose ListAccounts answers, then runs after: the
// moment between a first job's provider call and its claim.
type listThen struct {
	provider.Provider
	after func()
}

func (l listThen) ListAccounts(ctx context.Context, connectionID string) ([]provider.Account, error) {
	accs, err := l.Provider.ListAccounts(ctx, connectionID)
	if l.after != nil {
		l.after()
	}
	return accs, err
}

// A first import job lists the accounts, then the connection is removed,
// then the job claims its run. Whether the removal has only removed the
// data (its tombstone stands in for the import state) or has finished (the
// connection is gone: the run guard), the job writes nothing: removal
// leaves nothing behind.
func TestRemovalOvertakesAFirstJob(t *testing.T) {
	connKey := func(partyID, bankCode string) store.Key {
		return store.Key{PK: PartyPK(partyID), SK: "CONN#" + bankCode}
	}
	for _, finished := range []bool{false, true} {
		name := map[bool]string{false: "data removed, connection not yet deleted", true: "connection deleted"}[finished]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "bolt", Limits{})
			logs := &levelLog{}
			req := h.connect("101270", sandbox.BankDefault, recent)
			conn := store.Item{PK: connKey(req.PartyID, req.BankCode).PK, SK: connKey(req.PartyID, req.BankCode).SK, Version: 1, Data: []byte(`{}`)}
			if err := h.st.Put(t.Context(), conn, store.IfNotExists()); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			remove := func() {
				once.Do(func() {
					ctx := context.Background()
					if err := h.svc.RemoveConnectionData(ctx, req.PartyID, req.BankCode); err != nil {
						t.Error(err)
					}
					if !finished {
						return
					}
					if err := h.st.Transact(ctx, []store.TxOp{
						store.TxDelete(conn.Key(), store.Condition{}),
						store.TxDelete(importKey(req.PartyID, req.BankCode), store.Condition{}),
					}); err != nil {
						t.Error(err)
					}
				})
			}
			h.svc = New(Deps{
				Store: h.st, Queue: faultySender{h}, Clock: h.clock, Log: slog.New(logs), Hook: h.hook,
				RunGuard: connKey,
				Providers: func(name string) (provider.Provider, error) {
					if name != sandbox.Name {
						return nil, platform.BadRequest("UNKNOWN_PROVIDER", "unknown provider %q", name)
					}
					return listThen{Provider: h.sbx, after: remove}, nil
				},
			})
			req.RunID = "activation-run"
			job, err := queue.NewJob(JobImport, "activation", req)
			if err != nil {
				t.Fatal(err)
			}
			h.resend(job)
			h.drain()

			if ids := h.accountIDs(req.PartyID); len(ids) != 0 {
				t.Fatalf("the job imported accounts %v after the removal", ids)
			}
			st, _, err := h.svc.loadRawState(t.Context(), req.PartyID, req.BankCode)
			switch {
			case finished && !errors.Is(err, store.ErrNotFound):
				t.Fatalf("import state after the removal: %+v %v", st, err)
			case !finished && (err != nil || !st.Removed):
				t.Fatalf("the removal's tombstone was replaced: %+v %v", st, err)
			}
			if bad := logs.atLeast(slog.LevelWarn); len(bad) != 0 {
				t.Fatalf("logged %v", bad)
			}
			// The connection's removal then deletes the connection and the
			// state: nothing is left of the party at that bank.
			if err := h.st.Transact(t.Context(), []store.TxOp{
				store.TxDelete(conn.Key(), store.Condition{}),
				store.TxDelete(importKey(req.PartyID, req.BankCode), store.Condition{}),
			}); err != nil {
				t.Fatal(err)
			}
			if items := h.partition("", PartyPK(req.PartyID)); len(items) != 0 {
				t.Fatalf("party partition keeps %d items", len(items))
			}
		})
	}
}
