package local_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/aws/aws-lambda-go/events"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/queue/queuetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openDB(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newQueue(t testing.TB, db *bbolt.DB, opts local.Options) *local.Queue {
	t.Helper()
	q, err := local.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// fakeTime is a FakeClock whose After advances the clock: a Drain that waits
// for a backoff or a delay jumps straight to it, so tests see exact times.
func fakeTime() (*clocktest.Clock, local.Options) {
	clk := clocktest.New(t0)
	return clk, local.Options{
		Clock: clk,
		After: func(d time.Duration) <-chan time.Time {
			if d > 0 {
				clk.Advance(d)
			}
			ch := make(chan time.Time, 1)
			ch <- clk.Now()
			return ch
		},
		DrainHorizon: time.Hour,
	}
}

func send(t testing.TB, q queue.Sender, name, key string, delay time.Duration) {
	t.Helper()
	job, err := queue.NewJob("test.job", key, map[string]string{"key": key})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Send(context.Background(), name, job, delay); err != nil {
		t.Fatal(err)
	}
}

// delivery is one record as a handler saw it, with the clock at that time.
type delivery struct {
	at    time.Time
	batch int
	key   string
	count string
	rec   events.SQSMessage
}

// recorder is a real SQS handler (queue.Consumer over a per-job handler)
// that records what it was given; fail decides a job's fate per attempt.
type recorder struct {
	mu      sync.Mutex
	clock   platform.Clock
	batches int
	got     []delivery
	tries   map[string]int
	fail    func(key string, try int) error
}

func newRecorder(clock platform.Clock, fail func(key string, try int) error) *recorder {
	if fail == nil {
		fail = func(string, int) error { return nil }
	}
	return &recorder{clock: clock, tries: map[string]int{}, fail: fail}
}

func (r *recorder) handler() queue.SQSHandler {
	consumer := queue.Consumer(slog.New(slog.DiscardHandler), func(ctx context.Context, job queue.Job) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries[job.Key]++
		return r.fail(job.Key, r.tries[job.Key])
	})
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		r.mu.Lock()
		r.batches++
		for _, rec := range ev.Records {
			job, _ := queue.Decode(rec.Body)
			r.got = append(r.got, delivery{at: r.clock.Now(), batch: r.batches, key: job.Key, count: rec.Attributes["ApproximateReceiveCount"], rec: rec})
		}
		r.mu.Unlock()
		return consumer(ctx, ev)
	}
}

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) keys() []string {
	var keys []string
	for _, d := range r.deliveries() {
		keys = append(keys, d.key)
	}
	return keys
}

