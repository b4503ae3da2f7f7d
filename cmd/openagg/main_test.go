package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
)

func testEnv(vars map[string]string) (env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, &out, &errb
}

// TestServeHealthTokenShutdown starts the serve logic on a random port with
// a temp data dir, checks /health, mints a token with the token command and
// sees the middleware accept it, then shuts down gracefully.
func TestServeHealthTokenShutdown(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"OPENAGG_DATA_DIR": dir, "OPENAGG_ADDR": "127.0.0.1:0", "OPENAGG_LOG_LEVEL": "warn"}
	cfg, err := platform.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, cfg, serveOptions{}, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	base := "http://" + addr

	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get("/health", ""); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("health: %d %s", code, body)
	}

	e, out, errb := testEnv(vars)
	if rc := run(context.Background(), e, []string{"token", "--sub", "alice", "--name", "Alice", "--roles", "CanCreateCustomer,CanGetCustomer", "--ttl", "1h"}); rc != 0 {
		t.Fatalf("token exit %d: %s", rc, errb)
	}
	token := strings.TrimSpace(out.String())
	code, body := get("/whoami", token)
	if code != 200 {
		t.Fatalf("whoami with minted token: %d %s", code, body)
	}
	var who struct {
		Sub   string   `json:"sub"`
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal([]byte(body), &who); err != nil || who.Sub != "alice" || who.Name != "Alice" || len(who.Roles) != 2 {
		t.Fatalf("whoami: %s %v", body, err)
	}
	if code, _ := get("/whoami", token+"x"); code != 401 {
		t.Fatalf("tampered token: %d", code)
	}

	// A request that queues jobs is completed by serve's local dispatcher:
	// loading the bank directory fills the country lists.
	e, out, errb = testEnv(vars)
	if rc := run(context.Background(), e, []string{"token", "--sub", "ops", "--roles", "CanManageBankDirectory"}); rc != 0 {
		t.Fatalf("token exit %d: %s", rc, errb)
	}
	ops := strings.TrimSpace(out.String())
	if code, body := get("/system/banks", ops); code != 202 {
		t.Fatalf("start directory load: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := get("/system/countries/GB/banks", token)
		if code == 200 && strings.Contains(body, "bankCode") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("directory not loaded by the workers: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
	// bbolt was closed: invoke can open the same data directory at once.
	event := filepath.Join(dir, "event.json")
	ev, _ := json.Marshal(events.APIGatewayV2HTTPRequest{RawPath: "/health", RequestContext: events.APIGatewayV2HTTPRequestContext{
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/health"}}})
	if err := os.WriteFile(event, ev, 0o600); err != nil {
		t.Fatal(err)
	}
	e, out, errb = testEnv(vars)
	if rc := run(context.Background(), e, []string{"invoke", "--function", "health", "--event", event}); rc != 0 {
		t.Fatalf("invoke exit %d: %s", rc, errb)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"ok"`) {
		t.Fatalf("invoke output %s: %v", out, err)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		vars map[string]string
		rc   int
		errs string
	}{
		{"no command", nil, nil, 2, "usage: openagg"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"help", []string{"help"}, nil, 0, "serve"},
		{"token without sub", []string{"token", "--data", dir}, nil, 1, "--sub is required"},
		{"token bad ttl", []string{"token", "--data", dir, "--sub", "a", "--ttl", "-1h"}, nil, 1, "--ttl must be positive"},
		{"token bad flag", []string{"token", "--nope"}, nil, 2, "flag provided but not defined"},
		{"bad config", []string{"serve"}, map[string]string{"OPENAGG_STORE": "x"}, 1, "OPENAGG_STORE"},
		// The workers' queues are looked up before serving: an SQS that
		// does not answer stops the start.
		{"serve on an unreachable sqs", []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, map[string]string{
			"OPENAGG_STORE": "dynamo", "OPENAGG_PAGE_TOKEN_SECRET": "0123456789abcdef0123",
			"OPENAGG_QUEUE_URL_DIRECTORY": "http://127.0.0.1:1/q/d", "OPENAGG_QUEUE_URL_CONNECTIONS": "http://127.0.0.1:1/q/c", "OPENAGG_QUEUE_URL_HOLDINGS": "http://127.0.0.1:1/q/h", "OPENAGG_QUEUE_URL_ACTIVITY": "http://127.0.0.1:1/q/a",
			"OPENAGG_QUEUE_URL_WEBHOOKS": "http://127.0.0.1:1/q/w",
		}, 1, "run workers: worker directory-loader: get arn of sqs queue http://127.0.0.1:1/q/d"},
		{"invoke without function", []string{"invoke", "--data", dir}, nil, 1, "--function and --event are required"},
		{"receive without secret", []string{"receive"}, nil, 1, "--secret must be the whsec_"},
		{"receive bad flag", []string{"receive", "--nope"}, nil, 2, "flag provided but not defined"},
		{"invoke missing file", []string{"invoke", "--data", dir, "--function", "health", "--event", filepath.Join(dir, "none.json")}, nil, 1, "read event"},
	}
	// The SDK reads its credentials from the process environment: fake
	// ones, so that no credential lookup (instance metadata) slows it.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := testEnv(tc.vars)
			if rc := run(context.Background(), e, tc.args); rc != tc.rc || !strings.Contains(errb.String(), tc.errs) {
				t.Fatalf("rc %d (want %d), stderr %q (want %q)", rc, tc.rc, errb, tc.errs)
			}
		})
	}
}

// TestTemplate renders template.yaml once every group a deployed function
// serves exists, and checks each route of each group appears as an
// operation of the HttpApi's OpenAPI definition.
func TestTemplate(t *testing.T) {
	routes, err := app.TemplateRoutes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range deploy.Functions() {
		for _, g := range f.Groups {
			if _, ok := routes[g]; !ok {
				t.Skipf("function %s serves group %q, not registered yet in app.Groups", f.Name, g)
			}
		}
	}
	e, out, errb := testEnv(nil)
	if rc := run(context.Background(), e, []string{"template", "--out", "-"}); rc != 0 {
		t.Fatalf("template exit %d: %s", rc, errb)
	}
	yaml := out.String()
	for _, f := range deploy.Functions() {
		for _, g := range f.Groups {
			for _, r := range routes[g] {
				path := deploy.APIPath(r.Path)
				if !strings.Contains(yaml, "\""+path+"\":\n") || !strings.Contains(yaml, "operationId: "+deploy.EventID(r.Method, path)+"\n") {
					t.Errorf("route %s of %s missing from the template", r.Pattern(), g)
				}
			}
		}
	}
}
