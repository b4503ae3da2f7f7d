package connect

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// Page stages beyond the sandbox's login/challenge/done/failed/cancelled.
const (
	stageExpired = "expired"
	stageUsed    = "used"
	stageInvalid = "invalid"
	stageError   = "error"
)

// view is what a page shows; its JSON form is the machine-readable answer.
type view struct {
	status       int
	Stage        string `json:"stage"`
	Message      string `json:"message,omitempty"`
	Application  string `json:"application"`
	BankCode     string `json:"bankCode,omitempty"`
	BankName     string `json:"bankName,omitempty"`
	Interactive  bool   `json:"interactive,omitempty"`
	Challenge    string `json:"challenge,omitempty"`
	ConnectionID string `json:"connectionId,omitempty"`
	// Error says in words what went wrong (never an internal code);
	// ErrorClass is the machine-readable class (Salt Edge's:
	// InvalidCredentials, InvalidInteractiveCredentials, ProviderError,
	// ...), AttemptsLeft the tries the current step still allows.
	Error        string       `json:"error,omitempty"`
	ErrorClass   string       `json:"errorClass,omitempty"`
	AttemptsLeft int          `json:"attemptsLeft,omitempty"`
	ExpiresAt    string       `json:"expiresAt,omitempty"`
	Consent      *consentView `json:"consent,omitempty"`
	// ReturnTo is the way back to the application once the session is
	// over: the connection request's return_to with the outcome added
	// (stage, connection_id, error_class).
	ReturnTo string `json:"returnTo,omitempty"`

	// Heading, ExpiresText and Logo are for the HTML page only.
	Heading     string `json:"-"`
	ExpiresText string `json:"-"`
	Logo        logo   `json:"-"`
	// Token goes into the forms' hidden field, never into JSON.
	Token string `json:"-"`
	// PostMessage asks the page to report the outcome to the embedding
	// window (javascript_callback_type "post_message"); postError is the
	// error it reports (the session's, Salt Edge style).
	PostMessage bool   `json:"-"`
	postError   string `json:"-"`
}

// consentView is what the application will see, in words.
type consentView struct {
	Scopes     []string `json:"scopes"`
	FromDate   string   `json:"fromDate,omitempty"` // YYYY-MM-DD
	PeriodDays int      `json:"periodDays,omitempty"`

	Items     []scopeText `json:"-"`
	FromText  string      `json:"-"`
	UntilText string      `json:"-"`
}

type scopeText struct{ Title, Detail string }

// scopeTexts say what each consent scope shares.
var scopeTexts = map[string]scopeText{
	"account_details":      {"Your accounts", "Names, numbers (IBAN), currencies and balances."},
	"holder_information":   {"Who holds them", "The account holder's name and contact details the bank keeps."},
	"transactions_details": {"Your transactions", "Dates, amounts, descriptions and who paid or was paid."},
}

// fetchScopeScopes are the consent scopes of fetch scopes, for a session
// whose request named no consent scopes.
var fetchScopeScopes = map[string]string{
	"accounts": "account_details", "holder_info": "holder_information", "transactions": "transactions_details",
}

// logo is the bank's mark drawn on the page itself (the page loads no
// external asset): its initials on a colour derived from its code.
type logo struct{ Initials, Color string }

var logoColors = []string{"#1a56db", "#0e7490", "#7e22ce", "#b45309", "#15803d", "#be123c", "#4338ca", "#0f766e"}

func bankLogo(code, name string) logo {
	var initials []rune
	for _, w := range strings.Fields(name) {
		r := []rune(w)[0]
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			initials = append(initials, unicode.ToUpper(r))
		}
		if len(initials) == 2 {
			break
		}
	}
	h := fnv.New32a()
	h.Write([]byte(code))
	return logo{Initials: string(initials), Color: logoColors[h.Sum32()%uint32(len(logoColors))]}
}

// Open reports whether the session still takes a step (its forms show).
func (v view) Open() bool { return v.Stage == sandbox.StageLogin || v.Stage == sandbox.StageChallenge }

// Over reports whether the page is final (nothing more to do here).
func (v view) Over() bool { return !v.Open() }