func depth(t testing.TB, q *local.Queue, name string) int {
	t.Helper()
	n, err := q.Depth(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEventHasTheLambdaShape(t *testing.T) {
	clk, opts := fakeTime()
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
	rec := newRecorder(clk, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{})
	send(t, q, queue.Holdings, "acc-1", 0)
	clk.Advance(3 * time.Second)
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := rec.deliveries()
	if len(got) != 1 {
		t.Fatalf("deliveries = %+v", got)
	}
	m := got[0].rec
	sum := md5.Sum([]byte(m.Body))
	job, err := queue.Decode(m.Body)
	if err != nil || job.Type != "test.job" || job.Key != "acc-1" || job.Version != queue.CurrentVersion || string(job.Payload) != `{"key":"acc-1"}` {
		t.Errorf("body decodes to %+v, %v", job, err)
	}
	for name, tc := range map[string]struct{ got, want string }{
		"MessageId is a uuid":              {strconv.Itoa(len(m.MessageId)), "36"},
		"EventSource":                      {m.EventSource, "aws:sqs"},
		"EventSourceARN":                   {m.EventSourceARN, "arn:aws:sqs:local:000000000000:holdings"},
		"Md5OfBody":                        {m.Md5OfBody, hex.EncodeToString(sum[:])},
		"ApproximateReceiveCount":          {m.Attributes["ApproximateReceiveCount"], "1"},
		"SentTimestamp":                    {m.Attributes["SentTimestamp"], strconv.FormatInt(t0.UnixMilli(), 10)},
		"ApproximateFirstReceiveTimestamp": {m.Attributes["ApproximateFirstReceiveTimestamp"], strconv.FormatInt(t0.Add(3*time.Second).UnixMilli(), 10)},
		"type attribute":                   {*m.MessageAttributes["type"].StringValue, "test.job"},
		"key attribute":                    {*m.MessageAttributes["key"].StringValue, "acc-1"},
		"attribute data type":              {m.MessageAttributes["type"].DataType, "String"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", name, tc.got, tc.want)
		}
	}
	if n := depth(t, q, queue.Holdings); n != 0 {
		t.Errorf("depth after success = %d", n)
	}
}

func TestDeliversInSendOrderInBatches(t *testing.T) {
	clk, opts := fakeTime()
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
	rec := newRecorder(clk, nil)
	q.Register(queue.Connections, rec.handler(), local.ConsumerConfig{BatchSize: 10})
	var want []string
	for i := range 25 {
		key := fmt.Sprintf("c%02d", i)
		want = append(want, key)
		send(t, q, queue.Connections, key, 0)
	}
	if n := depth(t, q, queue.Connections); n != 25 {
		t.Fatalf("depth = %d", n)
	}
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rec.keys(); !slices.Equal(got, want) {
		t.Errorf("delivery order = %v", got)
	}
	sizes := map[int]int{}
	for _, d := range rec.deliveries() {
		sizes[d.batch]++
	}
	if len(sizes) != 3 || sizes[1] != 10 || sizes[2] != 10 || sizes[3] != 5 {
		t.Errorf("batch sizes = %v, want 10, 10, 5", sizes)
	}
}

func TestPartialBatchFailureRetriesOnlyTheFailedItems(t *testing.T) {
	clk, opts := fakeTime()
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
	rec := newRecorder(clk, func(key string, try int) error {
		if (key == "j1" || key == "j3") && try == 1 {
			return errors.New("provider timeout")
		}
		return nil
	})
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{BackoffBase: 2 * time.Second})
	for i := range 5 {
		send(t, q, queue.Holdings, "j"+strconv.Itoa(i), 0)
	}
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	var retried []string
	for _, d := range rec.deliveries() {
		if d.batch == 2 {
			retried = append(retried, d.key+"#"+d.count)
			if !d.at.Equal(t0.Add(2 * time.Second)) {
				t.Errorf("retry of %s at %v, want after the 2s backoff", d.key, d.at.Sub(t0))
			}
		}
	}
	if !slices.Equal(retried, []string{"j1#2", "j3#2"}) {
		t.Errorf("second batch = %v, want only j1 and j3, second receive", retried)
	}
	if len(rec.deliveries()) != 7 {
		t.Errorf("deliveries = %v", rec.keys())
	}
	if n := depth(t, q, queue.Holdings); n != 0 {
		t.Errorf("depth = %d", n)
	}
}

func TestWholeBatchFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(ev events.SQSEvent) (events.SQSEventResponse, error)
	}{
		{"handler error", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("store down")
		}},
		{"handler panic", func(events.SQSEvent) (events.SQSEventResponse, error) {
			panic("nil map")
		}},
		{"unknown item identifier", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		}},
		{"empty item identifier", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk, opts := fakeTime()
			q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
			var mu sync.Mutex
			counts := map[string][]string{}
			q.Register(queue.Directory, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				mu.Lock()
				for _, r := range ev.Records {
					counts[r.MessageId] = append(counts[r.MessageId], r.Attributes["ApproximateReceiveCount"])
				}
				mu.Unlock()
				if ev.Records[0].Attributes["ApproximateReceiveCount"] == "1" {
					return tc.h(ev)
				}
				return events.SQSEventResponse{}, nil
			}, local.ConsumerConfig{})
			send(t, q, queue.Directory, "a", 0)
			send(t, q, queue.Directory, "b", 0)
			if err := q.Drain(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(counts) != 2 {
				t.Fatalf("messages seen = %v", counts)
			}
			for id, c := range counts {
				if !slices.Equal(c, []string{"1", "2"}) {
					t.Errorf("%s receive counts = %v, want [1 2]", id, c)
				}
			}
			if clk.Now().Sub(t0) != time.Second {
				t.Errorf("retried after %v, want the 1s default backoff", clk.Now().Sub(t0))
			}
		})
	}
}

