// Package obp serves the Open Bank Project API 1.2 (/obp/v1.2): banks,
// accounts, views, permissions, other accounts and their metadata,
// transactions and transaction metadata (shared/contracts/obp.md).
//
// A request reads what it needs in one BatchGet (the bank's directory
// records, the account, its ACL, other-account metadata, the other
// account's directory entry, the transaction and its metadata on the view)
// and at most one query (a page of transactions by date, or of the
// account's counterparty directory); the view package decides access,
// moderation (moderate.go) turns data into OBP JSON, errors are rendered in
// OBP's {"code","message"} format by Render.
package obp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// Prefix is the base path of the API.
const Prefix = "/obp/v1.2"

// Bank is a bank as OBP 1.2 shows it (BANK_ID is the directory bank code).
type Bank struct {
	ID        string
	ShortName string
	FullName  string
	Logo      string
	Website   string
}

// Banks is the bank directory as the OBP API needs it: the banks whose
// access is enabled.
type Banks interface {
	ListEnabled(ctx context.Context) ([]Bank, error)
	// ByCode returns the enabled bank with that code; found is false when
	// there is none.
	ByCode(ctx context.Context, code string) (b Bank, found bool, err error)
}

// HostedBy is the root endpoint's "hosted_by".
type HostedBy struct {
	Organisation string
	Email        string
	Phone        string
}