// AttemptsText tells how many tries are left after a failed one.
func (v view) AttemptsText() string {
	switch {
	case !v.Open() || v.ErrorClass == "":
		return ""
	case v.AttemptsLeft == 1:
		return "You can try once more."
	}
	return fmt.Sprintf("You can try %d more times.", v.AttemptsLeft)
}

// PostMessageData is what the page posts to the embedding window at the
// end of a session (Salt Edge's post_message callback shape).
func (v view) PostMessageData() (string, error) {
	b, err := json.Marshal(map[string]any{"data": map[string]string{"connection_id": v.ConnectionID, "stage": v.Stage, "error": v.postError}})
	return string(b), err
}

// dateText is a date as people read it ("8 February 2025").
func dateText(t time.Time) string { return t.UTC().Format("2 January 2006") }

// sessionView is the page of a session.
func (a *API) sessionView(s sandbox.Session) view {
	v := view{
		status: http.StatusOK, Stage: s.Stage, Application: a.appName, BankCode: s.BankCode, BankName: s.BankName,
		Interactive: s.Interactive, Challenge: s.Challenge, ConnectionID: s.ConnectionID,
		ErrorClass: s.ErrorClass, AttemptsLeft: s.AttemptsLeft, Token: s.Token, postError: s.Error,
		Logo: bankLogo(s.BankCode, s.BankName),
	}
	if !s.ExpiresAt.IsZero() {
		v.ExpiresAt = s.ExpiresAt.UTC().Format(time.RFC3339)
		v.ExpiresText = s.ExpiresAt.UTC().Format("2 January 2006 at 15:04 UTC")
	}
	bank := cmp.Or(s.BankName, "your bank")
	switch s.Stage {
	case sandbox.StageLogin:
		v.Heading = "Connect your " + bank + " accounts"
		v.Message = "Log in with the username and password you use at " + bank + ". " + a.appName + " never sees them."
	case sandbox.StageChallenge:
		v.Heading = "Confirm it is you"
		v.Message = bank + " asks for a one-time code to finish the login."
	case sandbox.StageDone:
		v.Heading = "Connected"
		v.Message = "Your accounts at " + bank + " are connected. " + a.appName + " receives their data in a moment."
	case sandbox.StageFailed:
		v.Heading = "Not connected"
		v.Message = "This link can no longer be used. Start again from " + a.appName + " to get a new one."
	case sandbox.StageCancelled:
		v.Heading = "Cancelled"
		v.Message = "You cancelled: nothing was shared with " + a.appName + "."
	}
	if s.Stage != sandbox.StageCancelled && s.Stage != sandbox.StageDone {
		v.Error = a.errorText(s)
	}
	if v.Open() {
		v.Consent = a.consentView(s)
	} else {
		v.PostMessage = s.JavascriptCallbackType == "post_message"
		class := ""
		if s.Stage == sandbox.StageFailed {
			class = s.ErrorClass // the stage says a cancel
		}
		v.ReturnTo = returnLink(s.ReturnTo, v.Stage, s.ConnectionID, class)
	}
	return v
}

// errorText says in words what a session's error means for the user.
func (a *API) errorText(s sandbox.Session) string {
	bank := cmp.Or(s.BankName, "The bank")
	last := s.Stage == sandbox.StageFailed
	switch s.ErrorClass {
	case "":
		return ""
	case sandbox.ErrInvalidCredentials:
		if last {
			return fmt.Sprintf("The username or password was wrong %d times.", sandbox.Attempts)
		}
		return "The username or password is not correct."
	case sandbox.ErrInvalidInteractiveCredentials:
		if last {
			return fmt.Sprintf("The code was wrong %d times.", sandbox.Attempts)
		}
		return "That code is not correct. Check the code and enter it again."
	case sandbox.ErrProviderError:
		if last {
			return bank + " did not answer after " + strconv.Itoa(sandbox.Attempts) + " tries. Please try again later."
		}
		return bank + " did not answer. Please try again."
	case sandbox.ErrProviderDisabled:
		return bank + " is no longer available for connections."
	case sandbox.ErrCustomerNotFound:
		return "This connection request was withdrawn by " + a.appName + "."
	}
	return "The connection could not be completed."
}

