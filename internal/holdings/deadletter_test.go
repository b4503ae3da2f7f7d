package holdings

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// crashingBank stands for a worker process that dies at the same point
// of an import on every delivery (a kill -9, an out-of-memory, a Lambda
// timeout): while armed, it panics, and the embedded queue counts the
// delivery as failed without the service recording anything, as after a
// crash. It crashes either listing the accounts (before the step's claim)
// or fetching the pending transactions of the first account it pages
// (mid-step: a step of its own with Limits.MaxPages 1).
type crashingBank struct {
	provider.Provider
	beforeClaim bool
	armed       *atomic.Bool
	crashes     *atomic.Int32
	mu          *sync.Mutex
	page        *string // the account whose pending list crashes
}

func (b crashingBank) crash() {
	b.crashes.Add(1)
	panic("simulated worker crash")
}

func (b crashingBank) ListAccounts(ctx context.Context, connectionID string) ([]provider.Account, error) {
	if b.beforeClaim && b.armed.Load() {
		b.crash()
	}
	return b.Provider.ListAccounts(ctx, connectionID)
}

func (b crashingBank) ListTransactions(ctx context.Context, connectionID, accountID string, pending bool, cursor string) (provider.TransactionPage, error) {
	if !b.beforeClaim && pending && b.armed.Load() {
		b.mu.Lock()
		if *b.page == "" {
			*b.page = accountID
		}
		crash := *b.page == accountID
		b.mu.Unlock()
		if crash {
			b.crash()
		}
	}
	return b.Provider.ListTransactions(ctx, connectionID, accountID, pending, cursor)
}

// An import whose step crashes on every delivery must not stay queued or
// running behind a dead letter: the delivery after the step's last try
// (counted by its claims), or the queue's last delivery (its receive
// count against the queue's maxReceiveCount, which also covers crashes
// before the claim), records the failure with the reason and is
// acknowledged. The next import request then runs to the end and stores,
// and announces in the change log, every transaction exactly once.
func TestCrashingStepFailsInsteadOfDeadLettering(t *testing.T) {
	for _, tc := range []struct {
		name        string
		beforeClaim bool
		// deliveries of the crashing step: crashes, then the one that
		// records the failure.
		crashes int
		reason  string
	}{
		{"mid-step, counted by the claims", false, 3, "was tried 3 times without finishing"},
		{"before the claim, counted by the queue", true, testMaxReceiveCount - 1, "was tried 4 times without finishing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "bolt", Limits{MaxPages: 1, MaxAttempts: 3})
			var armed atomic.Bool
			var crashes atomic.Int32
			var page string
			armed.Store(true)
			h.set(func(h *harness) {
				h.wrap = func(p *sandbox.Provider) provider.Provider {
					return crashingBank{Provider: p, beforeClaim: tc.beforeClaim, armed: &armed, crashes: &crashes, mu: &sync.Mutex{}, page: &page}
				}
			})
			req := h.connect("102100", sandbox.BankDefault, recent)
			p := h.importNow(req)

			if p.State != StateFailed || !strings.Contains(p.LastError, tc.reason) {
				t.Fatalf("progress %+v, want failed with %q", p, tc.reason)
			}
			if int(crashes.Load()) != tc.crashes {
				t.Fatalf("%d crashes, want %d", crashes.Load(), tc.crashes)
			}
			if dead, err := h.q.DeadLetters(queue.Holdings); err != nil || len(dead) != 0 {
				t.Fatalf("dead letters %+v (%v): the recorded failure is acknowledged", dead, err)
			}

			// The cause is fixed; the user asks again.
			armed.Store(false)
			e := h.expect(req)
			p = h.importNow(req)
			if p.State != StateDone || p.LastError != "" || p.Transactions != e.total || e.total == 0 {
				t.Fatalf("progress after a new request %+v, want done with %d transactions", p, e.total)
			}
			n := 0
			for _, id := range h.accountIDs(req.PartyID) {
				n += len(h.partition(store.IndexGSI1, TxByDateGSI1PK(id)))
			}
			if int64(n) != e.total || int64(len(h.storedTransactions(req.PartyID))) != e.total {
				t.Fatalf("%d transactions indexed, %d stored, the provider has %d", n, len(h.storedTransactions(req.PartyID)), e.total)
			}
			c := h.newSyncClient(req.PartyID)
			c.follow(500)
			c.matchStore()
		})
	}
}
