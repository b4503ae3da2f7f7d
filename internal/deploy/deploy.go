// Package deploy renders the SAM template (template.yaml) from a static
// skeleton and the route tables of the API groups, so that the routes in the
// template are exactly the routes the handlers serve. The functions, their
// queues, their consumers and their least-privilege permissions are
// declared here once; the table's keys come from the DynamoDB driver
// (dynamo.TableSchema). `openagg setup` creates the table and the queues
// from the same definitions.
package deploy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store/dynamo"
)

//go:embed template.yaml.tmpl
var skeleton string

// StagePattern is what a stage name must match: the template's Stage
// parameter and `openagg setup --stage` check it.
const StagePattern = "^[a-z][a-z0-9-]{0,15}$"

// TableName is the name of the stage's table ("${Stage}" gives the
// template's !Sub form).
func TableName(stage string) string { return "openagg-" + stage }

// Queue is one SQS queue with its DLQ.
type Queue struct {
	Name              string // queue.Directory, ...
	LogicalID         string
	VisibilityTimeout int // seconds; > 6x the consumer's timeout (AWS guidance)
	MaxReceiveCount   int
	Retention         int // seconds a message is kept
	DLQRetention      int // seconds a dead letter is kept (SQS's maximum)
}

// QueueName is the queue's name in a stage ("${Stage}" gives the
// template's !Sub form).
func (q Queue) QueueName(stage string) string { return "openagg-" + stage + "-" + q.Name }

// DLQName is the name of the queue's dead-letter queue in a stage.
func (q Queue) DLQName(stage string) string { return q.QueueName(stage) + "-dlq" }

// OutputPrefix names the queue's stack outputs ("DirectoryQueue" →
// "DirectoryDLQUrl").
func (q Queue) OutputPrefix() string { return strings.TrimSuffix(q.LogicalID, "Queue") }

// Function is one Lambda of the application.
type Function struct {
	Name        string // directory under functions/, and the invoke name
	LogicalID   string
	Description string
	// Groups are the API groups the function serves (empty for workers).
	Groups       []string
	Timeout      int
	MemorySize   int
	TableActions []string
	SendsTo      []string // logical ids of queues it sends to
	// UsesKMS grants the credentials key (the finAPI group seals and
	// opens stored bank PINs).
	UsesKMS        bool
	Queue          string // logical id of the queue it consumes
	BatchSize      int
	MaxConcurrency int
	Schedule       bool
}

// DynamoDB actions, as the dynamo driver (internal/store/dynamo) calls
// them: Update is a version-guarded PutItem (never UpdateItem), Transact is
// TransactWriteItems, which IAM authorises per op (PutItem, DeleteItem,
// ConditionCheckItem). Each function gets the actions of its own code paths
// (TestEvents records them through the real handlers). readPut: reads and
// conditional writes (Put, Update, transactions of puts).
func readPut(more ...string) []string {
	return append([]string{"GetItem", "BatchGetItem", "Query", "PutItem"}, more...)
}

// readWriteDelete: readPut and deletes (single, transactional, batched).
func readWriteDelete() []string { return readPut("DeleteItem", "BatchWriteItem") }

// Recursive reports whether the function sends jobs to the queue it
// consumes (a directory load page by page, an import chunk by chunk). Lambda
// stops such a chain after about 16 hops as a suspected loop unless the
// function allows it (RecursiveLoop: Allow); these chains end by design.
func (f Function) Recursive() bool {
	return f.Queue != "" && slices.Contains(f.SendsTo, f.Queue)
}

// Message retention: four days on a queue, fourteen (SQS's maximum) on a
// dead-letter queue, so an operator has time to look.
const (
	queueRetention = 4 * 24 * 3600
	dlqRetention   = 14 * 24 * 3600
)

// Queues of the application. `openagg setup` creates them from here, as
// the template declares them.
func Queues() []Queue {
	return []Queue{
		{Name: "directory", LogicalID: "DirectoryQueue", VisibilityTimeout: 6 * 120, MaxReceiveCount: 5, Retention: queueRetention, DLQRetention: dlqRetention},
		{Name: "connections", LogicalID: "ConnectionsQueue", VisibilityTimeout: 6 * 120, MaxReceiveCount: 5, Retention: queueRetention, DLQRetention: dlqRetention},
		{Name: "holdings", LogicalID: "HoldingsQueue", VisibilityTimeout: 6 * 300, MaxReceiveCount: 5, Retention: queueRetention, DLQRetention: dlqRetention},
		{Name: "activity", LogicalID: "ActivityQueue", VisibilityTimeout: 6 * 60, MaxReceiveCount: 5, Retention: queueRetention, DLQRetention: dlqRetention},
		{Name: "webhooks", LogicalID: "WebhooksQueue", VisibilityTimeout: 6 * 60, MaxReceiveCount: 5, Retention: queueRetention, DLQRetention: dlqRetention},
	}
}