// consentView says what the application will see: the consent's scopes
// (else those of the fetch), from which date, for how many days.
func (a *API) consentView(s sandbox.Session) *consentView {
	scopes := s.ConsentScopes
	if len(scopes) == 0 {
		for _, f := range s.FetchScopes {
			if c, ok := fetchScopeScopes[f]; ok {
				scopes = append(scopes, c)
			}
		}
	}
	if len(scopes) == 0 {
		return nil
	}
	c := &consentView{Scopes: scopes, PeriodDays: s.ConsentDays}
	for _, sc := range scopes {
		if t, ok := scopeTexts[sc]; ok {
			c.Items = append(c.Items, t)
		}
	}
	if !s.ConsentFrom.IsZero() {
		c.FromDate, c.FromText = s.ConsentFrom.UTC().Format(time.DateOnly), dateText(s.ConsentFrom)
	}
	if s.ConsentDays > 0 {
		// The consent starts when the user connects: today.
		c.UntilText = dateText(a.clock.Now().AddDate(0, 0, s.ConsentDays))
	}
	return c
}

// returnLink is return_to with the outcome of the session added to its
// query: stage (done, failed, cancelled, expired), connection_id and
// error_class when there are.
func returnLink(returnTo, stage, connectionID, errorClass string) string {
	if returnTo == "" {
		return ""
	}
	u, err := url.Parse(returnTo)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "" // validated when the session was made; never link anything else
	}
	q := u.Query()
	q.Set("stage", stage)
	for k, v := range map[string]string{"connection_id": connectionID, "error_class": errorClass} {
		if v != "" {
			q.Set(k, v)
		} else {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// errorView turns a session error into its page.
func (a *API) errorView(r *http.Request, s sandbox.Session, err error) view {
	switch {
	case errors.Is(err, sandbox.ErrSessionNotFound):
		return a.invalidView(http.StatusNotFound, "Check that you opened the whole link, or start again from the application.")
	case errors.Is(err, sandbox.ErrSessionExpired):
		v := a.sessionView(s)
		v.status, v.Stage, v.Token, v.Consent, v.Error, v.ErrorClass, v.AttemptsLeft = http.StatusGone, stageExpired, "", nil, "", "", 0
		v.Heading = "This link has expired"
		v.Message = "For your security a connect link works for a limited time. Start again from " + a.appName + " to get a new one."
		v.PostMessage, v.postError = s.JavascriptCallbackType == "post_message", ""
		v.ReturnTo = returnLink(s.ReturnTo, stageExpired, "", "")
		return v
	case errors.Is(err, sandbox.ErrSessionUsed):
		v := a.sessionView(s)
		v.status, v.Stage, v.Token, v.PostMessage = http.StatusBadRequest, stageUsed, "", false
		v.Heading = "This link was already used"
		switch s.Stage {
		case sandbox.StageDone:
			v.Message = "Your accounts at " + cmp.Or(s.BankName, "the bank") + " are already connected."
		case sandbox.StageCancelled:
			v.Message = "This connection was cancelled. Start again from " + a.appName + " to get a new link."
		default:
			v.Message = "This connection attempt has ended. Start again from " + a.appName + " to get a new link."
		}
		return v
	}
	a.log.ErrorContext(r.Context(), "connect page failed", "err", err, "requestId", platform.RequestID(r.Context()))
	return view{status: http.StatusInternalServerError, Stage: stageError, Application: a.appName, Heading: "Something went wrong",
		Message: "Something went wrong on our side. Please try again in a moment."}
}

// invalidView is the page of a request that names no usable session.
func (a *API) invalidView(status int, msg string) view {
	return view{status: status, Stage: stageInvalid, Application: a.appName, Heading: "This link is not valid", Message: msg}
}

// GET /connect/sessions?token=...
func (a *API) showSession(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		a.render(w, r, a.invalidView(http.StatusBadRequest, "The link has no token. Open the whole link the application gave you."))
		return
	}
	s, err := a.sessions.Session(r.Context(), token)
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return
	}
	a.render(w, r, a.sessionView(s))
}

