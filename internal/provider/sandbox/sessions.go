package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// Session stages.
const (
	StageLogin     = "login"     // waiting for username and password
	StageChallenge = "challenge" // waiting for the answer to Challenge
	StageDone      = "done"      // connected: ConnectionID is set
	StageFailed    = "failed"    // the attempt failed: Error says why
	StageCancelled = "cancelled" // the user cancelled: nothing was connected
)

// Attempts is how many times the user may try each step of a session (the
// login, then the challenge) on the same link. A wrong password, a wrong
// code or a bank that fails counts as a try; the session stays at its step
// with Error set and AttemptsLeft one lower, and only the last failed try
// ends it ("failed"). A link is spent by success, by running out of tries,
// by cancel, or by expiry.
const Attempts = 3

// Error classes (Salt Edge's names) of Session.Error and ErrorClass.
const (
	ErrInvalidCredentials            = "InvalidCredentials"
	ErrInvalidInteractiveCredentials = "InvalidInteractiveCredentials"
	ErrProviderError                 = "ProviderError"
	ErrProviderDisabled              = "ProviderDisabled"
	ErrCustomerNotFound              = "CustomerNotFound"
	ErrCancelled                     = "ConnectionCancelled"
)

// Session is a connect session as the hosted connect page sees it.
type Session struct {
	Token      string
	CustomerID string
	BankCode   string
	BankName   string
	ExpiresAt  time.Time
	// Interactive: the bank asks a challenge after the login.
	Interactive bool
	Stage       string
	// Challenge is the question to show at stage "challenge".
	Challenge string
	// JavascriptCallbackType and ReturnTo are what the connect request asked
	// for: how the page reports back to an embedding page, and where it
	// sends the user at the end.
	JavascriptCallbackType string
	ReturnTo               string
	// ConnectionID is set at stage "done" (and at "failed" when the bank
	// failed after accepting the credentials).
	ConnectionID string
	// Error is the failure at stage "failed" or "cancelled", or of the last
	// failed try at stage "login" or "challenge", Salt Edge style:
	// "InvalidCredentials: ...", "ProviderError: ..."; ErrorClass is its
	// class (the text before the colon).
	Error      string
	ErrorClass string
	// AttemptsLeft is how many more tries the current step allows (0 once
	// the session is over).
	AttemptsLeft int
	// What the connect request asked for: the consent's scopes, the date
	// its data starts and how many days it lasts (zero when the request
	// gave none), and the fetch scopes.
	ConsentScopes []string
	ConsentFrom   time.Time
	ConsentDays   int
	FetchScopes   []string
}

// sessionRecord is a stored connect session. Its one-time token is a
// bearer secret: the record is keyed by the token's SHA-256 and keeps only
// that, as a real provider would, so the data file cannot open a session.
type sessionRecord struct {
	TokenHash              string    `json:"token_sha256"`
	CustomerID             string    `json:"customer_id"`
	Identifier             string    `json:"identifier"`
	BankCode               string    `json:"provider_code"`
	CreatedAt              time.Time `json:"created_at"`
	ExpiresAt              time.Time `json:"expires_at"`
	Stage                  string    `json:"stage"`
	Challenge              string    `json:"challenge,omitempty"`
	Error                  string    `json:"error,omitempty"`
	JavascriptCallbackType string    `json:"javascript_callback_type,omitempty"`
	ReturnTo               string    `json:"return_to,omitempty"`
	ConnectionID           string    `json:"connection_id,omitempty"`
	FetchScopes            []string  `json:"fetch_scopes"`
	FromDate               time.Time `json:"from_date,omitzero"`
	ConsentScopes          []string  `json:"consent_scopes,omitempty"`
	ConsentFrom            time.Time `json:"consent_from,omitzero"`
	ConsentDays            int       `json:"consent_period_days,omitempty"`
	// Failures counts the failed tries at the current step (reset when
	// the login moves on to the challenge).
	Failures int `json:"failures,omitempty"`

	// token is the token the caller presented (never stored).
	token string
}

// challengeText is the question of the interactive bank.
const challengeText = "Enter the 6-digit code we sent to your phone (sandbox code: " + ChallengeAnswer + ")"

