package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// DeadLetter is a message of a dead-letter queue as SQS shows it.
type DeadLetter struct {
	ID   string
	Type string // the "type" message attribute (the job's type)
	Key  string // the "key" message attribute
	Body string
	// ReceiveCount is SQS's ApproximateReceiveCount: the receives on the
	// source queue and, after it, those in the dead-letter queue
	// (including the looks of Peek).
	ReceiveCount    int
	SentAt          time.Time
	FirstReceivedAt time.Time
}

// peekHold is how long Peek and Redrive keep the messages they received
// invisible to others before they put them back (or move them).
const peekHold = 60 * time.Second

// DLQOf returns the URL and the ARN of the dead-letter queue of the queue at
// url, from its RedrivePolicy.
func DLQOf(ctx context.Context, client *awssqs.Client, url string) (dlqURL, dlqARN string, err error) {
	out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return "", "", fmt.Errorf("read the redrive policy of sqs queue %s: %w", url, err)
	}
	var policy struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	raw := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if raw == "" {
		return "", "", fmt.Errorf("sqs queue %s has no redrive policy, so no dead-letter queue", url)
	}
	if err := json.Unmarshal([]byte(raw), &policy); err != nil || policy.DeadLetterTargetArn == "" {
		return "", "", fmt.Errorf("sqs queue %s: unreadable redrive policy %q", url, raw)
	}
	// arn:aws:sqs:<region>:<account>:<name>
	parts := strings.Split(policy.DeadLetterTargetArn, ":")
	if len(parts) != 6 || parts[5] == "" {
		return "", "", fmt.Errorf("sqs queue %s: dead-letter target %q is not a queue ARN", url, policy.DeadLetterTargetArn)
	}
	in := &awssqs.GetQueueUrlInput{QueueName: aws.String(parts[5])}
	if parts[4] != "" {
		in.QueueOwnerAWSAccountId = aws.String(parts[4])
	}
	u, err := client.GetQueueUrl(ctx, in)
	if err != nil {
		return "", "", fmt.Errorf("find the dead-letter queue %s of %s: %w", parts[5], url, err)
	}
	return aws.ToString(u.QueueUrl), policy.DeadLetterTargetArn, nil
}

// visibleCount is the queue's ApproximateNumberOfMessages.
func visibleCount(ctx context.Context, client *awssqs.Client, url string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return 0, fmt.Errorf("count the messages of sqs queue %s: %w", url, err)
	}
	return strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
}

// receiveAll receives the messages of the queue at url, holding each
// invisible for peekHold, and calls visit once per message (in the order
// SQS hands them out) until the queue's visible messages as counted at the
// start are seen or a receive finds none. Messages visit does not keep
// (keep false) are made visible again before receiveAll returns.
func receiveAll(ctx context.Context, client *awssqs.Client, url string, visit func(m types.Message) (keep bool, err error)) error {
	want, err := visibleCount(ctx, client, url)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var release []types.Message
	var verr error
	for len(seen) < want && verr == nil {
		out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1, // returns at once when there are messages
			VisibilityTimeout:           int32(peekHold / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			verr = fmt.Errorf("receive from sqs queue %s: %w", url, err)
			break
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				release = append(release, m) // a newer receipt of one seen
				continue
			}
			seen[id] = true
			keep, err := visit(m)
			if !keep {
				release = append(release, m)
			}
			if err != nil {
				verr = err
				break
			}
		}
	}
	// Settle what was received even when ctx ended.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return errors.Join(verr, makeVisible(sctx, client, url, release))
}

// makeVisible ends the hold of received messages.
func makeVisible(ctx context.Context, client *awssqs.Client, url string, msgs []types.Message) error {
	var errs []error
	for chunk := range slices.Chunk(msgs, 10) {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}
		}
		out, err := client.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("make %d messages of sqs queue %s visible again: %w", len(chunk), url, err))
			continue
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("make a message of sqs queue %s visible again: %s %s", url, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}