// readForm parses an x-www-form-urlencoded body (at most 1 MiB).
func readForm(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		return fmt.Errorf("content type %q: send the form as application/x-www-form-urlencoded", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, platform.MaxBodyBytes)
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(platform.MaxBodyBytes)
	}
	return r.ParseForm()
}

// badForm answers a form that could not be read: 413 over the body limit
// (as every API answers a body over 1 MiB), else 400.
func (a *API) badForm(w http.ResponseWriter, r *http.Request, err error) {
	v := a.invalidView(http.StatusBadRequest, "Bad form: "+err.Error())
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		v.status, v.Message = http.StatusRequestEntityTooLarge, fmt.Sprintf("Bad form: the request body exceeds %d bytes.", platform.MaxBodyBytes)
	}
	a.render(w, r, v)
}

// formToken reads a submitted form and its token; false when the page was
// answered already.
func (a *API) formToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	if err := readForm(w, r); err != nil {
		a.badForm(w, r, err)
		return "", false
	}
	token := r.PostFormValue("token")
	if token == "" {
		a.render(w, r, a.invalidView(http.StatusBadRequest, "The form has no token. Open the whole link the application gave you."))
		return "", false
	}
	return token, true
}

// POST /connect/sessions (token, username, password)
func (a *API) submitLogin(w http.ResponseWriter, r *http.Request) {
	token, ok := a.formToken(w, r)
	if !ok {
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	if strings.TrimSpace(username) == "" || password == "" {
		// Not sent to the bank: an incomplete form is no try.
		a.incomplete(w, r, token, "Enter both your username and your password.")
		return
	}
	if !a.watch(w, r, token, sandbox.StageLogin) {
		return
	}
	s, err := a.sessions.SubmitLogin(r.Context(), token, username, password)
	a.outcome(w, r, token, s, err)
}

// POST /connect/sessions/challenge (token, answer)
func (a *API) submitChallenge(w http.ResponseWriter, r *http.Request) {
	token, ok := a.formToken(w, r)
	if !ok {
		return
	}
	if strings.TrimSpace(r.PostFormValue("answer")) == "" {
		a.incomplete(w, r, token, "Enter the code.")
		return
	}
	if !a.watch(w, r, token, sandbox.StageChallenge) {
		return
	}
	s, err := a.sessions.SubmitChallenge(r.Context(), token, r.PostFormValue("answer"))
	a.outcome(w, r, token, s, err)
}

// POST /connect/sessions/cancel (token)
func (a *API) cancel(w http.ResponseWriter, r *http.Request) {
	token, ok := a.formToken(w, r)
	if !ok || !a.watch(w, r, token, "") {
		return
	}
	s, err := a.sessions.Cancel(r.Context(), token)
	a.outcome(w, r, token, s, err)
}

// watch makes a submit crash-safe (issue 12): before the submit may spend
// the session's one-time token at the provider, the session's outcome is
// bound to reach its connection (connection.Service.WatchConnect queues a
// job that records it from the provider's side if this process dies
// before outcome records it). It reads the session first: one that cannot
// take the submit (over, expired, unknown) is answered here as the submit
// would be, and one at another stage than stage ("" for any) is left to
// the submit's ErrWrongStage, which spends nothing. False when the page was
// answered already; a failure to queue answers 500 and submits nothing.
func (a *API) watch(w http.ResponseWriter, r *http.Request, token, stage string) bool {
	s, err := a.sessions.Session(r.Context(), token)
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return false
	}
	if stage != "" && s.Stage != stage {
		return true
	}
	o := connection.Outcome{Provider: sandbox.Name, CustomerID: s.CustomerID, BankCode: s.BankCode, Token: token}
	if err := a.conns.WatchConnect(r.Context(), o); err != nil {
		a.render(w, r, a.errorView(r, s, fmt.Errorf("watch connect session: %w", err)))
		return false
	}
	return true
}