// sessionKeep is how long an expired session stays readable (so the page
// can say "expired" rather than "not found") before the store's TTL may
// remove it.
const sessionKeep = 24 * time.Hour

var (
	consentScopes = []string{"account_details", "holder_information", "transactions_details"}
	callbackTypes = []string{"", "post_message", "iframe", "external_saltbridge", "external_notify"}
)

// CreateConnectSession implements provider.Provider (Salt Edge
// /connect_sessions/create): it validates the request against the bank,
// stores a session with a one-time token and returns the hosted page's URL.
func (p *Provider) CreateConnectSession(ctx context.Context, req provider.ConnectRequest) (provider.ConnectSession, error) {
	b, ok := p.byCode[req.BankCode]
	if !ok || p.hidden[req.BankCode] {
		return provider.ConnectSession{}, fmt.Errorf("create connect session: bank %s: %w", req.BankCode, provider.ErrNotFound)
	}
	fetch, err := p.checkConnectRequest(b, req)
	if err != nil {
		return provider.ConnectSession{}, fmt.Errorf("create connect session for bank %s: %w", req.BankCode, err)
	}
	cust, err := p.loadCustomer(ctx, req.CustomerID)
	if err != nil {
		return provider.ConnectSession{}, fmt.Errorf("create connect session: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return provider.ConnectSession{}, fmt.Errorf("create connect session: token: %w", err)
	}
	now := p.now()
	from := req.AttemptFrom
	if from.IsZero() {
		from = req.ConsentFrom
	}
	token := hex.EncodeToString(raw[:])
	rec := sessionRecord{
		TokenHash:              secretHash(token),
		token:                  token,
		CustomerID:             cust.ID,
		Identifier:             cust.Identifier,
		BankCode:               b.Code,
		CreatedAt:              now,
		ExpiresAt:              now.Add(p.ttl).Truncate(time.Second),
		Stage:                  StageLogin,
		JavascriptCallbackType: req.JavascriptCallbackType,
		ReturnTo:               req.ReturnTo,
		FetchScopes:            fetch,
		ConsentScopes:          slices.Clone(req.ConsentScopes),
		ConsentDays:            req.ConsentPeriodDays,
	}
	if !from.IsZero() {
		rec.FromDate = from.UTC().Truncate(24 * time.Hour)
	}
	if !req.ConsentFrom.IsZero() {
		rec.ConsentFrom = req.ConsentFrom.UTC().Truncate(24 * time.Hour)
	}
	it, err := sessionItem(rec, 1)
	if err != nil {
		return provider.ConnectSession{}, err
	}
	if err := p.st.Put(ctx, it, store.IfNotExists()); err != nil {
		return provider.ConnectSession{}, fmt.Errorf("create connect session: %w", err)
	}
	base := p.publicURL
	if base == "" {
		base = trimSlash(platform.BaseURL(ctx))
	}
	return provider.ConnectSession{
		ConnectURL: base + "/connect/sessions?token=" + token,
		ExpiresAt:  rec.ExpiresAt,
	}, nil
}

// checkConnectRequest applies Salt Edge's validation of a connect request
// and returns the fetch scopes to use.
func (p *Provider) checkConnectRequest(b *bankDef, req provider.ConnectRequest) ([]string, error) {
	if b.Status != statusActive {
		return nil, fmt.Errorf("%w: ProviderInactive: bank %s is %s", provider.ErrInvalid, b.Code, b.Status)
	}
	for _, s := range req.ConsentScopes {
		if !slices.Contains(consentScopes, s) {
			return nil, fmt.Errorf("%w: AispConsentScopesInvalid: consent scope %q is not one of %s", provider.ErrInvalid, s, strings.Join(consentScopes, ", "))
		}
	}
	fetch := req.FetchScopes
	if len(fetch) == 0 {
		fetch = b.SupportedFetchScopes
	}
	for _, s := range fetch {
		if !slices.Contains(b.SupportedFetchScopes, s) {
			return nil, fmt.Errorf("%w: FetchScopesNotAllowed: bank %s supports fetch scopes %s, not %q",
				provider.ErrInvalid, b.Code, strings.Join(b.SupportedFetchScopes, ", "), s)
		}
	}
	if !slices.Contains(fetch, "accounts") {
		return nil, fmt.Errorf("%w: FetchScopesInvalid: fetch scopes must include accounts", provider.ErrInvalid)
	}
	for _, d := range []int{req.ConsentPeriodDays, req.AttemptPeriodDays} {
		if d < 0 || d > b.MaxConsentDays {
			return nil, fmt.Errorf("%w: InvalidAispConsentPeriod: period of %d days, bank %s allows 1-%d", provider.ErrInvalid, d, b.Code, b.MaxConsentDays)
		}
	}
	today := p.now().Truncate(24 * time.Hour)
	for _, t := range []time.Time{req.ConsentFrom, req.AttemptFrom} {
		if t.After(today.Add(24*time.Hour - time.Nanosecond)) {
			return nil, fmt.Errorf("%w: InvalidFromDate: from date %s is in the future", provider.ErrInvalid, t.Format(time.DateOnly))
		}
	}
	if !slices.Contains(callbackTypes, req.JavascriptCallbackType) {
		return nil, fmt.Errorf("%w: WrongRequestFormat: javascript_callback_type %q is not one of post_message, iframe, external_saltbridge, external_notify",
			provider.ErrInvalid, req.JavascriptCallbackType)
	}
	if req.ReturnTo != "" {
		u, err := url.Parse(req.ReturnTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: ReturnURLInvalid: return_to %q is not an absolute http(s) URL", provider.ErrInvalid, req.ReturnTo)
		}
		if len(req.ReturnTo) > 2040 {
			return nil, fmt.Errorf("%w: ReturnURLTooLong: return_to exceeds 2040 characters", provider.ErrInvalid)
		}
	}
	return slices.Clone(fetch), nil
}

func sessionItem(rec sessionRecord, version int64) (store.Item, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode connect session: %w", err)
	}
	k := sessionKey(rec.TokenHash)
	return store.Item{PK: k.PK, SK: k.SK, Version: version, TTL: rec.ExpiresAt.Add(sessionKeep).Unix(), Data: data}, nil
}

