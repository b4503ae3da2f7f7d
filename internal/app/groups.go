package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

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
	// Router serves the routes; nil means platform.Mux. A group whose
	// paths net/http's ServeMux cannot hold together (OBP 1.2) brings its
	// own; it is then mounted on its base paths only (see HandlerFor).
	Router func(routes []platform.Route, render platform.ErrorRenderer) (http.Handler, error)
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
		a.systemGroup(),
		a.partyGroup(),
		a.connectGroup(),
		a.holdingsGroup(),
		a.obpGroup(),
		a.customersGroup(),
		a.finapiGroup(),
	}
}

// Workers lists every queue consumer. Each worker adds one line.
func (a *App) Workers() []Worker {
	return []Worker{
		a.directoryLoader(),
		a.connectionSync(),
		a.holdingsImporter(),
	}
}

// Schedules lists every periodic function. Each adds one line.
func (a *App) Schedules() []Schedule {
	return []Schedule{
		a.refreshScheduler(),
	}
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

// GroupNames lists the names of every group.
func (a *App) GroupNames() []string {
	var names []string
	for _, g := range a.Groups() {
		names = append(names, g.Name)
	}
	return names
}

// Handler returns the http.Handler of one group: its routes on a ServeMux
// (404/405 in the group's dialect), wrapped in request id, access log,
// panic recovery and authentication. It is built once per App and name.
func (a *App) Handler(name string) (http.Handler, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.groupHandler(name)
}

func (a *App) groupHandler(name string) (http.Handler, error) {
	if h, ok := a.handlers[name]; ok {
		return h, nil
	}
	g, ok := a.Group(name)
	if !ok {
		return nil, fmt.Errorf("unknown API group %q (known: %s)", name, strings.Join(a.GroupNames(), ", "))
	}
	h, err := a.buildGroupHandler(g)
	if err != nil {
		return nil, err
	}
	a.handlers[name] = h
	return h, nil
}

func (a *App) buildGroupHandler(g Group) (http.Handler, error) {
	render := g.Render
	if render == nil {
		render = platform.RenderError
	}
	router := g.Router
	if router == nil {
		router = platform.Mux
	}
	mux, err := router(g.Routes(), render)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", g.Name, err)
	}
	return platform.Chain(mux,
		platform.RequestIDMiddleware,
		platform.BaseURLMiddleware,
		platform.AccessLog(a.Log, g.Name),
		platform.Recover(a.Log, render),
		a.Auth.Middleware,
		exactPaths(render),
	), nil
}

// exactPaths answers with a 404 in the group's dialect a path net/http's
// ServeMux would redirect to its clean form ("." or ".." segments,
// repeated slashes): API Gateway routes a path as sent, and a redirect (an
// HTML body) would send a client, a POST included, to another route than
// the one it named. So is a path that is not UTF-8 once decoded: it names
// nothing (every id is UTF-8, as the store's keys must be).
func exactPaths(render platform.ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := r.URL.EscapedPath(); r.Method != http.MethodConnect && (p != cleanPath(p) || !utf8.ValidString(r.URL.Path)) {
				render(w, r, platform.NotFound("NOT_FOUND", "no route for %s %s", r.Method, r.URL.Path))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cleanPath is net/http's canonical form of a request path (the one its
// ServeMux redirects to): rooted, no "." or ".." segment, no repeated
// slash, a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// HandlerFor serves several groups on one handler: `openagg serve` mounts
// every group (a.GroupNames()), a Lambda function the groups it serves.
// Each request goes to its group's Handler, so 404/405 under a group's base
// path (e.g. /obp/v1.2/) answer in that group's dialect; anything else gets
// platform.RenderError's 404.
func (a *App) HandlerFor(names []string) (http.Handler, error) {
	if len(names) == 1 {
		return a.Handler(names[0])
	}
	var gs []Group
	for _, name := range names {
		g, ok := a.Group(name)
		if !ok {
			return nil, fmt.Errorf("unknown API group %q (known: %s)", name, strings.Join(a.GroupNames(), ", "))
		}
		gs = append(gs, g)
	}
	return a.handlerForGroups(gs)
}

func (a *App) handlerForGroups(gs []Group) (http.Handler, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	top := http.NewServeMux()
	bases := map[string]http.Handler{} // mounted base paths ("/obp/v1.2/") → group
	for _, g := range gs {
		h, ok := a.handlers[g.Name]
		if !ok {
			var err error
			if h, err = a.buildGroupHandler(g); err != nil {
				return nil, err
			}
			a.handlers[g.Name] = h
		}
		for _, rt := range g.Routes() {
			if g.Router != nil {
				if base := basePath(rt.Path); base != "" && platform.Handle(top, base, h) == nil {
					bases[base] = h
				}
				continue
			}
			if err := platform.Handle(top, rt.Pattern(), h); err != nil {
				return nil, fmt.Errorf("mount group %s: %w", g.Name, err)
			}
			// Best effort: a path-only or base-path pattern that overlaps
			// another group's is skipped (that group keeps it).
			_ = platform.Handle(top, rt.Path, h)
			if base := basePath(rt.Path); base != "" && platform.Handle(top, base, h) == nil {
				bases[base] = h
			}
		}
	}
	notFound := platform.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		platform.RenderError(w, r, platform.NotFound("NOT_FOUND", "no route for %s %s", r.Method, r.URL.Path))
	}), platform.RequestIDMiddleware, platform.AccessLog(a.Log, "none"))
	_ = platform.Handle(top, "/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			top.ServeHTTP(w, r)
			return
		}
		// Where the ServeMux would redirect (a path to clean, or /a/b
		// to the mounted /a/b/), the group the path is under answers
		// its 404 (exactPaths), or the platform's outside every group.
		p := r.URL.EscapedPath()
		_, pattern := top.Handler(r)
		if _, patternPath, _ := strings.Cut(pattern, "/"); p == cleanPath(p) && "/"+patternPath != p+"/" {
			top.ServeHTTP(w, r)
			return
		}
		h, best := notFound, ""
		for base, gh := range bases {
			if strings.HasPrefix(p+"/", base) && len(base) > len(best) {
				h, best = gh, base
			}
		}
		h.ServeHTTP(w, r)
	}), nil
}

// basePath is the subtree pattern of a route's first two static segments
// ("/obp/v1.2/banks/{id}" → "/obp/v1.2/"), or "" when there are fewer.
func basePath(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) < 3 || strings.Contains(segs[0], "{") || strings.Contains(segs[1], "{") {
		return ""
	}
	return "/" + segs[0] + "/" + segs[1] + "/"
}
