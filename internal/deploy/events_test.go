package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store/bolt"
)

// eventsDir holds events/<function>/<case>.json, env.json and expect.json.
var eventsDir = filepath.Join(repoRoot, "events")

// sampleTokenKey signs the bearer tokens of the events sent to public
// routes (HS256, iss https://idp.example.com/, aud openagg, sub alice,
// valid until 2100). API Gateway passes no claims on a route without the
// JWT authorizer, so those events carry the token itself and the function
// verifies it (in AWS with the JWKS of JwksUrl). Under `sam local invoke`
// the data directory's own key does not verify it: 401.
var sampleTokenKey = []byte("openagg sample events HS256 key (not a secret)")

// expectations is events/expect.json: the order in which the sample
// events run against one fresh embedded default, and what each answers.
type expectations struct {
	Description string `json:"description"`
	// Clock is the fake time the run starts at (the events' dates are
	// relative to it).
	Clock string `json:"clock"`
	Steps []step `json:"steps"`
}

// step is one action of the run: invoke an event file (Event), run the
// queued jobs (Drain) or move the clock (Advance).
type step struct {
	Event string `json:"event,omitempty"` // <function>/<case>.json
	Note  string `json:"note,omitempty"`
	// Drain runs the workers on the local queue until it is idle, as the
	// SQS event source mappings would; no job may end in a DLQ.
	Drain bool `json:"drain,omitempty"`
	// Advance moves the fake clock (a Go duration, e.g. "25h").
	Advance string `json:"advance,omitempty"`

	// Replace substitutes captured values for sample values in the raw
	// event (literal → variable name): values only known at run time,
	// like a connect session's one-time token. The file stays usable as
	// is (sam local invoke answers it as an unknown token).
	Replace map[string]string `json:"replace,omitempty"`
	// Capture stores parts of an API response body for later steps.
	Capture map[string]capture `json:"capture,omitempty"`

	// API events.
	Status       int                        `json:"status,omitempty"`
	JSON         map[string]json.RawMessage `json:"json,omitempty"`  // pointer → exact JSON value
	Match        map[string]string          `json:"match,omitempty"` // pointer → regexp on the value
	Headers      map[string]string          `json:"headers,omitempty"`
	BodyContains []string                   `json:"bodyContains,omitempty"`

	// SQS events: the message ids reported as failed (required, may be []).
	BatchItemFailures *[]string `json:"batchItemFailures,omitempty"`

	// Queued is the depth of local queues after the step (queue → count).
	Queued map[string]int `json:"queued,omitempty"`
}

// capture reads the string at Pointer of a JSON response body; Regexp,
// when set, keeps its first group.
type capture struct {
	Pointer string `json:"pointer"`
	Regexp  string `json:"regexp,omitempty"`
}

func readExpectations(t *testing.T) expectations {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var x expectations
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&x); err != nil {
		t.Fatalf("events/expect.json: %v", err)
	}
	return x
}