// Consumer is how a worker consumes its queue: the event source mapping
// and redrive policy of the template. `openagg serve` applies the same to
// the embedded queue and to SQS, so a worker meets the same batches,
// deadline and retries wherever it runs.
type Consumer struct {
	Function       string // the worker function, e.g. "holdings-importer"
	Queue          string // the queue name, e.g. "holdings"
	BatchSize      int
	MaxConcurrency int // Lambda's cap on concurrent batches (the whole fleet)
	// Timeout is the function's timeout: the deadline of one batch.
	Timeout time.Duration
	// VisibilityTimeout is the queue's: how long a received message stays
	// invisible to other consumers.
	VisibilityTimeout time.Duration
	// MaxReceiveCount: receives after which SQS moves a failing message to
	// the dead-letter queue.
	MaxReceiveCount int
}

// Consumers lists the consumer of every queue, from Functions and Queues.
func Consumers() []Consumer {
	var out []Consumer
	for _, f := range Functions() {
		if f.Queue == "" {
			continue
		}
		for _, q := range Queues() {
			if q.LogicalID == f.Queue {
				out = append(out, Consumer{
					Function: f.Name, Queue: q.Name, BatchSize: f.BatchSize, MaxConcurrency: f.MaxConcurrency,
					Timeout:           time.Duration(f.Timeout) * time.Second,
					VisibilityTimeout: time.Duration(q.VisibilityTimeout) * time.Second,
					MaxReceiveCount:   q.MaxReceiveCount,
				})
			}
		}
	}
	return out
}

// ConsumerOf returns the consumer of the named queue.
func ConsumerOf(queueName string) (Consumer, bool) {
	for _, c := range Consumers() {
		if c.Queue == queueName {
			return c, true
		}
	}
	return Consumer{}, false
}

