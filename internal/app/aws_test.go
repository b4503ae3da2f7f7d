package app

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/sqs"
	"github.com/openagg/openagg/internal/queue/sqs/sqstest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// TestNewAWS builds the App on the AWS drivers against moto: DynamoDB
// table, SQS queues, page token secret from Secrets Manager.
func TestNewAWS(t *testing.T) {
	endpoint := mototest.Endpoint(t)
	ctx := context.Background()
	region := "us-east-1"
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)

	dc, err := dynamo.NewClient(ctx, endpoint, region)
	if err != nil {
		t.Fatal(err)
	}
	table := "app-test-" + platform.RandomHex(4)
	if err := dynamo.CreateTable(ctx, dc, table); err != nil {
		t.Fatal(err)
	}
	qc, err := sqs.NewClient(ctx, endpoint, region)
	if err != nil {
		t.Fatal(err)
	}
	urls, err := sqstest.CreateQueues(ctx, qc, table+"-", 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(c)
	sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(table + "/page"), SecretString: aws.String("a-page-token-secret-of-48-characters-long-enough")})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(table + "/provider"), SecretString: aws.String(`{"saltedgeAppId":"app","saltedgeSecret":"s3","saltedgeCallbackPublicKeyPem":"PEM"}`)})
	if err != nil {
		t.Fatal(err)
	}

	vars := map[string]string{
		"OPENAGG_STORE":                 "dynamo",
		"OPENAGG_TABLE":                 table,
		"OPENAGG_DYNAMO_ENDPOINT":       endpoint,
		"OPENAGG_SQS_ENDPOINT":          endpoint,
		"AWS_REGION":                    region,
		"OPENAGG_QUEUE_URL_DIRECTORY":   urls[queue.Directory],
		"OPENAGG_QUEUE_URL_CONNECTIONS": urls[queue.Connections],
		"OPENAGG_QUEUE_URL_HOLDINGS":    urls[queue.Holdings],
		"OPENAGG_QUEUE_URL_ACTIVITY":    urls[queue.Activity],
		"OPENAGG_QUEUE_URL_WEBHOOKS":    urls[queue.Webhooks],
		"OPENAGG_PAGE_TOKEN_SECRET_ARN": *sec.ARN,
		"OPENAGG_PROVIDER_SECRET_ARN":   *prov.ARN,
		"OPENAGG_JWT_ISSUER":            "https://idp.example.com/",
		"OPENAGG_LOG_LEVEL":             "warn",
	}
	cfg, err := platform.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// The secret string gives the same key as OPENAGG_PAGE_TOKEN_SECRET
	// would, so tokens of the Lambdas open in a local process and back.
	envCfg, err := platform.LoadConfig(func(k string) string {
		if k == "OPENAGG_PAGE_TOKEN_SECRET" {
			return "a-page-token-secret-of-48-characters-long-enough"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.PageTokenSecret) < 16 || string(a.PageTokenSecret) != string(envCfg.PageTokenSecret) {
		t.Errorf("page token secret from Secrets Manager %q, from the environment %q", a.PageTokenSecret, envCfg.PageTokenSecret)
	}
	if a.Config.SaltEdge.AppID != "app" || a.Config.SaltEdge.Secret != "s3" || a.Config.CallbackPublicKey != "PEM" {
		t.Errorf("provider secret not applied: %+v", a.Config.SaltEdge)
	}
	if a.JWTKey != nil || a.CredentialsKey != nil {
		t.Error("no local keys in AWS")
	}

	// The store is the table: health does a real Get.
	h, err := a.Handler("health")
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 200 {
		t.Fatalf("health on dynamo: %d %s", w.Code, w.Body)
	}
	if err := a.Store.Put(ctx, store.Item{PK: "P", SK: "S", Data: []byte(`{}`)}, store.IfNotExists()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.Get(ctx, store.Key{PK: "P", SK: "S"}); err != nil {
		t.Fatal(err)
	}

	// The queue is SQS.
	job, _ := queue.NewJob("test.ping", "k1", map[string]string{"a": "b"})
	if err := a.Queue.Send(ctx, queue.Connections, job, 0); err != nil {
		t.Fatal(err)
	}
	out, err := qc.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(urls[queue.Connections]), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v %d", err, len(out.Messages))
	}
	var got queue.Job
	if err := json.Unmarshal([]byte(*out.Messages[0].Body), &got); err != nil || got.Type != "test.ping" {
		t.Fatalf("job %s: %v", *out.Messages[0].Body, err)
	}
	if _, err := qc.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(urls[queue.Connections]), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}

	// RunWorkers consumes the SQS queue in-process (as `openagg serve`
	// does): the worker gets the job as the Lambda would, with its
	// attributes, and the message is deleted after success.
	job2, _ := queue.NewJob("test.ping", "k2", map[string]string{"c": "d"})
	if err := a.Queue.Send(ctx, queue.Connections, job2, 0); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	got2 := make(chan events.SQSMessage, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.RunWorkers(rctx, []Worker{{Name: "connection-sync", Queue: queue.Connections, Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			for _, r := range ev.Records {
				got2 <- r
			}
			stop()
			return events.SQSEventResponse{}, nil
		}}})
	}()
	select {
	case r := <-got2:
		if !strings.Contains(r.Body, `"key":"k2"`) || r.EventSource != "aws:sqs" || r.Attributes["ApproximateReceiveCount"] != "1" {
			t.Errorf("record %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunWorkers on SQS delivered nothing")
	}
	if err := <-done; err != nil {
		t.Fatalf("RunWorkers: %v", err)
	}
	left, err := qc.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(urls[queue.Connections]),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	if n := left.Attributes["ApproximateNumberOfMessages"] + "/" + left.Attributes["ApproximateNumberOfMessagesNotVisible"]; n != "0/0" {
		t.Errorf("connections queue after RunWorkers: visible/in flight %s", n)
	}

	// Without a local key, bearer tokens are refused (API Gateway validates
	// them in AWS); the authorizer's claims are what counts.
	w = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Authorization", "Bearer x.y.z")
	h.ServeHTTP(w, r)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "INVALID_TOKEN") {
		t.Fatalf("whoami with a header token in AWS: %d %s", w.Code, w.Body)
	}
}
