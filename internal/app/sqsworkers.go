package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/sqs"
	"github.com/openagg/openagg/internal/store"
)

// DefaultWorkerLease is how long `openagg serve` keeps a message received
// from SQS invisible before renewing it (Options.WorkerLease).
const DefaultWorkerLease = 30 * time.Second

// minWorkerLease: the lease is renewed every third of it, in whole seconds.
const minWorkerLease = 3 * time.Second

// sqsLongPoll is the long-poll wait of every receive, as Lambda's event
// source mapping polls (SQS's maximum).
const sqsLongPoll = 20 * time.Second

// sqsShutdownGrace is how long a running batch may finish once the process
// is asked to stop (the embedded queue's ShutdownGrace); then it is
// cancelled and its messages are released for another process.
const sqsShutdownGrace = 30 * time.Second

// sqsRunner consumes the SQS queues in this process, as Lambda's event
// source mappings do for the worker functions: per worker a poller on its
// queue with the template's settings (deploy.ConsumerOf: batch size, the
// function's timeout as each batch's deadline), long polling, partial batch
// failures, and SQS's own redrive to the DLQ after maxReceiveCount. The
// handlers are the very ones the Lambdas run. Beyond Lambda, for
// long-running processes:
//   - a received batch is leased for lease and the lease is renewed every
//     third of it while the handler runs, so the messages of a process
//     that dies come back within the lease rather than after the queue's
//     visibility timeout (12 or 30 minutes, sized for Lambda);
//   - a failed message is retried after the embedded queue's backoff
//     (queue.RetryDelay) instead of the visibility timeout;
//   - on stop, a running batch gets sqsShutdownGrace, then is cancelled and
//     released at once for another process.
//
// Each process takes one batch at a time per queue, as the embedded queue
// does; several processes share a queue (whoever polls first gets a
// message). At debug level every batch is logged when received and when
// done (with the store calls it made); at the stop, each worker's totals.
func sqsRunner(client *awssqs.Client, urls map[string]string, log *slog.Logger, lease time.Duration) func(ctx context.Context, workers []Worker) (func(context.Context) error, error) {
	return func(ctx context.Context, workers []Worker) (func(context.Context) error, error) {
		type consumer struct {
			w     Worker
			p     *sqs.Poller
			stats *workerStats
		}
		cs := make([]consumer, 0, len(workers))
		for _, w := range workers {
			c, ok := deploy.ConsumerOf(w.Queue)
			if !ok {
				return nil, fmt.Errorf("worker %s: the template declares no consumer of queue %q", w.Name, w.Queue)
			}
			url := urls[w.Queue]
			if url == "" {
				return nil, fmt.Errorf("worker %s: no SQS URL for queue %q", w.Name, w.Queue)
			}
			p, err := sqs.NewPoller(ctx, client, url)
			if err != nil {
				return nil, fmt.Errorf("worker %s: %w", w.Name, err)
			}
			p.BatchSize = int32(c.BatchSize)
			p.WaitTime = sqsLongPoll
			p.VisibilityTimeout, p.Heartbeat = lease, lease/3
			p.Timeout = c.Timeout
			p.Backoff = func(n int) time.Duration { return queue.RetryDelay(queue.RetryBase, queue.RetryMax, n) }
			p.Grace = sqsShutdownGrace
			p.Log = log
			cs = append(cs, consumer{w: w, p: p, stats: &workerStats{}})
		}
		return func(ctx context.Context) error {
			if len(cs) == 0 {
				<-ctx.Done()
				return nil
			}
			log.Info("sqs workers polling", "workers", len(cs), "lease", lease.String(), "longPoll", sqsLongPoll.String())
			var wg sync.WaitGroup
			errs := make([]error, len(cs))
			for i, c := range cs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = c.p.Run(ctx, instrument(log, c.w, c.stats), c.stats.observe)
				}()
			}
			wg.Wait()
			for _, c := range cs {
				log.Info("sqs worker stopped", "worker", c.w.Name, "queue", c.w.Queue,
					"received", c.stats.received.Load(), "failed", c.stats.failed.Load(),
					"released", c.stats.released.Load(), "storeCalls", c.stats.calls.Load())
			}
			return errors.Join(errs...)
		}, nil
	}
}

// workerStats are one worker's totals in this process.
type workerStats struct {
	received, failed, released, calls atomic.Int64
}

func (s *workerStats) observe(r sqs.PollResult) {
	s.received.Add(int64(r.Received))
	s.failed.Add(int64(len(r.Failed)))
	if r.Released {
		s.released.Add(int64(r.Received))
	}
}

// instrument wraps a worker's handler: it counts the store calls the batch
// makes (store.WithCallCounter) and logs the batch at debug level.
func instrument(log *slog.Logger, w Worker, stats *workerStats) queue.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ids := make([]string, len(ev.Records))
		receives := make([]string, len(ev.Records))
		for i, r := range ev.Records {
			ids[i], receives[i] = r.MessageId, r.Attributes["ApproximateReceiveCount"]
		}
		log.DebugContext(ctx, "sqs batch received", "worker", w.Name, "queue", w.Queue, "messageIds", ids, "receiveCounts", receives)
		var calls atomic.Int64
		start := time.Now()
		resp, err := w.Handler(store.WithCallCounter(ctx, &calls), ev)
		stats.calls.Add(calls.Load())
		failed := len(resp.BatchItemFailures)
		if err != nil {
			failed = len(ev.Records)
		}
		log.DebugContext(ctx, "sqs batch done", "worker", w.Name, "queue", w.Queue, "messageIds", ids,
			"failed", failed, "storeCalls", calls.Load(), "ms", time.Since(start).Milliseconds(), "err", err)
		return resp, err
	}
}
