// Package local is the embedded, durable driver of the job port: messages
// live in "queue/..." buckets of the same bbolt file as the store, and a
// dispatcher hands them in batches to the very SQS handlers the Lambda
// workers run (events.SQSEvent in, partial batch failures out), with SQS
// semantics: delays, visibility while in flight, retries with exponential
// backoff, and a per-queue dead-letter list after MaxReceiveCount receives.
//
// Durability: a Send returns after its message is committed. A message being
// handled is marked in flight in the db; when the process stops (Run's ctx
// cancelled, a crash, kill -9) an unacknowledged message is delivered again
// after restart, because New makes every in-flight message visible. One
// Queue per db: New assumes nothing else consumes these buckets (bbolt's
// file lock already keeps other processes out).
//
// Wiring, as the local binary does it:
//
//	q, err := local.New(boltStore.DB(), local.Options{Log: log})
//	q.Register(queue.Holdings, importer.Handler, local.ConsumerConfig{})
//	go q.Run(ctx) // returns after the in-flight handlers finish
//
// and end-to-end tests call q.Drain(ctx) to run the workers synchronously.
package local

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
)

// Options configure a Queue. The zero value is the production setting.
type Options struct {
	// Clock stamps messages and decides what is due (default SystemClock).
	Clock platform.Clock
	// After returns a channel that fires once d has passed on Clock. The
	// default is a real timer; a test on a FakeClock passes a function that
	// advances the fake clock by d and fires at once.
	After func(d time.Duration) <-chan time.Time
	// Log receives handler failures and panics (default: discarded).
	Log *slog.Logger
	// Queues are the queue names Send accepts in addition to those with a
	// registered consumer (default: the port's Directory, Connections,
	// Holdings), so that a typo fails like it does with SQS.
	Queues []string
	// DrainHorizon: Drain also waits for messages that become visible
	// within this long (delays, retry backoffs); later ones are left for
	// Run (default 5 s).
	DrainHorizon time.Duration
	// ShutdownGrace is how long in-flight handlers may still run once Run's
	// ctx is done before their own ctx is cancelled (default 30 s).
	ShutdownGrace time.Duration
}

// ConsumerConfig is the per-queue consumer setting, the local counterpart of
// the event source mapping and the redrive policy.
type ConsumerConfig struct {
	// BatchSize is the most messages per handler call (default 10).
	BatchSize int
	// MaxReceiveCount: a message that fails on its MaxReceiveCount-th
	// receive moves to the dead-letter list (default 5).
	MaxReceiveCount int
	// VisibilityTimeout is how long a received message stays invisible;
	// it is also the deadline of the handler's ctx, as a Lambda timeout is
	// (default 5 min).
	VisibilityTimeout time.Duration
	// BackoffBase and BackoffMax: a message that failed its n-th receive
	// is visible again after BackoffBase·2^(n-1), at most BackoffMax
	// (defaults 1 s and 5 min).
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 10
	}
	if c.MaxReceiveCount <= 0 {
		c.MaxReceiveCount = 5
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = 5 * time.Minute
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = queue.RetryBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = queue.RetryMax
	}
	if c.BackoffMax < c.BackoffBase {
		c.BackoffMax = c.BackoffBase
	}
	return c
}

// backoff is the delay before the retry that follows the n-th receive.
func (c ConsumerConfig) backoff(n int) time.Duration {
	return queue.RetryDelay(c.BackoffBase, c.BackoffMax, n)
}

// Message is a stored message, as DeadLetters reports it.
type Message struct {
	ID    string
	Queue string
	Type  string
	Key   string
	// Body is the JSON job envelope.
	Body            string
	SentAt          time.Time
	VisibleAt       time.Time
	FirstReceivedAt time.Time
	ReceiveCount    int
	InFlight        bool
	// DeadAt is when the message moved to the dead-letter list.
	DeadAt time.Time
	// FirstFailedAt and LastFailedAt are the first and the last failed
	// delivery; LastError is what the last one said: the handler's error
	// (queue.Consumer reports each record's), a panic, a timeout, or a
	// process that stopped while handling it.
	FirstFailedAt time.Time
	LastFailedAt  time.Time
	LastError     string
}

// Queue is the embedded queue. It is safe for concurrent use.
type Queue struct {
	db      *bbolt.DB
	clock   platform.Clock
	after   func(time.Duration) <-chan time.Time
	log     *slog.Logger
	horizon time.Duration
	grace   time.Duration
	commits committer
	mu      sync.Mutex
	known   map[string]bool
	cons    map[string]*consumer
	wakes   map[string]chan struct{}
	running bool
}

var _ queue.Sender = (*Queue)(nil)

