package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
)

// repoRoot is where template.yaml, functions/ and events/ live.
const repoRoot = "../.."

// cfn is a CloudFormation template decoded into yaml.Node, so that short
// tags (!Ref, !Sub, !GetAtt, !If ...) survive as node tags.
type cfn struct{ root *yaml.Node }

func loadTemplate(t testing.TB) ([]byte, cfn) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatalf("read template.yaml: %v: run make template", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("template.yaml is not a YAML mapping")
	}
	return raw, cfn{doc.Content[0]}
}

// get follows mapping keys; nil when a key is missing.
func get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// str is a scalar's value ("" for nil or a non-scalar).
func str(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// tagged returns the value of a short-form intrinsic (!Ref X → "X") or ""
// when n is not that tag.
func tagged(n *yaml.Node, tag string) string {
	if n == nil || n.Tag != tag || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func integer(t testing.TB, n *yaml.Node, what string) int {
	t.Helper()
	v, err := strconv.Atoi(str(n))
	if err != nil {
		t.Fatalf("%s: %q is not an integer", what, str(n))
	}
	return v
}

// items is a sequence's elements (none for nil or a non-sequence).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// pairs iterates a mapping's key/value pairs in document order.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func (c cfn) resources() map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	for _, kv := range pairs(get(c.root, "Resources")) {
		m[kv[0].Value] = kv[1]
	}
	return m
}

// route is one HttpApi event as the template declares it, or one route of
// a group's table.
type route struct {
	Method, Path string
	Public       bool
}

func (r route) String() string {
	auth := "JWT"
	if r.Public {
		auth = "NONE"
	}
	return fmt.Sprintf("%s %s (auth %s)", r.Method, r.Path, auth)
}

// lambda is one AWS::Serverless::Function of the template.
type lambda struct {
	LogicalID string
	Name      string // from CodeUri functions/<name>/
	Timeout   int
	Routes    []route
	SQS       []*yaml.Node // Properties of SQS events
	Schedules []*yaml.Node // Properties of Schedule events
	Props     *yaml.Node
}

func (l lambda) kind() string {
	switch {
	case len(l.Routes) > 0 && len(l.SQS) == 0 && len(l.Schedules) == 0:
		return app.KindAPI
	case len(l.SQS) > 0 && len(l.Routes) == 0 && len(l.Schedules) == 0:
		return app.KindWorker
	case len(l.Schedules) > 0 && len(l.Routes) == 0 && len(l.SQS) == 0:
		return app.KindSchedule
	}
	return "mixed"
}

var codeURI = regexp.MustCompile(`^functions/([a-z][a-z0-9-]*)/?$`)

