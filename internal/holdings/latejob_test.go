package holdings

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
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
		if _, err := h.svc.Progress(t.Context(), req.PartyID, req.BankCode); !errors.Is(err, ErrNotFound) {
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
