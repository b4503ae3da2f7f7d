package holdings

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// countingStore is a store driver that counts the requests DynamoDB
// would serve (both drivers expose it).
type countingStore interface {
	store.Store
	Calls() int64
}

// sandboxNow is the sandbox's fake "now": mid-day, so that some
// transactions are pending.
var sandboxNow = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

// harness is the holdings service on a real store driver, the sandbox
// provider and the embedded queue drained synchronously.
type harness struct {
	t     testing.TB
	st    countingStore
	q     *local.Queue
	sbx   *sandbox.Provider
	clock *clocktest.Clock
	svc   *Service
	hook  *recordingHook
	// jobs records every job the worker received, in order.
	mu   sync.Mutex
	jobs []queue.Job
	// before, when set, runs before the service handles a job; a non-nil
	// error fails the delivery instead.
	before func(job queue.Job) error
	// after, when set, runs after the service handled a job.
	after func(job queue.Job, err error)
	// failSend, when set, may fail a Send of the service (fault injection
	// in front of the real queue).
	failSend func(job queue.Job) error
	// customers are the sandbox customers by party.
	customers map[string]provider.Customer
	// wrap, when set, stands between the service and the sandbox (a
	// provider whose data changes between imports).
	wrap func(*sandbox.Provider) provider.Provider
}

// faultySender is the real queue with optional injected Send failures.
type faultySender struct{ h *harness }

func (f faultySender) Send(ctx context.Context, name string, job queue.Job, delay time.Duration) error {
	f.h.mu.Lock()
	fail := f.h.failSend
	f.h.mu.Unlock()
	if fail != nil {
		if err := fail(job); err != nil {
			return err
		}
	}
	return f.h.q.Send(ctx, name, job, delay)
}

// set changes the harness's injection points under its lock.
func (h *harness) set(fn func(h *harness)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h)
}

// recordingHook records what the import told it; fail makes it fail.
type recordingHook struct {
	mu    sync.Mutex
	calls [][]string
	fail  atomic.Int32 // fail this many calls
	run   func(ctx context.Context, accounts []Account) error
}

func (h *recordingHook) AccountsImported(ctx context.Context, accounts []Account) error {
	if h.fail.Load() > 0 {
		h.fail.Add(-1)
		return fmt.Errorf("hook failure for the test")
	}
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	h.mu.Lock()
	h.calls = append(h.calls, ids)
	h.mu.Unlock()
	if h.run != nil {
		return h.run(ctx, accounts)
	}
	return nil
}

func (h *recordingHook) Calls() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]string(nil), h.calls...)
}

// stores lists the drivers the domain tests run on.
var stores = []string{"bolt", "dynamo"}

// openStores returns the store of the service under test and, so that
// the service's store calls can be counted alone, a separate store
// instance for the sandbox provider's own state (another bbolt file; the
// same DynamoDB table through another driver instance).
func openStores(t testing.TB, kind string) (countingStore, store.Store) {
	t.Helper()
	switch kind {
	case "bolt":
		return openBolt(t, "store.db"), openBolt(t, "sandbox.db")
	case "dynamo":
		client, table := dynamotest.Table(t, "holdings")
		opts := dynamo.Options{Table: table, TokenSecret: []byte("holdings-test-secret-0123456789")}
		return dynamo.New(client, opts), dynamo.New(client, opts)
	}
	t.Fatalf("unknown store %q", kind)
	return nil, nil
}