func (p *Provider) loadSession(ctx context.Context, token string) (sessionRecord, int64, error) {
	// Tokens are 64 hex characters; anything else cannot exist and must not
	// reach the store as a key.
	if len(token) != 64 || strings.Trim(token, "0123456789abcdef") != "" {
		return sessionRecord{}, 0, ErrSessionNotFound
	}
	it, err := p.st.Get(ctx, sessionKey(secretHash(token)))
	if errors.Is(err, store.ErrNotFound) {
		return sessionRecord{}, 0, ErrSessionNotFound
	}
	if err != nil {
		return sessionRecord{}, 0, fmt.Errorf("load connect session: %w", err)
	}
	var rec sessionRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return sessionRecord{}, 0, fmt.Errorf("decode connect session: %w", err)
	}
	rec.token = token
	return rec, it.Version, nil
}

func (p *Provider) sessionView(rec sessionRecord) Session {
	s := Session{
		Token:                  rec.token,
		CustomerID:             rec.CustomerID,
		BankCode:               rec.BankCode,
		ExpiresAt:              rec.ExpiresAt,
		Stage:                  rec.Stage,
		Challenge:              rec.Challenge,
		JavascriptCallbackType: rec.JavascriptCallbackType,
		ReturnTo:               rec.ReturnTo,
		ConnectionID:           rec.ConnectionID,
		Error:                  rec.Error,
		ErrorClass:             errorClass(rec.Error),
		ConsentScopes:          rec.ConsentScopes,
		ConsentFrom:            rec.ConsentFrom,
		ConsentDays:            rec.ConsentDays,
		FetchScopes:            rec.FetchScopes,
	}
	if rec.Stage == StageLogin || rec.Stage == StageChallenge {
		s.AttemptsLeft = max(Attempts-rec.Failures, 0)
	}
	if b, ok := p.byCode[rec.BankCode]; ok {
		s.BankName, s.Interactive = b.Name, b.Interactive
	}
	return s
}

// errorClass is the class of a Salt Edge style error ("Class: text").
func errorClass(e string) string {
	class, _, _ := strings.Cut(e, ":")
	return class
}

