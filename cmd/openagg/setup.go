package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue/sqs"
	"github.com/openagg/openagg/internal/store/dynamo"
)

// setupCmd makes a stage's table and queues (each with its dead-letter
// queue) on the given endpoints — moto, DynamoDB Local and ElasticMQ, or
// AWS itself — from the definitions template.yaml is rendered from
// (dynamo.TableSchema, deploy.Queues), so the two cannot differ. It is
// idempotent: what exists is kept, and the queues' attributes are set
// again. It also makes the data directory's token key, then prints on
// stdout, one KEY=value a line, the environment every `openagg serve`
// process of the stage needs (for `set -a; . file`, docker --env-file or a
// systemd EnvironmentFile). Progress goes to stderr.
func setupCmd(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	endpoint := fs.String("endpoint", "", "endpoint of both DynamoDB and SQS (moto); empty: AWS itself")
	dynamoEndpoint := fs.String("dynamo-endpoint", "", "DynamoDB endpoint (DynamoDB Local), overrides --endpoint (default $OPENAGG_DYNAMO_ENDPOINT)")
	sqsEndpoint := fs.String("sqs-endpoint", "", "SQS endpoint (ElasticMQ), overrides --endpoint (default $OPENAGG_SQS_ENDPOINT)")
	region := fs.String("region", cmp.Or(e.getenv("AWS_REGION"), e.getenv("AWS_DEFAULT_REGION"), platform.DefaultRegion), "AWS region (AWS_REGION)")
	stage := fs.String("stage", "local", "stage: table "+deploy.TableName("<stage>")+", queues "+deploy.Queues()[0].QueueName("<stage>")+", ...")
	data := fs.String("data", cmp.Or(e.getenv("OPENAGG_DATA_DIR"), platform.DefaultDataDir), "data directory: its jwt.key signs the tokens every serve process accepts (OPENAGG_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	if !regexp.MustCompile(deploy.StagePattern).MatchString(*stage) {
		return fmt.Errorf("--stage %q: must match %s (as the template's Stage)", *stage, deploy.StagePattern)
	}
	dynamoURL := cmp.Or(*dynamoEndpoint, *endpoint, e.getenv("OPENAGG_DYNAMO_ENDPOINT"))
	sqsURL := cmp.Or(*sqsEndpoint, *endpoint, e.getenv("OPENAGG_SQS_ENDPOINT"))
	for _, u := range []string{dynamoURL, sqsURL} {
		if p, err := url.Parse(u); u != "" && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
			return fmt.Errorf("endpoint %q is not an http(s) URL", u)
		}
	}
	// The SDK reads credentials itself; a local endpoint takes any, but it
	// needs some, and asking the instance metadata service for them only
	// fails slowly on a laptop.
	if (dynamoURL != "" || sqsURL != "") && e.getenv("AWS_ACCESS_KEY_ID") == "" && e.getenv("AWS_PROFILE") == "" {
		return errors.New("no AWS credentials in the environment: moto, DynamoDB Local and ElasticMQ accept any, e.g. export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local")
	}
	dataDir, err := filepath.Abs(*data)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", *data, err)
	}
	where := func(u string) string { return cmp.Or(u, "AWS "+*region) }

	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	dc, err := dynamo.NewClient(ctx, dynamoURL, *region)
	if err != nil {
		return err
	}
	table := deploy.TableName(*stage)
	if err := dynamo.CreateTable(ctx, dc, table); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "table %s (keys %s) ready on %s\n", table, strings.Join(dynamo.TableSchema().Attributes(), ", "), where(dynamoURL))
	qc, err := sqs.NewClient(ctx, sqsURL, *region)
	if err != nil {
		return err
	}
	urls := map[string]string{}
	for _, q := range deploy.Queues() {
		u, _, err := sqs.EnsureQueue(ctx, qc, sqs.QueueSpec{
			Name: q.QueueName(*stage), DLQName: q.DLQName(*stage),
			VisibilityTimeout: time.Duration(q.VisibilityTimeout) * time.Second,
			Retention:         time.Duration(q.Retention) * time.Second,
			DLQRetention:      time.Duration(q.DLQRetention) * time.Second,
			MaxReceiveCount:   q.MaxReceiveCount,
		})
		if err != nil {
			return err
		}
		urls[q.Name] = u
		fmt.Fprintf(e.stderr, "queue %s with %s (after %d receives) ready on %s\n", q.QueueName(*stage), q.DLQName(*stage), q.MaxReceiveCount, where(sqsURL))
	}

	key, err := authn.LoadOrCreateKey(dataDir)
	if err != nil {
		return err
	}
	// Made here, before several processes start: without KMS they seal
	// bank credentials with it.
	if _, err := platform.LoadOrCreateKeyFile(filepath.Join(dataDir, app.CredentialsKeyFile), 32); err != nil {
		return fmt.Errorf("local credentials key: %w", err)
	}
	// Derived from the key, so running setup again prints the same secret
	// (and the tokens it sealed stay valid).
	secret := cmp.Or(e.getenv("OPENAGG_PAGE_TOKEN_SECRET"), base64.StdEncoding.EncodeToString(app.DerivePageTokenSecret(key)))

	var out strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&out, "%s=%s\n", k, v)
		}
	}
	line("OPENAGG_STORE", platform.StoreDynamo)
	line("OPENAGG_QUEUE", platform.QueueSQS)
	line("AWS_REGION", *region)
	line("OPENAGG_TABLE", table)
	line("OPENAGG_DYNAMO_ENDPOINT", dynamoURL)
	line("OPENAGG_SQS_ENDPOINT", sqsURL)
	for _, q := range deploy.Queues() {
		line(platform.QueueURLEnv(q.Name), urls[q.Name])
	}
	line("OPENAGG_DATA_DIR", dataDir)
	line("OPENAGG_PAGE_TOKEN_SECRET", secret)
	fmt.Fprint(e.stdout, out.String())
	fmt.Fprintf(e.stderr, "every `openagg serve` process of stage %s needs the environment above (and AWS credentials); tokens: openagg token --data %s --sub USER\n", *stage, dataDir)
	return nil
}