// Peek lists the messages of a dead-letter queue without removing them: it
// receives them (which SQS counts) and makes them visible again.
func Peek(ctx context.Context, client *awssqs.Client, dlqURL string) ([]DeadLetter, error) {
	var out []DeadLetter
	err := receiveAll(ctx, client, dlqURL, func(m types.Message) (bool, error) {
		out = append(out, deadLetterOf(m))
		return false, nil
	})
	return out, err
}

func deadLetterOf(m types.Message) DeadLetter {
	d := DeadLetter{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)}
	if v, ok := m.MessageAttributes[AttrType]; ok {
		d.Type = aws.ToString(v.StringValue)
	}
	if v, ok := m.MessageAttributes[AttrKey]; ok {
		d.Key = aws.ToString(v.StringValue)
	}
	d.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	millis := func(name types.MessageSystemAttributeName) time.Time {
		ms, err := strconv.ParseInt(m.Attributes[string(name)], 10, 64)
		if err != nil || ms <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms).UTC()
	}
	d.SentAt = millis(types.MessageSystemAttributeNameSentTimestamp)
	d.FirstReceivedAt = millis(types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp)
	return d
}

// Redrive moves the messages of the dead-letter queue at dlqURL whose ids
// are given (every message when none is) to the queue at url, one by one:
// each is sent (same body and message attributes) before it is deleted
// from the dead-letter queue, so a failure in between leaves a copy in
// both, never in neither (the consumers are idempotent). It returns how
// many it moved. StartMove does the same inside SQS, where supported.
func Redrive(ctx context.Context, client *awssqs.Client, dlqURL, url string, ids []string) (int, error) {
	moved := 0
	err := receiveAll(ctx, client, dlqURL, func(m types.Message) (bool, error) {
		if len(ids) > 0 && !slices.Contains(ids, aws.ToString(m.MessageId)) {
			return false, nil
		}
		attrs := make(map[string]types.MessageAttributeValue, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			attrs[k] = types.MessageAttributeValue{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue}
		}
		if _, err := client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: m.Body, MessageAttributes: attrs}); err != nil {
			return false, fmt.Errorf("send dead letter %s back to sqs queue %s: %w", aws.ToString(m.MessageId), url, err)
		}
		if _, err := client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			// Sent: a copy stays in the dead-letter queue, visible again
			// after the hold.
			return true, fmt.Errorf("delete dead letter %s (already sent back to %s): %w", aws.ToString(m.MessageId), url, err)
		}
		moved++
		return true, nil
	})
	return moved, err
}

// StartMove starts SQS's message move task from the dead-letter queue
// dlqARN back to the queue its messages came from, and returns the task's
// handle. An endpoint without message move tasks (moto) fails it at once:
// the SDK does not retry it.
func StartMove(ctx context.Context, client *awssqs.Client, dlqARN string) (string, error) {
	out, err := client.StartMessageMoveTask(ctx, &awssqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)},
		func(o *awssqs.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return "", fmt.Errorf("start a message move task from %s: %w", dlqARN, err)
	}
	return aws.ToString(out.TaskHandle), nil
}

// MoveStatus is the state of the newest message move task from a
// dead-letter queue.
type MoveStatus struct {
	Status  string // RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED
	Moved   int64
	ToMove  int64
	Failure string
}

// LastMove reads the newest message move task from dlqARN.
func LastMove(ctx context.Context, client *awssqs.Client, dlqARN string) (MoveStatus, error) {
	out, err := client.ListMessageMoveTasks(ctx, &awssqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(1)})
	if err != nil {
		return MoveStatus{}, fmt.Errorf("list the message move tasks of %s: %w", dlqARN, err)
	}
	if len(out.Results) == 0 {
		return MoveStatus{}, fmt.Errorf("no message move task from %s", dlqARN)
	}
	r := out.Results[0]
	return MoveStatus{Status: aws.ToString(r.Status), Moved: r.ApproximateNumberOfMessagesMoved,
		ToMove: aws.ToInt64(r.ApproximateNumberOfMessagesToMove), Failure: aws.ToString(r.FailureReason)}, nil
}
