package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gopkg.in/yaml.v3"

	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/queue/sqs"
	"github.com/openagg/openagg/internal/store/dynamo"
)

// setupStage runs `openagg setup` on moto for a fresh stage with the data
// directory dir and returns the environment it printed.
func setupStage(t testing.TB, endpoint, stage, dir string) map[string]string {
	t.Helper()
	e, out, errb := testEnv(map[string]string{"AWS_ACCESS_KEY_ID": "testing"})
	if rc := run(context.Background(), e, []string{"setup", "--endpoint", endpoint, "--stage", stage, "--data", dir}); rc != 0 {
		t.Fatalf("setup: exit %d: %s", rc, errb)
	}
	return parseEnv(t, out.String())
}

// parseEnv reads KEY=value lines.
func parseEnv(t testing.TB, s string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || v == "" || strings.ContainsAny(v, " '\"") {
			t.Fatalf("setup printed %q: not KEY=value", line)
		}
		env[k] = v
	}
	return env
}

// TestSetup: on moto, setup makes a stage's table and queues exactly as
// template.yaml declares them (read from the file: keys, index, TTL;
// visibility timeout, retention, redrive to the dead-letter queue after
// maxReceiveCount), prints an environment that is a valid configuration
// of the AWS drivers, prints the same again on a second run, and brings a
// queue changed by hand back in line.
func TestSetup(t *testing.T) {
	endpoint := mototest.Endpoint(t)
	ctx := context.Background()
	stage := "s" + platform.RandomHex(4)
	dir := t.TempDir()
	env := setupStage(t, endpoint, stage, dir)
	cfg, err := platform.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the printed environment: %v", err)
	}
	if cfg.Store != platform.StoreDynamo || cfg.Queue != platform.QueueSQS || cfg.Table != "openagg-"+stage ||
		cfg.DynamoEndpoint != endpoint || cfg.SQSEndpoint != endpoint || cfg.DataDir != dir || len(cfg.PageTokenSecret) != 32 {
		t.Fatalf("configuration from setup: %+v", cfg)
	}
	if _, err := os.Stat(dir + "/jwt.key"); err != nil {
		t.Fatalf("no token key in the data directory: %v", err)
	}

	tpl := readTemplate(t)
	dc, err := dynamo.NewClient(ctx, endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = dc.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(cfg.Table)})
	})
	desc, err := dc.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(cfg.Table)})
	if err != nil {
		t.Fatal(err)
	}
	table := tpl.props(t, "Table")
	var attrs, keys, gsis []string
	for _, a := range desc.Table.AttributeDefinitions {
		attrs = append(attrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	for _, k := range desc.Table.KeySchema {
		keys = append(keys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		s := aws.ToString(g.IndexName) + "(" + string(g.Projection.ProjectionType) + ")"
		for _, k := range g.KeySchema {
			s += " " + aws.ToString(k.AttributeName) + ":" + string(k.KeyType)
		}
		gsis = append(gsis, s)
	}
	var wantAttrs, wantKeys, wantGSIs []string
	for _, a := range nodeItems(node(table, "AttributeDefinitions")) {
		wantAttrs = append(wantAttrs, scalar(node(a, "AttributeName"))+":"+scalar(node(a, "AttributeType")))
	}
	for _, k := range nodeItems(node(table, "KeySchema")) {
		wantKeys = append(wantKeys, scalar(node(k, "AttributeName"))+":"+scalar(node(k, "KeyType")))
	}
	for _, g := range nodeItems(node(table, "GlobalSecondaryIndexes")) {
		s := scalar(node(g, "IndexName")) + "(" + scalar(node(g, "Projection", "ProjectionType")) + ")"
		for _, k := range nodeItems(node(g, "KeySchema")) {
			s += " " + scalar(node(k, "AttributeName")) + ":" + scalar(node(k, "KeyType"))
		}
		wantGSIs = append(wantGSIs, s)
	}
	slices.Sort(attrs)
	slices.Sort(wantAttrs)
	if !slices.Equal(attrs, wantAttrs) || !slices.Equal(keys, wantKeys) || !slices.Equal(gsis, wantGSIs) || len(wantGSIs) == 0 {
		t.Errorf("table: attributes %v keys %v indexes %v; template.yaml: %v %v %v", attrs, keys, gsis, wantAttrs, wantKeys, wantGSIs)
	}
	ttl, err := dc.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(cfg.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(ttl.TimeToLiveDescription.AttributeName), scalar(node(table, "TimeToLiveSpecification", "AttributeName")); got != want || want == "" {
		t.Errorf("TTL attribute %q, template.yaml %q", got, want)
	}

	qc, err := sqs.NewClient(ctx, endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	attrsOf := func(url string) map[string]string {
		t.Helper()
		out, err := qc.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	checkQueues := func() {
		t.Helper()
		for _, q := range deploy.Queues() {
			url := cfg.QueueURLs[q.Name]
			if !strings.HasSuffix(url, "/"+q.QueueName(stage)) {
				t.Errorf("%s: url %s", q.Name, url)
			}
			got := attrsOf(url)
			props := tpl.props(t, q.LogicalID)
			dlqProps := tpl.props(t, q.LogicalID+"DLQ")
			var policy struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     any    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(got["RedrivePolicy"]), &policy); err != nil {
				t.Fatalf("%s: redrive policy %q: %v", q.Name, got["RedrivePolicy"], err)
			}
			dlq := attrsOf(strings.TrimSuffix(url, q.QueueName(stage)) + q.DLQName(stage))
			for _, c := range []struct{ what, got, want string }{
				{"VisibilityTimeout", got["VisibilityTimeout"], scalar(node(props, "VisibilityTimeout"))},
				{"MessageRetentionPeriod", got["MessageRetentionPeriod"], scalar(node(props, "MessageRetentionPeriod"))},
				{"maxReceiveCount", fmt.Sprint(policy.MaxReceiveCount), scalar(node(props, "RedrivePolicy", "maxReceiveCount"))},
				{"dead-letter queue", policy.DeadLetterTargetArn, dlq["QueueArn"]},
				{"DLQ MessageRetentionPeriod", dlq["MessageRetentionPeriod"], scalar(node(dlqProps, "MessageRetentionPeriod"))},
			} {
				if c.got != c.want || c.want == "" {
					t.Errorf("queue %s: %s is %q, template.yaml says %q", q.Name, c.what, c.got, c.want)
				}
			}
		}
	}
	checkQueues()

	// Again, after someone changed a queue by hand: the same output, the
	// queue as the template has it.
	_, err = qc.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(cfg.QueueURLs["holdings"]), Attributes: map[string]string{"VisibilityTimeout": "5"}})
	if err != nil {
		t.Fatal(err)
	}
	if again := setupStage(t, endpoint, stage, dir); !mapsEqual(again, env) {
		t.Errorf("second setup printed %v, first %v", again, env)
	}
	checkQueues()
	if v, _ := strconv.Atoi(attrsOf(cfg.QueueURLs["holdings"])["VisibilityTimeout"]); v != deploy.Queues()[2].VisibilityTimeout {
		t.Errorf("holdings visibility timeout %d after the second setup", v)
	}

	// What a new user gets wrong.
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"bad stage", []string{"setup", "--endpoint", endpoint, "--stage", "Prod_1"}, map[string]string{"AWS_ACCESS_KEY_ID": "x"}, "must match"},
		{"bad endpoint", []string{"setup", "--endpoint", "localhost:5000"}, map[string]string{"AWS_ACCESS_KEY_ID": "x"}, "not an http(s) URL"},
		{"no credentials", []string{"setup", "--endpoint", endpoint}, nil, "export AWS_ACCESS_KEY_ID=local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := testEnv(tc.vars)
			if rc := run(ctx, e, tc.args); rc != 1 || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %s", rc, errb)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// samTemplate is template.yaml as yaml nodes (its short tags kept).
type samTemplate struct{ root *yaml.Node }

func readTemplate(t *testing.T) samTemplate {
	t.Helper()
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) != 1 {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return samTemplate{doc.Content[0]}
}

// props are the Properties of a resource.
func (s samTemplate) props(t *testing.T, logicalID string) *yaml.Node {
	t.Helper()
	p := node(s.root, "Resources", logicalID, "Properties")
	if p == nil {
		t.Fatalf("template.yaml has no resource %s", logicalID)
	}
	return p
}

// node follows mapping keys (nil when one is missing).
func node(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func nodeItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
