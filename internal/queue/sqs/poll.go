package sqs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openagg/openagg/internal/queue"
)

// Poller does what the Lambda SQS event source mapping does with
// ReportBatchItemFailures: receive a batch (long polling), hand it to an
// SQSHandler as an events.SQSEvent with a deadline, delete the records that
// succeeded and leave the failed ones to become visible again (and reach
// the DLQ after the queue's maxReceiveCount). It runs workers against a
// real SQS (or moto, ElasticMQ) outside Lambda: `openagg serve` on the AWS
// drivers, and tests.
//
// Set up for a long-running process (see Run), it goes beyond Lambda in
// two ways, both off by default: it keeps a batch invisible only for a
// short lease that it renews while the handler runs (Heartbeat), so the
// messages of a process that dies come back within the lease instead of
// the queue's visibility timeout; and it delays a failed message's retry
// by Backoff, as the embedded queue does, instead of waiting out the
// visibility timeout.
//
// A Poller is safe for concurrent use: several goroutines may Poll the
// same queue.
type Poller struct {
	client *awssqs.Client
	url    string
	arn    string
	region string

	// BatchSize is the most messages per batch, 1..10 (default 10).
	BatchSize int32
	// WaitTime is the long-poll wait, whole seconds up to 20 (default 0).
	WaitTime time.Duration
	// VisibilityTimeout overrides the queue's visibility timeout for the
	// received messages, in whole seconds (0 = the queue's own).
	VisibilityTimeout time.Duration
	// Heartbeat, when positive, sets the batch's visibility to
	// VisibilityTimeout again every Heartbeat while the handler runs (a
	// lease: VisibilityTimeout must then be set and longer).
	Heartbeat time.Duration
	// Timeout is the handler's deadline, as a Lambda function's timeout
	// is (0 = none); the handler then fails the batch.
	Timeout time.Duration
	// Backoff, when set, is how long a failed message stays invisible
	// before its next receive, given how many times it was received (the
	// embedded queue's queue.RetryDelay); nil leaves a failed message to
	// become visible when its visibility timeout ends, as Lambda does.
	Backoff func(receiveCount int) time.Duration
	// Grace is how long a handler may still run once Poll's ctx is done;
	// then its ctx is cancelled and its batch released: made visible at
	// once, for another consumer (default 0: cancel at once).
	Grace time.Duration
	// SettleTimeout bounds the deletes and visibility changes that follow
	// a batch, from the moment its handler is done (default 30 s).
	SettleTimeout time.Duration
	// Log receives what goes wrong with SQS around a batch (default:
	// discarded).
	Log *slog.Logger
}

// NewPoller returns a Poller for the queue at url.
func NewPoller(ctx context.Context, client *awssqs.Client, url string) (*Poller, error) {
	arn, err := QueueARN(ctx, client, url)
	if err != nil {
		return nil, err
	}
	region := ""
	if parts := strings.Split(arn, ":"); len(parts) > 3 {
		region = parts[3]
	}
	return &Poller{client: client, url: url, arn: arn, region: region, BatchSize: 10}, nil
}

// PollResult says what one Poll did.
type PollResult struct {
	Received int
	// Failed are the message ids left on the queue for a retry.
	Failed []string
	// HandlerErr is the handler's own error; it failed the whole batch.
	HandlerErr error
	// Released: Poll's ctx ended before the handler finished (or before it
	// started), and the batch was made visible again for another consumer.
	Released bool
}

// Poll receives at most one batch and delivers it to h. An empty receive
// returns a zero result. The error is about SQS itself, never the handler's.
// When ctx ends during a long poll, Poll returns ctx's error; messages SQS
// handed to that cancelled receive come back after VisibilityTimeout.
func (p *Poller) Poll(ctx context.Context, h queue.SQSHandler) (PollResult, error) {
	batch := p.BatchSize
	if batch < 1 || batch > 10 {
		batch = 10
	}
	out, err := p.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.url),
		MaxNumberOfMessages:         batch,
		WaitTimeSeconds:             int32(p.WaitTime / time.Second),
		VisibilityTimeout:           int32(p.VisibilityTimeout / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return PollResult{}, fmt.Errorf("receive from sqs queue %s: %w", p.url, err)
	}
	msgs := out.Messages
	res := PollResult{Received: len(msgs)}
	if len(msgs) == 0 {
		return res, nil
	}
	// Deletes and visibility changes are made even after ctx ended (a
	// shutdown): they settle what was already done. Their time starts
	// when the handler is done.
	settling := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(p.SettleTimeout, 30*time.Second))
	}
	if ctx.Err() != nil {
		settle, cancel := settling()
		defer cancel()
		res.Released = true
		return res, p.setVisibility(settle, msgs, func(types.Message) time.Duration { return 0 })
	}

	resp, herr, released := p.deliver(ctx, h, msgs)
	settle, cancel := settling()
	defer cancel()
	if released {
		res.Released = true
		return res, p.setVisibility(settle, msgs, func(types.Message) time.Duration { return 0 })
	}
	failed, all := failures(msgs, resp, herr)
	res.HandlerErr = herr
	var done []types.DeleteMessageBatchRequestEntry
	var retry []types.Message
	for i, m := range msgs {
		id := aws.ToString(m.MessageId)
		if all || failed[id] {
			res.Failed = append(res.Failed, id)
			retry = append(retry, m)
			continue
		}
		done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	var errs []error
	if len(retry) > 0 && p.Backoff != nil {
		errs = append(errs, p.setVisibility(settle, retry, func(m types.Message) time.Duration {
			n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
			return p.Backoff(max(n, 1))
		}))
	}
	if len(done) > 0 {
		errs = append(errs, p.delete(settle, done))
	}
	return res, errors.Join(errs...)
}

