package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/openagg/openagg/internal/platform/clocktest"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/webhook"
	"github.com/openagg/openagg/internal/webhook/outbound"
)

// The Standard Webhooks test vector (its reference libraries' tests).
func TestSignVector(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := webhook.SecretKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"test": 2432232314}`)
	ts := time.Unix(1614265330, 0)
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name, id, ts, sigs string
		body               []byte
		now                time.Time
		want               error
	}{
		{"valid", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", want, body, ts, nil},
		{"one of several", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,bm90IGl0 " + want, body, ts.Add(4 * time.Minute), nil},
		{"other body", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", want, []byte(`{"test": 1}`), ts, webhook.ErrBadSignature},
		{"other id", "msg_other", "1614265330", want, body, ts, webhook.ErrBadSignature},
		{"old timestamp", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", want, body, ts.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"bad timestamp", "msg_p5jXN8AQM9LWM0D4loKWxJek", "soon", want, body, ts, webhook.ErrTimestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.Verify(secret, tc.id, tc.ts, tc.sigs, tc.body, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
				t.Fatalf("verify: %v, want %v", err, tc.want)
			}
		})
	}
	if s := webhook.NewSecret(); !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+44 {
		t.Fatalf("secret %q", s)
	}
}

func TestRetryWait(t *testing.T) {
	var at time.Duration
	var attempts []time.Duration
	for n := 1; ; n++ {
		attempts = append(attempts, at)
		if at >= webhook.RetryFor {
			break
		}
		at += webhook.RetryWait(n)
	}
	want := []time.Duration{0, time.Minute, 4 * time.Minute, 13 * time.Minute, 40 * time.Minute, 121 * time.Minute, 364 * time.Minute,
		364*time.Minute + 8*time.Hour, 364*time.Minute + 16*time.Hour, 364*time.Minute + 24*time.Hour}
	if fmt.Sprint(attempts) != fmt.Sprint(want) {
		t.Fatalf("attempts at %v, want %v", attempts, want)
	}
}

// jobs is a queue that keeps what is sent, with its delay.
type jobs struct {
	mu   sync.Mutex
	list []sent
}

type sent struct {
	queue string
	job   queue.Job
	delay time.Duration
}

func (q *jobs) Send(_ context.Context, name string, job queue.Job, delay time.Duration) error {
	if delay > queue.MaxDelay {
		return fmt.Errorf("delay %s beyond the queue's limit", delay)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, sent{name, job, delay})
	return nil
}

func (q *jobs) take() (sent, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list) == 0 {
		return sent{}, false
	}
	s := q.list[0]
	q.list = q.list[1:]
	return s, true
}

type fixture struct {
	t     *testing.T
	svc   *webhook.Service
	q     *jobs
	clock *clocktest.Clock
	st    *bolt.Store
}

func newFixture(t *testing.T) *fixture {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{TokenSecret: []byte("webhook-test-secret")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	keys, err := credential.NewLocal(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, q: &jobs{}, clock: clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), st: st}
	f.svc = webhook.New(webhook.Deps{Store: st, Queue: f.q, Keys: keys, Transport: outbound.New(outbound.Options{AllowPrivate: true}), Clock: f.clock})
	return f
}

// run handles the queued jobs in order, moving the clock to each one's
// time, until none is left.
func (f *fixture) run() {
	f.t.Helper()
	for {
		s, ok := f.q.take()
		if !ok {
			return
		}
		if s.queue != queue.Webhooks {
			f.t.Fatalf("job on queue %s", s.queue)
		}
		f.clock.Advance(s.delay)
		if err := f.svc.HandleJob(context.Background(), s.job); err != nil {
			f.t.Fatalf("job %s: %v", s.job.Key, err)
		}
	}
}

// receiver is a webhook receiver that verifies what it gets and answers
// the statuses it is told, one per request (then 200).
type receiver struct {
	t      *testing.T
	secret string
	clock  *clocktest.Clock
	srv    *httptest.Server

	mu       sync.Mutex
	statuses []int
	got      []received
}

type received struct {
	id, timestamp string
	payload       webhook.Payload
	verified      error
}

func newReceiver(t *testing.T, clock *clocktest.Clock, statuses ...int) *receiver {
	r := &receiver{t: t, clock: clock, statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		g := received{id: req.Header.Get(webhook.HeaderID), timestamp: req.Header.Get(webhook.HeaderTimestamp)}
		g.verified = webhook.Verify(r.secret, g.id, g.timestamp, req.Header.Get(webhook.HeaderSignature), body, r.clock.Now(), 5*time.Minute)
		if err := json.Unmarshal(body, &g.payload); err != nil {
			g.verified = err
		}
		if req.Header.Get("content-type") != "application/json" {
			g.verified = fmt.Errorf("content type %q", req.Header.Get("content-type"))
		}
		r.got = append(r.got, g)
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func importDone(key string) activity.Event {
	return activity.Event{Kind: activity.ImportCompleted, Key: key, UserID: "alice", PartyID: "100100", BankCode: "bank_gb", BankName: "Bank",
		Provider: "sandbox", At: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), Result: "done", Detail: "Imported.",
		Counts: &activity.Counts{Accounts: 2, Transactions: 40, Added: 40}}
}

func TestRegistration(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	before := f.st.Calls()
	ep, created, secret, err := f.svc.Put(ctx, "admin", "crm", webhook.Registration{URL: "http://127.0.0.1:1/hooks", Events: []string{webhook.EventImportFailed, webhook.EventImportCompleted, webhook.EventImportFailed}})
	if err != nil || !created || !strings.HasPrefix(secret, "whsec_") || ep.ID == "" {
		t.Fatalf("create: %+v %v %q %v", ep, created, secret, err)
	}
	if n := f.st.Calls() - before; n != 2 {
		t.Fatalf("a creation cost %d store calls, want 2", n)
	}
	if fmt.Sprint(ep.Events) != "[import.completed import.failed]" {
		t.Fatalf("events %v", ep.Events)
	}
	again, created, secret2, err := f.svc.Put(ctx, "admin", "crm", webhook.Registration{URL: "http://127.0.0.1:2/hooks", Events: []string{webhook.EventSyncAvailable}})
	if err != nil || created || secret2 != "" || again.ID != ep.ID || again.URL != "http://127.0.0.1:2/hooks" {
		t.Fatalf("replace: %+v %v %q %v", again, created, secret2, err)
	}
	if _, _, _, err := f.svc.Put(ctx, "admin", "other", webhook.Registration{URL: "http://127.0.0.1:3/", Events: []string{webhook.EventConsentExpiring}}); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "crm" || list[1].Name != "other" {
		t.Fatalf("list %+v %v", list, err)
	}
	for _, tc := range []struct {
		name, ep string
		reg      webhook.Registration
		want     error
	}{
		{"bad name", "a b", webhook.Registration{URL: "http://127.0.0.1/", Events: []string{webhook.EventImportFailed}}, webhook.ErrInvalidName},
		{"long name", strings.Repeat("n", 65), webhook.Registration{URL: "http://127.0.0.1/", Events: []string{webhook.EventImportFailed}}, webhook.ErrInvalidName},
		{"no url", "x", webhook.Registration{Events: []string{webhook.EventImportFailed}}, webhook.ErrInvalidURL},
		{"relative url", "x", webhook.Registration{URL: "/hooks", Events: []string{webhook.EventImportFailed}}, webhook.ErrInvalidURL},
		{"ftp url", "x", webhook.Registration{URL: "ftp://127.0.0.1/", Events: []string{webhook.EventImportFailed}}, webhook.ErrInvalidURL},
		{"user info", "x", webhook.Registration{URL: "http://u:p@127.0.0.1/", Events: []string{webhook.EventImportFailed}}, webhook.ErrInvalidURL},
		{"no events", "x", webhook.Registration{URL: "http://127.0.0.1/"}, webhook.ErrInvalidEvents},
		{"unknown event", "x", webhook.Registration{URL: "http://127.0.0.1/", Events: []string{"import.started"}}, webhook.ErrInvalidEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.st.Calls()
			if _, _, _, err := f.svc.Put(ctx, "admin", tc.ep, tc.reg); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if n := f.st.Calls() - before; n != 0 {
				t.Fatalf("a refused registration made %d store calls", n)
			}
		})
	}
	if err := f.svc.Delete(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, "other"); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := f.svc.Get(ctx, "other"); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	// The secret is stored sealed, never as such.
	it, err := f.st.Get(ctx, webhook.EndpointKey("crm"))
	if err != nil || bytes.Contains(it.Data, []byte(strings.TrimPrefix(secret, "whsec_"))) || bytes.Contains(it.Data, []byte(secret)) {
		t.Fatalf("stored endpoint shows its secret: %s (%v)", it.Data, err)
	}
}

// A receiver that fails three times gets the message again after 1, 3
// and 9 minutes, with the same webhook-id and a fresh signature each time,
// and the attempts read newest first.
func TestDeliveryRetriesThenSucceeds(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := newReceiver(t, f.clock, 500, 503, 404)
	_, _, secret, err := f.svc.Put(ctx, "admin", "crm", webhook.Registration{URL: r.srv.URL + "/hooks", Events: []string{webhook.EventImportCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	r.secret = secret
	start := f.clock.Now()
	if err := f.svc.Record(ctx, importDone("import/100100/bank_gb/run-1")); err != nil {
		t.Fatal(err)
	}
	f.run()
	got := r.received()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4", len(got))
	}
	wantAt := []time.Duration{0, time.Minute, 4 * time.Minute, 13 * time.Minute}
	for i, g := range got {
		if g.verified != nil {
			t.Fatalf("request %d: %v", i, g.verified)
		}
		if g.id != got[0].id || !strings.HasPrefix(g.id, "msg_") {
			t.Fatalf("request %d has webhook-id %s, the first %s", i, g.id, got[0].id)
		}
		if g.timestamp != fmt.Sprint(start.Add(wantAt[i]).Unix()) {
			t.Fatalf("request %d at %s, want %s", i, g.timestamp, start.Add(wantAt[i]))
		}
		p := g.payload
		if p.Type != webhook.EventImportCompleted || p.Data.PartyID != "100100" || p.Data.Counts == nil || p.Data.Counts.Transactions != 40 || !p.Timestamp.Equal(importDone("").At) {
			t.Fatalf("payload %+v", p)
		}
	}
	attempts, err := f.svc.Attempts(ctx, "crm", 0)
	if err != nil || len(attempts) != 4 {
		t.Fatalf("attempts %+v %v", attempts, err)
	}
	outcomes := []string{}
	for _, a := range attempts {
		outcomes = append(outcomes, fmt.Sprintf("%d:%s:%d", a.Attempt, a.Outcome, a.Status))
	}
	if s := strings.Join(outcomes, " "); s != "4:delivered:200 3:retrying:404 2:retrying:503 1:retrying:500" {
		t.Fatalf("attempts newest first: %s", s)
	}
	if a := attempts[1]; a.NextAttemptAt == nil || !a.NextAttemptAt.Equal(start.Add(13*time.Minute)) {
		t.Fatalf("attempt 3 says the next is at %v", a.NextAttemptAt)
	}
	// The same activity again (a redelivered job): the same webhook-id.
	if err := f.svc.Record(ctx, importDone("import/100100/bank_gb/run-1")); err != nil {
		t.Fatal(err)
	}
	f.run()
	if got := r.received(); len(got) != 5 || got[4].id != got[0].id {
		t.Fatalf("a redelivered activity: %d requests, id %s", len(got), got[len(got)-1].id)
	}
}

// A receiver that never answers 2xx gets attempts for at least a day,
// then none: the last attempt says failed.
func TestDeliveryGivesUp(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := newReceiver(t, f.clock)
	for range 20 {
		r.statuses = append(r.statuses, http.StatusInternalServerError)
	}
	_, _, secret, err := f.svc.Put(ctx, "admin", "down", webhook.Registration{URL: r.srv.URL, Events: []string{webhook.EventImportCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	r.secret = secret
	start := f.clock.Now()
	if err := f.svc.Record(ctx, importDone("import/1")); err != nil {
		t.Fatal(err)
	}
	f.run()
	got := r.received()
	if len(got) != 10 {
		t.Fatalf("%d attempts, want 10", len(got))
	}
	last := f.clock.Now().Sub(start)
	if last < webhook.RetryFor {
		t.Fatalf("the last attempt came %s after the first", last)
	}
	attempts, err := f.svc.Attempts(ctx, "down", 1)
	if err != nil || len(attempts) != 1 || attempts[0].Outcome != webhook.OutcomeFailed || attempts[0].Attempt != 10 || attempts[0].NextAttemptAt != nil {
		t.Fatalf("last attempt %+v %v", attempts, err)
	}
}

// Deliveries go only to endpoints subscribed to the event, and a queued
// one is dropped when its endpoint is deleted, created again, or
// unsubscribed before it is sent.
func TestDeliverySubscriptions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	imports, syncs := newReceiver(t, f.clock), newReceiver(t, f.clock)
	for _, tc := range []struct {
		name string
		r    *receiver
		ev   string
	}{{"imports", imports, webhook.EventImportCompleted}, {"syncs", syncs, webhook.EventSyncAvailable}} {
		_, _, secret, err := f.svc.Put(ctx, "admin", tc.name, webhook.Registration{URL: tc.r.srv.URL, Events: []string{tc.ev}})
		if err != nil {
			t.Fatal(err)
		}
		tc.r.secret = secret
	}
	sync := activity.Event{Kind: activity.TransactionsChanged, Key: "sync/1", PartyID: "100100", BankCode: "bank_gb", AccountIDs: []string{"a1", "a2"}, At: f.clock.Now()}
	for _, e := range []activity.Event{importDone("import/1"), sync, {Kind: activity.ConnectionRefreshed, Key: "r/1", PartyID: "100100", BankCode: "bank_gb"}} {
		if err := f.svc.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	f.run()
	gi, gs := imports.received(), syncs.received()
	if len(gi) != 1 || gi[0].payload.Type != webhook.EventImportCompleted || gi[0].verified != nil {
		t.Fatalf("imports endpoint got %+v", gi)
	}
	if len(gs) != 1 || gs[0].payload.Type != webhook.EventSyncAvailable || fmt.Sprint(gs[0].payload.Data.AccountIDs) != "[a1 a2]" || gs[0].verified != nil {
		t.Fatalf("syncs endpoint got %+v", gs)
	}

	// Queued, then the endpoint changes: nothing is sent.
	for _, change := range []func(){
		func() { _ = f.svc.Delete(ctx, "imports") },
		func() {
			_ = f.svc.Delete(ctx, "imports")
			if _, _, _, err := f.svc.Put(ctx, "admin", "imports", webhook.Registration{URL: imports.srv.URL, Events: []string{webhook.EventImportCompleted}}); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if _, _, _, err := f.svc.Put(ctx, "admin", "imports", webhook.Registration{URL: imports.srv.URL, Events: []string{webhook.EventImportFailed}}); err != nil {
				t.Fatal(err)
			}
		},
	} {
		if _, _, _, err := f.svc.Put(ctx, "admin", "imports", webhook.Registration{URL: imports.srv.URL, Events: []string{webhook.EventImportCompleted}}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Record(ctx, importDone(platform.NewID())); err != nil {
			t.Fatal(err)
		}
		change()
		f.run()
	}
	if n := len(imports.received()); n != 1 {
		t.Fatalf("the imports endpoint got %d deliveries, want the first only", n)
	}
}

func TestPoisonJobs(t *testing.T) {
	f := newFixture(t)
	for _, job := range []queue.Job{
		{Type: "other", Key: "k", Payload: []byte(`{}`)},
		{Type: webhook.JobDeliver, Key: "k", Payload: []byte(`{"endpoint":""}`)},
		{Type: webhook.JobDeliver, Key: "k", Payload: []byte(`[`)},
	} {
		if err := f.svc.HandleJob(t.Context(), job); !errors.Is(err, queue.ErrPoison) {
			t.Fatalf("job %s: %v", job.Payload, err)
		}
	}
}
