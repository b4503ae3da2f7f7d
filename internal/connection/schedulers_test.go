package connection_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// barrier holds the first caller for a key until a second one arrives (or
// a while passes), so that two racers reach the same point together.
type barrier struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
	met     map[string]int
}

func newBarrier() *barrier {
	return &barrier{waiting: map[string]chan struct{}{}, met: map[string]int{}}
}

func (b *barrier) wait(key string) {
	b.mu.Lock()
	if ch, ok := b.waiting[key]; ok {
		delete(b.waiting, key)
		b.met[key]++
		b.mu.Unlock()
		close(ch)
		return
	}
	ch := make(chan struct{})
	b.waiting[key] = ch
	b.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(5 * time.Second): // the other never came
		b.mu.Lock()
		delete(b.waiting, key)
		b.mu.Unlock()
	}
}

func (b *barrier) meetings(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.met[key]
}

// racingStore holds every connection write at a barrier while on, so
// that two schedulers have both read a due connection (and queued its
// refresh) before either moves its next refresh.
type racingStore struct {
	partytest.Store
	on *bool
	b  *barrier
}

func (s racingStore) Update(ctx context.Context, it store.Item) (int64, error) {
	if *s.on && strings.HasSuffix(it.SK, "CONN#"+sandbox.BankDefault) {
		s.b.wait(it.PK)
	}
	return s.Store.Update(ctx, it)
}

// racingProvider holds refreshes at a barrier, so that two workers holding
// copies of one refresh job call the provider together, and counts the
// refreshes the provider accepted.
type racingProvider struct {
	*sandbox.Provider
	b  *barrier
	mu sync.Mutex
	ok map[string]int // connection id → accepted refreshes
}

func (p *racingProvider) RefreshConnection(ctx context.Context, id string) (provider.Connection, error) {
	p.b.wait(id)
	c, err := p.Provider.RefreshConnection(ctx, id)
	if err == nil {
		p.mu.Lock()
		p.ok[id]++
		p.mu.Unlock()
	}
	return c, err
}

// recorder keeps what the services send, by queue.
type recorder struct {
	mu   sync.Mutex
	jobs map[string][]queue.Job
}

func (r *recorder) Send(_ context.Context, name string, job queue.Job, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs[name] = append(r.jobs[name], job)
	return nil
}

func (r *recorder) take(name string) []queue.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.jobs[name]
	r.jobs[name] = nil
	return out
}