// wrongStage says why a form was refused: the session waits for another
// step (the one whose form the page shows with it).
func wrongStage(stage string) string {
	switch stage {
	case sandbox.StageLogin:
		return "Log in first: the bank needs your username and password before the code."
	case sandbox.StageChallenge:
		return "Your login was already accepted: enter the code the bank sent you."
	}
	return "This step is not expected now."
}

// incomplete shows the session's current form again with a 400.
func (a *API) incomplete(w http.ResponseWriter, r *http.Request, token, msg string) {
	s, err := a.sessions.Session(r.Context(), token)
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return
	}
	v := a.sessionView(s)
	v.status, v.Error, v.ErrorClass = http.StatusBadRequest, msg, ""
	a.render(w, r, v)
}

// outcome records what a submit led to and renders it.
func (a *API) outcome(w http.ResponseWriter, r *http.Request, token string, s sandbox.Session, err error) {
	if errors.Is(err, sandbox.ErrWrongStage) {
		cur, cerr := a.sessions.Session(r.Context(), token)
		if cerr != nil {
			a.render(w, r, a.errorView(r, cur, cerr))
			return
		}
		v := a.sessionView(cur)
		v.status, v.Error, v.ErrorClass = http.StatusConflict, wrongStage(cur.Stage), ""
		a.render(w, r, v)
		return
	}
	if err != nil {
		a.render(w, r, a.errorView(r, s, err))
		return
	}
	o := connection.Outcome{Provider: sandbox.Name, CustomerID: s.CustomerID, BankCode: s.BankCode, ConnectionID: s.ConnectionID, Token: token}
	switch s.Stage {
	case sandbox.StageDone:
		if _, err := a.conns.CompleteConnect(r.Context(), o); err != nil {
			a.settleLater(r, o, "done", err)
		}
	case sandbox.StageFailed, sandbox.StageCancelled:
		if _, err := a.conns.FailConnect(r.Context(), o, s.Error); err != nil {
			a.settleLater(r, o, "fail", err)
		}
	}
	a.render(w, r, a.sessionView(s))
}

// settleLater handles a failure to record a finished session: the bank side
// is settled (the token is used up), so the page still tells the user the
// outcome, and a connection sync is queued to bring the record in line.
func (a *API) settleLater(r *http.Request, o connection.Outcome, kind string, err error) {
	ctx := r.Context()
	if errors.Is(err, connection.ErrUnknownSession) {
		a.log.WarnContext(ctx, "connect session for an unknown connection", "customer", o.CustomerID, "bank", o.BankCode, "err", err)
		return
	}
	a.log.ErrorContext(ctx, "recording connect outcome failed; queuing a sync", "customer", o.CustomerID, "bank", o.BankCode, "err", err)
	cb := connection.Callback{Provider: o.Provider, Kind: kind, CustomerID: o.CustomerID, ConnectionID: o.ConnectionID,
		SentAt: a.clock.Now(), Key: kind + "/" + connection.TokenHash(o.Token)}
	if qerr := a.conns.QueueCallback(ctx, cb); qerr != nil {
		a.log.ErrorContext(ctx, "queuing the connection sync failed", "customer", o.CustomerID, "err", qerr)
	}
}

// wantsJSON reports whether the client asked for JSON rather than HTML.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}

// render writes the page, or its JSON with Accept: application/json.
func (a *API) render(w http.ResponseWriter, r *http.Request, v view) {
	h := w.Header()
	// The URL carries a bearer token: never cache it, never leak it in a
	// Referer, never let another origin read the page through a script.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept")
	if wantsJSON(r) {
		platform.WriteJSON(w, v.status, v)
		return
	}
	h.Set("Content-Security-Policy", a.csp)
	if !a.framing {
		h.Set("X-Frame-Options", "DENY") // browsers without CSP level 2
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(v.status)
	if err := pageTemplate.Execute(w, v); err != nil {
		a.log.ErrorContext(r.Context(), "render connect page", "err", err)
	}
}

//go:embed page.html
var pageHTML string

// pageTemplate is the whole page: inline CSS and script, no external
// asset (the CSP allows none).
var pageTemplate = template.Must(template.New("page").Parse(pageHTML))
