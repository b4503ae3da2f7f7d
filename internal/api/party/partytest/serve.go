package partytest

import (
	"net/http"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/platform"
)

// Serve returns a handler for another API group built on this
// environment's services (e.g. holdings), behind the same request id and
// authentication middleware as Handler, so that Token works with it.
func (e *Env) Serve(routes []platform.Route, render platform.ErrorRenderer) http.Handler {
	e.T.Helper()
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: e.key, Clock: e.Clock})
	if err != nil {
		e.T.Fatal(err)
	}
	mux, err := platform.Mux(routes, render)
	if err != nil {
		e.T.Fatal(err)
	}
	return platform.Chain(mux, platform.RequestIDMiddleware, authn.Middleware)
}
