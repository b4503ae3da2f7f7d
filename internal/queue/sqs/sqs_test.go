package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/queuetest"
	"github.com/openagg/openagg/internal/queue/sqs"
	"github.com/openagg/openagg/internal/queue/sqs/sqstest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

var queueSeq atomic.Int64

// setup returns a client on moto and fresh queues (unique prefix per test).
func setup(t *testing.T, maxReceive int) (*awssqs.Client, map[string]string) {
	t.Helper()
	endpoint := mototest.Endpoint(t)
	ctx := t.Context()
	client, err := sqs.NewClient(ctx, endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	// Short and unique: queue names are limited to 80 characters.
	prefix := fmt.Sprintf("t%x-%d-", time.Now().UnixNano(), queueSeq.Add(1))
	urls, err := sqstest.CreateQueues(ctx, client, prefix, maxReceive)
	if err != nil {
		t.Fatal(err)
	}
	return client, urls
}

func TestDelaySeconds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		want  int32
	}{
		{"zero", 0, 0},
		{"negative", -time.Second, 0},
		{"fraction rounds up", 1500 * time.Millisecond, 2},
		{"whole seconds", 42 * time.Second, 42},
		{"exactly the cap", 15 * time.Minute, 900},
		{"above the cap is capped", 2 * time.Hour, 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sqs.DelaySeconds(tc.delay); got != tc.want {
				t.Errorf("DelaySeconds(%v) = %d, want %d", tc.delay, got, tc.want)
			}
		})
	}
}

func TestSendRejectsBadInputBeforeCallingSQS(t *testing.T) {
	// No endpoint answers here: both errors must come before any request.
	client := awssqs.New(awssqs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")})
	s := sqs.New(client, map[string]string{queue.Holdings: "http://127.0.0.1:1/000000000000/holdings"})
	job, _ := queue.NewJob("import", "k", nil)

	err := s.Send(t.Context(), "nope", job, 0)
	if err == nil || !strings.Contains(err.Error(), `unknown queue "nope"`) || !strings.Contains(err.Error(), queue.Holdings) {
		t.Errorf("unknown queue: err = %v", err)
	}
	err = s.Send(t.Context(), queue.Holdings, queue.Job{Key: "k"}, 0)
	if err == nil || !strings.Contains(err.Error(), "without type") {
		t.Errorf("job without type: err = %v", err)
	}
}

func TestCreateQueuesIsIdempotentAndSetsRedrive(t *testing.T) {
	t.Parallel()
	client, urls := setup(t, 3)
	ctx := t.Context()
	if len(urls) != len(queue.Names()) {
		t.Fatalf("urls = %v, want the port's queues %v", urls, queue.Names())
	}
	// The prefix is in the URL; recover it to call again.
	prefix := strings.TrimSuffix(urls[queue.Holdings][strings.LastIndex(urls[queue.Holdings], "/")+1:], queue.Holdings)
	again, err := sqstest.CreateQueues(ctx, client, prefix, 5)
	if err != nil {
		t.Fatalf("second CreateQueues: %v", err)
	}
	for name, url := range urls {
		if again[name] != url {
			t.Errorf("%s: url %s then %s", name, url, again[name])
		}
		out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
		})
		if err != nil {
			t.Fatal(err)
		}
		var policy struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &policy); err != nil {
			t.Fatalf("%s: redrive policy %q: %v", name, out.Attributes["RedrivePolicy"], err)
		}
		if !strings.HasSuffix(policy.DeadLetterTargetArn, ":"+prefix+name+"-dlq") || fmt.Sprint(policy.MaxReceiveCount) != "5" {
			t.Errorf("%s: redrive policy = %+v, want dlq %s-dlq and maxReceiveCount 5", name, policy, prefix+name)
		}
	}
	if _, err := sqstest.CreateQueues(ctx, client, prefix, 0); err == nil {
		t.Error("maxReceive 0 accepted")
	}
}