// eventFiles lists events/<function>/<case>.json.
func eventFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(eventsDir, path)
		rel = filepath.ToSlash(rel)
		if rel == "env.json" || rel == "expect.json" {
			return nil
		}
		if strings.Count(rel, "/") != 1 || !strings.HasSuffix(rel, ".json") {
			t.Errorf("events/%s: the layout is events/<function>/<case>.json", rel)
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// envJSON is events/env.json (sam local invoke --env-vars): "Parameters"
// apply to every function.
func envJSON(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	p, ok := env["Parameters"]
	if !ok || len(env) != 1 {
		t.Fatalf("events/env.json must hold exactly one object, \"Parameters\" (it applies to every function)")
	}
	return p
}

// eventsApp is the embedded default configured by events/env.json, as
// `sam local invoke --env-vars events/env.json` runs it, but on a fake
// clock (so the sample dates stay valid) and a temp data directory.
type eventsApp struct {
	*app.App
	clock *clocktest.Clock
	queue *local.Queue
	logs  *syncBuffer
	// usage records the DynamoDB and SQS actions of each function
	// (checkPrivileges).
	usage *usage
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEventsApp(t *testing.T, env map[string]string, start time.Time) *eventsApp {
	t.Helper()
	dir := t.TempDir()
	cfg, err := platform.LoadConfig(func(k string) string {
		if k == "OPENAGG_DATA_DIR" {
			return dir
		}
		return env[k]
	})
	if err != nil {
		t.Fatalf("events/env.json is not a valid configuration: %v", err)
	}
	if !cfg.Embedded() || cfg.Queue != platform.QueueLocal {
		t.Fatal("events/env.json must select the embedded default (OPENAGG_STORE=bolt, OPENAGG_QUEUE=local)")
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	clock := clocktest.New(start)
	st, err := bolt.Open(filepath.Join(dir, app.StoreFile), bolt.Options{TokenSecret: []byte("events test page token secret")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := local.New(st.DB(), local.Options{Clock: clock, Log: log, After: func(d time.Duration) <-chan time.Time {
		// Delays and backoffs pass at once on the fake clock.
		clock.Advance(d)
		ch := make(chan time.Time, 1)
		ch <- clock.Now()
		return ch
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox provider keeps its state in the table too, so its calls
	// count for the function that uses it, as in AWS.
	u := &usage{}
	rec := recordingStore{Store: st, u: u}
	sb := sandbox.New(rec, sandbox.Options{Clock: clock, PublicURL: cfg.PublicURL, SlowDelay: time.Millisecond})
	a, err := app.Assemble(cfg, app.Deps{
		Log:            log,
		Clock:          clock,
		Store:          rec,
		Queue:          recordingSender{Sender: q, u: u},
		Providers:      map[string]provider.Provider{sandbox.Name: sb},
		JWTKey:         sampleTokenKey,
		CredentialsKey: bytes.Repeat([]byte{7}, 32),
		Closers:        []func() error{st.Close},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return &eventsApp{App: a, clock: clock, queue: q, logs: logs, usage: u}
}

// TestEnvJSON: SAM only overrides variables the template declares, so
// every variable of events/env.json must be in Globals.
func TestEnvJSON(t *testing.T) {
	_, tpl := loadTemplate(t)
	declared := get(tpl.root, "Globals", "Function", "Environment", "Variables")
	for k := range envJSON(t) {
		if get(declared, k) == nil {
			t.Errorf("events/env.json sets %s, which template.yaml does not declare (sam local invoke would ignore it)", k)
		}
	}
}

// TestEvents invokes every sample event through its function's real
// handler (what the Lambda main starts) in the order of events/expect.json
// and checks each answer.
func TestEvents(t *testing.T) {
	x := readExpectations(t)
	start, err := time.Parse(time.RFC3339, x.Clock)
	if err != nil {
		t.Fatalf("expect.json clock: %v", err)
	}
	a := newEventsApp(t, envJSON(t), start)
	files := eventFiles(t)
	_, tpl := loadTemplate(t)
	lambdas := tpl.lambdas(t)

	// Every event file runs, every step's file exists and has the shape
	// of its function's trigger.
	used := map[string]bool{}
	for i, s := range x.Steps {
		n := 0
		for _, set := range []bool{s.Event != "", s.Drain, s.Advance != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("expect.json step %d: set exactly one of event, drain, advance", i)
		}
		if s.Event != "" {
			used[s.Event] = true
		}
	}
	for _, f := range files {
		if !used[f] {
			t.Errorf("events/%s is not run by events/expect.json", f)
		}
	}
	for f := range used {
		if !slices.Contains(files, f) {
			t.Errorf("events/expect.json runs events/%s, which does not exist", f)
		}
	}
	for _, f := range files {
		fn, _, _ := strings.Cut(f, "/")
		l, ok := lambdas[fn]
		if !ok {
			t.Errorf("events/%s: no function %s in template.yaml", f, fn)
			continue
		}
		checkEventShape(t, a.App, f, l)
	}
	if t.Failed() {
		t.FailNow()
	}

	vars := map[string]string{}
	partial := map[string]bool{} // workers whose poisoned batch was checked
	for i, s := range x.Steps {
		name := fmt.Sprintf("%02d_%s", i, strings.TrimSuffix(s.Event, ".json"))
		switch {
		case s.Drain:
			name = fmt.Sprintf("%02d_drain", i)
		case s.Advance != "":
			name = fmt.Sprintf("%02d_advance_%s", i, s.Advance)
		}
		ok := t.Run(name, func(t *testing.T) {
			if s.Note != "" {
				t.Log(s.Note)
			}
			runStep(t, a, s, vars, partial)
		})
		if !ok {
			t.Logf("service log (last 30 lines):\n%s", tail(a.logs.String(), 30))
			t.FailNow()
		}
	}
	for _, w := range mustWorkers(t, a.App) {
		if !partial[w.Name] {
			t.Errorf("worker %s: no step checks a batch where only the poisoned message fails", w.Name)
		}
	}
	checkPrivileges(t, a.usage)
}

// drain runs the queued jobs with the workers, as app.Drain does, with the
// batch size, maxReceiveCount and visibility timeout of the template's
// event source mappings and queues, and each worker's calls recorded as
// that worker's.
func (a *eventsApp) drain(ctx context.Context) error {
	fns := map[string]deploy.Function{}
	for _, f := range deploy.Functions() {
		fns[f.Name] = f
	}
	queues := map[string]deploy.Queue{}
	for _, q := range deploy.Queues() {
		queues[q.LogicalID] = q
	}
	workers, err := a.Workers()
	if err != nil {
		return err
	}
	for _, w := range workers {
		f := fns[w.Name]
		q := queues[f.Queue]
		if q.Name != w.Queue {
			return fmt.Errorf("worker %s consumes %q, internal/deploy wires it to %q", w.Name, w.Queue, q.Name)
		}
		name, h := w.Name, w.Handler
		a.queue.Register(w.Queue, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return h(withFunction(ctx, name), ev)
		}, local.ConsumerConfig{
			BatchSize:         f.BatchSize,
			MaxReceiveCount:   q.MaxReceiveCount,
			VisibilityTimeout: time.Duration(q.VisibilityTimeout) * time.Second,
		})
	}
	return a.queue.Drain(ctx)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func runStep(t *testing.T, a *eventsApp, s step, vars map[string]string, partial map[string]bool) {
	ctx := context.Background()
	switch {
	case s.Advance != "":
		d, err := time.ParseDuration(s.Advance)
		if err != nil {
			t.Fatalf("advance: %v", err)
		}
		a.clock.Advance(d)
		return
	case s.Drain:
		if err := a.drain(ctx); err != nil {
			t.Fatalf("drain: %v", err)
		}
		for _, name := range []string{queue.Directory, queue.Connections, queue.Holdings} {
			dead, err := a.queue.DeadLetters(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range dead {
				t.Errorf("job dead-lettered on %s: %s %s", name, m.Type, m.Key)
			}
		}
		checkQueued(t, a, s.Queued)
		return
	}

	raw, err := os.ReadFile(filepath.Join(eventsDir, s.Event))
	if err != nil {
		t.Fatal(err)
	}
	ev := raw
	if len(s.Replace) > 0 {
		if ev, err = replaceValues(raw, s.Replace, vars); err != nil {
			t.Fatal(err)
		}
	}
	fn, _, _ := strings.Cut(s.Event, "/")
	f, err := a.Function(fn)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Invoke(withFunction(ctx, fn), ev)
	if err != nil {
		t.Fatalf("invoke %s: %v", fn, err)
	}
	t.Logf("%s answered %s", fn, short(string(out)))

	switch f.Kind {
	case app.KindAPI:
		checkAPI(t, s, out, vars)
	case app.KindWorker:
		checkBatch(t, s, fn, ev, out, partial)
	case app.KindSchedule:
		if strings.TrimSpace(string(out)) != "null" {
			t.Errorf("schedule answered %s, want null", out)
		}
		if s.Status != 0 || s.BatchItemFailures != nil {
			t.Error("expect.json: a schedule step has neither status nor batchItemFailures")
		}
	}
	checkQueued(t, a, s.Queued)
}

// replaceValues substitutes captured variables for sample values inside
// the string values of an event (paths, parameters, query, bodies), never
// in keys or route keys: "{ACCOUNT_ID}" in a route key stays.
func replaceValues(raw []byte, replace, vars map[string]string) ([]byte, error) {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	found := map[string]bool{}
	var walk func(v any, key string) any
	walk = func(v any, key string) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e, k)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e, key)
			}
		case string:
			if key == "routeKey" {
				return x
			}
			for literal, name := range replace {
				if strings.Contains(x, literal) {
					found[literal] = true
					x = strings.ReplaceAll(x, literal, vars[name])
				}
			}
			return x
		}
		return v
	}
	for _, name := range replace {
		if _, ok := vars[name]; !ok {
			return nil, fmt.Errorf("replace: variable %q was not captured by an earlier step", name)
		}
	}
	doc = walk(doc, "")
	for literal := range replace {
		if !found[literal] {
			return nil, fmt.Errorf("replace: %q does not occur in a value of the event", literal)
		}
	}
	return json.Marshal(doc)
}

func checkQueued(t *testing.T, a *eventsApp, want map[string]int) {
	t.Helper()
	for name, n := range want {
		got, err := a.queue.Depth(name)
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("queue %s holds %d jobs, want %d", name, got, n)
		}
	}
}

func checkAPI(t *testing.T, s step, out []byte, vars map[string]string) {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode API response: %v: %s", err, out)
	}
	if s.Status == 0 {
		t.Fatal("expect.json: an API step needs a status")
	}
	if s.BatchItemFailures != nil {
		t.Error("expect.json: batchItemFailures on an API step")
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		t.Fatalf("unexpected base64 body")
	}
	if resp.StatusCode != s.Status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, s.Status, body)
	}
	for name, re := range s.Headers {
		var v string
		for k, hv := range resp.Headers {
			if strings.EqualFold(k, name) {
				v = hv
			}
		}
		if !regexp.MustCompile(re).MatchString(v) {
			t.Errorf("header %s = %q, want match %s", name, v, re)
		}
	}
	for _, sub := range s.BodyContains {
		if !strings.Contains(body, sub) {
			t.Errorf("body does not contain %q: %s", sub, short(body))
		}
	}
	if len(s.JSON) == 0 && len(s.Match) == 0 && len(s.Capture) == 0 {
		return
	}
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, short(body))
	}
	for ptr, want := range s.JSON {
		got, err := pointer(doc, ptr)
		if err != nil {
			t.Errorf("%s: %v in %s", ptr, err, short(body))
			continue
		}
		var w any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatalf("expect.json value of %s: %v", ptr, err)
		}
		if !jsonEqual(got, w) {
			gb, _ := json.Marshal(got)
			t.Errorf("%s = %s, want %s", ptr, gb, want)
		}
	}
	for ptr, re := range s.Match {
		got, err := pointer(doc, ptr)
		if err != nil {
			t.Errorf("%s: %v in %s", ptr, err, short(body))
			continue
		}
		str, ok := got.(string)
		if !ok {
			b, _ := json.Marshal(got)
			str = string(b)
		}
		if !regexp.MustCompile(re).MatchString(str) {
			t.Errorf("%s = %q, want match %s", ptr, str, re)
		}
	}
	for name, c := range s.Capture {
		got, err := pointer(doc, c.Pointer)
		str, ok := got.(string)
		if err != nil || !ok {
			t.Fatalf("capture %s: %s is not a string (%v) in %s", name, c.Pointer, err, short(body))
		}
		if c.Regexp != "" {
			m := regexp.MustCompile(c.Regexp).FindStringSubmatch(str)
			if len(m) < 2 {
				t.Fatalf("capture %s: %q does not match %s", name, str, c.Regexp)
			}
			str = m[1]
		}
		vars[name] = str
	}
}