// deliver runs h on the batch with the Timeout deadline, renewing the
// batch's lease every Heartbeat. When ctx ends first, h gets Grace more
// time; after that its ctx is cancelled and released reports that the
// batch is to be made visible again. A panic fails the batch.
func (p *Poller) deliver(ctx context.Context, h queue.SQSHandler, msgs []types.Message) (resp events.SQSEventResponse, herr error, released bool) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if p.Timeout > 0 {
		hctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), p.Timeout)
	}
	defer cancel()
	type result struct {
		resp events.SQSEventResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("handler panic: %v", r)}
			}
		}()
		r, err := h(hctx, Event(p.arn, p.region, msgs))
		done <- result{r, err}
	}()

	var beat <-chan time.Time
	if p.Heartbeat > 0 && p.VisibilityTimeout > p.Heartbeat {
		t := time.NewTicker(p.Heartbeat)
		defer t.Stop()
		beat = t.C
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case r := <-done:
			return r.resp, r.err, false
		case <-beat:
			// A renewal must not hold up the handler's result: at most
			// one runs at a time, and a failed one is logged (the next
			// may succeed; if the lease ran out another consumer may get
			// the batch, which idempotent handlers tolerate). A slow SQS
			// gets until the lease would end, not just a heartbeat.
			wg.Wait()
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(hctx, p.VisibilityTimeout-p.Heartbeat)
				defer cancel()
				if err := p.setVisibility(rctx, msgs, func(types.Message) time.Duration { return p.VisibilityTimeout }); err != nil && hctx.Err() == nil {
					p.log().Warn("renewing the lease of a batch failed", "queue", p.url, "messages", len(msgs), "err", err)
				}
			}()
		case <-stop:
			stop = nil
			if p.Grace <= 0 {
				cancel()
				<-done
				return events.SQSEventResponse{}, nil, true
			}
			t := time.NewTimer(p.Grace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			cancel()
			<-done
			return events.SQSEventResponse{}, nil, true
		}
	}
}

func (p *Poller) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// setVisibility sets the visibility timeout of each message to what vis
// says (ChangeMessageVisibilityBatch; a batch holds at most 10 messages).
func (p *Poller) setVisibility(ctx context.Context, msgs []types.Message, vis func(types.Message) time.Duration) error {
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			ReceiptHandle:     m.ReceiptHandle,
			VisibilityTimeout: int32((vis(m) + time.Second - 1) / time.Second),
		}
	}
	out, err := p.client.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(p.url), Entries: entries})
	if err != nil {
		return fmt.Errorf("change the visibility of %d messages of sqs queue %s: %w", len(msgs), p.url, err)
	}
	if len(out.Failed) > 0 {
		f := out.Failed[0]
		return fmt.Errorf("change the visibility of %d of %d messages of sqs queue %s failed: %s: %s",
			len(out.Failed), len(msgs), p.url, aws.ToString(f.Code), aws.ToString(f.Message))
	}
	return nil
}

func (p *Poller) delete(ctx context.Context, done []types.DeleteMessageBatchRequestEntry) error {
	del, err := p.client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.url), Entries: done})
	if err != nil {
		return fmt.Errorf("delete %d processed messages from sqs queue %s: %w", len(done), p.url, err)
	}
	if len(del.Failed) > 0 {
		f := del.Failed[0]
		return fmt.Errorf("delete %d of %d processed messages from sqs queue %s failed: %s: %s",
			len(del.Failed), len(done), p.url, aws.ToString(f.Code), aws.ToString(f.Message))
	}
	return nil
}

// Run polls until ctx ends and returns nil then. An SQS error (the
// endpoint down, throttling) is logged and retried after a pause that
// doubles up to a minute, as an event source mapping keeps polling.
// observe, when not nil, sees each non-empty poll's result.
func (p *Poller) Run(ctx context.Context, h queue.SQSHandler, observe func(PollResult)) error {
	pause := time.Second
	for ctx.Err() == nil {
		res, err := p.Poll(ctx, h)
		if res.Received > 0 && observe != nil {
			observe(res)
		}
		if err == nil {
			pause = time.Second
			continue
		}
		if ctx.Err() != nil {
			break
		}
		p.log().Error("sqs poll failed", "queue", p.url, "retryIn", pause.String(), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Minute)
	}
	return nil
}

// failures returns the failed ids, or all=true when the whole batch failed:
// a handler error, or an empty or unknown item identifier (Lambda's rule for
// ReportBatchItemFailures).
func failures(msgs []types.Message, resp events.SQSEventResponse, herr error) (map[string]bool, bool) {
	if herr != nil {
		return nil, true
	}
	ids := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		ids[aws.ToString(m.MessageId)] = true
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		if !ids[f.ItemIdentifier] {
			return nil, true
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, false
}

// Event builds the Lambda event for received messages, as the event source
// mapping does.
func Event(queueARN, region string, msgs []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		attrs := make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			attrs[k] = events.SQSMessageAttribute{
				DataType:         aws.ToString(v.DataType),
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
			}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             m.Attributes,
			MessageAttributes:      attrs,
			EventSourceARN:         queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		})
	}
	return ev
}