func TestBackoffThenDeadLetterThenRedrive(t *testing.T) {
	clk, opts := fakeTime()
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
	broken := true
	rec := newRecorder(clk, func(key string, try int) error {
		if strings.HasPrefix(key, "poison") && broken {
			return fmt.Errorf("%w: unknown bank", queue.ErrPoison)
		}
		return nil
	})
	q.Register(queue.Connections, rec.handler(), local.ConsumerConfig{
		MaxReceiveCount: 4, BackoffBase: time.Second, BackoffMax: 3 * time.Second,
	})
	send(t, q, queue.Connections, "poison", 0)
	send(t, q, queue.Connections, "fine", 0)
	send(t, q, queue.Connections, "poison-too", 0)
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	var offsets []time.Duration
	var counts []string
	for _, d := range rec.deliveries() {
		if d.key == "poison" {
			offsets = append(offsets, d.at.Sub(t0))
			counts = append(counts, d.count)
		}
	}
	// Backoff 1s, 2s, then 4s capped at 3s; the 4th failure dead-letters.
	if want := []time.Duration{0, time.Second, 3 * time.Second, 6 * time.Second}; !slices.Equal(offsets, want) {
		t.Errorf("poison delivered at %v, want %v", offsets, want)
	}
	if !slices.Equal(counts, []string{"1", "2", "3", "4"}) {
		t.Errorf("receive counts = %v", counts)
	}
	if n := depth(t, q, queue.Connections); n != 0 {
		t.Errorf("depth = %d, want 0 (poison dead, fine done)", n)
	}
	dead, err := q.DeadLetters(queue.Connections)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 || dead[0].Key != "poison" || dead[0].Type != "test.job" || dead[0].ReceiveCount != 4 ||
		!dead[0].DeadAt.Equal(t0.Add(6*time.Second)) || !strings.Contains(dead[0].Body, `"poison"`) || dead[0].Queue != queue.Connections ||
		dead[1].Key != "poison-too" {
		t.Fatalf("dead letters = %+v", dead)
	}
	// What `openagg dlq` shows: the failures and the handler's own error.
	if d := dead[0]; !d.FirstFailedAt.Equal(t0) || !d.LastFailedAt.Equal(d.DeadAt) || d.LastError != "queue: poison message: unknown bank" {
		t.Fatalf("failures of the dead letter: first %v last %v error %q", d.FirstFailedAt, d.LastFailedAt, d.LastError)
	}

	// One message back by its id; an unknown id moves nothing.
	if n, err := q.Redrive(queue.Connections, "no-such-id"); err != nil || n != 0 {
		t.Fatalf("redrive of an unknown id = %d, %v", n, err)
	}
	if n, err := q.Redrive(queue.Connections, dead[1].ID); err != nil || n != 1 {
		t.Fatalf("redrive by id = %d, %v", n, err)
	}
	if left, err := q.DeadLetters(queue.Connections); err != nil || len(left) != 1 || left[0].ID != dead[0].ID {
		t.Fatalf("after redriving %s: dead letters %+v, %v", dead[1].ID, left, err)
	}
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left, _ := q.DeadLetters(queue.Connections); len(left) != 2 || left[1].Key != "poison-too" || left[1].ReceiveCount != 4 {
		t.Fatalf("a redriven message that still fails: dead letters %+v, want it back after 4 fresh receives", left)
	}
	if other, err := q.DeadLetters(queue.Holdings); err != nil || len(other) != 0 {
		t.Errorf("holdings dead letters = %v, %v", other, err)
	}

	broken = false
	n, err := q.Redrive(queue.Connections)
	if err != nil || n != 2 {
		t.Fatalf("redrive = %d, %v", n, err)
	}
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := rec.deliveries()
	for i, want := range []string{"poison", "poison-too"} {
		if got := d[len(d)-2+i]; got.key != want || got.count != "1" {
			t.Errorf("after redrive delivered %s with receive count %s, want %s on its first", got.key, got.count, want)
		}
	}
	if dead, _ := q.DeadLetters(queue.Connections); len(dead) != 0 || depth(t, q, queue.Connections) != 0 {
		t.Errorf("after redrive: dead %v, depth %d", dead, depth(t, q, queue.Connections))
	}
}