func checkBatch(t *testing.T, s step, fn string, ev, out []byte, partial map[string]bool) {
	t.Helper()
	if s.BatchItemFailures == nil {
		t.Fatal("expect.json: an SQS step needs batchItemFailures (may be [])")
	}
	if s.Status != 0 {
		t.Error("expect.json: status on an SQS step")
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode SQS response: %v: %s", err, out)
	}
	got := []string{}
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	want := slices.Clone(*s.BatchItemFailures)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("batchItemFailures %v, want %v", got, want)
	}
	var in events.SQSEvent
	if err := json.Unmarshal(ev, &in); err != nil {
		t.Fatal(err)
	}
	if len(want) > 0 && len(want) < len(in.Records) {
		partial[fn] = true
	}
}

func short(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

// pointer resolves an RFC 6901 JSON pointer.
func pointer(doc any, ptr string) (any, error) {
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("pointer %q does not start with /", ptr)
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, fmt.Errorf("no member %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, fmt.Errorf("no element %q (length %d)", tok, len(v))
			}
			cur = v[i]
		default:
			return nil, fmt.Errorf("cannot index %T with %q", cur, tok)
		}
	}
	return cur, nil
}

func jsonEqual(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

// checkEventShape checks that an event file is what the function's
// trigger sends: an HTTP API v2 request of one of its routes (path
// parameters matching the path), an SQS batch from its queue, or the
// scheduled event.
func checkEventShape(t *testing.T, a *app.App, file string, l lambda) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Errorf("events/%s: %v", file, err)
		return
	}
	errorf := func(format string, args ...any) { t.Errorf("events/"+file+": "+format, args...) }
	switch l.kind() {
	case app.KindAPI:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			errorf("%v", err)
			return
		}
		if ev.Version != "2.0" {
			errorf("version %q, want 2.0 (HTTP API payload v2)", ev.Version)
		}
		method, tmpl, _ := strings.Cut(ev.RouteKey, " ")
		var rt *route
		for i, r := range l.Routes {
			if r.Method == method && r.Path == tmpl {
				rt = &l.Routes[i]
			}
		}
		if rt == nil {
			errorf("routeKey %q is not a route of %s", ev.RouteKey, l.Name)
			return
		}
		if ev.RequestContext.RouteKey != ev.RouteKey {
			errorf("requestContext.routeKey %q differs from routeKey %q", ev.RequestContext.RouteKey, ev.RouteKey)
		}
		if ev.RequestContext.HTTP.Method != method || ev.RequestContext.HTTP.Path != ev.RawPath {
			errorf("requestContext.http %s %s differs from the route %s and rawPath %s", ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path, method, ev.RawPath)
		}
		if ev.RequestContext.RequestID == "" {
			errorf("requestContext.requestId is empty")
		}
		params, ok := matchPath(tmpl, ev.RawPath)
		if !ok {
			errorf("rawPath %q does not match the route %s", ev.RawPath, tmpl)
		}
		if len(params) == 0 {
			params = nil
		}
		if !mapsEqual(params, ev.PathParameters) {
			errorf("pathParameters %v, the path gives %v", ev.PathParameters, params)
		}
		if _, isStr := generic["body"].(string); generic["body"] != nil && !isStr {
			errorf("body must be a string")
		}
		if claims := ev.RequestContext.Authorizer; claims != nil && claims.JWT != nil && rt.Public {
			errorf("authorizer.jwt.claims on the public route %s: API Gateway runs no authorizer there and passes no claims; send the token in the authorization header", rt)
		} else if claims != nil && claims.JWT != nil {
			c := claims.JWT.Claims
			// The HttpApi JWT authorizer only passes tokens of the configured
			// issuer and audiences.
			if c["sub"] == "" || c["iss"] != a.Config.JWTIssuer || !slices.Contains(a.Config.JWTAudiences, c["aud"]) {
				errorf("authorizer.jwt.claims need sub, iss %q and aud in %v (events/env.json)", a.Config.JWTIssuer, a.Config.JWTAudiences)
			}
		}
	case app.KindWorker:
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
			errorf("not an SQS batch (%v)", err)
			return
		}
		var w app.Worker
		for _, x := range mustWorkers(t, a) {
			if x.Name == l.Name {
				w = x
			}
		}
		seen := map[string]bool{}
		for _, r := range ev.Records {
			if r.MessageId == "" || seen[r.MessageId] {
				errorf("message id %q empty or repeated", r.MessageId)
			}
			seen[r.MessageId] = true
			if r.EventSource != "aws:sqs" || !strings.HasSuffix(r.EventSourceARN, "-"+w.Queue) {
				errorf("record %s: eventSource %q from %q, want aws:sqs from the %s queue", r.MessageId, r.EventSource, r.EventSourceARN, w.Queue)
			}
		}
	case app.KindSchedule:
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			errorf("%v", err)
			return
		}
		if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
			errorf("detail-type %q source %q, want a scheduled event from aws.events", ev.DetailType, ev.Source)
		}
	}
}

// matchPath matches a concrete path against a route path with {name}
// segments (API Gateway's rule: one segment each).
func matchPath(tmpl, path string) (map[string]string, bool) {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range ts {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if ps[i] == "" {
				return nil, false
			}
			params[seg[1:len(seg)-1]] = ps[i]
			continue
		}
		if seg != ps[i] {
			return nil, false
		}
	}
	return params, true
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
