package saltedgetest

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

func (s *Server) routeNotFound(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeError(w, r, http.StatusNotFound, "RouteNotFound", "the action you are trying to access does not exist: "+r.Method+" "+r.URL.Path)
}

// boolParam reads a query flag ("true"/"false"; absent is false).
func boolParam(w http.ResponseWriter, r *http.Request, name string) (bool, bool) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false":
		return false, true
	case "true":
		return true, true
	default:
		writeError(w, r, http.StatusBadRequest, "WrongRequestFormat", name+" must be true or false, not "+v)
		return false, false
	}
}

func (s *Server) listProviders(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if q.Has("include_fake_providers") {
		writeError(w, r, http.StatusBadRequest, "WrongRequestFormat", "include_fake_providers is a v5 parameter; v6 has include_sandboxes")
		return
	}
	sandboxes, ok := boolParam(w, r, "include_sandboxes")
	if !ok {
		return
	}
	cc := strings.ToUpper(q.Get("country_code"))
	s.mu.Lock()
	var out []Provider
	for _, p := range s.providers {
		if !Listed(*p, sandboxes) || (cc != "" && p.CountryCode != cc) {
			continue
		}
		out = append(out, *p)
	}
	s.mu.Unlock()
	page(s, w, r, out, func(p Provider) string { return p.ID })
}

func (s *Server) showProvider(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	p := s.provider(r.PathValue("code"))
	var out Provider
	if p != nil {
		out = *p
	}
	s.mu.Unlock()
	if p == nil {
		writeError(w, r, http.StatusNotFound, "ProviderNotFound", "provider "+r.PathValue("code")+" not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Identifier string `json:"identifier"`
	}
	if !decode(w, r, body, &in) {
		return
	}
	if strings.TrimSpace(in.Identifier) == "" {
		writeError(w, r, http.StatusBadRequest, "IdentifierInvalid", "identifier is missing")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.customers {
		if c.Identifier == in.Identifier {
			writeError(w, r, http.StatusConflict, "DuplicatedCustomer", "customer with identifier "+in.Identifier+" already exists")
			return
		}
	}
	now := s.now()
	c := &Customer{CustomerID: s.newID(), Identifier: in.Identifier, CreatedAt: now, UpdatedAt: now}
	s.customers[c.CustomerID] = c
	writeJSON(w, http.StatusOK, map[string]any{"data": c})
}

// listCustomers pages every customer of the app (v6 has no filter by
// identifier: a client looking one up pages through them).
func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	out := make([]Customer, 0, len(s.customers))
	for _, c := range s.customers {
		out = append(out, *c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Customer) int { return cmpID(a.CustomerID, b.CustomerID) })
	page(s, w, r, out, func(c Customer) string { return c.CustomerID })
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[id]; !ok {
		writeError(w, r, http.StatusNotFound, "CustomerNotFound", "customer "+id+" not found")
		return
	}
	delete(s.customers, id)
	for cid, c := range s.connections {
		if c.CustomerID == id {
			s.dropConnection(cid)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"deleted": true, "customer_id": id}})
}

// dropConnection removes a connection with its accounts and transactions,
// at the bank and visible (s.mu held).
func (s *Server) dropConnection(id string) {
	delete(s.connections, id)
	delete(s.consents, id)
	delete(s.fetches, id)
	for _, accs := range []map[string]*Account{s.bankAccounts, s.accounts} {
		for aid, a := range accs {
			if a.ConnectionID != id {
				continue
			}
			delete(accs, aid)
			for _, txs := range []map[string]*Transaction{s.bankTxs, s.transactions} {
				for tid, t := range txs {
					if t.AccountID == aid {
						delete(txs, tid)
					}
				}
			}
		}
	}
}

var (
	// consentScopes are v6's (v5's account_details, holder_information
	// and transactions_details were renamed).
	consentScopes = []string{"accounts", "holder_info", "transactions"}
	fetchScopes   = []string{"accounts", "balance", "holder_info", "transactions"}
	callbackTypes = []string{"", "iframe", "external_saltbridge", "external_notify", "post_message"}
)

type consentRequest struct {
	Scopes     []string `json:"scopes"`
	FromDate   string   `json:"from_date"`
	ToDate     string   `json:"to_date"`
	PeriodDays *int     `json:"period_days"`
}