// over reports whether a session stage ends the session (the link is
// spent).
func over(stage string) bool {
	return stage == StageDone || stage == StageFailed || stage == StageCancelled
}

// fail records a failed try at the session's current step: the session
// stays there for another try, or ends at "failed" with the last one.
func (rec *sessionRecord) fail(msg string) {
	rec.Failures++
	rec.Error = msg
	if rec.Failures >= Attempts {
		rec.Stage, rec.Challenge = StageFailed, ""
	}
}

// open loads a session that can still take a submit. The returned Session
// is filled even with ErrSessionUsed or ErrSessionExpired, so the page can
// show what happened and where to return.
func (p *Provider) open(ctx context.Context, token string) (sessionRecord, int64, Session, error) {
	rec, ver, err := p.loadSession(ctx, token)
	if err != nil {
		return rec, 0, Session{}, err
	}
	s := p.sessionView(rec)
	switch {
	case over(rec.Stage):
		return rec, ver, s, ErrSessionUsed
	case !p.now().Before(rec.ExpiresAt):
		return rec, ver, s, ErrSessionExpired
	}
	return rec, ver, s, nil
}

// Session returns the session of token. Errors: ErrSessionNotFound,
// ErrSessionExpired, ErrSessionUsed (stage done, failed or cancelled); with
// the last two the returned Session is still filled in.
func (p *Provider) Session(ctx context.Context, token string) (Session, error) {
	_, _, s, err := p.open(ctx, token)
	return s, err
}

// SubmitLogin answers the login form. Sandbox credentials: any non-empty
// username with the password "secret". Wrong credentials are a failed try:
// the session stays at "login" with Error set, and the Attempts-th ends it
// at "failed". The interactive bank moves to stage "challenge"; otherwise
// the connection is created, or reactivated when the customer already has
// one at this bank, and the session is "done". The failing bank answers
// every try with a provider error and leaves an inactive connection
// behind, as Salt Edge does. A lost race with a concurrent submit returns
// ErrSessionUsed or ErrWrongStage.
func (p *Provider) SubmitLogin(ctx context.Context, token, username, password string) (Session, error) {
	for range maxAttempts {
		rec, ver, s, err := p.open(ctx, token)
		if err != nil {
			return s, err
		}
		if rec.Stage != StageLogin {
			return s, ErrWrongStage
		}
		switch {
		case strings.TrimSpace(username) == "" || password != Password:
			rec.fail(ErrInvalidCredentials + ": wrong username or password (sandbox: any username, password \"" + Password + "\")")
			err = p.saveSession(ctx, rec, ver)
		case p.byCode[rec.BankCode] != nil && p.byCode[rec.BankCode].Interactive:
			rec.Stage, rec.Challenge = StageChallenge, challengeText
			rec.Failures, rec.Error = 0, ""
			err = p.saveSession(ctx, rec, ver)
		default:
			err = p.connect(ctx, &rec, ver)
		}
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return s, fmt.Errorf("submit login: %w", err)
		}
		return p.sessionView(rec), nil
	}
	return Session{}, fmt.Errorf("submit login: %w: too many concurrent updates", provider.ErrUnavailable)
}

// SubmitChallenge answers the interactive bank's question: "123456"
// connects, anything else is a failed try (the Attempts-th ends the
// session at "failed").
func (p *Provider) SubmitChallenge(ctx context.Context, token, answer string) (Session, error) {
	for range maxAttempts {
		rec, ver, s, err := p.open(ctx, token)
		if err != nil {
			return s, err
		}
		if rec.Stage != StageChallenge {
			return s, ErrWrongStage
		}
		if strings.TrimSpace(answer) != ChallengeAnswer {
			rec.fail(ErrInvalidInteractiveCredentials + ": wrong answer to the challenge")
			err = p.saveSession(ctx, rec, ver)
		} else {
			err = p.connect(ctx, &rec, ver)
		}
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return s, fmt.Errorf("submit challenge: %w", err)
		}
		return p.sessionView(rec), nil
	}
	return Session{}, fmt.Errorf("submit challenge: %w: too many concurrent updates", provider.ErrUnavailable)
}

