package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/queue"
)

// JobRecord is the queue.Activity job: one event to record.
const JobRecord = "activity.record"

// Queued is the Sink of the request and job paths: it hands each event to
// queue.Activity, where the activity-recorder worker records it (Handler).
// Recording costs the reporter one queue send and no store call, so a
// request keeps its store budget whoever listens; the event's key, time and
// channel are fixed here, so a redelivered job records it once, as it was.
type Queued struct {
	Sender queue.Sender
	Now    func() time.Time // default time.Now
	NewKey func() string    // a fresh key for an event without one
}

// Record implements Sink.
func (q Queued) Record(ctx context.Context, e Event) error {
	if e.Key == "" {
		e.Key = q.NewKey()
	}
	if e.At.IsZero() {
		now := time.Now
		if q.Now != nil {
			now = q.Now
		}
		e.At = now().UTC()
	}
	job, err := queue.NewJob(JobRecord, e.Key, e)
	if err != nil {
		return err
	}
	if err := q.Sender.Send(ctx, queue.Activity, job, 0); err != nil {
		return fmt.Errorf("queue activity %s: %w", e.Kind, err)
	}
	return nil
}

// Handler is the activity-recorder worker's job handler: it records each
// queued event with sink. A job that does not decode can never succeed.
func Handler(sink Sink) func(ctx context.Context, job queue.Job) error {
	return func(ctx context.Context, job queue.Job) error {
		if job.Type != JobRecord {
			return fmt.Errorf("%w: unknown job type %q", queue.ErrPoison, job.Type)
		}
		var e Event
		if err := json.Unmarshal(job.Payload, &e); err != nil || e.Kind == "" {
			return fmt.Errorf("%w: activity event: %v", queue.ErrPoison, err)
		}
		return sink.Record(WithChannel(ctx, e.Channel), e)
	}
}