type attemptRequest struct {
	FetchScopes  []string       `json:"fetch_scopes"`
	FromDate     string         `json:"from_date"`
	ToDate       string         `json:"to_date"`
	ReturnTo     string         `json:"return_to"`
	Locale       string         `json:"locale"`
	CustomFields map[string]any `json:"custom_fields"`
}

type widgetRequest struct {
	JavascriptCallbackType string   `json:"javascript_callback_type"`
	Theme                  string   `json:"theme"`
	AllowedCountries       []string `json:"allowed_countries"`
	DisableProviderSearch  bool     `json:"disable_provider_search"`
}

type providerRequest struct {
	Code             string `json:"code"`
	CountryCode      string `json:"country_code"`
	IncludeSandboxes bool   `json:"include_sandboxes"`
}

type connectRequest struct {
	CustomerID         string          `json:"customer_id"`
	Consent            consentRequest  `json:"consent"`
	Attempt            attemptRequest  `json:"attempt"`
	Widget             widgetRequest   `json:"widget"`
	Provider           providerRequest `json:"provider"`
	AutomaticRefresh   *bool           `json:"automatic_refresh"`
	Categorization     string          `json:"categorization"`
	ReturnConnectionID bool            `json:"return_connection_id"`
	ReturnErrorClass   bool            `json:"return_error_class"`
}

type reconnectRequest struct {
	Consent            consentRequest `json:"consent"`
	Attempt            attemptRequest `json:"attempt"`
	Widget             widgetRequest  `json:"widget"`
	AutomaticRefresh   *bool          `json:"automatic_refresh"`
	OverrideCreds      bool           `json:"override_credentials"`
	ReturnConnectionID bool           `json:"return_connection_id"`
	ReturnErrorClass   bool           `json:"return_error_class"`
}

// checkConsent validates consent and attempt against p (nil: any
// provider) and answers the error itself; it returns the consent's days.
func (s *Server) checkConsent(w http.ResponseWriter, r *http.Request, p *Provider, c consentRequest, a attemptRequest, callbackType string) (int, bool) {
	if len(c.Scopes) == 0 {
		writeError(w, r, http.StatusBadRequest, "ConsentScopesInvalid", "consent scopes are missing")
		return 0, false
	}
	for _, sc := range c.Scopes {
		if !slices.Contains(consentScopes, sc) {
			writeError(w, r, http.StatusBadRequest, "ConsentScopesInvalid", "consent scope "+sc+" is invalid (accounts, holder_info, transactions)")
			return 0, false
		}
	}
	today := s.now().Truncate(24 * time.Hour)
	for _, d := range []string{c.FromDate, a.FromDate} {
		if d == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "DateFormatInvalid", "date "+d+" is not YYYY-MM-DD")
			return 0, false
		}
		if t.After(today) {
			writeError(w, r, http.StatusBadRequest, "InvalidFromDate", "from_date "+d+" is in the future")
			return 0, false
		}
	}
	days := 90
	if p != nil && p.MaxConsentDays != nil {
		days = *p.MaxConsentDays
	}
	if pd := c.PeriodDays; pd != nil {
		if *pd < 1 || (p != nil && p.MaxConsentDays != nil && *pd > *p.MaxConsentDays) {
			writeError(w, r, http.StatusBadRequest, "InvalidConsentPeriod", "consent period_days is not allowed by the provider")
			return 0, false
		}
		days = *pd
	}
	for _, sc := range a.FetchScopes {
		if !slices.Contains(fetchScopes, sc) {
			writeError(w, r, http.StatusBadRequest, "FetchScopesInvalid", "fetch scope "+sc+" is invalid")
			return 0, false
		}
		if p != nil && sc != "balance" && !slices.Contains(p.SupportedFetchScopes, sc) {
			writeError(w, r, http.StatusNotAcceptable, "FetchScopesNotAllowed", "fetch scope "+sc+" is not supported by "+p.Code)
			return 0, false
		}
	}
	if a.ReturnTo != "" {
		if u, err := url.Parse(a.ReturnTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeError(w, r, http.StatusBadRequest, "ReturnURLInvalid", "return_to is not a valid URL")
			return 0, false
		}
	}
	if !slices.Contains(callbackTypes, callbackType) {
		writeError(w, r, http.StatusBadRequest, "WrongRequestFormat", "widget.javascript_callback_type is invalid")
		return 0, false
	}
	return days, true
}

