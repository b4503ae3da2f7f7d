package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/queue"
)

// ARNPrefix is the prefix of the EventSourceARN of local events; the queue
// name follows it.
const ARNPrefix = "arn:aws:sqs:local:000000000000:"

type consumer struct {
	name string
	h    queue.SQSHandler
	cfg  ConsumerConfig
	// busy serialises the batches of one queue, whether Run or Drain
	// delivers them.
	busy sync.Mutex
}

// Register sets the handler of a queue, as an event source mapping does for
// a Lambda; registering a queue name also lets Send accept it. Register
// before Run: a running dispatcher keeps the consumers it started with.
func (q *Queue) Register(queueName string, h queue.SQSHandler, cfg ConsumerConfig) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.known[queueName] = true
	q.cons[queueName] = &consumer{name: queueName, h: h, cfg: cfg.withDefaults()}
}

func (q *Queue) consumers() []*consumer {
	q.mu.Lock()
	defer q.mu.Unlock()
	cs := make([]*consumer, 0, len(q.cons))
	for _, c := range q.cons {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	return cs
}

// Run delivers messages to the registered handlers until ctx is done: each
// queue has its own dispatcher (queues are consumed concurrently, the
// batches of one queue one after the other), which sleeps until Send wakes
// it or its next delayed message is due. When ctx is done Run stops taking
// new batches and waits for the handlers in flight (up to ShutdownGrace,
// then it cancels their ctx and releases what they did not finish), so an
// interrupt loses nothing. It returns nil after such a stop, or the first
// storage error (after stopping the other dispatchers).
func (q *Queue) Run(ctx context.Context) error {
	cs := q.consumers()
	if len(cs) == 0 {
		return errors.New("local queue: Run without registered consumers")
	}
	q.mu.Lock()
	if q.running {
		q.mu.Unlock()
		return errors.New("local queue: already running")
	}
	q.running = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.running = false
		q.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() {
			err := q.loop(ctx, c)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range cs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (q *Queue) loop(ctx context.Context, c *consumer) error {
	wake := q.wake(c.name)
	for {
		if ctx.Err() != nil {
			return nil
		}
		progress, next, err := q.process(ctx, c, q.grace)
		if err != nil {
			return err
		}
		if progress {
			continue
		}
		var due <-chan time.Time
		if !next.IsZero() {
			due = q.after(next.Sub(q.clock.Now()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-due:
		}
	}
}

// Drain delivers messages to the registered handlers until no message is
// visible and none becomes visible within DrainHorizon, one batch per queue
// per round, so that jobs that enqueue jobs run to the end. It runs the
// workers synchronously (tests, one-shot commands) and may run beside Run.
// A cancelled ctx cancels the handlers at once; what they did not finish is
// released for a later delivery.
func (q *Queue) Drain(ctx context.Context) error {
	cs := q.consumers()
	for {
		progress := false
		for _, c := range cs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("local queue drain: %w", err)
			}
			p, _, err := q.process(ctx, c, 0)
			if err != nil {
				return err
			}
			progress = progress || p
		}
		if progress {
			continue
		}
		next, err := q.nextDue(cs)
		if err != nil {
			return err
		}
		now := q.clock.Now()
		if next.IsZero() || next.Sub(now) > q.horizon {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("local queue drain: %w", ctx.Err())
		case <-q.after(next.Sub(now)):
		}
	}
}

// RunUntilIdle is Drain.
func (q *Queue) RunUntilIdle(ctx context.Context) error { return q.Drain(ctx) }

// nextDue is the earliest time a message of these queues becomes visible.
func (q *Queue) nextDue(cs []*consumer) (time.Time, error) {
	var next time.Time
	err := q.db.View(func(tx *bbolt.Tx) error {
		for _, c := range cs {
			b := tx.Bucket(bucketName(c.name, schedSuffix))
			if b == nil {
				continue
			}
			if k, _ := b.Cursor().First(); k != nil {
				if t := schedTime(k); next.IsZero() || t.Before(next) {
					next = t
				}
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("local queue: next due message: %w", err)
	}
	return next, nil
}

// process receives one batch of c's queue and delivers it. progress says
// whether anything moved (delivered or dead-lettered); otherwise next is
// when the queue's first message becomes visible. After ctx is done a
// running handler gets grace more time before its own ctx is cancelled.
func (q *Queue) process(ctx context.Context, c *consumer, grace time.Duration) (progress bool, next time.Time, err error) {
	c.busy.Lock()
	defer c.busy.Unlock()

	var batch []record
	var buried int
	err = q.db.Update(func(tx *bbolt.Tx) error {
		var err error
		batch, next, buried, err = receive(tx, c.name, q.clock.Now(), c.cfg)
		return err
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("local queue: receive from %s: %w", c.name, err)
	}
	if buried > 0 {
		q.log.Error("messages moved to the dead-letter list after their last receive never finished", "queue", c.name, "count", buried)
	}
	if len(batch) == 0 {
		return buried > 0, next, nil
	}

	outcomes, reasons := q.deliver(ctx, c, batch, grace)
	err = q.db.Update(func(tx *bbolt.Tx) error {
		return settle(tx, c.name, q.clock.Now(), c.cfg, batch, outcomes, reasons)
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("local queue: settle %d messages of %s: %w", len(batch), c.name, err)
	}
	return true, time.Time{}, nil
}

type result struct {
	resp events.SQSEventResponse
	err  error
}

// deliver calls the handler and maps its answer to one outcome per message,
// with Lambda's ReportBatchItemFailures rules: a handler error (or panic),
// or an empty or unknown item identifier, fails the whole batch. reasons
// say why each failed message failed: the error queue.Consumer reported
// for it, else the handler's.
func (q *Queue) deliver(ctx context.Context, c *consumer, batch []record, grace time.Duration) (outcomes []outcome, reasons []string) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.VisibilityTimeout)
	defer cancel()
	var mu sync.Mutex
	reported := map[string]string{}
	hctx = queue.WithFailureReporter(hctx, func(messageID string, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported[messageID] = err.Error()
	})
	done := make(chan result, 1)
	ev := event(c.name, batch)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("handler panic: %v", p)}
			}
		}()
		resp, err := c.h(hctx, ev)
		done <- result{resp, err}
	}()

	var r result
	stopped := false
	select {
	case r = <-done:
	case <-ctx.Done():
		if grace > 0 {
			t := time.NewTimer(grace)
			select {
			case r = <-done:
			case <-t.C:
				stopped = true
			}
			t.Stop()
		} else {
			stopped = true
		}
		if stopped {
			cancel()
			r = <-done
		}
	}

	fail := failed
	if stopped {
		fail = released
	}
	outcomes = make([]outcome, len(batch))
	reasons = make([]string, len(batch))
	mu.Lock()
	defer mu.Unlock()
	for i, m := range batch {
		reasons[i] = reported[m.ID]
		if reasons[i] == "" {
			reasons[i] = "the handler reported it failed"
		}
	}
	if r.err != nil {
		q.log.Warn("batch failed", "queue", c.name, "messages", len(batch), "err", r.err)
		for i := range outcomes {
			outcomes[i] = fail
			if reported[batch[i].ID] == "" {
				reasons[i] = r.err.Error()
			}
		}
		return outcomes, reasons
	}
	index := make(map[string]int, len(batch))
	for i, m := range batch {
		index[m.ID] = i
	}
	for _, f := range r.resp.BatchItemFailures {
		i, ok := index[f.ItemIdentifier]
		if !ok {
			q.log.Warn("batch failed: unknown item identifier in the batch item failures", "queue", c.name, "itemIdentifier", f.ItemIdentifier)
			for i := range outcomes {
				outcomes[i] = fail
				if reported[batch[i].ID] == "" {
					reasons[i] = fmt.Sprintf("the batch failed: unknown item identifier %q in its batch item failures", f.ItemIdentifier)
				}
			}
			return outcomes, reasons
		}
		outcomes[i] = fail
	}
	return outcomes, reasons
}

// event is the events.SQSEvent the Lambda event source mapping would build.
func event(queueName string, batch []record) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	for _, r := range batch {
		sum := md5.Sum([]byte(r.Body))
		attrs := map[string]events.SQSMessageAttribute{
			"type": {DataType: "String", StringValue: &r.Type},
		}
		if r.Key != "" {
			attrs["key"] = events.SQSMessageAttribute{DataType: "String", StringValue: &r.Key}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:     r.ID,
			ReceiptHandle: r.ID + "/" + strconv.Itoa(r.ReceiveCount),
			Body:          r.Body,
			Md5OfBody:     hex.EncodeToString(sum[:]),
			Attributes: map[string]string{
				"ApproximateReceiveCount":          strconv.Itoa(r.ReceiveCount),
				"SentTimestamp":                    strconv.FormatInt(r.SentAt.UnixMilli(), 10),
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(r.FirstReceivedAt.UnixMilli(), 10),
				"SenderId":                         "local",
			},
			MessageAttributes: attrs,
			EventSource:       "aws:sqs",
			EventSourceARN:    ARNPrefix + queueName,
			AWSRegion:         "local",
		})
	}
	return ev
}