// Cancel ends a session at the user's request: a session at "login" or
// "challenge" moves to "cancelled" and its link is spent. Errors as
// Session's (cancelling a session that is over is ErrSessionUsed).
func (p *Provider) Cancel(ctx context.Context, token string) (Session, error) {
	for range maxAttempts {
		rec, ver, s, err := p.open(ctx, token)
		if err != nil {
			return s, err
		}
		rec.Stage, rec.Challenge = StageCancelled, ""
		rec.Error = ErrCancelled + ": the user cancelled the connection at the connect page"
		err = p.saveSession(ctx, rec, ver)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return s, fmt.Errorf("cancel session: %w", err)
		}
		return p.sessionView(rec), nil
	}
	return Session{}, fmt.Errorf("cancel session: %w: too many concurrent updates", provider.ErrUnavailable)
}

// errRetry: a version guard failed; the caller reloads and decides again.
var errRetry = errors.New("sandbox: retry")

// saveSession writes rec if the stored session still has version ver.
func (p *Provider) saveSession(ctx context.Context, rec sessionRecord, ver int64) error {
	it, err := sessionItem(rec, ver)
	if err != nil {
		return err
	}
	if _, err := p.st.Update(ctx, it); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return errRetry
		}
		return fmt.Errorf("save connect session: %w", err)
	}
	return nil
}

// connect ends a session whose credentials were accepted: in one
// transaction the session moves to done (or failed, for the failing bank),
// the connection is created or reactivated, and the customer must still
// exist.
func (p *Provider) connect(ctx context.Context, rec *sessionRecord, ver int64) error {
	b := p.byCode[rec.BankCode]
	if b == nil || p.hidden[rec.BankCode] {
		rec.Stage, rec.Challenge, rec.Error = StageFailed, "", ErrProviderDisabled+": the bank is no longer available"
		return p.saveSession(ctx, *rec, ver)
	}
	id := p.connectionID(rec.CustomerID, rec.BankCode)
	c, cver, err := p.loadConnection(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	now := p.now()
	if !exists {
		c = connRecord{ID: id, CustomerID: rec.CustomerID, Identifier: rec.Identifier, BankCode: rec.BankCode, CreatedAt: now}
	}
	c.DailyRefresh = true // sandbox banks always refresh daily
	c.FetchScopes = rec.FetchScopes
	c.FromDate = rec.FromDate
	c.UpdatedAt = now
	if b.Failing {
		// A failed try: the user may try again until the last one.
		c.Status, c.LastError = statusInactive, providerErrorMsg
		if c.NextRefreshPossibleAt.IsZero() {
			c.NextRefreshPossibleAt = now
		}
		rec.fail(providerErrorMsg)
	} else {
		c.Status, c.LastError = statusActive, ""
		c.LastSuccessAt = now
		c.NextRefreshPossibleAt = now.Add(refreshInterval)
		rec.Stage, rec.Error, rec.Challenge = StageDone, "", ""
	}
	rec.ConnectionID = id

	sit, err := sessionItem(*rec, ver+1)
	if err != nil {
		return err
	}
	connCond := store.IfNotExists()
	if exists {
		connCond = store.IfVersion(cver)
	}
	cit, err := connItem(c, cver+1)
	if err != nil {
		return err
	}
	ik := customerConnKey(c.CustomerID, c.ID)
	err = p.st.Transact(ctx, []store.TxOp{
		store.TxPut(sit, store.IfVersion(ver)),
		store.TxPut(cit, connCond),
		store.TxPut(store.Item{PK: ik.PK, SK: ik.SK, Version: 1, Data: []byte("{}")}, store.Condition{}),
		store.TxCheck(customerKey(c.CustomerID), store.IfExists()),
	})
	var txErr *store.TxError
	switch {
	case errors.As(err, &txErr) && txErr.Index == 3:
		// The customer was deleted while the user was logging in.
		rec.Stage, rec.Challenge, rec.Error, rec.ConnectionID = StageFailed, "", ErrCustomerNotFound+": the customer no longer exists", ""
		return p.saveSession(ctx, *rec, ver)
	case errors.As(err, &txErr):
		return errRetry // the session or the connection moved on meanwhile
	case err != nil:
		return fmt.Errorf("connect session to bank %s: %w", rec.BankCode, err)
	}
	return nil
}
