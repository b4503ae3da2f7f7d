package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
)

// Group is one API group: one Lambda function in AWS, one set of routes on
// the local server.
type Group struct {
	Name   string // Lambda function name and `openagg invoke --function` name
	Routes func() []platform.Route
	// Render writes errors (404/405 from routing, panics) in the group's
	// dialect; nil means platform.RenderError.
	Render platform.ErrorRenderer
}

// Worker is one SQS-triggered function: Handler consumes Queue.
type Worker struct {
	Name    string // Lambda function name, e.g. "connection-sync"
	Queue   string // queue.Directory, queue.Connections or queue.Holdings
	Handler queue.SQSHandler
}

// Schedule is one periodic function (EventBridge rule in AWS, a ticker of
// Config.RefreshInterval in `openagg serve`).
type Schedule struct {
	Name string // Lambda function name, e.g. "refresh-scheduler"
	Run  func(ctx context.Context) error
}

// Groups lists every API group. Each group adds one line, calling the
// method of its own file internal/app/<group>.go.
func (a *App) Groups() []Group {
	return []Group{
		a.healthGroup(),
	}
}

// Workers lists every queue consumer. Each worker adds one line.
func (a *App) Workers() []Worker {
	return []Worker{}
}

// Schedules lists every periodic function. Each adds one line.
func (a *App) Schedules() []Schedule {
	return []Schedule{}
}

// Scheduler returns a function running every schedule once (what one tick
// of the local scheduler does), or nil when none is registered.
func (a *App) Scheduler() func(ctx context.Context) error {
	schedules := a.Schedules()
	if len(schedules) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		var errs []error
		for _, s := range schedules {
			if err := s.Run(ctx); err != nil {
				errs = append(errs, fmt.Errorf("schedule %s: %w", s.Name, err))
			}
		}
		return errors.Join(errs...)
	}
}

// Group returns the named group.
func (a *App) Group(name string) (Group, bool) {
	for _, g := range a.Groups() {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// Handler returns the http.Handler of a group: its routes on a ServeMux
// (404/405 in the group's dialect), wrapped in request id, access log,
// panic recovery and authentication. `openagg serve` and the Lambda mains
// use this same handler. It is built once per App and name.
func (a *App) Handler(name string) (http.Handler, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.handlers[name]; ok {
		return h, nil
	}
	g, ok := a.Group(name)
	if !ok {
		return nil, fmt.Errorf("unknown API group %q", name)
	}
	h, err := a.buildHandler(g)
	if err != nil {
		return nil, err
	}
	a.handlers[name] = h
	return h, nil
}

func (a *App) buildHandler(g Group) (http.Handler, error) {
	render := g.Render
	if render == nil {
		render = platform.RenderError
	}
	mux, err := platform.Mux(g.Routes(), render)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", g.Name, err)
	}
	return platform.Chain(mux,
		platform.RequestIDMiddleware,
		platform.AccessLog(a.Log, g.Name),
		platform.Recover(a.Log, render),
		a.Auth.Middleware,
	), nil
}