// Functions of the application. An API group appears here once its routes
// exist; no function is deployed without real routes or a real consumer.
func Functions() []Function {
	return []Function{
		// Profiles and connections; the removal deletes the connection's
		// data (batches) and, after a lost creation race, the provider
		// customer. Load and refresh requests go to the connections queue.
		{Name: "party", LogicalID: "Party", Description: "Aggregation API - party profiles and connections", Groups: []string{"party"}, Timeout: 29,
			TableActions: readWriteDelete(), SendsTo: []string{"ConnectionsQueue", "ActivityQueue"}},
		// Directory reads, access switch (transaction of puts), load start;
		// webhook endpoints: conditional puts, deletes, the attempts query;
		// a new endpoint's signing secret is sealed with the credentials key.
		{Name: "system", LogicalID: "System", Description: "Aggregation API - bank directory, webhook endpoints and health", Groups: []string{"system", "health"}, Timeout: 29,
			TableActions: readPut("DeleteItem"), SendsTo: []string{"DirectoryQueue"}, UsesKMS: true},
		// Account and transaction reads; the import start writes the run.
		{Name: "holdings", LogicalID: "Holdings", Description: "Aggregation API - accounts and transactions import and reads", Groups: []string{"holdings"}, Timeout: 29,
			TableActions: readPut(), SendsTo: []string{"HoldingsQueue", "ActivityQueue"}},
		// Views, permissions and metadata: puts, deletes, transactions of both.
		{Name: "obp", LogicalID: "Obp", Description: "Open Bank Project 1.2 API", Groups: []string{"obp"}, Timeout: 29, MemorySize: 512,
			TableActions: readPut("DeleteItem")},
		// OBP 1.4.0/2.0.0/2.1.0 roles: a grant reads the granter's stored
		// roles (Get, BatchGet) and the bank (BatchGet) and puts the grant;
		// a list queries the user's partition; a delete also queries GSI1
		// for an id held by another user, then deletes. Customers, links
		// and handles: one BatchGet, a query of the caller's roles, one
		// transaction of conditional puts (or a Put); CRM events query the
		// customers' partitions or GSI1.
		{Name: "customers", LogicalID: "Customers", Description: "Open Bank Project 1.4.0/2.0.0/2.1.0 API - customers, links, social media handles, CRM events, roles", Groups: []string{"customers"}, Timeout: 29,
			TableActions: readPut("DeleteItem")},
		// The sandbox login checks, in its transaction, that the customer
		// still exists (ConditionCheckItem); a finished connect queues the
		// import, a provider callback a connection sync.
		{Name: "connect", LogicalID: "Connect", Description: "Hosted connect page and provider callbacks", Groups: []string{"connect"}, Timeout: 29,
			TableActions: readPut("ConditionCheckItem"), SendsTo: []string{"ConnectionsQueue", "HoldingsQueue", "ActivityQueue"}},
		// finAPI: an import creates the party's profile (transaction of
		// puts) and logs in at the sandbox (its transaction checks the
		// customer: ConditionCheckItem), queues the download; a deletion
		// removes the connection's data (batches); stored PINs are sealed
		// and opened with the credentials key.
		{Name: "finapi", LogicalID: "Finapi", Description: "finAPI v1 API - bank connections, banks, accounts, transactions, categories", Groups: []string{"finapi"}, Timeout: 29,
			TableActions: append(readWriteDelete(), "ConditionCheckItem"), SendsTo: []string{"HoldingsQueue", "ActivityQueue"}, UsesKMS: true},
		{Name: "directory-loader", LogicalID: "DirectoryLoader", Description: "Worker - loads the bank directory page by page", Timeout: 120,
			TableActions: readPut(), SendsTo: []string{"DirectoryQueue"}, Queue: "DirectoryQueue", BatchSize: 5, MaxConcurrency: 2},
		{Name: "connection-sync", LogicalID: "ConnectionSync", Description: "Worker - loads and refreshes connections", Timeout: 120,
			TableActions: readPut(), SendsTo: []string{"HoldingsQueue", "ActivityQueue"}, Queue: "ConnectionsQueue", BatchSize: 10, MaxConcurrency: 5},
		// Batched writes of accounts and transactions; a step that finds its
		// connection removed meanwhile sweeps what it wrote (query, deletes);
		// a run's first claim checks in its transaction that the connection
		// exists (ConditionCheckItem).
		{Name: "holdings-importer", LogicalID: "HoldingsImporter", Description: "Worker - imports accounts, balances and transactions in chunks", Timeout: 300, MemorySize: 512,
			TableActions: append(readWriteDelete(), "ConditionCheckItem"), SendsTo: []string{"HoldingsQueue", "ActivityQueue"}, Queue: "HoldingsQueue", BatchSize: 1, MaxConcurrency: 10},
		// Reads the owner's links at the bank, writes one CRM event per
		// linked customer (a transaction of conditional puts); reads the
		// webhook endpoints and queues a delivery per subscribed one.
		{Name: "activity-recorder", LogicalID: "ActivityRecorder", Description: "Worker - records what happens to connections (OBP CRM events) and queues webhooks", Timeout: 60,
			TableActions: []string{"BatchGetItem", "PutItem", "Query"}, SendsTo: []string{"WebhooksQueue"}, Queue: "ActivityQueue", BatchSize: 10, MaxConcurrency: 2},
		// Reads the endpoint, opens its secret (the credentials key), posts,
		// records the attempt, queues the next one (a wait longer than SQS
		// delays is a chain of re-queued messages). Batches of 5 within the
		// timeout: each post is bounded by 10 s.
		{Name: "webhooks", LogicalID: "Webhooks", Description: "Worker - delivers signed webhooks (Standard Webhooks) with retries", Timeout: 60,
			TableActions: []string{"GetItem", "PutItem"}, SendsTo: []string{"WebhooksQueue"}, UsesKMS: true, Queue: "WebhooksQueue", BatchSize: 5, MaxConcurrency: 5},
		// Reads the refresh index and advances each due connection.
		{Name: "refresh-scheduler", LogicalID: "RefreshScheduler", Description: "Scheduled - enqueues refresh jobs for due connections", Timeout: 60,
			TableActions: []string{"Query", "PutItem"}, SendsTo: []string{"ConnectionsQueue", "ActivityQueue"}, Schedule: true},
	}
}

// Operation is one route of the HttpApi's OpenAPI definition.
type Operation struct {
	Method      string // lower case, as OpenAPI writes it
	OperationID string // EventID of the method and path
	Function    string // logical id prefix of the function it invokes
	Public      bool
	Params      []string // path parameters, in order
}

// Path is one path of the OpenAPI definition with its operations.
type Path struct {
	Path string
	Ops  []Operation
}

type renderFunction struct {
	Function
	// InvokedAt are the SourceArn suffixes (after "<api>/<stage>/<method>")
	// of the function's invoke permissions: one per first path segment.
	InvokedAt []string
}

