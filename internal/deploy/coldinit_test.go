package deploy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
)

// BenchmarkColdInit measures, per function, what app.LambdaMain does
// before the first event: read the configuration, build the App with the
// AWS drivers (DynamoDB and SQS clients) and resolve the function (its
// routers, or its worker or schedule). The AWS endpoints point at a local
// server that fails the benchmark if init sends it anything: building the
// clients must not touch the network. The page token secret comes from
// OPENAGG_PAGE_TOKEN_SECRET instead of the template's Secrets Manager ARN,
// so the one network call of a real cold start (GetSecretValue) is left
// out of these numbers.
func BenchmarkColdInit(b *testing.B) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no network call expected at init", http.StatusTeapot)
	}))
	defer srv.Close()

	// The SDK's default chain reads these; nothing may come from the
	// machine's own AWS profile or instance metadata.
	b.Setenv("AWS_ACCESS_KEY_ID", "cold-init")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "cold-init")
	b.Setenv("AWS_SESSION_TOKEN", "")
	b.Setenv("AWS_PROFILE", "")
	b.Setenv("AWS_CONFIG_FILE", "/dev/null")
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// A custom CA bundle (some build machines set one) is parsed by every
	// LoadDefaultConfig and would dominate the numbers; Lambda has none.
	b.Setenv("AWS_CA_BUNDLE", "")

	env := map[string]string{
		"AWS_REGION":                "eu-west-1",
		"OPENAGG_STORE":             platform.StoreDynamo,
		"OPENAGG_QUEUE":             platform.QueueSQS,
		"OPENAGG_TABLE":             "openagg-bench",
		"OPENAGG_DYNAMO_ENDPOINT":   srv.URL,
		"OPENAGG_SQS_ENDPOINT":      srv.URL,
		"OPENAGG_KMS_KEY_ID":        "alias/openagg-bench",
		"OPENAGG_PAGE_TOKEN_SECRET": "cold-init-benchmark-page-token-secret",
		"OPENAGG_PROVIDERS":         "sandbox",
		"OPENAGG_JWT_ISSUER":        "https://idp.example.com/",
		"OPENAGG_JWT_AUDIENCE":      "openagg",
		"OPENAGG_PUBLIC_URL":        platform.PublicURLFromRequest,
		"OPENAGG_LOG_LEVEL":         "error",
	}
	// Every queue the template declares, as Lambda's environment has them.
	for _, q := range deploy.Queues() {
		env[platform.QueueURLEnv(q.Name)] = srv.URL + "/123456789012/openagg-bench-" + q.Name
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()

	for _, f := range deploy.Functions() {
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cfg, err := platform.LoadConfig(getenv)
				if err != nil {
					b.Fatal(err)
				}
				a, err := app.New(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				fn, err := a.Function(f.Name)
				if err != nil {
					b.Fatal(err)
				}
				if fn.Name != f.Name {
					b.Fatalf("resolved %s, want %s", fn.Name, f.Name)
				}
				if err := a.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n := calls.Load(); n > 0 {
		b.Fatalf("init sent %d requests to the AWS endpoints; it must not touch the network", n)
	}
}