// newSession stores a session and answers its connect_url (s.mu held).
func (s *Server) newSession(w http.ResponseWriter, se *Session) {
	se.Token = randomToken()
	se.ExpiresAt = s.now().Add(time.Hour)
	s.sessions[se.Token] = se
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"expires_at":  se.ExpiresAt.Format(time.RFC3339),
		"connect_url": s.srv.URL + "/connect?token=" + se.Token,
		"customer_id": se.CustomerID,
	}})
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request, body []byte) {
	var in connectRequest
	if !decode(w, r, body, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[in.CustomerID]; !ok {
		writeError(w, r, http.StatusNotFound, "CustomerNotFound", "customer "+in.CustomerID+" not found")
		return
	}
	var p *Provider
	if in.Provider.Code != "" {
		p = s.provider(in.Provider.Code)
		if p == nil || (p.sandbox() && !in.Provider.IncludeSandboxes) {
			writeError(w, r, http.StatusNotFound, "ProviderNotFound", "provider "+in.Provider.Code+" not found")
			return
		}
		switch p.Status {
		case "inactive":
			writeError(w, r, http.StatusNotAcceptable, "ProviderInactive", "provider "+p.Code+" is inactive")
			return
		case "disabled":
			writeError(w, r, http.StatusNotAcceptable, "ProviderDisabled", "provider "+p.Code+" is disabled")
			return
		}
	}
	days, ok := s.checkConsent(w, r, p, in.Consent, in.Attempt, in.Widget.JavascriptCallbackType)
	if !ok {
		return
	}
	s.newSession(w, &Session{Kind: SessionConnect, CustomerID: in.CustomerID, ProviderCode: in.Provider.Code,
		FetchScopes: in.Attempt.FetchScopes, ConsentScopes: in.Consent.Scopes, ConsentDays: days, FromDate: in.Attempt.FromDate,
		ReturnTo: in.Attempt.ReturnTo, AutomaticRefresh: in.AutomaticRefresh == nil || *in.AutomaticRefresh, Body: body})
}

// usable answers the refusal of a refresh or reconnect of c, if any (s.mu
// held); reconnect is allowed on an ended consent.
func (s *Server) usable(w http.ResponseWriter, r *http.Request, c *Connection, reconnect bool) bool {
	co := s.consents[c.ID]
	switch {
	case c.Status == "disabled":
		writeError(w, r, http.StatusNotAcceptable, "ConnectionDisabled", "connection "+c.ID+" is disabled")
		return false
	case reconnect:
		return true
	case co != nil && co.Ended != "":
		writeError(w, r, http.StatusNotAcceptable, co.Ended, "the consent of connection "+c.ID+" ended ("+co.Ended+"); reconnect it")
		return false
	case c.Status != "active":
		writeError(w, r, http.StatusNotAcceptable, "ConnectionInactive", "connection "+c.ID+" is inactive; reconnect it")
		return false
	}
	return true
}

func (s *Server) reconnect(w http.ResponseWriter, r *http.Request, body []byte) {
	var in reconnectRequest
	if !decode(w, r, body, &in) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.connections[id]
	if !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+id+" not found")
		return
	}
	if !s.usable(w, r, c, true) {
		return
	}
	days, ok := s.checkConsent(w, r, s.provider(c.ProviderCode), in.Consent, in.Attempt, in.Widget.JavascriptCallbackType)
	if !ok {
		return
	}
	s.newSession(w, &Session{Kind: SessionReconnect, CustomerID: c.CustomerID, ProviderCode: c.ProviderCode, ConnectionID: c.ID,
		FetchScopes: in.Attempt.FetchScopes, ConsentScopes: in.Consent.Scopes, ConsentDays: days, FromDate: in.Attempt.FromDate,
		ReturnTo: in.Attempt.ReturnTo, AutomaticRefresh: in.AutomaticRefresh == nil || *in.AutomaticRefresh, Body: body})
}

// refreshable answers the refusal of a refresh of c now, if any (s.mu
// held).
func (s *Server) refreshable(w http.ResponseWriter, r *http.Request, c *Connection) bool {
	if !s.usable(w, r, c, false) {
		return false
	}
	if _, busy := s.fetches[c.ID]; busy {
		writeError(w, r, http.StatusConflict, "ConnectionAlreadyProcessing", "connection "+c.ID+" is being fetched")
		return false
	}
	if n := c.NextRefreshPossibleAt; n != nil && s.now().Before(*n) {
		writeError(w, r, http.StatusNotAcceptable, "ConnectionCannotBeRefreshed",
			"connection cannot be refreshed before "+n.Format(time.RFC3339))
		return false
	}
	return true
}

