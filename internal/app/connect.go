package app

import (
	"fmt"
	"net/http"

	"github.com/openagg/openagg/internal/api/aggregation"
	connectapi "github.com/openagg/openagg/internal/api/connect"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// connectGroup is the hosted connect page of the sandbox banks and the
// Salt Edge callbacks (public routes).
func (a *App) connectGroup() Group {
	render := func(w http.ResponseWriter, r *http.Request, err error) { aggregation.WriteError(w, r, a.Log, err) }
	return Group{Name: "connect", Render: render, Routes: func() []platform.Route {
		conns, err := a.Connections()
		sb, ok := a.Providers[sandbox.Name].(*sandbox.Provider)
		if err == nil && !ok {
			err = fmt.Errorf("connect group: provider %q is %T, not the sandbox", sandbox.Name, a.Providers[sandbox.Name])
		}
		if err != nil {
			a.Log.Error("connect group: services unavailable", "err", err)
			routes := connectapi.New(connectapi.Deps{Log: a.Log}).Routes()
			for i := range routes {
				routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
			}
			return routes
		}
		return connectapi.New(connectapi.Deps{
			Log: a.Log, Sessions: sb, Connections: conns,
			Verify: saltedge.VerifyCallback, CallbackPublicKey: a.Config.CallbackPublicKey, PublicURL: a.Config.PublicURL,
		}).Routes()
	}}
}
