package holdings

import (
	"testing"
	"time"

	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamofault"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

// TestImportUnderFaults: a chunked import of the big bank on DynamoDB
// while DynamoDB throttles (ThrottlingException,
// ProvisionedThroughputExceededException), fails (500), hangs (attempt
// timeouts), cancels transactions and leaves batch items unprocessed on
// about one call in seven, and every 97th call fails on all its attempts
// so that the error reaches the step and the queue delivers the job again.
// The import completes with everything stored exactly once: the same
// checks as the fault-free import (TestImportAccountsAndTransactions).
func TestImportUnderFaults(t *testing.T) {
	inj := dynamofault.New(t, dynamofault.Plan{Seed: 12, Rate: 0.15, OutlastEvery: 97})
	secret := []byte("holdings-test-secret-0123456789")
	st, table := dynamofault.Store(t, inj, "holdings", secret)
	// The provider's own state is not OpenAgg's table: no faults there.
	sbx := dynamo.New(dynamotest.Client(t), dynamo.Options{Table: table, TokenSecret: secret})
	h := newHarnessOn(t, st, sbx, Limits{MaxPages: 1, FlushSize: 100})
	var failed int
	h.set(func(h *harness) {
		h.after = func(job queue.Job, err error) {
			if err != nil {
				failed++ // under h.mu
				t.Logf("step %d failed, the queue delivers it again: %v", jobStep(t, job), err)
			}
		}
	})
	start := time.Now()
	req := h.connect("100900", sandbox.BankBig, sandboxNow.AddDate(0, 0, -10))
	e := h.expect(req)
	t0 := time.Now()
	p := h.importNow(req)
	t.Logf("connect %s, import %s", t0.Sub(start), time.Since(t0))
	// The checks read through the same client: without faults now.
	inj.SetPlan(dynamofault.Plan{})
	t.Logf("%d transactions in %d deliveries (%d failed); %s; store: %d calls, %d retries",
		e.total, len(h.jobLog()), failed, inj, st.Calls(), st.Retries())

	if p.State != StateDone || p.LastError != "" || p.Accounts != len(e.accounts) || p.Transactions != e.total {
		t.Fatalf("progress %+v, want done with %d accounts and %d transactions", p, len(e.accounts), e.total)
	}
	state, _ := h.state(req)
	if state.Checkpoint.Transactions != e.total || state.Checkpoint.Step < 2 {
		t.Fatalf("checkpoint %+v: want %d transactions over several steps", state.Checkpoint, e.total)
	}
	h.checkStored(t, req, e)
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
