package holdings

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// movingStore moves the import checkpoint's version, changing nothing
// else, just before the claim of step claimStep is written: what the step
// before does when it records that it sent the job (SentStep) while
// another consumer, quick enough to get the job first, has read the
// checkpoint and is about to claim the step. Several consumers of the
// holdings queue (Lambda instances, `openagg serve` processes) make this
// happen.
type movingStore struct {
	countingStore
	claimStep int
	moves     int // how many claims to disturb
	moved     atomic.Int32
}

func (m *movingStore) Update(ctx context.Context, it store.Item) (int64, error) {
	var st importState
	if strings.HasPrefix(it.SK, "IMPORT#") && json.Unmarshal(it.Data, &st) == nil &&
		st.Checkpoint.Step == m.claimStep && st.Checkpoint.Attempts >= 1 && st.Progress.State == StateRunning &&
		int(m.moved.Load()) < m.moves {
		m.moved.Add(1)
		cur, err := m.countingStore.Get(ctx, it.Key())
		if err != nil {
			return 0, err
		}
		if _, err := m.countingStore.Update(ctx, cur); err != nil {
			return 0, err
		}
	}
	return m.countingStore.Update(ctx, it)
}

// TestClaimAfterTheCheckpointMoved: a step whose claim meets a checkpoint
// that moved without being claimed (same run, step, attempts and state)
// claims again and runs; the import completes, every transaction counted
// once. Before, the step was dropped as "claimed elsewhere" and the import
// stayed running for ever. If the checkpoint keeps moving, the job fails
// for a redelivery instead of being dropped.
func TestClaimAfterTheCheckpointMoved(t *testing.T) {
	for _, tc := range []struct {
		name  string
		moves int
	}{
		{"once", 1},
		{"every try", claimTries},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "bolt", Limits{MaxPages: 1})
			moving := &movingStore{countingStore: h.st, claimStep: 2, moves: tc.moves}
			h.svc = New(Deps{
				Store: moving, Queue: faultySender{h}, Clock: h.clock, Log: h.svc.log, Hook: h.hook, Limits: Limits{MaxPages: 1},
				Providers: func(name string) (provider.Provider, error) {
					if name == sandbox.Name {
						return h.sbx, nil
					}
					return nil, platform.BadRequest("UNKNOWN_PROVIDER", "unknown provider %q", name)
				},
			})
			req := h.connect("100900", sandbox.BankBig, recent)
			e := h.expect(req)
			var failures atomic.Int32
			h.set(func(h *harness) {
				h.after = func(job queue.Job, err error) {
					if err != nil {
						failures.Add(1)
					}
				}
			})
			p := h.importNow(req)
			if int(moving.moved.Load()) != tc.moves {
				t.Fatalf("the checkpoint was moved %d times, want %d: the test bank has too few steps", moving.moved.Load(), tc.moves)
			}
			if p.State != StateDone || p.Transactions != e.total {
				t.Fatalf("progress %+v, want done with %d transactions", p, e.total)
			}
			// Moved on every try, the step failed once and its redelivery ran it.
			if want := int32(tc.moves / claimTries); failures.Load() != want {
				t.Fatalf("%d failed deliveries, want %d", failures.Load(), want)
			}
			n := 0
			for _, id := range h.accountIDs(req.PartyID) {
				n += len(h.partition(store.IndexGSI1, TxByDateGSI1PK(id)))
			}
			if int64(n) != e.total {
				t.Fatalf("%d transactions stored, want %d", n, e.total)
			}
		})
	}
}