func TestDelayIsHonoured(t *testing.T) {
	clk, opts := fakeTime()
	opts.DrainHorizon = time.Second
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
	rec := newRecorder(clk, nil)
	q.Register(queue.Connections, rec.handler(), local.ConsumerConfig{})

	send(t, q, queue.Connections, "in-10s", 10*time.Second)
	send(t, q, queue.Connections, "in-2h", 2*time.Hour) // capped at 15 min, like SQS
	send(t, q, queue.Connections, "in-500ms", 500*time.Millisecond)
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Drain waited for the one due within its horizon, not the others.
	if got := rec.keys(); !slices.Equal(got, []string{"in-500ms"}) || !rec.deliveries()[0].at.Equal(t0.Add(500*time.Millisecond)) {
		t.Fatalf("delivered %v at %v", got, rec.deliveries())
	}
	clk.Advance(9 * time.Second)
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rec.keys(); !slices.Equal(got, []string{"in-500ms", "in-10s"}) {
		t.Fatalf("after 10s delivered %v", got)
	}
	clk.Set(t0.Add(queue.MaxDelay - time.Second))
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.keys()); n != 3 || !rec.deliveries()[2].at.Equal(t0.Add(queue.MaxDelay)) {
		t.Errorf("capped delay delivered %v", rec.deliveries())
	}
}

func TestSendErrors(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
	job, _ := queue.NewJob("x", "k", nil)
	if err := q.Send(t.Context(), "nope", job, 0); err == nil || !strings.Contains(err.Error(), `unknown queue "nope"`) {
		t.Errorf("unknown queue: %v", err)
	}
	if err := q.Send(t.Context(), queue.Holdings, queue.Job{Key: "k"}, 0); err == nil || !strings.Contains(err.Error(), "without type") {
		t.Errorf("job without type: %v", err)
	}
	q.Register("custom", func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}, local.ConsumerConfig{})
	if err := q.Send(t.Context(), "custom", job, 0); err != nil {
		t.Errorf("registered queue: %v", err)
	}
	if _, err := local.New(openDB(t, filepath.Join(t.TempDir(), "q2.db")), local.Options{Queues: []string{"bad name"}}); err == nil {
		t.Error("invalid queue name accepted")
	}
	if _, err := local.New(nil, local.Options{}); err == nil {
		t.Error("nil db accepted")
	}
}

