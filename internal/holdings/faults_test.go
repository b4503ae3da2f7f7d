package holdings

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamofault"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

var faultsFull = flag.Bool("faults.full", false, "the fault-injection import on a month of the big bank with every stored-data check (make faults)")

// TestImportUnderFaults: a chunked import of the big bank on DynamoDB
// while DynamoDB throttles (ThrottlingException,
// ProvisionedThroughputExceededException), fails (500), hangs (attempt
// timeouts), cancels transactions and leaves batch items unprocessed on
// about one call in seven, and the 10th and 40th read or batch write
// (20th and 120th on the month) fail on all their attempts so that the
// error reaches the step and the queue delivers the job again. The import
// completes with every transaction stored exactly once. make test imports
// four days (a step per provider page); -faults.full (make
// faults) a month with every check of the fault-free import
// (TestImportAccountsAndTransactions).
func TestImportUnderFaults(t *testing.T) {
	// A step makes fewer reads and batch writes than lie between two
	// outlasting faults, so its next delivery gets through.
	days, limits, outlast := 4, Limits{MaxPages: 1, FlushSize: 100}, []int64{10, 40}
	if *faultsFull {
		days, limits, outlast = 30, Limits{MaxPages: 2, FlushSize: 200}, []int64{20, 120}
	}
	inj := dynamofault.New(t, dynamofault.Plan{Seed: 12, Rate: 0.15, OutlastAt: outlast})
	secret := []byte("holdings-test-secret-0123456789")
	st, table := dynamofault.Store(t, inj, "holdings", secret)
	// The provider's own state is not OpenAgg's table: no faults there.
	sbx := dynamo.New(dynamotest.Client(t), dynamo.Options{Table: table, TokenSecret: secret})
	h := newHarnessOn(t, st, sbx, limits)
	var failed int
	h.set(func(h *harness) {
		h.after = func(job queue.Job, err error) {
			if err != nil {
				failed++ // under h.mu
				t.Logf("step %d failed, the queue delivers it again: %v", jobStep(t, job), err)
			}
		}
	})
	req := h.connect("100900", sandbox.BankBig, sandboxNow.AddDate(0, 0, -days))
	e := h.expect(req)
	start := time.Now()
	p := h.importNow(req)
	took := time.Since(start)
	// The checks read through the same client: without faults now.
	inj.SetPlan(dynamofault.Plan{})
	t.Logf("%d transactions in %d deliveries (%d failed) in %s; %s; store: %d calls, %d retries",
		e.total, len(h.jobLog()), failed, took.Round(time.Millisecond), inj, st.Calls(), st.Retries())

	if p.State != StateDone || p.LastError != "" || p.Accounts != len(e.accounts) || p.Transactions != e.total {
		t.Fatalf("progress %+v, want done with %d accounts and %d transactions", p, len(e.accounts), e.total)
	}
	state, _ := h.state(req)
	if state.Checkpoint.Transactions != e.total || state.Checkpoint.Step < 2 {
		t.Fatalf("checkpoint %+v: want %d transactions over several steps", state.Checkpoint, e.total)
	}
	if *faultsFull {
		h.checkStored(t, req, e)
	} else {
		h.checkCounts(t, req, e)
	}
	if dead, err := h.q.DeadLetters(queue.Holdings); err != nil || len(dead) > 0 {
		t.Fatalf("dead letters %v %v", dead, err)
	}
	for _, k := range []dynamofault.Kind{dynamofault.Throttling, dynamofault.Throughput, dynamofault.ServerError, dynamofault.Timeout, dynamofault.Unprocessed} {
		if inj.Count(k) == 0 {
			t.Errorf("no %s fault made: %s", k, inj)
		}
	}
	if st.Retries() < inj.Total()/2 {
		t.Errorf("%d retries for %d faults", st.Retries(), inj.Total())
	}
	if failed == 0 {
		t.Error("no step failed: the queue's redelivery was not exercised")
	}
}

// checkCounts is the quick form of checkStored: every account stored,
// each holding every provider transaction exactly once in its partition
// and once in the date index.
func (h *harness) checkCounts(t *testing.T, req ImportRequest, e expected) {
	t.Helper()
	accs, err := h.svc.Accounts(t.Context(), req.PartyID)
	if err != nil || len(accs) != len(e.accounts) {
		t.Fatalf("%d accounts stored (%v), provider has %d", len(accs), err, len(e.accounts))
	}
	var total int64
	for _, pa := range e.accounts {
		id := AccountID(sandbox.Name, req.ConnectionID, pa.ID)
		want := e.posted[pa.ID] + len(e.pending[pa.ID])
		nTx := 0
		for _, it := range h.partition("", AccountPK(id)) {
			if strings.HasPrefix(it.SK, TxSKPrefix) {
				nTx++
			}
		}
		nIdx := len(h.partition(store.IndexGSI1, TxByDateGSI1PK(id)))
		if nTx != want || nIdx != want {
			t.Fatalf("account %s: %d transactions in its partition, %d in the date index, provider has %d", id, nTx, nIdx, want)
		}
		total += int64(nTx)
	}
	if total != e.total {
		t.Fatalf("%d transactions stored, provider has %d", total, e.total)
	}
}
