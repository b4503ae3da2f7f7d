package bank_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/dynamo/dynamofault"
)

// TestLoadUnderFaults: two directory loads on DynamoDB while DynamoDB
// throttles, fails with 500s, hangs, cancels transactions and leaves batch
// items unprocessed on 30% of the calls, and the 3rd read or batch
// write of each load fails on all its attempts so that the page job fails and the
// queue delivers it again. Each load completes with every sandbox bank
// stored once (one record, one internal id claim, one country index
// entry), and the reload keeps the ids.
func TestLoadUnderFaults(t *testing.T) {
	inj := dynamofault.New(t, dynamofault.Plan{Seed: 3}) // no faults until the jobs run
	st, _ := dynamofault.Store(t, inj, "bank", []byte("bank-test-secret-0123456789"))
	e := newEnv(t, st)
	failed := redelivering(t, e)

	faulty := dynamofault.Plan{Rate: 0.3, OutlastAt: []int64{3}}
	var first map[string]bank.Bank
	for i, name := range []string{"load", "reload"} {
		// StartLoad is the operator's request; the faults are the jobs'.
		inj.SetPlan(dynamofault.Plan{})
		e.clock.Advance(time.Minute)
		id, err := e.svc.StartLoad(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		inj.SetPlan(faulty)
		e.drain()
		inj.SetPlan(dynamofault.Plan{})
		t.Logf("%s: %d failed deliveries so far; %s; store: %d calls, %d retries", name, failed.Load(), inj, st.Calls(), st.Retries())

		ls, err := e.svc.LoadStatus(t.Context(), sandbox.Name)
		if err != nil || ls.LoadID != id || !ls.Done || ls.Pages != sandboxPages || ls.Banks != sandboxBanks || ls.Inactivated != 0 {
			t.Fatalf("%s: state %+v %v", name, ls, err)
		}
		if i == 0 && ls.Written != sandboxBanks {
			t.Fatalf("load wrote %d banks, want %d", ls.Written, sandboxBanks)
		}
		banks := e.allBanks()
		if len(banks) != sandboxBanks {
			t.Fatalf("%s: %d banks, want %d", name, len(banks), sandboxBanks)
		}
		// Exactly one record per bank, each with its own id.
		records := queryAll(t, st, store.Query{PK: bank.ProviderPK(sandbox.Name), SKPrefix: bank.BankSKPrefix})
		if len(records) != sandboxBanks {
			t.Fatalf("%s: %d bank records, want %d", name, len(records), sandboxBanks)
		}
		ids := map[string]bool{}
		for code, b := range banks {
			if b.LastSeenLoad != id {
				t.Errorf("%s: %s last seen in %s", name, code, b.LastSeenLoad)
			}
			if ids[b.InternalID] {
				t.Errorf("%s: id %s of %s given twice", name, b.InternalID, code)
			}
			ids[b.InternalID] = true
		}
		enabled, err := e.svc.ListEnabled(t.Context())
		if err != nil || len(enabled) != sandboxBanks {
			t.Fatalf("%s: %d enabled banks, %v", name, len(enabled), err)
		}
		if i == 0 {
			first = banks
		} else if !maps.EqualFunc(first, banks, func(a, b bank.Bank) bool { return a.InternalID == b.InternalID }) {
			t.Fatal("the reload changed internal ids")
		}
	}
	if inj.Total() == 0 || st.Retries() == 0 || failed.Load() == 0 {
		t.Fatalf("faults not exercised: %s, %d retries, %d failed deliveries", inj, st.Retries(), failed.Load())
	}
}

// redelivering runs the env's page jobs through the embedded queue's
// consumer with redelivery (newEnv's consumer fails the test on the first
// error) and counts the deliveries that failed.
func redelivering(t *testing.T, e *env) *atomic.Int64 {
	var failed atomic.Int64
	e.q.Register(queue.Directory, queue.Consumer(discard, func(ctx context.Context, job queue.Job) error {
		err := e.svc.HandleJob(ctx, job)
		if err != nil {
			failed.Add(1)
			t.Logf("directory job %s failed, the queue delivers it again: %v", job.Key, err)
		}
		return err
	}), local.ConsumerConfig{MaxReceiveCount: 5, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	return &failed
}

func queryAll(t *testing.T, st store.Store, q store.Query) []store.Item {
	t.Helper()
	var out []store.Item
	for {
		page, err := st.Query(t.Context(), q)
		if err != nil {
			t.Fatalf("query %s: %v", q.PK, err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		q.Token = page.Next
	}
}

// failingQuery fails the first Query whose partition key is pk.
type failingQuery struct {
	store.Store
	pk   string
	once sync.Once
}

func (f *failingQuery) Query(ctx context.Context, q store.Query) (store.Page, error) {
	var fail bool
	if q.PK == f.pk {
		f.once.Do(func() { fail = true })
	}
	if fail {
		return store.Page{}, errors.New("injected: the store does not answer")
	}
	return f.Store.Query(ctx, q)
}

// TestRedeliveredPageCountsItsWrites: the last page's job fails after its
// banks are written (its sweep's query fails); delivered again, it finds
// them written and writes nothing, and the load state still counts them:
// Written is the same as without the failure. (It said 10 of 17 before.)
func TestRedeliveredPageCountsItsWrites(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, &failingQuery{Store: st, pk: bank.ProviderPK(sandbox.Name)})
	failed := redelivering(t, e)
	ls := e.load()
	if failed.Load() != 1 {
		t.Fatalf("%d failed deliveries, want the sweep's one", failed.Load())
	}
	if ls.Pages != sandboxPages || ls.Banks != sandboxBanks || ls.Written != sandboxBanks || ls.Inactivated != 0 {
		t.Fatalf("load state %+v, want %d pages, %d banks listed and written", ls, sandboxPages, sandboxBanks)
	}
}