// Render produces template.yaml. routes maps an API group name to its routes;
// every group named by a function must be present.
func Render(routes map[string][]platform.Route) ([]byte, error) {
	var fns []renderFunction
	byPath := map[string]*Path{}
	var all []string // every route path of the one HttpApi
	for _, f := range Functions() {
		rf := renderFunction{Function: f}
		prefixes := map[string]bool{}
		for _, g := range f.Groups {
			rs, ok := routes[g]
			if !ok {
				return nil, fmt.Errorf("render template: function %s serves group %q which has no routes", f.Name, g)
			}
			for _, r := range rs {
				path := APIPath(r.Path)
				all = append(all, path)
				p := byPath[path]
				if p == nil {
					p = &Path{Path: path}
					byPath[path] = p
				}
				method := strings.ToLower(r.Method)
				for _, op := range p.Ops {
					if op.Method == method {
						return nil, fmt.Errorf("render template: route %s %s is served by both %s and %s", r.Method, path, op.Function, f.LogicalID)
					}
				}
				p.Ops = append(p.Ops, Operation{Method: method, OperationID: EventID(r.Method, path), Function: f.LogicalID, Public: r.Public, Params: pathParams(path)})
				prefixes[invokePrefix(path)] = true
			}
		}
		for p := range prefixes {
			rf.InvokedAt = append(rf.InvokedAt, p)
		}
		sort.Strings(rf.InvokedAt)
		fns = append(fns, rf)
	}
	if err := CheckRouteTree(all); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	paths := make([]Path, 0, len(byPath))
	for _, p := range byPath {
		sort.Slice(p.Ops, func(i, j int) bool { return p.Ops[i].Method < p.Ops[j].Method })
		paths = append(paths, *p)
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i].Path < paths[j].Path })
	t, err := template.New("template.yaml").Parse(skeleton)
	if err != nil {
		return nil, fmt.Errorf("parse template skeleton: %w", err)
	}
	var buf bytes.Buffer
	data := map[string]any{
		"Queues": Queues(), "Functions": fns, "Paths": paths,
		"Table": dynamo.TableSchema(), "TableName": TableName("${Stage}"), "StagePattern": StagePattern,
	}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	return buf.Bytes(), nil
}

// pathParams lists the {name} segments of a path.
func pathParams(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// invokePrefix is the part of an invoke permission's SourceArn after
// "<api>/<stage>/<method>" that covers path: "/party/*" for a path under
// /party, "/health" for /health itself.
func invokePrefix(path string) string {
	first, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if rest == "" {
		return "/" + first
	}
	return "/" + first + "/*"
}

// APIPath is the path of a route as the HttpApi declares it. API Gateway
// refuses route keys ending in "/", so a route like OBP's root
// "/obp/v1.2/" is declared as "/obp/v1.2"; the Lambda adapter gives such a
// request its router's path back (app.Function).
func APIPath(path string) string {
	if len(path) > 1 {
		return strings.TrimSuffix(path, "/")
	}
	return path
}

// CheckRouteTree reports what API Gateway would refuse in a set of HttpApi
// route paths: at one level of the route tree (the segments before it
// equal, variables counted as equal), variables of different names
// ("/system/banks/{bankcode}/..." beside "/system/banks/{bankid}": a
// ConflictException at deployment), and paths ending in "/".
func CheckRouteTree(paths []string) error {
	names := map[string]map[string]bool{} // parent shape → variable names
	var errs []string
	for _, p := range paths {
		if len(p) > 1 && strings.HasSuffix(p, "/") {
			errs = append(errs, fmt.Sprintf("route path %s ends in /", p))
		}
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		var parent strings.Builder
		for _, seg := range segs {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				k := parent.String()
				if names[k] == nil {
					names[k] = map[string]bool{}
				}
				names[k][seg] = true
				parent.WriteString("/{}")
				continue
			}
			parent.WriteString("/" + seg)
		}
	}
	parents := make([]string, 0, len(names))
	for k := range names {
		parents = append(parents, k)
	}
	sort.Strings(parents)
	for _, k := range parents {
		if len(names[k]) > 1 {
			vars := make([]string, 0, len(names[k]))
			for v := range names[k] {
				vars = append(vars, v)
			}
			sort.Strings(vars)
			errs = append(errs, fmt.Sprintf("routes under %s/ name the same path segment %s: API Gateway allows one variable name per level", k, strings.Join(vars, " and ")))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// EventID names a route (its OpenAPI operationId): the method and every
// path segment in CamelCase, alphanumerics only.
func EventID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(method[:1]) + strings.ToLower(method[1:]))
	for _, seg := range strings.Split(path, "/") {
		upper := true
		for _, r := range seg {
			switch {
			case r == '{' || r == '}':
				if r == '{' {
					b.WriteString("By")
				}
				upper = true
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				if upper {
					r = unicode.ToUpper(r)
					upper = false
				}
				b.WriteRune(r)
			default:
				upper = true
			}
		}
	}
	return b.String()
}
