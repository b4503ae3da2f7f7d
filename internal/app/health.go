package app

import (
	"errors"
	"net/http"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/openapi"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// healthKey is read (and never written) to prove the store answers.
var healthKey = store.Key{PK: "HEALTH", SK: "HEALTH"}

// healthGroup: GET /health (public liveness with a store round trip),
// GET /whoami (private: shows the principal the service sees, to check a
// token end to end) and GET /openapi/<name>.json (the API documents).
func (a *App) healthGroup() (Group, error) {
	routes := []platform.Route{
		{Method: http.MethodGet, Path: "/health", Public: true, Handler: a.health},
		{Method: http.MethodGet, Path: "/whoami", Handler: a.whoami},
	}
	// The OpenAPI documents of every dialect (public: clients and API
	// explorers read them without a token).
	for _, name := range openapi.Names() {
		routes = append(routes, platform.Route{Method: http.MethodGet, Path: "/openapi/" + name + ".json", Public: true, Handler: openapi.Handler(name)})
	}
	return Group{Name: "health", Routes: routes}, nil
}

// health answers 200 after a store round trip, 503 if the store fails.
func (a *App) health(w http.ResponseWriter, r *http.Request) {
	if _, err := a.Store.Get(r.Context(), healthKey); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.Log.ErrorContext(r.Context(), "health: store unavailable", "err", err, "requestId", platform.RequestID(r.Context()))
		platform.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "version": platform.Version})
		return
	}
	platform.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": platform.Version})
}

type whoamiResponse struct {
	Subject  string   `json:"sub"`
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Roles    []string `json:"roles"`
}

func (a *App) whoami(w http.ResponseWriter, r *http.Request) {
	p, err := authn.Require(r.Context())
	if err != nil {
		status, code, message := aggregation.Resolve(err)
		platform.RenderError(w, r, &platform.Error{Status: status, Code: code, Message: message, Err: err})
		return
	}
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	platform.WriteJSON(w, http.StatusOK, whoamiResponse{Subject: p.Subject, Name: p.Name, Provider: p.Provider, Roles: roles})
}