func receive(t *testing.T, client *awssqs.Client, url string, visibility int32) []types.Message {
	t.Helper()
	out, err := client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         10,
		VisibilityTimeout:           visibility,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func TestSendDeliversEnvelopeAttributesAndDelay(t *testing.T) {
	t.Parallel()
	client, urls := setup(t, 3)
	ctx := t.Context()
	s := sqs.New(client, urls)

	type payload struct {
		Connection string `json:"connection"`
		Page       int    `json:"page"`
	}
	now, _ := queue.NewJob("connection.refresh", "conn-1", payload{"conn-1", 0})
	later, _ := queue.NewJob("connection.refresh", "conn-2", payload{"conn-2", 3})
	noKey, _ := queue.NewJob("directory.load", "", nil)
	sentAt := time.Now()
	for _, tc := range []struct {
		job   queue.Job
		delay time.Duration
	}{{now, 0}, {noKey, 0}, {later, 2 * time.Second}} {
		if err := s.Send(ctx, queue.Connections, tc.job, tc.delay); err != nil {
			t.Fatal(err)
		}
	}

	got := receive(t, client, urls[queue.Connections], 30)
	if len(got) != 2 {
		t.Fatalf("received %d messages at once, want the 2 undelayed ones", len(got))
	}
	byKey := map[string]types.Message{}
	for _, m := range got {
		job, err := queue.Decode(aws.ToString(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		byKey[job.Key] = m
		if job.Version != queue.CurrentVersion {
			t.Errorf("version = %d", job.Version)
		}
		if a := aws.ToString(m.MessageAttributes["type"].StringValue); a != job.Type {
			t.Errorf("type attribute = %q, want %q", a, job.Type)
		}
		if _, ok := m.Attributes["SentTimestamp"]; !ok {
			t.Errorf("no SentTimestamp in %v", m.Attributes)
		}
	}
	m, ok := byKey["conn-1"]
	if !ok {
		t.Fatalf("conn-1 not received: %v", byKey)
	}
	var p payload
	job, _ := queue.Decode(aws.ToString(m.Body))
	if err := json.Unmarshal(job.Payload, &p); err != nil || p != (payload{"conn-1", 0}) {
		t.Errorf("payload = %+v, %v", p, err)
	}
	if a := aws.ToString(m.MessageAttributes["key"].StringValue); a != "conn-1" {
		t.Errorf("key attribute = %q", a)
	}
	if _, ok := byKey[""].MessageAttributes["key"]; ok {
		t.Error("empty key sent as an attribute (SQS rejects empty values)")
	}

	// The delayed one shows up after its delay, not before.
	var delayed []types.Message
	for deadline := time.Now().Add(6 * time.Second); len(delayed) == 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		delayed = receive(t, client, urls[queue.Connections], 30)
	}
	if len(delayed) != 1 {
		t.Fatalf("delayed message: received %d", len(delayed))
	}
	if waited := time.Since(sentAt); waited < 1900*time.Millisecond {
		t.Errorf("delayed message visible after %v, want ≥ 2s", waited)
	}
	if job, _ := queue.Decode(aws.ToString(delayed[0].Body)); job.Key != "conn-2" {
		t.Errorf("delayed job = %+v", job)
	}
}

func TestPollerPartialBatchFailureAndDLQRedrive(t *testing.T) {
	t.Parallel()
	const maxReceive = 2
	client, urls := setup(t, maxReceive)
	ctx := t.Context()
	url := urls[queue.Holdings]
	s := sqs.New(client, urls)

	for i := range 3 {
		job, _ := queue.NewJob("holdings.import", "acc-"+strconv.Itoa(i), map[string]int{"page": i})
		if err := s.Send(ctx, queue.Holdings, job, 0); err != nil {
			t.Fatal(err)
		}
	}
	poison, err := client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("{not json")})
	if err != nil {
		t.Fatal(err)
	}
	poisonID := aws.ToString(poison.MessageId)

	var mu sync.Mutex
	var handled []string
	var records []events.SQSMessage
	consumer := queue.Consumer(slog.New(slog.DiscardHandler), func(ctx context.Context, job queue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, job.Key)
		return nil
	})
	spy := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		records = append(records, ev.Records...)
		return consumer(ctx, ev)
	}

	p, err := sqs.NewPoller(ctx, client, url)
	if err != nil {
		t.Fatal(err)
	}
	p.VisibilityTimeout = time.Second

	res, err := p.Poll(ctx, spy)
	if err != nil {
		t.Fatal(err)
	}
	if res.Received != 4 || len(res.Failed) != 1 || res.Failed[0] != poisonID || res.HandlerErr != nil {
		t.Fatalf("first poll = %+v, want 4 received and only the poison (%s) failed", res, poisonID)
	}
	if len(handled) != 3 {
		t.Errorf("handled = %v", handled)
	}
	for _, r := range records {
		if r.EventSource != "aws:sqs" || !strings.HasSuffix(r.EventSourceARN, ":"+url[strings.LastIndex(url, "/")+1:]) || r.AWSRegion != "us-east-1" {
			t.Errorf("record source = %s %s %s", r.EventSource, r.EventSourceARN, r.AWSRegion)
		}
		if r.Attributes["ApproximateReceiveCount"] != "1" || r.ReceiptHandle == "" {
			t.Errorf("record attributes = %v", r.Attributes)
		}
	}

	// Only the poison comes back: the successes were deleted. After
	// maxReceive receives moto's redrive moves it to the DLQ.
	var receives []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(1100 * time.Millisecond)
		res, err := p.Poll(ctx, spy)
		if err != nil {
			t.Fatal(err)
		}
		if res.Received == 0 {
			break
		}
		if res.Received != 1 || len(res.Failed) != 1 || res.Failed[0] != poisonID {
			t.Fatalf("retry poll = %+v, want only the poison", res)
		}
		rc, _ := strconv.Atoi(records[len(records)-1].Attributes["ApproximateReceiveCount"])
		receives = append(receives, rc)
	}
	if len(receives) != maxReceive-1 || receives[0] != 2 {
		t.Errorf("poison redelivered with receive counts %v, want [2] before the DLQ", receives)
	}
	dlqURL := strings.TrimSuffix(url, "holdings") + "holdings-dlq"
	dead := receive(t, client, dlqURL, 30)
	if len(dead) != 1 || aws.ToString(dead[0].Body) != "{not json" {
		t.Fatalf("dlq holds %d messages: %+v", len(dead), dead)
	}
	if len(handled) != 3 {
		t.Errorf("good jobs handled %d times in total, want 3: %v", len(handled), handled)
	}
}

