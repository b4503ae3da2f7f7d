package obp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/platform"
)

// Router serves routes the way API Gateway matches them: segment by
// segment, a literal segment beats a {wildcard} at the first position where
// two routes differ. OBP 1.2 needs this: .../accounts/ACCOUNT_ID/permissions/USER_ID
// and .../accounts/ACCOUNT_ID/VIEW_ID/account both match
// .../accounts/a/permissions/account, which net/http's ServeMux refuses to
// register (and platform.Mux reports as a conflict). Path values are set on
// the request (r.PathValue works as with ServeMux). Unknown paths are 404,
// known paths with another method 405 with Allow, both rendered by render.
func Router(routes []platform.Route, render platform.ErrorRenderer) (http.Handler, error) {
	if render == nil {
		render = platform.RenderError
	}
	rt := &router{render: render}
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Handler == nil {
			return nil, fmt.Errorf("route %s has no handler", r.Pattern())
		}
		segs, err := parsePattern(r.Path)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Pattern(), err)
		}
		shape := r.Method + " " + shapeOf(segs)
		if seen[shape] {
			return nil, fmt.Errorf("route %s: another route has the same method and shape", r.Pattern())
		}
		seen[shape] = true
		rt.routes = append(rt.routes, compiled{method: r.Method, segs: segs, handler: r.Handler})
	}
	return rt, nil
}

type segment struct {
	literal  string
	wildcard string // name when the segment is {name}
}

type compiled struct {
	method  string
	segs    []segment
	handler http.Handler
}

type router struct {
	routes []compiled
	render platform.ErrorRenderer
}

func parsePattern(path string) ([]segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path must start with /")
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			name := p[1 : len(p)-1]
			if name == "" || strings.ContainsAny(name, "{}.$") {
				return nil, fmt.Errorf("bad wildcard %q", p)
			}
			segs[i] = segment{wildcard: name}
			continue
		}
		if strings.ContainsAny(p, "{}") {
			return nil, fmt.Errorf("bad segment %q", p)
		}
		segs[i] = segment{literal: p}
	}
	return segs, nil
}

func shapeOf(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.wildcard != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(s.literal)
		}
	}
	return b.String()
}

// match reports whether parts match the route's segments.
func (c compiled) match(parts []string) bool {
	if len(parts) != len(c.segs) {
		return false
	}
	for i, s := range c.segs {
		if s.wildcard == "" && s.literal != parts[i] {
			return false
		}
		if s.wildcard != "" && parts[i] == "" {
			return false
		}
	}
	return true
}

// moreSpecific reports whether a beats b: a literal where b has a wildcard
// at the first segment where they differ in kind.
func moreSpecific(a, b compiled) bool {
	for i := range a.segs {
		al, bl := a.segs[i].wildcard == "", b.segs[i].wildcard == ""
		if al != bl {
			return al
		}
	}
	return false
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	parts := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			rt.render(w, r, platform.NotFound(obperr.CodeInvalidURI, "404 Not Found. The server could not find the requested URI."))
			return
		}
		parts[i] = u
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var best *compiled
	var allow []string
	for i := range rt.routes {
		c := &rt.routes[i]
		if !c.match(parts) {
			continue
		}
		if !slices.Contains(allow, c.method) {
			allow = append(allow, c.method)
		}
		if c.method != method {
			continue
		}
		if best == nil || moreSpecific(*c, *best) {
			best = c
		}
	}
	if best == nil {
		if len(allow) == 0 {
			rt.render(w, r, platform.NotFound(obperr.CodeInvalidURI, "404 Not Found. The server could not find the requested URI."))
			return
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		rt.render(w, r, platform.Errorf(http.StatusMethodNotAllowed, obperr.CodeMethodNotAllowed, "Method %s is not allowed on %s.", r.Method, r.URL.Path))
		return
	}
	for i, s := range best.segs {
		if s.wildcard != "" {
			r.SetPathValue(s.wildcard, parts[i])
		}
	}
	best.handler.ServeHTTP(w, r)
}