func openBolt(t testing.TB, name string) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), name), bolt.Options{TokenSecret: []byte("holdings-test-secret-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newHarness(t testing.TB, kind string, limits Limits) *harness {
	t.Helper()
	st, sbxStore := openStores(t, kind)
	return newHarnessOn(t, st, sbxStore, limits)
}

// newHarnessOn builds the harness on given stores: st for the service,
// sbxStore for the sandbox provider's own state.
func newHarnessOn(t testing.TB, st countingStore, sbxStore store.Store, limits Limits) *harness {
	t.Helper()
	qdb, err := bolt.Open(filepath.Join(t.TempDir(), "queue.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qdb.Close() })
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("HOLDINGS_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	q, err := local.New(qdb.DB(), local.Options{Log: log, DrainHorizon: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, q: q, clock: clocktest.New(sandboxNow), hook: &recordingHook{}, customers: map[string]provider.Customer{}}
	h.sbx = sandbox.New(sbxStore, sandbox.Options{Clock: h.clock, PublicURL: "http://openagg.test", Seed: 42, SlowDelay: 10 * time.Millisecond})
	h.svc = New(Deps{
		Store: st, Queue: faultySender{h}, Clock: h.clock, Log: log, Hook: h.hook, Limits: limits,
		MaxReceiveCount: testMaxReceiveCount,
		Providers: func(name string) (provider.Provider, error) {
			if name == sandbox.Name {
				h.mu.Lock()
				wrap := h.wrap
				h.mu.Unlock()
				if wrap != nil {
					return wrap(h.sbx), nil
				}
				return h.sbx, nil
			}
			return nil, platform.BadRequest("UNKNOWN_PROVIDER", "unknown provider %q", name)
		},
	})
	q.Register(queue.Holdings, queue.Consumer(log, func(ctx context.Context, job queue.Job) error {
		h.mu.Lock()
		h.jobs = append(h.jobs, job)
		before, after := h.before, h.after
		h.mu.Unlock()
		if before != nil {
			if err := before(job); err != nil {
				return err
			}
		}
		err := h.svc.HandleJob(ctx, job)
		if after != nil {
			after(job, err)
		}
		return err
	}), local.ConsumerConfig{BatchSize: 1, MaxReceiveCount: testMaxReceiveCount, BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	return h
}

// testMaxReceiveCount is the harness queue's maxReceiveCount, told to the
// service as production tells it the consumer settings'.
const testMaxReceiveCount = 5

// drain runs the worker until the queue is empty.
func (h *harness) drain() {
	h.t.Helper()
	if err := h.q.Drain(context.Background()); err != nil {
		h.t.Fatalf("drain: %v", err)
	}
}

func (h *harness) jobLog() []queue.Job {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]queue.Job(nil), h.jobs...)
}

// connect logs a party in at a sandbox bank and returns the import request
// of its connection. from, when set, limits the history (connect from date).
func (h *harness) connect(partyID, bankCode string, from time.Time) ImportRequest {
	h.t.Helper()
	ctx := context.Background()
	h.mu.Lock()
	cust, ok := h.customers[partyID]
	h.mu.Unlock()
	if !ok {
		var err error
		if cust, err = h.sbx.CreateCustomer(ctx, "GB0010001-"+partyID); err != nil {
			h.t.Fatalf("create customer: %v", err)
		}
		h.mu.Lock()
		h.customers[partyID] = cust
		h.mu.Unlock()
	}
	sess, err := h.sbx.CreateConnectSession(ctx, provider.ConnectRequest{
		CustomerID: cust.ID, BankCode: bankCode,
		ConsentScopes: []string{"account_details", "holder_information", "transactions_details"}, ConsentPeriodDays: 90,
		FetchScopes: []string{"accounts", "holder_info", "transactions"}, ConsentFrom: from, AttemptFrom: from,
		JavascriptCallbackType: "post_message",
	})
	if err != nil {
		h.t.Fatalf("connect session: %v", err)
	}
	u, err := url.Parse(sess.ConnectURL)
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := h.sbx.SubmitLogin(ctx, u.Query().Get("token"), "user", sandbox.Password)
	if err != nil {
		h.t.Fatalf("login: %v", err)
	}
	if s.Stage == sandbox.StageChallenge {
		if s, err = h.sbx.SubmitChallenge(ctx, s.Token, sandbox.ChallengeAnswer); err != nil {
			h.t.Fatalf("challenge: %v", err)
		}
	}
	if s.ConnectionID == "" {
		h.t.Fatalf("no connection: stage %s, error %s", s.Stage, s.Error)
	}
	b, err := h.sbx.Bank(ctx, bankCode)
	if err != nil {
		h.t.Fatal(err)
	}
	return ImportRequest{
		PartyID: partyID, OwnerSub: "user-" + partyID, CustomerID: cust.ID, Provider: sandbox.Name,
		BankCode: bankCode, BankName: b.Name, ConnectionID: s.ConnectionID,
	}
}

// importNow enqueues an import and drains the queue.
func (h *harness) importNow(req ImportRequest) ImportProgress {
	h.t.Helper()
	if err := h.svc.EnqueueImport(context.Background(), req); err != nil {
		h.t.Fatalf("enqueue import: %v", err)
	}
	h.drain()
	return h.progress(req)
}

func (h *harness) progress(req ImportRequest) ImportProgress {
	h.t.Helper()
	p, err := h.svc.Progress(context.Background(), req.PartyID, req.BankCode)
	if err != nil {
		h.t.Fatalf("progress: %v", err)
	}
	return p
}

// state reads the raw import state and its version.
func (h *harness) state(req ImportRequest) (importState, int64) {
	h.t.Helper()
	st, ver, err := h.svc.loadState(context.Background(), req.PartyID, req.BankCode)
	if err != nil {
		h.t.Fatalf("load state: %v", err)
	}
	return st, ver
}

// expected is what the provider currently lists for a connection.
type expected struct {
	accounts []provider.Account
	posted   map[string]int // provider account id → count
	pending  map[string][]string
	total    int64
	// counterparties are the distinct counterparties of each account's
	// transactions (provider account id → counterparty id → name, IBAN).
	counterparties map[string]map[string][2]string
}

func (e *expected) counterparty(accountID string, t provider.Transaction) {
	id := CounterpartyID(t.CounterpartyName, t.CounterpartyIBAN)
	if id == "" {
		return
	}
	if e.counterparties[accountID] == nil {
		e.counterparties[accountID] = map[string][2]string{}
	}
	e.counterparties[accountID][id] = [2]string{t.CounterpartyName, t.CounterpartyIBAN}
}

func (h *harness) expect(req ImportRequest) expected {
	h.t.Helper()
	ctx := context.Background()
	accs, err := h.sbx.ListAccounts(ctx, req.ConnectionID)
	if err != nil {
		h.t.Fatal(err)
	}
	e := expected{accounts: accs, posted: map[string]int{}, pending: map[string][]string{}, counterparties: map[string]map[string][2]string{}}
	for _, a := range accs {
		cursor := ""
		for {
			p, err := h.sbx.ListTransactions(ctx, req.ConnectionID, a.ID, false, cursor)
			if err != nil {
				h.t.Fatal(err)
			}
			e.posted[a.ID] += len(p.Transactions)
			e.total += int64(len(p.Transactions))
			for _, t := range p.Transactions {
				e.counterparty(a.ID, t)
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		p, err := h.sbx.ListTransactions(ctx, req.ConnectionID, a.ID, true, "")
		if err != nil {
			h.t.Fatal(err)
		}
		for _, t := range p.Transactions {
			e.pending[a.ID] = append(e.pending[a.ID], t.ID)
			e.counterparty(a.ID, t)
		}
		e.total += int64(len(p.Transactions))
	}
	return e
}

// partition lists every item of a table partition (or GSI1 partition).
func (h *harness) partition(index, pk string) []store.Item {
	h.t.Helper()
	var out []store.Item
	q := store.Query{Index: index, PK: pk}
	for {
		page, err := h.st.Query(context.Background(), q)
		if err != nil {
			h.t.Fatalf("query %s %s: %v", index, pk, err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		q.Token = page.Next
	}
}

// snapshot renders every item of the given accounts' partitions, for
// before/after comparisons.
func (h *harness) snapshot(accountIDs []string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, id := range accountIDs {
		for _, it := range h.partition("", AccountPK(id)) {
			out[it.PK+"|"+it.SK] = fmt.Sprintf("%s|%s|%d|%s", it.GSI1PK, it.GSI1SK, it.Version, it.Data)
		}
	}
	return out
}

func (h *harness) accountIDs(partyID string) []string {
	h.t.Helper()
	accs, err := h.svc.Accounts(context.Background(), partyID)
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]string, len(accs))
	for i, a := range accs {
		ids[i] = a.ID
	}
	sort.Strings(ids)
	return ids
}

// resend puts a copy of a job back on the queue (a redelivery).
func (h *harness) resend(job queue.Job) {
	h.t.Helper()
	if err := h.q.Send(context.Background(), queue.Holdings, job, 0); err != nil {
		h.t.Fatal(err)
	}
}

func jobStep(t testing.TB, job queue.Job) int {
	t.Helper()
	var j importJob
	if err := json.Unmarshal(job.Payload, &j); err != nil {
		t.Fatal(err)
	}
	return j.Step
}