func TestPollerHandlerErrorFailsWholeBatch(t *testing.T) {
	t.Parallel()
	client, urls := setup(t, 5)
	ctx := t.Context()
	s := sqs.New(client, urls)
	for i := range 2 {
		job, _ := queue.NewJob("directory.load", "c"+strconv.Itoa(i), nil)
		if err := s.Send(ctx, queue.Directory, job, 0); err != nil {
			t.Fatal(err)
		}
	}
	p, err := sqs.NewPoller(ctx, client, urls[queue.Directory])
	if err != nil {
		t.Fatal(err)
	}
	p.VisibilityTimeout = time.Second
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		h    queue.SQSHandler
	}{
		{"handler error", func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, boom
		}},
		{"unknown item identifier", func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res sqs.PollResult
			for deadline := time.Now().Add(5 * time.Second); res.Received < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				res, err = p.Poll(ctx, tc.h)
				if err != nil {
					t.Fatal(err)
				}
			}
			if res.Received != 2 || len(res.Failed) != 2 {
				t.Errorf("poll = %+v, want both failed", res)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		client, urls := setup(t, 3)
		return queuetest.Harness{
			Sender: sqs.New(client, urls),
			Receive: func(ctx context.Context, queueName string, h queue.SQSHandler) error {
				p, err := sqs.NewPoller(ctx, client, urls[queueName])
				if err != nil {
					return err
				}
				for {
					res, err := p.Poll(ctx, h)
					if err != nil || res.Received == 0 {
						return err
					}
				}
			},
		}
	})
}

// TestNamesIsNotShared: the queue list is no global a caller could change.
func TestNamesIsNotShared(t *testing.T) {
	want := []string{queue.Directory, queue.Connections, queue.Holdings, queue.Activity, queue.Webhooks}
	names := queue.Names()
	names[0] = "changed"
	if got := queue.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v after a caller changed its copy, want %v", got, want)
	}
}

// sendJobs sends n jobs of type "t" to the holdings queue.
func sendJobs(t *testing.T, s *sqs.Sender, n int) {
	t.Helper()
	for i := range n {
		job, _ := queue.NewJob("t", "k"+strconv.Itoa(i), nil)
		if err := s.Send(t.Context(), queue.Holdings, job, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPollerLease: with a short visibility lease renewed by heartbeats, a
// batch whose handler runs several leases long stays invisible to another
// consumer, and is deleted when the handler succeeds.
func TestPollerLease(t *testing.T) {
	t.Parallel()
	client, urls := setup(t, 5)
	ctx := t.Context()
	sendJobs(t, sqs.New(client, urls), 1)
	p, err := sqs.NewPoller(ctx, client, urls[queue.Holdings])
	if err != nil {
		t.Fatal(err)
	}
	p.VisibilityTimeout, p.Heartbeat = 2*time.Second, 500*time.Millisecond
	other, err := sqs.NewPoller(ctx, client, urls[queue.Holdings])
	if err != nil {
		t.Fatal(err)
	}
	stolen := 0
	slow := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		// Two and a half leases long: without the heartbeats the message
		// would be visible again twice meanwhile.
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
			res, err := other.Poll(ctx, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{}, nil
			})
			if err != nil {
				return events.SQSEventResponse{}, err
			}
			stolen += res.Received
		}
		return events.SQSEventResponse{}, nil
	}
	res, err := p.Poll(ctx, slow)
	if err != nil || res.Received != 1 || len(res.Failed) != 0 || res.Released {
		t.Fatalf("poll = %+v, %v", res, err)
	}
	if stolen != 0 {
		t.Fatalf("another consumer received the leased message %d times", stolen)
	}
	if n := depth(t, client, urls[queue.Holdings]); n != 0 {
		t.Fatalf("%d messages left after success (visible or in flight)", n)
	}

	// A handler longer than the settle timeout: its batch is still
	// deleted (the settle time starts when the handler is done).
	sendJobs(t, sqs.New(client, urls), 1)
	p.SettleTimeout = time.Second
	res, err = p.Poll(ctx, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		time.Sleep(1500 * time.Millisecond)
		return events.SQSEventResponse{}, nil
	})
	if err != nil || res.Received != 1 {
		t.Fatalf("poll = %+v, %v", res, err)
	}
	if n := depth(t, client, urls[queue.Holdings]); n != 0 {
		t.Fatalf("%d messages left after a long success", n)
	}
}