// widgetRefresh is POST /connections/{id}/refresh: a session in which the
// user refreshes the connection through the widget.
func (s *Server) widgetRefresh(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Attempt attemptRequest `json:"attempt"`
		Widget  widgetRequest  `json:"widget"`
	}
	if !decode(w, r, body, &in) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.connections[id]
	if !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+id+" not found")
		return
	}
	if !s.refreshable(w, r, c) {
		return
	}
	s.newSession(w, &Session{Kind: SessionRefresh, CustomerID: c.CustomerID, ProviderCode: c.ProviderCode, ConnectionID: c.ID,
		FetchScopes: in.Attempt.FetchScopes, ReturnTo: in.Attempt.ReturnTo, AutomaticRefresh: c.AutomaticRefresh, Body: body})
}

// backgroundRefresh is POST /connections/{id}/background_refresh: it
// starts a fetch and answers at once with the connection (the attempt
// unfinished); the data follows with the fetch's stages.
func (s *Server) backgroundRefresh(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Attempt *struct {
			FetchScopes []string `json:"fetch_scopes"`
			FromDate    string   `json:"from_date"`
		} `json:"attempt"`
	}
	if len(bytes.TrimSpace(body)) > 0 && !decode(w, r, body, &in) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.connections[id]
	if !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+id+" not found")
		return
	}
	if !s.refreshable(w, r, c) {
		return
	}
	scopes := c.LastAttempt.FetchScopes
	if in.Attempt != nil && len(in.Attempt.FetchScopes) > 0 {
		for _, sc := range in.Attempt.FetchScopes {
			if !slices.Contains(fetchScopes, sc) {
				writeError(w, r, http.StatusBadRequest, "FetchScopesInvalid", "fetch scope "+sc+" is invalid")
				return
			}
		}
		scopes = in.Attempt.FetchScopes
	}
	s.startFetch(c, scopes)
	writeJSON(w, http.StatusOK, map[string]any{"data": c})
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request, _ []byte) {
	cid := r.URL.Query().Get("customer_id")
	if cid == "" {
		writeError(w, r, http.StatusBadRequest, "WrongRequestFormat", "customer_id is missing")
		return
	}
	s.mu.Lock()
	if _, ok := s.customers[cid]; !ok {
		s.mu.Unlock()
		writeError(w, r, http.StatusNotFound, "CustomerNotFound", "customer "+cid+" not found")
		return
	}
	s.mu.Unlock()
	page(s, w, r, s.Connections(cid), func(c Connection) string { return c.ID })
}

func (s *Server) showConnection(w http.ResponseWriter, r *http.Request, _ []byte) {
	c, ok := s.Connection(r.PathValue("id"))
	if !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+r.PathValue("id")+" not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": c})
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.connections[id]; !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+id+" not found")
		return
	}
	s.dropConnection(id)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"removed": true, "id": id}})
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, _ []byte) {
	cid := r.URL.Query().Get("connection_id")
	if cid == "" {
		writeError(w, r, http.StatusBadRequest, "WrongRequestFormat", "connection_id is missing")
		return
	}
	if _, ok := s.Connection(cid); !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+cid+" not found")
		return
	}
	accs, _ := s.Visible(cid)
	page(s, w, r, accs, func(a Account) string { return a.ID })
}

// listTransactions is GET /transactions: posted ones, or with
// pending=true the pending ones (v6 has no /transactions/pending).
func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	cid, aid := q.Get("connection_id"), q.Get("account_id")
	pending, ok := boolParam(w, r, "pending")
	if !ok {
		return
	}
	if cid == "" {
		writeError(w, r, http.StatusBadRequest, "WrongRequestFormat", "connection_id is missing")
		return
	}
	if _, ok := s.Connection(cid); !ok {
		writeError(w, r, http.StatusNotFound, "ConnectionNotFound", "connection "+cid+" not found")
		return
	}
	accs, txs := s.Visible(cid)
	if aid != "" && !slices.ContainsFunc(accs, func(a Account) bool { return a.ID == aid }) {
		writeError(w, r, http.StatusNotFound, "AccountNotFound", "account "+aid+" not found")
		return
	}
	out := txs[:0]
	for _, t := range txs {
		if (aid == "" || t.AccountID == aid) && (t.Status == "pending") == pending {
			out = append(out, t)
		}
	}
	page(s, w, r, out, func(t Transaction) string { return t.ID })
}
