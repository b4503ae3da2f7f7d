package sqs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openagg/openagg/internal/queue"
)

// Poller does what the Lambda SQS event source mapping does with
// ReportBatchItemFailures: receive a batch, hand it to an SQSHandler as an
// events.SQSEvent, delete the records that succeeded and leave the failed
// ones to become visible again (and reach the DLQ after maxReceiveCount). It
// lets workers run against a real SQS (or moto) outside Lambda.
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
}

// Poll receives at most one batch and delivers it to h. An empty receive
// returns a zero result. The error is about SQS itself, never the handler's.
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
	res := PollResult{Received: len(out.Messages)}
	if len(out.Messages) == 0 {
		return res, nil
	}
	resp, herr := h(ctx, Event(p.arn, p.region, out.Messages))
	failed, all := failures(out.Messages, resp, herr)
	res.HandlerErr = herr
	var done []types.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		id := aws.ToString(m.MessageId)
		if all || failed[id] {
			res.Failed = append(res.Failed, id)
			continue
		}
		done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(done) == 0 {
		return res, nil
	}
	del, err := p.client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.url), Entries: done})
	if err != nil {
		return res, fmt.Errorf("delete %d processed messages from sqs queue %s: %w", len(done), p.url, err)
	}
	if len(del.Failed) > 0 {
		f := del.Failed[0]
		return res, fmt.Errorf("delete %d of %d processed messages from sqs queue %s failed: %s: %s",
			len(del.Failed), len(done), p.url, aws.ToString(f.Code), aws.ToString(f.Message))
	}
	return res, nil
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
