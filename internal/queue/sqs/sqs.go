// Package sqs is the Amazon SQS driver of the job port (queue.Sender). In AWS
// the consumers are Lambda functions fed by an SQS event source mapping with
// ReportBatchItemFailures; Poller emulates that mapping for local runs and
// tests against moto.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openagg/openagg/internal/queue"
)

// Message attribute names set on every message, so that an operator looking
// at a DLQ sees what a message is without decoding its body.
const (
	AttrType = "type"
	AttrKey  = "key"
)

// maxDelaySeconds is SQS's DelaySeconds limit (queue.MaxDelay).
const maxDelaySeconds = int32(queue.MaxDelay / time.Second)

// Sender sends jobs to SQS queues. It is safe for concurrent use.
type Sender struct {
	client *awssqs.Client
	urls   map[string]string
}

var _ queue.Sender = (*Sender)(nil)

// New returns a Sender; urls maps queue names (queue.Directory,
// queue.Connections, queue.Holdings) to queue URLs.
func New(client *awssqs.Client, urls map[string]string) *Sender {
	cp := make(map[string]string, len(urls))
	for k, v := range urls {
		cp[k] = v
	}
	return &Sender{client: client, urls: cp}
}

// Send marshals job as the message body and sends it to the named queue.
// delay is rounded up to whole seconds and capped at queue.MaxDelay (15
// minutes, the SQS limit): a longer delay is delivered after 15 minutes, so a
// job that must wait longer re-enqueues itself until its time has come.
func (s *Sender) Send(ctx context.Context, queueName string, job queue.Job, delay time.Duration) error {
	url, ok := s.urls[queueName]
	if !ok || url == "" {
		return fmt.Errorf("sqs send %s job: unknown queue %q (known: %v)", job.Type, queueName, s.names())
	}
	if job.Type == "" {
		return fmt.Errorf("sqs send to %s: job without type", queueName)
	}
	body, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("sqs send %s job to %s: encode: %w", job.Type, queueName, err)
	}
	in := &awssqs.SendMessageInput{
		QueueUrl:          aws.String(url),
		MessageBody:       aws.String(string(body)),
		DelaySeconds:      DelaySeconds(delay),
		MessageAttributes: Attributes(job),
	}
	if _, err := s.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("sqs send %s job %q to %s: %w", job.Type, job.Key, queueName, err)
	}
	return nil
}

func (s *Sender) names() []string {
	names := make([]string, 0, len(s.urls))
	for k := range s.urls {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// DelaySeconds converts a delay to SQS DelaySeconds: negative is 0, a
// fraction of a second rounds up (a delay is a "not before"), and anything
// above queue.MaxDelay is capped at 900.
func DelaySeconds(delay time.Duration) int32 {
	if delay <= 0 {
		return 0
	}
	if delay >= queue.MaxDelay {
		return maxDelaySeconds
	}
	return int32((delay + time.Second - 1) / time.Second)
}

// Attributes returns the message attributes of a job. SQS rejects empty
// attribute values, so an empty key is left out.
func Attributes(job queue.Job) map[string]types.MessageAttributeValue {
	attrs := map[string]types.MessageAttributeValue{
		AttrType: {DataType: aws.String("String"), StringValue: aws.String(job.Type)},
	}
	if job.Key != "" {
		attrs[AttrKey] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(job.Key)}
	}
	return attrs
}

// NewClient builds an SQS client from the default credential chain. endpoint
// overrides the service URL (moto, ElasticMQ); empty means the AWS endpoint
// of region.
func NewClient(ctx context.Context, endpoint, region string) (*awssqs.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config for sqs: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("sqs client: no region (set AWS_REGION or pass one)")
	}
	return awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// QueueSpec is a queue with its dead-letter queue. Zero durations leave
// SQS's defaults.
type QueueSpec struct {
	Name              string
	DLQName           string
	VisibilityTimeout time.Duration
	Retention         time.Duration
	DLQRetention      time.Duration
	// MaxReceiveCount: receives after which SQS moves a message to the DLQ.
	MaxReceiveCount int
}

// EnsureQueue makes the queue and its dead-letter queue exist with spec's
// attributes: it creates what is missing and sets the attributes of both
// (visibility timeout, retention, redrive policy) every time, so a second
// call changes nothing and a queue made by hand is brought in line. It
// returns the URLs of the queue and of its DLQ.
func EnsureQueue(ctx context.Context, client *awssqs.Client, spec QueueSpec) (url, dlqURL string, err error) {
	if spec.MaxReceiveCount < 1 {
		return "", "", fmt.Errorf("sqs queue %s: maxReceiveCount %d < 1", spec.Name, spec.MaxReceiveCount)
	}
	seconds := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	if dlqURL, err = createQueue(ctx, client, spec.DLQName); err != nil {
		return "", "", err
	}
	if spec.DLQRetention > 0 {
		if err := setAttributes(ctx, client, dlqURL, spec.DLQName, map[types.QueueAttributeName]string{types.QueueAttributeNameMessageRetentionPeriod: seconds(spec.DLQRetention)}); err != nil {
			return "", "", err
		}
	}
	dlqARN, err := QueueARN(ctx, client, dlqURL)
	if err != nil {
		return "", "", err
	}
	if url, err = createQueue(ctx, client, spec.Name); err != nil {
		return "", "", err
	}
	policy, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": dlqARN,
		"maxReceiveCount":     strconv.Itoa(spec.MaxReceiveCount),
	})
	if err != nil {
		return "", "", fmt.Errorf("encode redrive policy of %s: %w", spec.Name, err)
	}
	attrs := map[types.QueueAttributeName]string{types.QueueAttributeNameRedrivePolicy: string(policy)}
	if spec.VisibilityTimeout > 0 {
		attrs[types.QueueAttributeNameVisibilityTimeout] = seconds(spec.VisibilityTimeout)
	}
	if spec.Retention > 0 {
		attrs[types.QueueAttributeNameMessageRetentionPeriod] = seconds(spec.Retention)
	}
	if err := setAttributes(ctx, client, url, spec.Name, attrs); err != nil {
		return "", "", err
	}
	return url, dlqURL, nil
}

func setAttributes(ctx context.Context, client *awssqs.Client, url, name string, attrs map[types.QueueAttributeName]string) error {
	m := make(map[string]string, len(attrs))
	for k, v := range attrs {
		m[string(k)] = v
	}
	if _, err := client.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: m}); err != nil {
		return fmt.Errorf("set attributes of sqs queue %s: %w", name, err)
	}
	return nil
}

// createQueue creates a queue without attributes: CreateQueue then returns
// the URL of an existing queue of that name instead of failing on differing
// attributes, which is what makes CreateQueues idempotent.
func createQueue(ctx context.Context, client *awssqs.Client, name string) (string, error) {
	out, err := client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create sqs queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// QueueARN returns the ARN of the queue at url.
func QueueARN(ctx context.Context, client *awssqs.Client, url string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("get arn of sqs queue %s: %w", url, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("get arn of sqs queue %s: no QueueArn attribute", url)
	}
	return arn, nil
}
