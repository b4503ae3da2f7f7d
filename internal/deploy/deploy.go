// Package deploy renders the SAM template (template.yaml) from a static
// skeleton and the route tables of the API groups, so that the routes in the
// template are exactly the routes the handlers serve. The functions, their
// queues and their least-privilege permissions are declared here once.
package deploy

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"unicode"

	"github.com/openagg/openagg/internal/platform"
)

//go:embed template.yaml.tmpl
var skeleton string

// Queue is one SQS queue with its DLQ.
type Queue struct {
	Name              string // queue.Directory, ...
	LogicalID         string
	VisibilityTimeout int // seconds; > 6x the consumer's timeout (AWS guidance)
	MaxReceiveCount   int
}

// Function is one Lambda of the application.
type Function struct {
	Name        string // directory under functions/, and the invoke name
	LogicalID   string
	Description string
	// Groups are the API groups the function serves (empty for workers).
	Groups         []string
	Timeout        int
	MemorySize     int
	TableActions   []string
	SendsTo        []string // logical ids of queues it sends to
	UsesKMS        bool
	Queue          string // logical id of the queue it consumes
	BatchSize      int
	MaxConcurrency int
	Schedule       bool
}

var readWrite = []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "ConditionCheckItem"}

// Queues of the application.
func Queues() []Queue {
	return []Queue{
		{Name: "directory", LogicalID: "DirectoryQueue", VisibilityTimeout: 6 * 120, MaxReceiveCount: 5},
		{Name: "connections", LogicalID: "ConnectionsQueue", VisibilityTimeout: 6 * 120, MaxReceiveCount: 5},
		{Name: "holdings", LogicalID: "HoldingsQueue", VisibilityTimeout: 6 * 300, MaxReceiveCount: 5},
	}
}

// Functions of the application. An API group appears here once its routes
// exist; no function is deployed without real routes or a real consumer.
func Functions() []Function {
	return []Function{
		{Name: "party", LogicalID: "Party", Description: "Aggregation API - party profiles and connections", Groups: []string{"party"}, Timeout: 29, TableActions: readWrite, SendsTo: []string{"ConnectionsQueue", "HoldingsQueue"}},
		{Name: "system", LogicalID: "System", Description: "Aggregation API - bank directory and health", Groups: []string{"system", "health"}, Timeout: 29, TableActions: readWrite, SendsTo: []string{"DirectoryQueue"}},
		{Name: "holdings", LogicalID: "Holdings", Description: "Aggregation API - accounts and transactions import and reads", Groups: []string{"holdings"}, Timeout: 29, TableActions: readWrite, SendsTo: []string{"HoldingsQueue"}},
		{Name: "obp", LogicalID: "Obp", Description: "Open Bank Project 1.2 API", Groups: []string{"obp"}, Timeout: 29, MemorySize: 512, TableActions: readWrite},
		{Name: "connect", LogicalID: "Connect", Description: "Hosted connect page and provider callbacks", Groups: []string{"connect"}, Timeout: 29, TableActions: readWrite, SendsTo: []string{"ConnectionsQueue", "HoldingsQueue"}, UsesKMS: true},
		{Name: "directory-loader", LogicalID: "DirectoryLoader", Description: "Worker - loads the bank directory page by page", Timeout: 120, TableActions: readWrite, SendsTo: []string{"DirectoryQueue"}, Queue: "DirectoryQueue", BatchSize: 5, MaxConcurrency: 2},
		{Name: "connection-sync", LogicalID: "ConnectionSync", Description: "Worker - loads and refreshes connections", Timeout: 120, TableActions: readWrite, SendsTo: []string{"ConnectionsQueue", "HoldingsQueue"}, UsesKMS: true, Queue: "ConnectionsQueue", BatchSize: 10, MaxConcurrency: 5},
		{Name: "holdings-importer", LogicalID: "HoldingsImporter", Description: "Worker - imports accounts, balances and transactions in chunks", Timeout: 300, MemorySize: 512, TableActions: readWrite, SendsTo: []string{"HoldingsQueue"}, Queue: "HoldingsQueue", BatchSize: 1, MaxConcurrency: 10},
		{Name: "refresh-scheduler", LogicalID: "RefreshScheduler", Description: "Scheduled - enqueues refresh jobs for due connections", Timeout: 60, TableActions: []string{"Query", "GetItem", "UpdateItem", "PutItem"}, SendsTo: []string{"ConnectionsQueue"}, Schedule: true},
	}
}

// RouteEvent is one HttpApi event of a function.
type RouteEvent struct {
	EventID string
	Method  string
	Path    string
	Public  bool
}

type renderFunction struct {
	Function
	Routes []RouteEvent
}

// Render produces template.yaml. routes maps an API group name to its routes;
// every group named by a function must be present.
func Render(routes map[string][]platform.Route) ([]byte, error) {
	var fns []renderFunction
	for _, f := range Functions() {
		rf := renderFunction{Function: f}
		for _, g := range f.Groups {
			rs, ok := routes[g]
			if !ok {
				return nil, fmt.Errorf("render template: function %s serves group %q which has no routes", f.Name, g)
			}
			for _, r := range rs {
				rf.Routes = append(rf.Routes, RouteEvent{EventID: EventID(r.Method, r.Path), Method: strings.ToLower(r.Method), Path: r.Path, Public: r.Public})
			}
		}
		sort.Slice(rf.Routes, func(i, j int) bool { return rf.Routes[i].EventID < rf.Routes[j].EventID })
		for i := 1; i < len(rf.Routes); i++ {
			if rf.Routes[i].EventID == rf.Routes[i-1].EventID {
				return nil, fmt.Errorf("render template: duplicate route event %s in %s", rf.Routes[i].EventID, f.Name)
			}
		}
		fns = append(fns, rf)
	}
	t, err := template.New("template.yaml").Parse(skeleton)
	if err != nil {
		return nil, fmt.Errorf("parse template skeleton: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]any{"Queues": Queues(), "Functions": fns}); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	return buf.Bytes(), nil
}

// EventID names a route event: the method and every path segment in
// CamelCase, alphanumerics only (CloudFormation logical id rules).
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
