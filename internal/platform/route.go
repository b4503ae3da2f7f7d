package platform

import "net/http"

// Route is one endpoint of an API group. Every group exposes its []Route so
// that the local server, the Lambda adapters and the SAM template parity
// test all see the same list.
type Route struct {
	Method string // GET, POST, PUT, DELETE
	// Path uses net/http ServeMux wildcards exactly as API Gateway does:
	// /party/profiles/{partyid}/connections
	Path string
	// Public routes need no bearer token (API Gateway: Auth NONE).
	Public  bool
	Handler http.HandlerFunc
}

// Pattern is the ServeMux pattern of the route.
func (r Route) Pattern() string { return r.Method + " " + r.Path }