func TestRunErrors(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
	if err := q.Run(t.Context()); err == nil {
		t.Error("Run without consumers returned nil")
	}
	q.Register(queue.Holdings, newRecorder(platform.SystemClock{}, nil).handler(), local.ConsumerConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	if err := q.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run = %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
}

// waitFor polls cond for up to 5 s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestRunIsWokenBySendAndWaitsForDelays(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
	rec := newRecorder(platform.SystemClock{}, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()

	time.Sleep(50 * time.Millisecond) // let it go idle: only Send can wake it now
	start := time.Now()
	send(t, q, queue.Holdings, "now", 0)
	waitFor(t, "immediate delivery", func() bool { return len(rec.keys()) == 1 })
	if took := time.Since(start); took > time.Second {
		t.Errorf("idle dispatcher took %v to deliver", took)
	}
	start = time.Now()
	send(t, q, queue.Holdings, "later", 300*time.Millisecond)
	waitFor(t, "delayed delivery", func() bool { return len(rec.keys()) == 2 })
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("delayed job delivered after %v", took)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunConsumesQueuesConcurrently(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
	connectionsRan := make(chan struct{})
	q.Register(queue.Holdings, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		select { // a long import must not hold the other queues up
		case <-connectionsRan:
			return events.SQSEventResponse{}, nil
		case <-ctx.Done():
			return events.SQSEventResponse{}, ctx.Err()
		}
	}, local.ConsumerConfig{})
	q.Register(queue.Connections, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		close(connectionsRan)
		return events.SQSEventResponse{}, nil
	}, local.ConsumerConfig{})
	send(t, q, queue.Holdings, "h", 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	send(t, q, queue.Connections, "c", 0)
	waitFor(t, "both queues drained", func() bool {
		return depth(t, q, queue.Holdings) == 0 && depth(t, q, queue.Connections) == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestGracefulShutdownFinishesInFlightAndKeepsQueued(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
	started, release := make(chan struct{}, 1), make(chan struct{})
	var handled []string
	q.Register(queue.Holdings, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		started <- struct{}{}
		<-release
		handled = append(handled, ev.Records[0].MessageId)
		return events.SQSEventResponse{}, nil
	}, local.ConsumerConfig{BatchSize: 1})
	for i := range 3 {
		send(t, q, queue.Holdings, strconv.Itoa(i), 0)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	<-started
	cancel() // Ctrl-C while the first job runs
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a handler was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(handled) != 1 {
		t.Errorf("handled %d jobs after the interrupt, want only the one in flight", len(handled))
	}
	if n := depth(t, q, queue.Holdings); n != 2 {
		t.Errorf("depth after shutdown = %d, want the 2 queued jobs kept", n)
	}
}

func TestShutdownGraceReleasesUnfinishedHandler(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{ShutdownGrace: 50 * time.Millisecond})
	started := make(chan struct{}, 1)
	q.Register(queue.Holdings, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		started <- struct{}{}
		<-ctx.Done() // a handler that honours its ctx
		return events.SQSEventResponse{}, ctx.Err()
	}, local.ConsumerConfig{})
	send(t, q, queue.Holdings, "slow", 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown grace")
	}
	rec := newRecorder(platform.SystemClock{}, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{})
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Released immediately, and the interrupted receive does not count
	// towards the dead-letter limit.
	if d := rec.deliveries(); len(d) != 1 || d[0].key != "slow" || d[0].count != "1" {
		t.Errorf("after restart delivered %+v", d)
	}
}

func TestVisibilityTimeoutIsTheHandlerDeadline(t *testing.T) {
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
	var tries []string
	q.Register(queue.Directory, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		tries = append(tries, ev.Records[0].Attributes["ApproximateReceiveCount"])
		if len(tries) == 1 {
			<-ctx.Done()
			return events.SQSEventResponse{}, ctx.Err()
		}
		return events.SQSEventResponse{}, nil
	}, local.ConsumerConfig{VisibilityTimeout: 50 * time.Millisecond, BackoffBase: 10 * time.Millisecond})
	send(t, q, queue.Directory, "stuck", 0)
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tries, []string{"1", "2"}) {
		t.Errorf("tries = %v", tries)
	}
}

func TestConcurrentSends(t *testing.T) {
	clk, opts := fakeTime()
	q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), opts)
	const senders, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				job, _ := queue.NewJob("test.job", fmt.Sprintf("s%d-%d", s, i), nil)
				if err := q.Send(context.Background(), queue.Holdings, job, 0); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := depth(t, q, queue.Holdings); n != senders*each {
		t.Fatalf("depth = %d", n)
	}
	rec := newRecorder(clk, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{})
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys, ids := map[string]int{}, map[string]bool{}
	perSender := map[string][]int{}
	for _, d := range rec.deliveries() {
		keys[d.key]++
		ids[d.rec.MessageId] = true
		var s, i int
		fmt.Sscanf(d.key, "s%d-%d", &s, &i)
		perSender[strconv.Itoa(s)] = append(perSender[strconv.Itoa(s)], i)
	}
	if len(keys) != senders*each || len(ids) != senders*each || len(rec.deliveries()) != senders*each {
		t.Errorf("delivered %d records, %d distinct keys, %d distinct ids; want %d each", len(rec.deliveries()), len(keys), len(ids), senders*each)
	}
	for s, seq := range perSender {
		if !slices.IsSorted(seq) {
			t.Errorf("sender %s's jobs out of order: %v", s, seq)
		}
	}
}