// lambdas lists the template's functions by name, with their events.
func (c cfn) lambdas(t testing.TB) map[string]lambda {
	t.Helper()
	globalTimeout := 3 // the Lambda default
	if n := get(c.root, "Globals", "Function", "Timeout"); n != nil {
		globalTimeout = integer(t, n, "Globals.Function.Timeout")
	}
	out := map[string]lambda{}
	for id, res := range c.resources() {
		if str(get(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := get(res, "Properties")
		m := codeURI.FindStringSubmatch(str(get(props, "CodeUri")))
		if m == nil {
			t.Errorf("%s: CodeUri %q is not functions/<name>/", id, str(get(props, "CodeUri")))
			continue
		}
		l := lambda{LogicalID: id, Name: m[1], Timeout: globalTimeout, Props: props}
		if n := get(props, "Timeout"); n != nil {
			l.Timeout = integer(t, n, id+".Timeout")
		}
		for _, kv := range pairs(get(props, "Events")) {
			ev, ep := kv[1], get(kv[1], "Properties")
			switch typ := str(get(ev, "Type")); typ {
			case "SQS":
				l.SQS = append(l.SQS, ep)
			case "Schedule":
				l.Schedules = append(l.Schedules, ep)
			default:
				t.Errorf("%s: event %s has unexpected type %q", id, kv[0].Value, typ)
			}
		}
		if _, dup := out[l.Name]; dup {
			t.Errorf("two functions are built from functions/%s", l.Name)
		}
		out[l.Name] = l
	}
	byID := map[string]string{}
	for name, l := range out {
		byID[l.LogicalID] = name
	}
	for _, op := range c.operations(t) {
		name, ok := byID[op.Function]
		if !ok {
			t.Errorf("route %s invokes %s, which is not a function of the template", op.route, op.Function)
			continue
		}
		l := out[name]
		l.Routes = append(l.Routes, op.route)
		out[name] = l
	}
	return out
}

// operation is one route of the HttpApi's OpenAPI definition and the
// logical id of the function its integration invokes.
type operation struct {
	route
	Function string
}

var integrationURI = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/2015-03-31/functions/\$\{([A-Za-z0-9]+)\.Arn\}/invocations$`)

// operations reads the paths of the HttpApi's DefinitionBody: method, path,
// public (security NONE) or the default JWT authorizer (no security), and
// the Lambda proxy integration (payload 2.0) of each.
func (c cfn) operations(t testing.TB) []operation {
	t.Helper()
	body := get(c.resources()["HttpApi"], "Properties", "DefinitionBody")
	if body == nil {
		t.Fatal("HttpApi has no DefinitionBody: the routes are declared there")
	}
	var ops []operation
	for _, pp := range pairs(get(body, "paths")) {
		path := pp[0].Value
		for _, mp := range pairs(pp[1]) {
			op := mp[1]
			r := route{Method: strings.ToUpper(mp[0].Value), Path: path}
			where := r.Method + " " + path
			switch sec := items(get(op, "security")); {
			case sec == nil:
			case len(sec) == 1 && len(pairs(sec[0])) == 1 && pairs(sec[0])[0][0].Value == "NONE":
				r.Public = true
			default:
				t.Errorf("%s: security must be absent (the default JWT authorizer) or [NONE: []] (public)", where)
			}
			in := get(op, "x-amazon-apigateway-integration")
			m := integrationURI.FindStringSubmatch(tagged(get(in, "uri"), "!Sub"))
			if str(get(in, "type")) != "aws_proxy" || str(get(in, "httpMethod")) != "POST" || str(get(in, "payloadFormatVersion")) != "2.0" || m == nil {
				t.Errorf("%s: integration is not a Lambda proxy (POST, payload 2.0) of a function of the template", where)
				continue
			}
			if want := deploy.EventID(r.Method, path); str(get(op, "operationId")) != want {
				t.Errorf("%s: operationId %q, want %s", where, str(get(op, "operationId")), want)
			}
			var params []string
			for _, p := range items(get(op, "parameters")) {
				if str(get(p, "in")) == "path" && str(get(p, "required")) == "true" {
					params = append(params, str(get(p, "name")))
				}
			}
			var want []string
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") {
					want = append(want, strings.Trim(seg, "{}"))
				}
			}
			if !slices.Equal(params, want) {
				t.Errorf("%s: path parameters %v, the path has %v", where, params, want)
			}
			ops = append(ops, operation{route: r, Function: m[1]})
		}
	}
	return ops
}

// newApp builds the embedded default on a temp dir (bbolt store and local
// queue in it, sandbox provider): the App every Lambda main builds, with
// the embedded drivers.
func newApp(t testing.TB, env map[string]string) *app.App {
	t.Helper()
	dir := t.TempDir()
	cfg, err := platform.LoadConfig(func(k string) string {
		if k == "OPENAGG_DATA_DIR" {
			return dir
		}
		if v, ok := env[k]; ok {
			return v
		}
		if k == "OPENAGG_LOG_LEVEL" {
			return "error"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

// TestTemplateIsFresh: template.yaml is generated; a stale copy would
// deploy routes the handlers do not serve (or miss new ones).
func TestTemplateIsFresh(t *testing.T) {
	raw, _ := loadTemplate(t)
	fresh, err := app.Template(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, fresh) {
		have, want := strings.Split(string(raw), "\n"), strings.Split(string(fresh), "\n")
		i := 0
		for i < len(have) && i < len(want) && have[i] == want[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return strconv.Quote(l[i])
			}
			return "end of file"
		}
		t.Fatalf("template.yaml is stale: run make template (first difference at line %d: file has %s, a fresh render has %s)", i+1, line(have), line(want))
	}
}

// TestTemplateRoutesMatchTheRouters: for every function, the HttpApi events
// of the template are exactly the routes its groups serve (method, path,
// public or JWT), and every group is deployed by exactly one function.
func TestTemplateRoutesMatchTheRouters(t *testing.T) {
	_, tpl := loadTemplate(t)
	a := newApp(t, nil)
	lambdas := tpl.lambdas(t)

	groupsOf := map[string][]string{}
	for _, f := range deploy.Functions() {
		groupsOf[f.Name] = f.Groups
	}
	servedBy := map[string]string{}
	for name, l := range lambdas {
		if l.kind() != app.KindAPI {
			continue
		}
		t.Run(name, func(t *testing.T) {
			want := map[route]bool{}
			for _, g := range groupsOf[name] {
				grp, err := a.Group(g)
				if err != nil {
					t.Errorf("function %s serves group %q: %v", name, g, err)
					continue
				}
				if other, dup := servedBy[g]; dup {
					t.Errorf("group %s is served by both %s and %s", g, other, name)
				}
				servedBy[g] = name
				for _, r := range grp.Routes {
					want[route{Method: r.Method, Path: deploy.APIPath(r.Path), Public: r.Public}] = true
				}
			}
			if len(want) == 0 {
				t.Fatalf("function %s has HttpApi events but serves no group", name)
			}
			have := map[route]bool{}
			for _, r := range l.Routes {
				if have[r] {
					t.Errorf("route %s declared twice", r)
				}
				have[r] = true
			}
			for r := range want {
				if !have[r] {
					t.Errorf("route %s is served but not in template.yaml (run make template)", r)
				}
			}
			for r := range have {
				if !want[r] {
					t.Errorf("route %s is in template.yaml but not served (run make template)", r)
				}
			}
			f, err := a.Function(name)
			if err != nil || f.Kind != app.KindAPI {
				t.Fatalf("app.Function(%s) = %v, %v: want an API function", name, f, err)
			}
		})
	}
	for _, g := range app.GroupNames() {
		if servedBy[g] == "" {
			t.Errorf("group %s is not deployed: add it to a function in internal/deploy", g)
		}
	}
}

// TestTemplateFunctions: one function per functions/<name>/main.go, each
// resolved by the App with the kind its events say (the Lambda main would
// fail its init otherwise), logical ids the Makefile can derive, workers
// on SQS with partial batch failures and a DLQ, the scheduler on a rule.
func TestTemplateFunctions(t *testing.T) {
	_, tpl := loadTemplate(t)
	a := newApp(t, nil)
	lambdas := tpl.lambdas(t)
	res := tpl.resources()

	dirs, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, ok := lambdas[d.Name()]; !ok {
			t.Errorf("functions/%s is not deployed by template.yaml", d.Name())
		}
	}
	for name, l := range lambdas {
		t.Run(name, func(t *testing.T) {
			main, err := os.ReadFile(filepath.Join(repoRoot, "functions", name, "main.go"))
			if err != nil {
				t.Fatalf("functions/%s/main.go: %v", name, err)
			}
			if want := lambdaMainCall(name); !bytes.Contains(main, []byte(want)) {
				t.Errorf("functions/%s/main.go does not call %s: the parts it names are what its binary serves and links", name, want)
			}
			// make invoke derives the logical id from the name.
			if want := camel(name) + "Function"; l.LogicalID != want {
				t.Errorf("logical id %s, want %s (make invoke derives it from the name)", l.LogicalID, want)
			}
			f, err := a.Function(name)
			if err != nil {
				t.Fatalf("the App does not resolve function %s: %v", name, err)
			}
			if f.Kind != l.kind() {
				t.Errorf("the App runs %s as %s, its template events make it %s", name, f.Kind, l.kind())
			}
			if str(get(l.Props, "Runtime")) == "" && str(get(tpl.root, "Globals", "Function", "Runtime")) != "provided.al2023" {
				t.Error("runtime is not provided.al2023")
			}
		})
	}

	workers := map[string]app.Worker{}
	for _, w := range mustWorkers(t, a) {
		workers[w.Name] = w
	}
	env := get(tpl.root, "Globals", "Function", "Environment", "Variables")
	for name, l := range lambdas {
		if len(l.SQS) == 0 {
			continue
		}
		t.Run(name+"/sqs", func(t *testing.T) {
			w, ok := workers[name]
			if !ok {
				t.Fatalf("%s consumes SQS but is not an app worker", name)
			}
			if len(l.SQS) != 1 {
				t.Fatalf("%d SQS events, want 1", len(l.SQS))
			}
			ep := l.SQS[0]
			if !slices.ContainsFunc(items(get(ep, "FunctionResponseTypes")), func(n *yaml.Node) bool { return n.Value == "ReportBatchItemFailures" }) {
				t.Error("SQS event without FunctionResponseTypes: [ReportBatchItemFailures]")
			}
			if b := integer(t, get(ep, "BatchSize"), "BatchSize"); b < 1 || b > 10 {
				t.Errorf("BatchSize %d outside 1..10", b)
			}
			if c := integer(t, get(ep, "ScalingConfig", "MaximumConcurrency"), "MaximumConcurrency"); c < 2 {
				t.Errorf("MaximumConcurrency %d: SQS event sources need at least 2", c)
			}
			qid, ok := strings.CutSuffix(tagged(get(ep, "Queue"), "!GetAtt"), ".Arn")
			if !ok {
				t.Fatal("SQS event Queue is not !GetAtt <Queue>.Arn")
			}
			q := get(res[qid], "Properties")
			if str(get(res[qid], "Type")) != "AWS::SQS::Queue" {
				t.Fatalf("queue %s is not an AWS::SQS::Queue", qid)
			}
			if got, want := tagged(get(q, "QueueName"), "!Sub"), "openagg-${Stage}-"+w.Queue; got != want {
				t.Errorf("queue %s is named %q, the worker consumes %q", qid, got, want)
			}
			if got := tagged(get(env, platform.QueueURLEnv(w.Queue)), "!Ref"); got != qid {
				t.Errorf("%s is !Ref %q, want %s (producers would send elsewhere)", platform.QueueURLEnv(w.Queue), got, qid)
			}
			vis := integer(t, get(q, "VisibilityTimeout"), qid+".VisibilityTimeout")
			if vis <= l.Timeout || vis < 6*l.Timeout {
				t.Errorf("queue %s visibility timeout %ds must exceed the function timeout %ds (AWS: at least 6x)", qid, vis, l.Timeout)
			}
			rp := get(q, "RedrivePolicy")
			dlq, ok := strings.CutSuffix(tagged(get(rp, "deadLetterTargetArn"), "!GetAtt"), ".Arn")
			if !ok || str(get(res[dlq], "Type")) != "AWS::SQS::Queue" {
				t.Fatalf("queue %s has no RedrivePolicy to a DLQ", qid)
			}
			if n := integer(t, get(rp, "maxReceiveCount"), "maxReceiveCount"); n < 1 || n > 10 {
				t.Errorf("maxReceiveCount %d outside 1..10", n)
			}
			if !hasDLQAlarm(res, dlq) {
				t.Errorf("no CloudWatch alarm on the depth of %s", dlq)
			}
			// A worker that queues its own next step (page, chunk) must allow
			// the chain: Lambda's recursive loop detection stops the same
			// function after about 16 hops through the same queue.
			sendsToOwnQueue := false
			for _, st := range items(get(l.Props, "Policies")) {
				for _, stmt := range items(get(st, "Statement")) {
					if str(get(stmt, "Sid")) != "SendJobs" {
						continue
					}
					for _, r := range items(get(stmt, "Resource")) {
						if tagged(r, "!GetAtt") == qid+".Arn" {
							sendsToOwnQueue = true
						}
					}
				}
			}
			if allow := str(get(l.Props, "RecursiveLoop")) == "Allow"; allow != sendsToOwnQueue {
				t.Errorf("sends to its own queue %v, RecursiveLoop Allow %v: want both or neither", sendsToOwnQueue, allow)
			}
		})
	}
	for name := range workers {
		if l, ok := lambdas[name]; !ok || len(l.SQS) == 0 {
			t.Errorf("worker %s has no function with an SQS event in template.yaml", name)
		}
	}
	schedules, err := a.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range schedules {
		l, ok := lambdas[s.Name]
		if !ok || len(l.Schedules) != 1 {
			t.Errorf("schedule %s has no function with one Schedule event in template.yaml", s.Name)
			continue
		}
		if n := get(l.Schedules[0], "Schedule"); n == nil || (str(n) == "" && tagged(n, "!Ref") == "") {
			t.Errorf("schedule %s: Schedule event without a Schedule expression", s.Name)
		}
	}
	for name, l := range lambdas {
		if len(l.Schedules) > 0 && !slices.ContainsFunc(schedules, func(s app.Schedule) bool { return s.Name == name }) {
			t.Errorf("%s has a Schedule event but is not an app schedule", name)
		}
	}

	// Every route needs a token unless opened explicitly: the HttpApi's
	// default authorizer is the JWT one, fed by the issuer and audience
	// parameters.
	auth := get(res["HttpApi"], "Properties", "Auth")
	def := str(get(auth, "DefaultAuthorizer"))
	jwt := get(auth, "Authorizers", def, "JwtConfiguration")
	if def == "" || tagged(get(jwt, "issuer"), "!Ref") != "JwtIssuer" || tagged(get(jwt, "audience"), "!Ref") != "JwtAudience" {
		t.Error("HttpApi: the default authorizer must be a JWT authorizer with issuer !Ref JwtIssuer and audience !Ref JwtAudience")
	}
}

// TestRouteTree: API Gateway refuses, at deployment, route paths ending
// in "/" and two variables of different names at one level of the route
// tree; every route of the template's HttpApi passes.
func TestRouteTree(t *testing.T) {
	_, tpl := loadTemplate(t)
	var paths []string
	for _, l := range tpl.lambdas(t) {
		for _, r := range l.Routes {
			paths = append(paths, r.Path)
		}
	}
	if err := deploy.CheckRouteTree(paths); err != nil {
		t.Errorf("template.yaml: %v", err)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{"/a/{x}", "/a/{x}/b/{y}", "/a/b/{z}", "/c/{z}"}, ""},
		{[]string{"/system/banks/{bankcode}/provider/{p}", "/system/banks/{bankid}"}, "routes under /system/banks/ name the same path segment {bankcode} and {bankid}"},
		{[]string{"/a/{x}/b/{y}", "/a/{z}/b/{w}"}, "{x} and {z}"},
		{[]string{"/obp/v1.2/"}, "ends in /"},
	} {
		err := deploy.CheckRouteTree(tc.paths)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.paths, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one containing %q", tc.paths, err, tc.want)
		}
	}
	for in, want := range map[string]string{"/obp/v1.2/": "/obp/v1.2", "/": "/", "/health": "/health"} {
		if got := deploy.APIPath(in); got != want {
			t.Errorf("APIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInvokePermissions: API Gateway may invoke each function for each of
// its routes (an AWS::Lambda::Permission whose SourceArn covers the route),
// with a handful of prefix permissions per function: a statement per route
// would pass the 20 KB limit of a function's resource policy (about 700
// bytes a statement: OBP alone has 65 routes).
func TestInvokePermissions(t *testing.T) {
	_, tpl := loadTemplate(t)
	const arnPrefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/"
	patterns := map[string][]*regexp.Regexp{} // function logical id → SourceArn globs
	for id, res := range tpl.resources() {
		if str(get(res, "Type")) != "AWS::Lambda::Permission" {
			continue
		}
		p := get(res, "Properties")
		if str(get(p, "Principal")) != "apigateway.amazonaws.com" {
			continue
		}
		fn := tagged(get(p, "FunctionName"), "!Ref")
		arn, ok := strings.CutPrefix(tagged(get(p, "SourceArn"), "!Sub"), arnPrefix)
		if fn == "" || !ok || str(get(p, "Action")) != "lambda:InvokeFunction" {
			t.Errorf("%s: want lambda:InvokeFunction of a !Ref function with SourceArn !Sub %q...", id, arnPrefix)
			continue
		}
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(arn), `\*`, ".*") + "$"
		patterns[fn] = append(patterns[fn], regexp.MustCompile(re))
	}
	for name, l := range tpl.lambdas(t) {
		if len(l.Routes) == 0 {
			if len(patterns[l.LogicalID]) > 0 {
				t.Errorf("%s serves no route but API Gateway may invoke it", name)
			}
			continue
		}
		if n := len(patterns[l.LogicalID]); n > 10 {
			t.Errorf("%s has %d invoke permissions: its resource policy nears the 20 KB limit", name, n)
		}
		for _, r := range l.Routes {
			// What API Gateway sends as SourceArn for a request of the route.
			req := "$default/" + r.Method + regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(r.Path, "x")
			if !slices.ContainsFunc(patterns[l.LogicalID], func(re *regexp.Regexp) bool { return re.MatchString(req) }) {
				t.Errorf("%s: no invoke permission covers %s (%s)", name, r, req)
			}
		}
	}
}

// TestPublicRoutesVerifyTokens: a public route runs without the JWT
// authorizer, so API Gateway passes no claims there; a caller's token
// (an OBP owner view, the private accounts in a bank's list) is verified by
// the function against the issuer's JWKS, which must be configured.
func TestPublicRoutesVerifyTokens(t *testing.T) {
	_, tpl := loadTemplate(t)
	public := 0
	for _, l := range tpl.lambdas(t) {
		for _, r := range l.Routes {
			if r.Public {
				public++
			}
		}
	}
	if public == 0 {
		t.Skip("no public route")
	}
	env := get(tpl.root, "Globals", "Function", "Environment", "Variables")
	if got := tagged(get(env, "OPENAGG_JWKS_URL"), "!Ref"); got != "JwksUrl" {
		t.Fatalf("OPENAGG_JWKS_URL is %q, want !Ref JwksUrl: %d public routes could not verify a bearer token", str(get(env, "OPENAGG_JWKS_URL")), public)
	}
	p := get(tpl.root, "Parameters", "JwksUrl")
	if p == nil || get(p, "Default") != nil {
		t.Error("parameter JwksUrl must exist and be required (no Default)")
	}
}

// TestSecretParameters: provider secrets are passed as a Secrets Manager
// ARN, never as plain text: the parameter's pattern takes an ARN or
// nothing.
func TestSecretParameters(t *testing.T) {
	_, tpl := loadTemplate(t)
	pat := str(get(tpl.root, "Parameters", "ProviderSecretArn", "AllowedPattern"))
	re, err := regexp.Compile(pat)
	if pat == "" || err != nil {
		t.Fatalf("ProviderSecretArn needs an AllowedPattern (%q: %v)", pat, err)
	}
	for v, ok := range map[string]bool{
		"": true,
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:openagg/dev/saltedge-AbCdEf": true,
		"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:s-1":                     true,
		`{"saltedgeAppId":"x","saltedgeSecret":"y"}`:                                       false,
		"openagg/dev/saltedge": false,
		"s3cr3t":               false,
	} {
		if re.MatchString(v) != ok {
			t.Errorf("ProviderSecretArn pattern matches %q: %v, want %v", v, !ok, ok)
		}
	}
	for _, name := range []string{"JwtIssuer", "JwksUrl"} {
		pat := str(get(tpl.root, "Parameters", name, "AllowedPattern"))
		if re, err := regexp.Compile(pat); pat == "" || err != nil || re.MatchString("http://idp.example.com/") || !re.MatchString("https://idp.example.com/") {
			t.Errorf("parameter %s: AllowedPattern %q must take https URLs only", name, pat)
		}
	}
}

// TestAlarms: every function has an alarm on its Errors, and the HTTP API
// one on its 5xx answers (an API function's failure is a 5xx response, not
// a function error).
func TestAlarms(t *testing.T) {
	_, tpl := loadTemplate(t)
	res := tpl.resources()
	has := func(namespace, metric, dim, ref string) bool {
		for _, r := range res {
			p := get(r, "Properties")
			if str(get(r, "Type")) != "AWS::CloudWatch::Alarm" || str(get(p, "Namespace")) != namespace || str(get(p, "MetricName")) != metric {
				continue
			}
			for _, d := range items(get(p, "Dimensions")) {
				if str(get(d, "Name")) == dim && tagged(get(d, "Value"), "!Ref") == ref {
					return true
				}
			}
		}
		return false
	}
	for name, l := range tpl.lambdas(t) {
		if !has("AWS/Lambda", "Errors", "FunctionName", l.LogicalID) {
			t.Errorf("function %s has no Errors alarm", name)
		}
	}
	if !has("AWS/ApiGateway", "5xx", "ApiId", "HttpApi") {
		t.Error("no alarm on the HTTP API's 5xx answers")
	}
}

func hasDLQAlarm(res map[string]*yaml.Node, dlq string) bool {
	for _, r := range res {
		if str(get(r, "Type")) != "AWS::CloudWatch::Alarm" {
			continue
		}
		for _, d := range items(get(r, "Properties", "Dimensions")) {
			if str(get(d, "Name")) == "QueueName" && tagged(get(d, "Value"), "!GetAtt") == dlq+".QueueName" {
				return true
			}
		}
	}
	return false
}

// camel turns a function name into its logical id prefix
// ("directory-loader" → "DirectoryLoader"), as the Makefile's awk does.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// TestCfnLint: cfn-lint must be clean. It is required under CI=true; on a
// laptop without it the test skips loudly.
func TestCfnLint(t *testing.T) {
	path, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is required under CI=true (pip install cfn-lint)")
		}
		t.Skip("SKIPPING CFN-LINT: cfn-lint is not on PATH (pip install cfn-lint); template.yaml is not linted")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "template.yaml")); err != nil {
		t.Fatalf("template.yaml: %v: run make template", err)
	}
	cmd := exec.Command(path, "template.yaml")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("cfn-lint template.yaml (%v):\n%s", err, out)
	}
}

// lambdaMainCall is the call functions/<name>/main.go must make: the
// function's name and the builders of what it serves (its groups in
// deploy.Functions, or the worker or schedule of that name), so that the
// binary links exactly those.
func lambdaMainCall(name string) string {
	var groups []string
	for _, f := range deploy.Functions() {
		if f.Name == name {
			groups = f.Groups
		}
	}
	if len(groups) == 0 {
		groups = []string{name}
	}
	args := []string{strconv.Quote(name)}
	for _, g := range groups {
		for _, p := range app.Parts() {
			if p.Name == g {
				fn := runtime.FuncForPC(reflect.ValueOf(p.Build).Pointer()).Name() // .../internal/app.PartyGroup
				args = append(args, "app."+fn[strings.LastIndex(fn, ".")+1:])
			}
		}
	}
	return "app.LambdaMain(" + strings.Join(args, ", ") + ")"
}

// mustWorkers builds every worker of a.
func mustWorkers(t testing.TB, a *app.App) []app.Worker {
	t.Helper()
	ws, err := a.Workers()
	if err != nil {
		t.Fatal(err)
	}
	return ws
}