// depth is the number of messages on a queue, visible, delayed or in
// flight.
func depth(t *testing.T, client *awssqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}

// TestPollerFailures: a failed message is retried after Backoff (not the
// queue's visibility timeout); a handler past its Timeout, or one that
// panics, fails its batch; a handler still running when Poll's ctx ends is
// cancelled (no Grace) and its batch released for another consumer at once.
func TestPollerFailures(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	for _, tc := range []struct {
		name string
		h    func(cancel context.CancelFunc) queue.SQSHandler
		want func(res sqs.PollResult) bool
	}{
		{"item failure", func(context.CancelFunc) queue.SQSHandler {
			return func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}}, nil
			}
		}, func(res sqs.PollResult) bool { return len(res.Failed) == 1 && res.HandlerErr == nil }},
		{"timeout", func(context.CancelFunc) queue.SQSHandler {
			return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				<-ctx.Done()
				return events.SQSEventResponse{}, ctx.Err()
			}
		}, func(res sqs.PollResult) bool {
			return len(res.Failed) == 1 && errors.Is(res.HandlerErr, context.DeadlineExceeded)
		}},
		{"panic", func(context.CancelFunc) queue.SQSHandler {
			return func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) { panic("boom") }
		}, func(res sqs.PollResult) bool {
			return len(res.Failed) == 1 && res.HandlerErr != nil && strings.Contains(res.HandlerErr.Error(), "panic: boom")
		}},
		{"shutdown", func(cancel context.CancelFunc) queue.SQSHandler {
			return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				cancel() // the process is asked to stop while the handler runs
				<-ctx.Done()
				return events.SQSEventResponse{}, ctx.Err()
			}
		}, func(res sqs.PollResult) bool { return res.Released && len(res.Failed) == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, urls := setup(t, 5)
			sendJobs(t, sqs.New(client, urls), 1)
			p, err := sqs.NewPoller(t.Context(), client, urls[queue.Holdings])
			if err != nil {
				t.Fatal(err)
			}
			// Without the backoff (or the release) the message would be
			// back only after the queue's 30 s.
			p.VisibilityTimeout, p.Timeout = 30*time.Second, 300*time.Millisecond
			p.Backoff = func(n int) time.Duration { return time.Duration(n) * time.Second }
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			res, err := p.Poll(ctx, tc.h(cancel))
			if err != nil || res.Received != 1 || !tc.want(res) {
				t.Fatalf("poll = %+v, %v", res, err)
			}
			var again sqs.PollResult
			for deadline := time.Now().Add(10 * time.Second); again.Received == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if again, err = p.Poll(t.Context(), ok); err != nil {
					t.Fatal(err)
				}
			}
			if again.Received != 1 || len(again.Failed) != 0 {
				t.Fatalf("the message did not come back for a retry: %+v", again)
			}
		})
	}
}

// TestPollerRun: Run delivers until its ctx ends, then returns nil.
func TestPollerRun(t *testing.T) {
	t.Parallel()
	client, urls := setup(t, 5)
	sendJobs(t, sqs.New(client, urls), 7)
	p, err := sqs.NewPoller(t.Context(), client, urls[queue.Holdings])
	if err != nil {
		t.Fatal(err)
	}
	p.BatchSize, p.WaitTime = 3, time.Second
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var handled, batches int
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			handled += len(ev.Records)
			if len(ev.Records) > 3 {
				t.Errorf("batch of %d, want at most 3", len(ev.Records))
			}
			if handled == 7 {
				cancel()
			}
			return events.SQSEventResponse{}, nil
		}, func(sqs.PollResult) { batches++ })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop")
	}
	if handled != 7 || batches < 3 {
		t.Fatalf("handled %d in %d batches", handled, batches)
	}
}
