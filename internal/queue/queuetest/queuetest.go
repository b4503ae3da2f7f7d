// Package queuetest is the conformance suite of the job port: every driver
// runs it, so a worker's SQS handler sees the same events.SQSEvent whether
// its messages come from SQS or from the embedded queue.
package queuetest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openagg/openagg/internal/queue"
)

// Harness is one driver under test, on fresh, empty queues.
type Harness struct {
	Sender queue.Sender
	// Receive hands the messages of queueName that are visible now to h, in
	// one or more batches, acknowledging as the driver does, and returns
	// when none is left.
	Receive func(ctx context.Context, queueName string, h queue.SQSHandler) error
}

// Run runs the suite; newHarness is called once per case.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("EnvelopeAndAttributes", func(t *testing.T) { testEnvelope(t, newHarness(t)) })
	t.Run("EmptyKeyIsNoAttribute", func(t *testing.T) { testEmptyKey(t, newHarness(t)) })
	t.Run("AcknowledgedJobsAreGone", func(t *testing.T) { testAcknowledged(t, newHarness(t)) })
	t.Run("BadSendsFail", func(t *testing.T) { testBadSends(t, newHarness(t)) })
}

// collect receives everything visible on queueName.
func collect(t *testing.T, h Harness, queueName string) []events.SQSMessage {
	t.Helper()
	var mu sync.Mutex
	var got []events.SQSMessage
	err := h.Receive(t.Context(), queueName, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev.Records...)
		return events.SQSEventResponse{}, nil
	})
	if err != nil {
		t.Fatalf("receive from %s: %v", queueName, err)
	}
	return got
}

func testEnvelope(t *testing.T, h Harness) {
	type payload struct {
		Account string `json:"account"`
		Page    int    `json:"page"`
	}
	job, err := queue.NewJob("holdings.import", "acc-42", payload{"acc-42", 7})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Minute)
	if err := h.Sender.Send(t.Context(), queue.Holdings, job, 0); err != nil {
		t.Fatal(err)
	}
	got := collect(t, h, queue.Holdings)
	if len(got) != 1 {
		t.Fatalf("received %d records, want 1", len(got))
	}
	r := got[0]
	back, err := queue.Decode(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if back.Type != job.Type || back.Key != job.Key || back.Version != queue.CurrentVersion || string(back.Payload) != `{"account":"acc-42","page":7}` {
		t.Errorf("body = %s", r.Body)
	}
	sum := md5.Sum([]byte(r.Body))
	checks := []struct{ name, got, want string }{
		{"EventSource", r.EventSource, "aws:sqs"},
		{"ApproximateReceiveCount", r.Attributes["ApproximateReceiveCount"], "1"},
		{"Md5OfBody", r.Md5OfBody, hex.EncodeToString(sum[:])},
		{"type attribute", attr(r, "type"), "holdings.import"},
		{"key attribute", attr(r, "key"), "acc-42"},
		{"type attribute data type", r.MessageAttributes["type"].DataType, "String"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.MessageId == "" || r.ReceiptHandle == "" {
		t.Errorf("MessageId %q, ReceiptHandle %q", r.MessageId, r.ReceiptHandle)
	}
	if !strings.HasPrefix(r.EventSourceARN, "arn:aws:sqs:") || !strings.HasSuffix(r.EventSourceARN, queue.Holdings) {
		t.Errorf("EventSourceARN = %q", r.EventSourceARN)
	}
	ms, err := strconv.ParseInt(r.Attributes["SentTimestamp"], 10, 64)
	if err != nil || time.UnixMilli(ms).Before(before) {
		t.Errorf("SentTimestamp = %q", r.Attributes["SentTimestamp"])
	}
}

func attr(r events.SQSMessage, name string) string {
	a, ok := r.MessageAttributes[name]
	if !ok || a.StringValue == nil {
		return ""
	}
	return *a.StringValue
}

func testEmptyKey(t *testing.T, h Harness) {
	job, _ := queue.NewJob("directory.load", "", nil)
	if err := h.Sender.Send(t.Context(), queue.Directory, job, 0); err != nil {
		t.Fatal(err)
	}
	got := collect(t, h, queue.Directory)
	if len(got) != 1 {
		t.Fatalf("received %d records", len(got))
	}
	if _, ok := got[0].MessageAttributes["key"]; ok {
		t.Error("empty key sent as a message attribute")
	}
}

func testAcknowledged(t *testing.T, h Harness) {
	for i := range 3 {
		job, _ := queue.NewJob("connection.refresh", "c"+strconv.Itoa(i), nil)
		if err := h.Sender.Send(t.Context(), queue.Connections, job, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := collect(t, h, queue.Connections); len(got) != 3 {
		t.Fatalf("received %d records, want 3", len(got))
	}
	if got := collect(t, h, queue.Connections); len(got) != 0 {
		t.Errorf("acknowledged jobs delivered again: %d", len(got))
	}
}

func testBadSends(t *testing.T, h Harness) {
	job, _ := queue.NewJob("x", "k", nil)
	if err := h.Sender.Send(t.Context(), "no-such-queue", job, 0); err == nil || !strings.Contains(err.Error(), "no-such-queue") {
		t.Errorf("unknown queue: err = %v", err)
	}
	if err := h.Sender.Send(t.Context(), queue.Holdings, queue.Job{Key: "k", Version: 1}, 0); err == nil {
		t.Error("job without type accepted")
	}
}
