package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/queue/sqs"
)

// dlqListing is `openagg dlq list --json`.
type dlqListing []struct {
	Queue    string       `json:"queue"`
	Where    string       `json:"deadLetterQueue"`
	Count    int          `json:"count"`
	Messages []deadLetter `json:"messages"`
}

// runDLQ runs `openagg dlq ARGS` and returns its exit code, stdout and
// stderr.
func runDLQ(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	e, out, errb := testEnv(vars)
	rc := run(context.Background(), e, append([]string{"dlq"}, args...))
	return rc, out.String(), errb.String()
}

func listDLQ(t *testing.T, vars map[string]string, args ...string) dlqListing {
	t.Helper()
	rc, out, errb := runDLQ(t, vars, append([]string{"list", "--json"}, args...)...)
	if rc != 0 {
		t.Fatalf("dlq list: exit %d: %s", rc, errb)
	}
	var l dlqListing
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("dlq list --json printed %q: %v", out, err)
	}
	return l
}

// testJobs are the jobs the tests dead-letter, by key.
func testJobs(t *testing.T) map[string]queue.Job {
	t.Helper()
	jobs := map[string]queue.Job{}
	for _, k := range []string{"run-1#3", "run-2#0"} {
		j, err := queue.NewJob("holdings.import", k, map[string]string{"runId": k})
		if err != nil {
			t.Fatal(err)
		}
		jobs[k] = j
	}
	return jobs
}

// checkJobOut checks that printed is the job's envelope.
func checkJobOut(t *testing.T, printed string, want queue.Job) {
	t.Helper()
	var got queue.Job
	if err := json.Unmarshal([]byte(printed), &got); err != nil {
		t.Fatalf("dlq show printed %q: %v", printed, err)
	}
	var payload bytes.Buffer
	if err := json.Compact(&payload, got.Payload); err != nil {
		t.Fatal(err)
	}
	if got.Type != want.Type || got.Key != want.Key || got.Version != want.Version || payload.String() != string(want.Payload) {
		t.Fatalf("dlq show printed job %+v, want %+v", got, want)
	}
}

