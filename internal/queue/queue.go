// Package queue is the job port: producers Send typed jobs to a named queue;
// consumers are Lambda SQS handlers (events.SQSEvent in, partial batch
// failures out), whether the messages come from SQS (queue/sqs) or from the
// embedded durable queue (queue/local).
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Queue names. Each maps to one SQS queue (with its DLQ) in AWS.
const (
	Directory   = "directory"   // bank directory loads → directory-loader
	Connections = "connections" // connection load/refresh → connection-sync
	Holdings    = "holdings"    // accounts-with-transactions import → holdings-importer
	Activity    = "activity"    // what happened to a user's connections → activity-recorder
	Webhooks    = "webhooks"    // signed deliveries to registered endpoints → webhooks
)

// Names lists every queue of the port, in a stable order: the drivers, the
// configuration (one SQS URL each) and the template take them from here.
func Names() []string { return []string{Directory, Connections, Holdings, Activity, Webhooks} }

// MaxDelay is the longest delivery delay a Send honours: SQS caps
// DelaySeconds at 15 minutes, and the embedded queue applies the same cap so
// that code which works locally also works on AWS. Longer waits must be
// expressed as a job that re-enqueues itself.
const MaxDelay = 15 * time.Minute

// A failed message is retried with exponential backoff: after its n-th
// receive failed it is visible again after RetryBase·2^(n-1), at most
// RetryMax. The embedded queue does this, and so does `openagg serve` on
// SQS (Lambda's event source mapping waits out the visibility timeout
// instead).
const (
	RetryBase = time.Second
	RetryMax  = 5 * time.Minute
)

// RetryDelay is the backoff before the retry that follows the n-th receive
// (n ≥ 1) with the given base and cap.
func RetryDelay(base, maxDelay time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// CurrentVersion is the job envelope version written by this code.
const CurrentVersion = 1

// Job is the envelope of every message.
type Job struct {
	Type string `json:"type"`
	// Key identifies the unit of work; consumers use it to make a second
	// delivery a no-op. SQS FIFO dedup is not assumed.
	Key     string          `json:"key"`
	Version int             `json:"version"`
	Payload json.RawMessage `json:"payload"`
}

// NewJob builds a job with a JSON payload.
func NewJob(typ, key string, payload any) (Job, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Job{}, fmt.Errorf("encode %s job payload: %w", typ, err)
	}
	return Job{Type: typ, Key: key, Version: CurrentVersion, Payload: b}, nil
}

// Sender is the producer side of the port.
type Sender interface {
	// Send enqueues job on the named queue, visible after delay (0 = now;
	// SQS caps delays at 15 minutes).
	Send(ctx context.Context, queueName string, job Job, delay time.Duration) error
}

// ErrPoison marks a message that can never succeed (undecodable, unknown
// type). It is still reported as a batch failure so that it reaches the DLQ
// after maxReceiveCount receives, where an operator can inspect it.
var ErrPoison = errors.New("queue: poison message")

// Handler processes one decoded job.
type Handler func(ctx context.Context, job Job) error

// SQSHandler is the signature of every worker Lambda.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Decode parses a message body into a Job.
func Decode(body string) (Job, error) {
	var j Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return Job{}, fmt.Errorf("%w: decode job: %v", ErrPoison, err)
	}
	if j.Type == "" {
		return Job{}, fmt.Errorf("%w: job without type", ErrPoison)
	}
	return j, nil
}

// Consumer turns a per-job Handler into an SQSHandler that reports partial
// batch failures: a failed record is retried by the queue and ends in the
// DLQ after maxReceiveCount; the other records of the batch are acknowledged.
func Consumer(log *slog.Logger, h Handler) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			job, err := Decode(rec.Body)
			if err == nil {
				n, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
				err = h(WithReceiveCount(ctx, n), job)
			}
			if err == nil {
				continue
			}
			level := slog.LevelWarn
			if errors.Is(err, ErrPoison) {
				level = slog.LevelError
			}
			log.Log(ctx, level, "job failed", "messageId", rec.MessageId, "type", job.Type, "key", job.Key, "err", err)
			if report, ok := ctx.Value(failureReporterKey{}).(func(string, error)); ok {
				report(rec.MessageId, err)
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		return resp, nil
	}
}

type receiveCountKey struct{}

// WithReceiveCount tells a handler which receive of its message this is
// (SQS's ApproximateReceiveCount, which Lambda, the SQS poller and the
// embedded queue all put on each record): Consumer sets it per record.
func WithReceiveCount(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, receiveCountKey{}, n)
}

// ReceiveCount is the receive of the message being handled (1 for the
// first delivery), or 0 when the caller did not say (a direct call, e.g.
// `openagg invoke` on a hand-written event without the attribute). A
// handler compares it with its queue's maxReceiveCount to know that a
// failure now sends the message to the dead-letter queue.
func ReceiveCount(ctx context.Context) int {
	n, _ := ctx.Value(receiveCountKey{}).(int)
	return n
}

type failureReporterKey struct{}

// WithFailureReporter lets the driver that delivers an event learn why each
// failed record failed: Consumer calls report with the record's message id
// and the handler's error. A partial batch failure response carries only
// the ids; the embedded queue keeps the error with the message, so that a
// dead letter says what went wrong (`openagg dlq list`).
func WithFailureReporter(ctx context.Context, report func(messageID string, err error)) context.Context {
	return context.WithValue(ctx, failureReporterKey{}, report)
}
