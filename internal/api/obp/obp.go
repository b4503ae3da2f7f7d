// Package obp serves the Open Bank Project API 1.2 (/obp/v1.2): banks,
// accounts, views, permissions, other accounts and their metadata,
// transactions and transaction metadata (shared/contracts/obp.md).
//
// A request reads what it needs through the account query
// (internal/account): one BatchGet (the bank's directory records, the
// account, its ACL, other-account metadata, the other account's directory
// entry, the transaction and its metadata on the view) and at most one
// query (a page of transactions by date, or of the account's counterparty
// directory); the view package decides access, moderation (moderate.go)
// turns data into OBP JSON, errors are rendered in OBP's {"code","message"}
// format by Render (api/obperr).
package obp

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

// Prefix is the base path of the API.
const Prefix = "/obp/v1.2"

// HostedBy is the root endpoint's "hosted_by".
type HostedBy struct {
	Organisation string
	Email        string
	Phone        string
}

// Deps are what the API needs.
type Deps struct {
	// Accounts is the account query: banks, accounts as seen through
	// views, their transactions and other accounts.
	Accounts *account.Service
	Views    *view.Service
	Metadata *metadata.Service
	Log      *slog.Logger
	HostedBy HostedBy
	// GitCommit is the root endpoint's "git_commit" (the build version).
	GitCommit string
	// RenderCacheBytes bounds the cache of rendered transactions
	// (txrender.go): 0 means DefaultRenderCacheBytes, negative keeps none.
	RenderCacheBytes int64
}

// API is the OBP 1.2 API group.
type API struct {
	accounts *account.Service
	views    *view.Service
	meta     *metadata.Service
	log      *slog.Logger
	hostedBy HostedBy
	commit   string
	render   *renderCache
}

// New builds the API.
func New(d Deps) *API {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	cacheBytes := d.RenderCacheBytes
	if cacheBytes == 0 {
		cacheBytes = DefaultRenderCacheBytes
	}
	return &API{
		accounts: d.Accounts, views: d.Views, meta: d.Metadata, log: log, hostedBy: d.HostedBy, commit: d.GitCommit,
		render: newRenderCache(cacheBytes),
	}
}

// Render writes err in OBP's format: {"code": <status>, "message":
// "OBP-xxxxx: text"} (api/obperr, shared with the OBP 2.x group).
func (a *API) Render(w http.ResponseWriter, r *http.Request, err error) {
	obperr.Write(w, r, a.log, err)
}

// handle adapts a handler returning an error.
func (a *API) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A token that does not verify is a 401 on every route, also on
		// those that never look at the caller (root, banks).
		_, err := principal(r.Context())
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			a.Render(w, r, err)
		}
	}
}

// principal returns the caller (nil: anonymous). A token that was sent but
// does not verify is a 401 even on routes that work anonymously: the
// client meant to authenticate.
func principal(ctx context.Context) (*auth.Principal, error) {
	p, ok, err := authn.Caller(ctx)
	if err != nil {
		return nil, obperr.InvalidToken(err)
	}
	if ok {
		return &p, nil
	}
	return nil, nil
}

// requireUser returns the caller or a 401.
func requireUser(ctx context.Context) (*auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, obperr.NotLoggedIn()
	}
	return p, nil
}

// load reads and checks the account-level data of a request (the account
// query: one BatchGet) for the request's path: BANK_ID, ACCOUNT_ID and
// VIEW_ID.
func (a *API) load(r *http.Request, q account.Request) (*account.Scope, error) {
	p, err := principal(r.Context())
	if err != nil {
		return nil, err
	}
	q.BankID, q.AccountID, q.ViewID, q.Caller = r.PathValue("BANK_ID"), r.PathValue("ACCOUNT_ID"), r.PathValue("VIEW_ID"), p
	return a.accounts.Load(r.Context(), q)
}

func writeJSON(w http.ResponseWriter, status int, v any) { platform.WriteJSON(w, status, v) }

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func success(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, successJSON{Success: msg})
}

// decodeBody decodes a request body strictly (OBP-10001 on failure).
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	return obperr.DecodeJSON(w, r, dst)
}