// TestSchedulersRace: the refresh scheduler is safe to run in several
// processes at once (every `openagg serve` runs one; a retried EventBridge
// invocation may overlap a running one). Two schedulers read the refresh
// index together, so both queue every due connection; the jobs carry the
// same key (connection and due time), and the version guard lets one of
// them move the next refresh. Then the two copies of each job are handled
// by two workers at the same moment: the provider is asked twice but
// refreshes once (its own version guard; the second sees "too early"), one
// import is queued, and the next refresh has moved exactly one period. A
// scheduler run afterwards queues nothing. On the embedded driver: moto's
// conditional writes are not atomic across concurrent requests.
func TestSchedulersRace(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	tok := e.Token("alice")
	parties := []string{"100701", "100702", "100703", "100704"}
	for _, p := range parties {
		e.CreateProfile(tok, p)
		e.Connected(tok, p, sandbox.BankDefault)
	}
	due := map[string]time.Time{}
	connIDs := map[string]string{}
	for _, p := range parties {
		c := storedConnection(t, e, p)
		due[p], connIDs[p] = c.NextRefresh, c.ProviderConnectionID
	}
	e.Clock.Advance(24*time.Hour + time.Minute)
	now := e.Clock.Now()

	on := true
	storeBarrier, providerBarrier := newBarrier(), newBarrier()
	prov := &racingProvider{Provider: e.Sandbox, b: providerBarrier, ok: map[string]int{}}
	rec := &recorder{jobs: map[string][]queue.Job{}}
	newService := func() *connection.Service {
		s, err := connection.New(connection.Deps{
			Store: racingStore{Store: e.Store, on: &on, b: storeBarrier}, Queue: rec,
			Providers: map[string]provider.Provider{sandbox.Name: prov},
			Parties:   e.Parties, Banks: e.Banks, Data: e.Holdings, Clock: e.Clock, Log: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	services := []*connection.Service{newService(), newService()}

	// Two schedulers at once.
	var wg sync.WaitGroup
	queued := make([]int, len(services))
	for i, s := range services {
		wg.Go(func() {
			n, err := s.RefreshDue(e.Ctx, now)
			if err != nil {
				t.Error(err)
			}
			queued[i] = n
		})
	}
	wg.Wait()
	on = false
	jobs := rec.take(queue.Connections)
	byKey := map[string][]queue.Job{}
	for _, j := range jobs {
		byKey[j.Key] = append(byKey[j.Key], j)
	}
	if len(byKey) != len(parties) {
		t.Fatalf("%d distinct refresh jobs for %d due connections: %v", len(byKey), len(parties), byKey)
	}
	for _, p := range parties {
		if n := storeBarrier.meetings(connection.Key(p, sandbox.BankDefault).PK); n != 1 {
			t.Fatalf("the schedulers did not race on %s (met %d times)", p, n)
		}
		key := "scheduled/" + p + "/" + sandbox.BankDefault + "/" + due[p].Format(time.RFC3339)
		if len(byKey[key]) != 2 {
			t.Fatalf("%s: %d jobs with key %s, want one per scheduler", p, len(byKey[key]), key)
		}
		// One scheduler's version-guarded write moved the next refresh,
		// one period on; the other's failed.
		if c := storedConnection(t, e, p); !c.NextRefresh.Equal(due[p].Add(24 * time.Hour)) {
			t.Fatalf("%s: next refresh %s, want %s", p, c.NextRefresh, due[p].Add(24*time.Hour))
		}
	}
	t.Logf("schedulers queued %v: %d jobs for %d due connections", queued, len(jobs), len(parties))

	// The two copies of each job, to two workers at the same moment.
	for _, copies := range byKey {
		for i, j := range copies {
			wg.Go(func() {
				if err := services[i%2].HandleJob(e.Ctx, j); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	imports := map[string]int{}
	for _, j := range rec.take(queue.Holdings) {
		imports[j.Key]++
		if err := e.Queue.Send(e.Ctx, queue.Holdings, j, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.Drain()
	for _, p := range parties {
		if n := providerBarrier.meetings(connIDs[p]); n != 1 {
			t.Fatalf("%s: the workers did not race at the provider (met %d times)", p, n)
		}
		if n := prov.ok[connIDs[p]]; n != 1 {
			t.Errorf("%s: refreshed %d times at the provider, want once", p, n)
		}
		c := storedConnection(t, e, p)
		if !c.LastRefreshAt.Equal(now) || !c.NextRefresh.Equal(due[p].Add(24*time.Hour)) {
			t.Errorf("%s: last refresh %s, next %s", p, c.LastRefreshAt, c.NextRefresh)
		}
		prog, err := e.Holdings.Progress(e.Ctx, p, sandbox.BankDefault)
		if err != nil || prog.State != holdings.StateDone || !prog.LastImportAt.Equal(now) {
			t.Errorf("%s: import after the refresh %+v %v", p, prog, err)
		}
	}
	if len(imports) != len(parties) {
		t.Errorf("imports queued %v, want one per connection", imports)
	}
	for k, n := range imports {
		if n != 1 {
			t.Errorf("import %s queued %d times", k, n)
		}
	}
	for _, s := range services {
		if n, err := s.RefreshDue(e.Ctx, now); n != 0 || err != nil {
			t.Errorf("a later run queued %d (%v)", n, err)
		}
	}
}

func storedConnection(t *testing.T, e *partytest.Env, partyID string) connection.Connection {
	t.Helper()
	it, err := e.Store.Get(e.Ctx, connection.Key(partyID, sandbox.BankDefault))
	if err != nil {
		t.Fatal(err)
	}
	c, err := connection.Decode(it)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