// Deps are what the API needs.
type Deps struct {
	Store    store.Store
	Banks    Banks
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
	store    store.Store
	holdings *holdings.Service // reads only: the counterparty directory
	banks    Banks
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
		store: d.Store, holdings: holdings.New(holdings.Config{Store: d.Store, Log: log}),
		banks: d.Banks, views: d.Views, meta: d.Metadata, log: log, hostedBy: d.HostedBy, commit: d.GitCommit,
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

// Handler serves Routes with Router (API Gateway matching), errors in OBP
// format. The app wraps it in its middleware (request id, log, auth).
func (a *API) Handler() (http.Handler, error) { return Router(a.Routes(), a.Render) }

// principal returns the caller (nil: anonymous). A token that was sent but
// does not verify is a 401 even on routes that work anonymously: the
// client meant to authenticate.
func principal(ctx context.Context) (*auth.Principal, error) {
	p, ok, err := authn.Caller(ctx)
	if err != nil {
		return nil, platform.Unauthorized(view.CodeNotLoggedIn, "%s The bearer token is invalid or expired.", view.TextNotLoggedIn)
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
		return nil, view.ErrNotLoggedIn()
	}
	return p, nil
}

// bankID validates the BANK_ID path value (OBP-30111).
func bankID(r *http.Request) (string, error) {
	id := r.PathValue("BANK_ID")
	if !view.ValidID(id) {
		return "", view.ErrInvalidBankID()
	}
	return id, nil
}

// bank loads an enabled bank or answers OBP-30001.
func (a *API) bank(ctx context.Context, id string) (Bank, error) {
	b, found, err := a.banks.ByCode(ctx, id)
	if err != nil {
		return Bank{}, fmt.Errorf("load bank %s: %w", id, err)
	}
	if !found {
		return Bank{}, view.ErrBankNotFound()
	}
	return b, nil
}

// scope is what one account-level request works on.
type scope struct {
	p      *auth.Principal
	acc    holdings.Account
	acl    view.ACL
	view   view.View
	viewID string
	oa     metadata.OADoc
	// other is the other account OTHER_ACCOUNT_ID from the account's
	// counterparty directory; nil when the directory has no such entry.
	other *holdings.Counterparty
	tx    holdings.Transaction
	txm   metadata.TxMeta // zero Version: no metadata yet
	// accData and oaData are the stored bytes of the account and the
	// other-account metadata items (nil: none): with the view, what every
	// rendered transaction of the request is made of (txrender.go).
	accData, oaData []byte
}

// need says what load reads and checks.
type need struct {
	view  bool   // VIEW_ID must be accessible to the caller
	owner bool   // the caller must hold the owner view
	oa    bool   // other-account metadata
	other string // the other account's directory entry (a valid id)
	txID  string // the transaction (and its metadata on the view)
}

// load reads the account-level data of a request with one BatchGet and
// checks, in OBP's order, bank id, account, view access and transaction.
func (a *API) load(r *http.Request, n need) (*scope, error) {
	ctx := r.Context()
	bank, err := bankID(r)
	if err != nil {
		return nil, err
	}
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	s := &scope{p: p, viewID: r.PathValue("VIEW_ID")}
	accountID := r.PathValue("ACCOUNT_ID")
	if !view.ValidID(accountID) {
		return nil, a.accountMissing(ctx, bank)
	}
	pk := holdings.AccountPK(accountID)
	keys := []store.Key{{PK: pk, SK: holdings.AccountSK}, view.ACLKey(accountID)}
	if n.oa {
		keys = append(keys, metadata.OADocKey(accountID))
	}
	if n.other != "" {
		keys = append(keys, store.Key{PK: pk, SK: holdings.CounterpartySK(n.other)})
	}
	if n.txID != "" {
		keys = append(keys, store.Key{PK: pk, SK: holdings.TxSK(n.txID)})
		if view.ValidID(s.viewID) {
			// A VIEW_ID no view can have (too long for a key) is refused
			// below as an unknown view (OBP-30005), after the account.
			keys = append(keys, metadata.TxMetaKey(accountID, n.txID, s.viewID))
		}
	}
	keys = append(keys, a.bankRecordKeys(bank)...)
	items, err := a.store.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load account %s: %w", accountID, err)
	}
	byKey := make(map[store.Key]store.Item, len(items))
	for _, it := range items {
		byKey[it.Key()] = it
	}
	if err := a.checkBank(bank, byKey); err != nil {
		return nil, err
	}
	accItem, ok := byKey[keys[0]]
	if !ok {
		return nil, a.accountMissing(ctx, bank)
	}
	if err := decode(accItem, &s.acc); err != nil {
		return nil, err
	}
	s.accData = accItem.Data
	if s.acc.BankCode != bank {
		return nil, a.accountMissing(ctx, bank)
	}
	s.acl = view.ACL{AccountID: accountID, BankID: bank, Label: s.acc.Name}
	if it, ok := byKey[keys[1]]; ok {
		if s.acl, err = view.DecodeACL(it); err != nil {
			return nil, err
		}
	}
	if n.owner {
		if err := s.acl.RequireOwner(p); err != nil {
			return nil, err
		}
	}
	if n.view {
		if s.view, err = s.acl.Access(s.viewID, p); err != nil {
			return nil, err
		}
	}
	s.oa = metadata.OADoc{AccountID: accountID}
	if it, ok := byKey[metadata.OADocKey(accountID)]; ok && n.oa {
		if s.oa, err = metadata.DecodeOADoc(it); err != nil {
			return nil, err
		}
		s.oaData = it.Data
	}
	if n.other != "" {
		if it, ok := byKey[store.Key{PK: pk, SK: holdings.CounterpartySK(n.other)}]; ok {
			c, err := holdings.DecodeCounterparty(it)
			if err != nil {
				return nil, err
			}
			s.other = &c
		}
	}
	if n.txID != "" {
		it, ok := byKey[store.Key{PK: pk, SK: holdings.TxSK(n.txID)}]
		if !ok {
			return nil, view.ErrTransactionNotFound()
		}
		if err := decode(it, &s.tx); err != nil {
			return nil, err
		}
		if it, ok := byKey[metadata.TxMetaKey(accountID, n.txID, s.viewID)]; ok {
			if s.txm, err = metadata.DecodeTxMeta(it); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// accountMissing tells an unknown bank (OBP-30001) from an unknown account
// at a known bank (OBP-30003); it costs a bank lookup on the error path only.
func (a *API) accountMissing(ctx context.Context, bankID string) error {
	if _, err := a.bank(ctx, bankID); err != nil {
		return err
	}
	return view.ErrAccountNotFound()
}

// can checks a view action flag (OBP-30022).
func can(v view.View, action string) error {
	if !v.Allows(action) {
		return view.ErrNoPermission(action)
	}
	return nil
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