// runUntilClosed starts Run with a handler that blocks, closes the db while
// the handler is in flight (what a crash leaves behind: an in-flight marker
// and no ack), then lets the handler finish, whose ack must fail.
func runUntilClosed(t *testing.T, path string, setup func(q *local.Queue)) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, db, local.Options{})
	started, release := make(chan struct{}, 1), make(chan struct{})
	q.Register(queue.Holdings, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		started <- struct{}{}
		<-release
		return events.SQSEventResponse{}, nil
	}, local.ConsumerConfig{MaxReceiveCount: 2})
	if setup != nil {
		setup(q)
	}
	done := make(chan error, 1)
	go func() { done <- q.Run(t.Context()) }()
	<-started
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err == nil || !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		t.Fatalf("Run on a closed db = %v", err)
	}
}

func TestRestartRedeliversTheJobInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	runUntilClosed(t, path, func(q *local.Queue) { send(t, q, queue.Holdings, "acc-9", 0) })

	q := newQueue(t, openDB(t, path), local.Options{})
	if n := depth(t, q, queue.Holdings); n != 1 {
		t.Fatalf("depth after restart = %d", n)
	}
	rec := newRecorder(platform.SystemClock{}, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{MaxReceiveCount: 2})
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := rec.deliveries(); len(d) != 1 || d[0].key != "acc-9" || d[0].count != "2" {
		t.Errorf("after restart delivered %+v, want acc-9 on its 2nd receive", d)
	}
}

func TestJobThatKeepsCrashingTheProcessIsDeadLettered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	runUntilClosed(t, path, func(q *local.Queue) { send(t, q, queue.Holdings, "crasher", 0) })
	runUntilClosed(t, path, nil)

	q := newQueue(t, openDB(t, path), local.Options{})
	rec := newRecorder(platform.SystemClock{}, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{MaxReceiveCount: 2})
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	dead, err := q.DeadLetters(queue.Holdings)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.deliveries()) != 0 || len(dead) != 1 || dead[0].Key != "crasher" || dead[0].ReceiveCount != 2 ||
		dead[0].LastError != "the process stopped during delivery 2 (a crash or a kill)" || dead[0].FirstFailedAt.After(dead[0].LastFailedAt) {
		t.Errorf("delivered %v, dead %+v; want it dead after 2 receives, each stopped by the process's end", rec.keys(), dead)
	}
}

// TestKilledProcessLosesNothing sends jobs and kills -9 a child process in
// the middle of a handler, then checks every job is still delivered.
func TestKilledProcessLosesNothing(t *testing.T) {
	if path := os.Getenv("LOCALQUEUE_CHILD_DB"); path != "" {
		child(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "q.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcessLosesNothing$")
	cmd.Env = append(os.Environ(), "LOCALQUEUE_CHILD_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "in flight" {
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	q := newQueue(t, openDB(t, path), local.Options{})
	rec := newRecorder(platform.SystemClock{}, nil)
	q.Register(queue.Holdings, rec.handler(), local.ConsumerConfig{})
	if err := q.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range rec.deliveries() {
		got[d.key] = d.count
	}
	want := map[string]string{"k0": "2", "k1": "1", "k2": "1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after kill -9 delivered %v, want %v (k0 was in flight)", got, want)
	}
}

func child(path string) {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	q, err := local.New(db, local.Options{})
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	for i := range 3 {
		job, _ := queue.NewJob("test.job", "k"+strconv.Itoa(i), nil)
		if err := q.Send(context.Background(), queue.Holdings, job, 0); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
	}
	q.Register(queue.Holdings, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		fmt.Println("in flight")
		select {} // killed here
	}, local.ConsumerConfig{BatchSize: 1})
	_ = q.Run(context.Background())
	os.Exit(3)
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		q := newQueue(t, openDB(t, filepath.Join(t.TempDir(), "q.db")), local.Options{})
		return queuetest.Harness{
			Sender: q,
			Receive: func(ctx context.Context, queueName string, h queue.SQSHandler) error {
				q.Register(queueName, h, local.ConsumerConfig{})
				return q.Drain(ctx)
			},
		}
	})
}
