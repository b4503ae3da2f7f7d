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

// Function resolves a function name: a worker (Workers), a schedule
// (Schedules), a deployed function serving API groups (deploy.Functions),
// or a single API group by its name.
func (a *App) Function(name string) (*Function, error) {
	for _, w := range a.Workers() {
		if w.Name == name {
			h := w.Handler
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
			}}, nil
		}
	}
	for _, s := range a.Schedules() {
		if s.Name == name {
			run := s.Run
			return &Function{Name: name, Kind: KindSchedule, invoke: func(ctx context.Context, event []byte) ([]byte, error) {
				var ev events.EventBridgeEvent
				if err := json.Unmarshal(event, &ev); err != nil {
					return nil, fmt.Errorf("%s: decode EventBridge event: %w", name, err)
				}
				if err := run(ctx); err != nil {
					return nil, err
				}
				return []byte("null"), nil
			}}, nil
		}
	}
	groups := a.functionGroups(name)
	if len(groups) == 0 {
		return nil, fmt.Errorf("unknown function %q (known: %s)", name, strings.Join(a.FunctionNames(), ", "))
	}
	h, err := a.HandlerFor(groups)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return &Function{Name: name, Kind: KindAPI, invoke: apiInvoke(name, h, a.slashRoutes(groups))}, nil
}

// slashRoutes maps the route keys API Gateway holds without their trailing
// slash (deploy.APIPath: "GET /obp/v1.2") to the path the group's router
// serves ("/obp/v1.2/").
func (a *App) slashRoutes(groups []string) map[string]string {
	m := map[string]string{}
	for _, name := range groups {
		g, ok := a.Group(name)
		if !ok {
			continue
		}
		for _, r := range g.Routes() {
			if p := deploy.APIPath(r.Path); p != r.Path {
				m[r.Method+" "+p] = r.Path
			}
		}
	}
	return m
}

// functionGroups returns the groups an API function serves: the deployed
// function's list, or the group of that name.
func (a *App) functionGroups(name string) []string {
	for _, f := range deploy.Functions() {
		if f.Name == name && len(f.Groups) > 0 {
			var present []string
			for _, g := range f.Groups {
				if _, ok := a.Group(g); ok {
					present = append(present, g)
				}
			}
			return present
		}
	}
	if _, ok := a.Group(name); ok {
		return []string{name}
	}
	return nil
}

// FunctionNames lists every name Function accepts.
func (a *App) FunctionNames() []string {
	var names []string
	for _, w := range a.Workers() {
		names = append(names, w.Name)
	}
	for _, s := range a.Schedules() {
		names = append(names, s.Name)
	}
	for _, f := range deploy.Functions() {
		if len(f.Groups) > 0 && len(a.functionGroups(f.Name)) > 0 {
			names = append(names, f.Name)
		}
	}
	names = append(names, a.GroupNames()...)
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