// TestDLQEmbedded: the dead letters of the embedded queue in a data
// directory are listed with what their failures said, shown, redriven one
// by its id and then all; an unknown id moves nothing, and a data
// directory that serve holds is refused with what to do.
func TestDLQEmbedded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, app.StoreFile)
	jobs := testJobs(t)
	{
		db, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, err := local.New(db, local.Options{})
		if err != nil {
			t.Fatal(err)
		}
		q.Register(queue.Holdings, queue.Consumer(slog.New(slog.DiscardHandler), func(context.Context, queue.Job) error {
			return errors.New("provider unavailable")
		}), local.ConsumerConfig{MaxReceiveCount: 2, BackoffBase: time.Millisecond})
		for _, k := range slices.Sorted(maps.Keys(jobs)) {
			if err := q.Send(t.Context(), queue.Holdings, jobs[k], 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"OPENAGG_DATA_DIR": dir}

	l := listDLQ(t, vars)
	if len(l) != len(queue.Names()) {
		t.Fatalf("dlq list shows %d queues, want every one of %v", len(l), queue.Names())
	}
	var dead []deadLetter
	for _, q := range l {
		if q.Queue == queue.Holdings {
			dead = q.Messages
		} else if q.Count != 0 {
			t.Fatalf("queue %s: %d dead letters", q.Queue, q.Count)
		}
	}
	if len(dead) != 2 {
		t.Fatalf("holdings dead letters %+v", dead)
	}
	for _, d := range dead {
		if _, ok := jobs[d.Key]; !ok || d.Type != "holdings.import" || d.ReceiveCount != 2 || d.LastError != "provider unavailable" ||
			d.FirstFailure.IsZero() || d.LastFailure.Before(d.FirstFailure) {
			t.Fatalf("dead letter %+v", d)
		}
	}
	rc, out, _ := runDLQ(t, vars, "list", "holdings")
	if rc != 0 || !strings.Contains(out, "holdings: 2 dead letters") || !strings.Contains(out, dead[0].ID) || !strings.Contains(out, "provider unavailable") {
		t.Fatalf("dlq list holdings: exit %d\n%s", rc, out)
	}

	rc, out, errb := runDLQ(t, vars, "show", "holdings", dead[0].ID)
	if rc != 0 || !strings.Contains(errb, "last error: provider unavailable") {
		t.Fatalf("dlq show: exit %d: %s", rc, errb)
	}
	checkJobOut(t, out, jobs[dead[0].Key])

	if rc, _, errb := runDLQ(t, vars, "redrive", "holdings", "--id", "no-such-message"); rc != 1 || !strings.Contains(errb, "nothing moved") {
		t.Fatalf("redrive of an unknown id: exit %d: %s", rc, errb)
	}
	if rc, out, errb := runDLQ(t, vars, "redrive", "holdings", "--id", dead[1].ID); rc != 0 || out != "holdings: 1 message back on the queue\n" {
		t.Fatalf("redrive --id: exit %d: %s%s", rc, out, errb)
	}
	if l := listDLQ(t, vars, "holdings"); len(l) != 1 || l[0].Count != 1 || l[0].Messages[0].ID != dead[0].ID {
		t.Fatalf("after redriving %s: %+v", dead[1].ID, l)
	}
	if rc, out, errb := runDLQ(t, vars, "redrive", "holdings"); rc != 0 || out != "holdings: 1 message back on the queue\n" {
		t.Fatalf("redrive: exit %d: %s%s", rc, out, errb)
	}

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Held by another process (here: this one): refused.
	if rc, _, errb := runDLQ(t, vars, "list"); rc != 1 || !strings.Contains(errb, "stop `openagg serve`") {
		t.Fatalf("dlq list on a held data directory: exit %d: %s", rc, errb)
	}
	q, err := local.New(db, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := q.Depth(queue.Holdings); err != nil || n != 2 {
		t.Fatalf("holdings queue depth %d (%v) after the redrives, want both messages back", n, err)
	}
	if left, err := q.DeadLetters(queue.Holdings); err != nil || len(left) != 0 {
		t.Fatalf("dead letters left %+v (%v)", left, err)
	}
}

// TestDLQOnSQS: on moto, with the stage that `openagg setup` made, the
// holdings jobs SQS moved to openagg-STAGE-holdings-dlq are listed (from
// serve's environment and by --stage), shown, redriven one by its id, then
// all (moto has no message move task: one by one), back on the queue with
// their bodies and attributes.
func TestDLQOnSQS(t *testing.T) {
	endpoint := mototest.Endpoint(t)
	ctx := context.Background()
	stage := "d" + platform.RandomHex(4)
	vars := setupStage(t, endpoint, stage, t.TempDir())
	vars["AWS_ACCESS_KEY_ID"] = "testing"
	client, err := sqs.NewClient(ctx, endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	holdingsURL := vars[platform.QueueURLEnv(queue.Holdings)]
	jobs := testJobs(t)
	sender := sqs.New(client, map[string]string{queue.Holdings: holdingsURL})
	for _, k := range slices.Sorted(maps.Keys(jobs)) {
		if err := sender.Send(ctx, queue.Holdings, jobs[k], 0); err != nil {
			t.Fatal(err)
		}
	}
	// A consumer that fails every receive: SQS moves both to the DLQ after
	// maxReceiveCount receives.
	c, _ := deploy.ConsumerOf(queue.Holdings)
	for range c.MaxReceiveCount + 1 {
		rm, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(holdingsURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rm.Messages { // failed: visible again at once
			if _, err := client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(holdingsURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(url string) int {
		t.Helper()
		out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
		return n
	}
	if n := count(holdingsURL); n != 0 {
		t.Fatalf("%d messages still on the holdings queue", n)
	}

	byStage := map[string]string{"AWS_ACCESS_KEY_ID": "testing"}
	for name, env := range map[string]map[string]string{"serve's environment": vars, "--stage": byStage} {
		var args []string
		if name == "--stage" {
			args = []string{"--stage", stage, "--endpoint", endpoint}
		}
		l := listDLQ(t, env, args...)
		var dead []deadLetter
		for _, q := range l {
			if q.Queue == queue.Holdings {
				dead = q.Messages
				if !strings.HasSuffix(q.Where, "/openagg-"+stage+"-holdings-dlq") {
					t.Fatalf("%s: holdings dead letters read from %s", name, q.Where)
				}
			} else if q.Count != 0 {
				t.Fatalf("%s: queue %s has %d dead letters", name, q.Queue, q.Count)
			}
		}
		if len(dead) != 2 {
			t.Fatalf("%s: holdings dead letters %+v", name, dead)
		}
		for _, d := range dead {
			if _, ok := jobs[d.Key]; !ok || d.Type != "holdings.import" || d.ReceiveCount < c.MaxReceiveCount || d.FirstFailure.IsZero() {
				t.Fatalf("%s: dead letter %+v", name, d)
			}
		}
	}
	if l := listDLQ(t, vars, "holdings"); len(l) != 1 || l[0].Count != 2 {
		t.Fatalf("a second look: %+v (a look must put the messages back)", l)
	}
	dead := listDLQ(t, vars, "holdings")[0].Messages

	rc, out, errb := runDLQ(t, vars, "show", "holdings", dead[0].ID)
	if rc != 0 {
		t.Fatalf("dlq show: exit %d: %s", rc, errb)
	}
	checkJobOut(t, out, jobs[dead[0].Key])

	if rc, out, errb := runDLQ(t, vars, "redrive", "holdings", "--id", dead[1].ID); rc != 0 || out != "holdings: 1 message back on the queue\n" {
		t.Fatalf("redrive --id: exit %d: %s%s", rc, out, errb)
	}
	if l := listDLQ(t, vars, "holdings"); l[0].Count != 1 || l[0].Messages[0].ID != dead[0].ID {
		t.Fatalf("after redriving %s: %+v", dead[1].ID, l)
	}
	rc, out, errb = runDLQ(t, byStage, "redrive", "holdings", "--stage", stage, "--endpoint", endpoint)
	if rc != 0 || out != "holdings: 1 message back on the queue\n" || !strings.Contains(errb, "one by one") {
		t.Fatalf("redrive: exit %d: %s%s", rc, out, errb)
	}
	if l := listDLQ(t, vars, "holdings"); l[0].Count != 0 {
		t.Fatalf("after the redrive: %+v", l)
	}

	// Back on the queue as they were sent.
	got := map[string]bool{}
	for len(got) < 2 {
		rm, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(holdingsURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rm.Messages) == 0 {
			t.Fatalf("%d of 2 redriven messages on the holdings queue", len(got))
		}
		for _, m := range rm.Messages {
			job, err := queue.Decode(aws.ToString(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			want := jobs[job.Key]
			if string(job.Payload) != string(want.Payload) || aws.ToString(m.MessageAttributes[sqs.AttrType].StringValue) != want.Type ||
				aws.ToString(m.MessageAttributes[sqs.AttrKey].StringValue) != want.Key {
				t.Fatalf("redriven message %s %v, want %+v", aws.ToString(m.Body), m.MessageAttributes, want)
			}
			got[job.Key] = true
		}
	}
}
