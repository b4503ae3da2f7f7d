package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/queue"
)

// Function is one Lambda handler, built once (at cold start) and invoked
// per event. It satisfies aws-lambda-go's lambda.Handler.
type Function struct {
	Name string
	Kind string // "api", "worker" or "schedule"
	// Invoke handles one raw event and returns the raw response:
	// api: events.APIGatewayV2HTTPRequest → events.APIGatewayV2HTTPResponse,
	// worker: events.SQSEvent → events.SQSEventResponse,
	// schedule: events.EventBridgeEvent → null.
	invoke func(ctx context.Context, event []byte) ([]byte, error)
}

// Invoke runs the function on one event.
func (f *Function) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	return f.invoke(ctx, event)
}

// Function kinds.
const (
	KindAPI      = "api"
	KindWorker   = "worker"
	KindSchedule = "schedule"
)

// Function resolves a function name: a deployed function serving API
// groups (deploy.Functions), a worker, a schedule, or a single API group by
// its name. It builds what the function serves (FunctionOf).
func (a *App) Function(name string) (*Function, error) {
	var builds []PartFunc
	for _, f := range deploy.Functions() {
		if f.Name == name && len(f.Groups) > 0 {
			for _, g := range f.Groups {
				p, ok := partNamed(g)
				if !ok || p.Kind != KindAPI {
					return nil, fmt.Errorf("function %s: unknown API group %q", name, g)
				}
				builds = append(builds, p.Build)
			}
		}
	}
	if builds == nil {
		p, ok := partNamed(name)
		if !ok {
			return nil, fmt.Errorf("unknown function %q (known: %s)", name, strings.Join(FunctionNames(), ", "))
		}
		builds = []PartFunc{p.Build}
	}
	return a.FunctionOf(name, builds...)
}

// FunctionOf builds the function name from its parts: API groups (one
// handler serving them all), or one worker, or one schedule. What the
// Lambda mains start.
func (a *App) FunctionOf(name string, builds ...PartFunc) (*Function, error) {
	if len(builds) == 0 {
		return nil, fmt.Errorf("function %s: serves nothing", name)
	}
	parts := make([]Part, len(builds))
	for i, build := range builds {
		p, err := build(a)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		parts[i] = p
	}
	switch first := parts[0]; {
	case first.Worker != nil && len(parts) == 1:
		return workerFunction(name, first.Worker.Handler), nil
	case first.Schedule != nil && len(parts) == 1:
		return scheduleFunction(name, first.Schedule.Run), nil
	}
	groups := make([]Group, len(parts))
	for i, p := range parts {
		if p.Group == nil {
			return nil, fmt.Errorf("function %s: a worker or schedule serves alone, not beside API groups", name)
		}
		groups[i] = *p.Group
	}
	h, err := a.handlerForGroups(groups)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return &Function{Name: name, Kind: KindAPI, invoke: apiInvoke(name, h, slashRoutes(groups))}, nil
}

func workerFunction(name string, h queue.SQSHandler) *Function {
	return &Function{Name: name, Kind: KindWorker, invoke: func(ctx context.Context, event []byte) ([]byte, error) {
		var ev events.SQSEvent
		if err := json.Unmarshal(event, &ev); err != nil {
			return nil, fmt.Errorf("%s: decode SQS event: %w", name, err)
		}
		resp, err := h(ctx, ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	}}
}

func scheduleFunction(name string, run func(context.Context) error) *Function {
	return &Function{Name: name, Kind: KindSchedule, invoke: func(ctx context.Context, event []byte) ([]byte, error) {
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(event, &ev); err != nil {
			return nil, fmt.Errorf("%s: decode EventBridge event: %w", name, err)
		}
		if err := run(ctx); err != nil {
			return nil, err
		}
		return []byte("null"), nil
	}}
}

// slashRoutes maps the route keys API Gateway holds without their trailing
// slash (deploy.APIPath: "GET /obp/v1.2") to the path the group's router
// serves ("/obp/v1.2/").
func slashRoutes(groups []Group) map[string]string {
	m := map[string]string{}
	for _, g := range groups {
		for _, r := range g.Routes {
			if p := deploy.APIPath(r.Path); p != r.Path {
				m[r.Method+" "+p] = r.Path
			}
		}
	}
	return m
}

// FunctionNames lists every name Function accepts.
func FunctionNames() []string {
	var names []string
	for _, f := range deploy.Functions() {
		names = append(names, f.Name)
	}
	for _, p := range Parts() {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// apiInvoke adapts an http.Handler to API Gateway HTTP API payload v2
// events with aws-lambda-go-api-proxy, exactly as in Lambda: the request
// context (and its authorizer claims) reaches the handler's context. A
// request of a route declared without its trailing slash (slash: route
// key → router path) gets the router's path back.
func apiInvoke(name string, h http.Handler, slash map[string]string) func(ctx context.Context, event []byte) ([]byte, error) {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, event []byte) ([]byte, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(event, &ev); err != nil {
			return nil, fmt.Errorf("%s: decode API Gateway v2 event: %w", name, err)
		}
		if p, ok := slash[ev.RouteKey]; ok && ev.RawPath+"/" == p {
			ev.RawPath, ev.RequestContext.HTTP.Path = p, p
		}
		resp, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return json.Marshal(resp)
	}
}

// Invoke runs function fn once on event (raw JSON) and returns its raw
// JSON response: what `openagg invoke` prints and what Lambda receives.
func (a *App) Invoke(ctx context.Context, fn string, event []byte) ([]byte, error) {
	f, err := a.Function(fn)
	if err != nil {
		return nil, err
	}
	return f.Invoke(ctx, event)
}