// New opens the queue on db, creating nothing until the first Send, and
// makes every message left in flight by a previous process visible again.
func New(db *bbolt.DB, opts Options) (*Queue, error) {
	if db == nil {
		return nil, errors.New("local queue: nil bbolt db")
	}
	q := &Queue{
		db:      db,
		clock:   opts.Clock,
		after:   opts.After,
		log:     opts.Log,
		horizon: opts.DrainHorizon,
		grace:   opts.ShutdownGrace,
		known:   map[string]bool{},
		cons:    map[string]*consumer{},
		wakes:   map[string]chan struct{}{},
	}
	if q.clock == nil {
		q.clock = platform.SystemClock{}
	}
	if q.after == nil {
		q.after = time.After
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.horizon <= 0 {
		q.horizon = 5 * time.Second
	}
	if q.grace <= 0 {
		q.grace = 30 * time.Second
	}
	names := opts.Queues
	if len(names) == 0 {
		names = queue.Names()
	}
	for _, n := range names {
		if err := validName(n); err != nil {
			return nil, err
		}
		q.known[n] = true
	}
	if err := q.db.Update(func(tx *bbolt.Tx) error { return resetInFlight(tx, q.clock.Now()) }); err != nil {
		return nil, fmt.Errorf("local queue: recover in-flight messages: %w", err)
	}
	return q, nil
}

func validName(name string) error {
	if name == "" || len(name) > 80 {
		return fmt.Errorf("local queue: invalid queue name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("local queue: invalid queue name %q (letters, digits, - and _ only, as SQS)", name)
		}
	}
	return nil
}

func (q *Queue) isKnown(name string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.known[name]
}

func (q *Queue) knownNames() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	names := make([]string, 0, len(q.known))
	for n := range q.known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// wake returns the wake channel of a queue: Send signals it, the queue's
// dispatcher waits on it. Capacity 1, so a signal is never lost and never
// blocks.
func (q *Queue) wake(name string) chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	ch, ok := q.wakes[name]
	if !ok {
		ch = make(chan struct{}, 1)
		q.wakes[name] = ch
	}
	return ch
}

// Send stores job on the named queue, visible after delay (capped at
// queue.MaxDelay like SQS). It returns once the message is committed.
func (q *Queue) Send(ctx context.Context, queueName string, job queue.Job, delay time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local queue send %s job to %s: %w", job.Type, queueName, err)
	}
	if !q.isKnown(queueName) {
		return fmt.Errorf("local queue send %s job: unknown queue %q (known: %v)", job.Type, queueName, q.knownNames())
	}
	if job.Type == "" {
		return fmt.Errorf("local queue send to %s: job without type", queueName)
	}
	body, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("local queue send %s job to %s: encode: %w", job.Type, queueName, err)
	}
	delay = min(max(delay, 0), queue.MaxDelay)
	now := q.clock.Now()
	rec := record{
		ID:        newID(),
		Type:      job.Type,
		Key:       job.Key,
		Body:      string(body),
		SentAt:    now,
		VisibleAt: now.Add(delay),
	}
	if err := q.commits.commit(q.db, func(tx *bbolt.Tx) error { return insert(tx, queueName, rec) }); err != nil {
		return fmt.Errorf("local queue send %s job %q to %s: %w", job.Type, job.Key, queueName, err)
	}
	select {
	case q.wake(queueName) <- struct{}{}:
	default:
	}
	return nil
}

// Depth is the number of live messages on a queue: visible, delayed or in
// flight; dead letters are not counted.
func (q *Queue) Depth(queueName string) (int, error) {
	n := 0
	err := q.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketName(queueName, msgsSuffix)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("local queue depth of %s: %w", queueName, err)
	}
	return n, nil
}

// DeadLetters lists the dead-letter messages of a queue, oldest first.
func (q *Queue) DeadLetters(queueName string) ([]Message, error) {
	var out []Message
	err := q.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketName(queueName, deadSuffix))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode dead letter: %w", err)
			}
			out = append(out, r.message(queueName))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("local queue dead letters of %s: %w", queueName, err)
	}
	return out, nil
}

// Redrive moves the dead letters of a queue with the given ids (every one
// when none is given) back onto it, visible now with a fresh receive count
// and no failures (what an operator does after fixing the cause). It
// returns how many it moved; an id that is not a dead letter of the queue
// is not counted.
func (q *Queue) Redrive(queueName string, ids ...string) (int, error) {
	n := 0
	err := q.db.Update(func(tx *bbolt.Tx) error {
		var err error
		n, err = redrive(tx, queueName, q.clock.Now(), ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("local queue redrive %s: %w", queueName, err)
	}
	if n > 0 {
		select {
		case q.wake(queueName) <- struct{}{}:
		default:
		}
	}
	return n, nil
}

// newID returns a random UUID v4, the shape of an SQS message id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// committer is group commit for Send: while one goroutine commits a write
// transaction, later Sends queue up and the next leader commits them all in
// one transaction (one fsync). A lone Send commits at once, with none of
// the latency bbolt's DB.Batch adds.
type committer struct {
	mu      sync.Mutex
	busy    bool
	pending []*commitReq
}

type commitReq struct {
	apply func(*bbolt.Tx) error
	done  chan error
}

// errLead tells a waiting request that it now leads the next commit.
var errLead = errors.New("lead")

func (c *committer) commit(db *bbolt.DB, apply func(*bbolt.Tx) error) error {
	r := &commitReq{apply: apply, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, r)
	if c.busy {
		c.mu.Unlock()
		if err := <-r.done; err != errLead {
			return err
		}
		c.mu.Lock()
	} else {
		c.busy = true
	}
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()

	err := db.Update(func(tx *bbolt.Tx) error {
		for _, b := range batch {
			if err := b.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	for _, b := range batch {
		if b != r {
			b.done <- err
		}
	}

	c.mu.Lock()
	if len(c.pending) > 0 {
		c.pending[0].done <- errLead
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	return err
}
