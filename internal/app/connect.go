package app

import (
	"fmt"

	connectapi "github.com/openagg/openagg/internal/api/connect"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// connectGroup is the hosted connect page of the sandbox banks and the
// Salt Edge callbacks (public routes).
func (a *App) connectGroup() (Group, error) {
	conns, err := a.Connections()
	if err != nil {
		return Group{}, fmt.Errorf("connect group: %w", err)
	}
	sb, ok := a.Providers[sandbox.Name].(*sandbox.Provider)
	if !ok {
		return Group{}, fmt.Errorf("connect group: provider %q is %T, not the sandbox", sandbox.Name, a.Providers[sandbox.Name])
	}
	return Group{Name: "connect", Render: a.aggregationRender, Routes: connectapi.New(connectapi.Deps{
		Log: a.Log, Sessions: sb, Connections: conns,
		Verify: saltedge.VerifyCallback, CallbackPublicKey: a.Config.CallbackPublicKey, PublicURL: a.Config.PublicURL, Clock: a.Clock,
		FrameAncestors: a.Config.ConnectFrameAncestors, Application: a.Config.AppName,
	}).Routes()}, nil
}
