package sandbox

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store/bolt"
)

var t0 = time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)

const publicURL = "https://openagg.example"

func openStore(tb testing.TB) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "sandbox.db"), bolt.Options{TokenSecret: []byte("sandbox-test-token-secret")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func newProvider(tb testing.TB, clock platform.Clock, opts Options) *Provider {
	tb.Helper()
	opts.Clock = clock
	opts.PublicURL = publicURL + "/"
	if opts.SlowDelay == 0 {
		opts.SlowDelay = 20 * time.Millisecond
	}
	return New(openStore(tb), opts)
}

// connect creates the customer (if needed) and walks a session to "done".
func connect(tb testing.TB, p *Provider, identifier, bank string, edit func(*provider.ConnectRequest)) (customerID, connectionID string) {
	tb.Helper()
	ctx := context.Background()
	cust, err := p.CreateCustomer(ctx, identifier)
	switch {
	case errors.Is(err, provider.ErrDuplicateCustomer):
		customerID = p.customerID(identifier)
	case err != nil:
		tb.Fatal(err)
	default:
		customerID = cust.ID
	}
	req := provider.ConnectRequest{CustomerID: customerID, BankCode: bank, ConsentScopes: consentScopes, ConsentPeriodDays: 90}
	if edit != nil {
		edit(&req)
	}
	cs, err := p.CreateConnectSession(ctx, req)
	if err != nil {
		tb.Fatal(err)
	}
	token := tokenOf(tb, cs.ConnectURL)
	s, err := p.SubmitLogin(ctx, token, "alex", Password)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Stage == StageChallenge {
		if s, err = p.SubmitChallenge(ctx, token, ChallengeAnswer); err != nil {
			tb.Fatal(err)
		}
	}
	if s.Stage != StageDone || s.ConnectionID == "" {
		tb.Fatalf("session ended at %q (%s)", s.Stage, s.Error)
	}
	return customerID, s.ConnectionID
}

func tokenOf(tb testing.TB, connectURL string) string {
	tb.Helper()
	prefix := publicURL + "/connect/sessions?token="
	if !strings.HasPrefix(connectURL, prefix) {
		tb.Fatalf("connect URL %q does not start with %q", connectURL, prefix)
	}
	tok := strings.TrimPrefix(connectURL, prefix)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		tb.Fatalf("token %q is not 64 hex characters", tok)
	}
	return tok
}

func TestDirectory(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{})
	codeRE := regexp.MustCompile(`^[a-z0-9_]+_(oauth|web|api|file)_client_[a-z]{2}_xf$`)

	var all []provider.Bank
	cursor, pages := "", 0
	for {
		page, err := p.ListBanks(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Banks) > BankPageSize {
			t.Fatalf("page of %d banks", len(page.Banks))
		}
		all = append(all, page.Banks...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if pages < 2 {
		t.Errorf("directory fits one page (%d banks); paging untested", len(all))
	}
	countries := map[string]int{}
	codes := map[string]bool{}
	for _, b := range all {
		if !codeRE.MatchString(b.Code) {
			t.Errorf("code %q is not Salt Edge shaped", b.Code)
		}
		if codes[b.Code] {
			t.Errorf("code %q listed twice", b.Code)
		}
		codes[b.Code] = true
		countries[b.CountryCode]++
		if b.Name == "" || b.HomeURL == "" || b.LoginURL == "" || b.LogoURL == "" || b.Timezone == "" || b.MaxConsentDays <= 0 ||
			len(b.SupportedFetchScopes) == 0 || len(b.SupportedAccountNatures) == 0 || len(b.SupportedAccountTypes) == 0 || b.UpdatedAt.IsZero() {
			t.Errorf("bank %s has empty fields: %+v", b.Code, b)
		}
		if _, err := time.LoadLocation(b.Timezone); err != nil {
			t.Errorf("bank %s timezone: %v", b.Code, err)
		}
	}
	for _, cc := range []string{"GB", "DE", "LU", "FR", "XF"} {
		if countries[cc] == 0 {
			t.Errorf("no bank in %s", cc)
		}
	}
	for _, c := range []string{BankChallenge, BankFailing, BankSlow, BankBig, BankInactive, BankDefault, "bkbklull_oauth_client_lu_xf"} {
		if !codes[c] {
			t.Errorf("bank %s missing", c)
		}
	}
	if b, _ := p.Bank(ctx, BankChallenge); !b.Interactive {
		t.Errorf("challenge bank not interactive")
	}
	if b, _ := p.Bank(ctx, BankInactive); b.Status != "inactive" {
		t.Errorf("inactive bank has status %q", b.Status)
	}

	// Hidden banks disappear from the directory and the lookup.
	hidden := newProvider(t, clocktest.New(t0), Options{Hidden: []string{BankDefault, "bkbklull_oauth_client_lu_xf"}})
	n := 0
	for cursor := ""; ; {
		page, err := hidden.ListBanks(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Banks {
			if b.Code == BankDefault || b.Code == "bkbklull_oauth_client_lu_xf" {
				t.Errorf("hidden bank %s listed", b.Code)
			}
		}
		n += len(page.Banks)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if n != len(all)-2 {
		t.Errorf("hidden directory has %d banks, want %d", n, len(all)-2)
	}
	if _, err := hidden.Bank(ctx, BankDefault); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("hidden bank lookup: %v", err)
	}
	if _, err := p.ListBanks(ctx, "not-a-cursor"); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestCustomers(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{Seed: 7})
	c, err := p.CreateCustomer(ctx, "GB0010001-100100")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[1-9][0-9]{17}$`).MatchString(c.ID) {
		t.Errorf("customer id %q is not 18 digits", c.ID)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(c.Secret) {
		t.Errorf("secret %q is not 43 URL-safe base64 characters", c.Secret)
	}
	if c.Identifier != "GB0010001-100100" {
		t.Errorf("identifier %q", c.Identifier)
	}
	if _, err := p.CreateCustomer(ctx, "GB0010001-100100"); !errors.Is(err, provider.ErrDuplicateCustomer) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := p.CreateCustomer(ctx, " "); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("blank identifier: %v", err)
	}
	other := newProvider(t, clocktest.New(t0), Options{Seed: 7})
	c2, err := other.CreateCustomer(ctx, "GB0010001-100100")
	if err != nil {
		t.Fatal(err)
	}
	// The id follows from seed and identifier; the secret is random
	// (TestSecretsAtRest).
	if c2.ID != c.ID || c2.Identifier != c.Identifier || c2.Secret == c.Secret {
		t.Errorf("same id, new secret expected: %+v vs %+v", c, c2)
	}
	reseeded := newProvider(t, clocktest.New(t0), Options{Seed: 8})
	if c3, _ := reseeded.CreateCustomer(ctx, "GB0010001-100100"); c3.ID == c.ID || c3.Secret == c.Secret {
		t.Errorf("seed does not change the customer: %+v", c3)
	}

	_, connID := connect(t, p, "GB0010001-100100", BankDefault, nil)
	if err := p.DeleteCustomer(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ListConnections(ctx, c.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("connections of a deleted customer: %v", err)
	}
	if _, err := p.ListAccounts(ctx, connID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("accounts of a deleted customer: %v", err)
	}
	if err := p.DeleteCustomer(ctx, c.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if again, err := p.CreateCustomer(ctx, "GB0010001-100100"); err != nil || again.ID != c.ID || again.Identifier != c.Identifier || again.Secret == c.Secret {
		t.Errorf("recreate: %+v, %v; want the same id with a new secret", again, err)
	}
}

func TestCreateConnectSession(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{Hidden: []string{"sandbox_bank_oauth_client_fr_xf"}})
	cust, err := p.CreateCustomer(ctx, "GB0010001-100200")
	if err != nil {
		t.Fatal(err)
	}
	base := provider.ConnectRequest{
		CustomerID: cust.ID, BankCode: BankDefault,
		ConsentScopes: []string{"account_details", "transactions_details"}, ConsentFrom: t0.AddDate(0, 0, -90), ConsentPeriodDays: 90,
		FetchScopes: []string{"accounts", "transactions"}, AttemptFrom: t0.AddDate(0, 0, -90), AttemptPeriodDays: 90,
		DailyRefresh: true, JavascriptCallbackType: "post_message", ReturnTo: "https://app.example/done",
	}
	tests := []struct {
		name string
		edit func(*provider.ConnectRequest)
		want error
	}{
		{"valid", func(*provider.ConnectRequest) {}, nil},
		{"defaults", func(r *provider.ConnectRequest) {
			*r = provider.ConnectRequest{CustomerID: r.CustomerID, BankCode: r.BankCode}
		}, nil},
		{"unknown bank", func(r *provider.ConnectRequest) { r.BankCode = "nope_oauth_client_gb_xf" }, provider.ErrNotFound},
		{"hidden bank", func(r *provider.ConnectRequest) { r.BankCode = "sandbox_bank_oauth_client_fr_xf" }, provider.ErrNotFound},
		{"inactive bank", func(r *provider.ConnectRequest) { r.BankCode = BankInactive }, provider.ErrInvalid},
		{"unknown customer", func(r *provider.ConnectRequest) { r.CustomerID = "123456789012345678" }, provider.ErrNotFound},
		{"unsupported fetch scope", func(r *provider.ConnectRequest) {
			r.BankCode = "bkbklull_oauth_client_lu_xf"
			r.FetchScopes = []string{"accounts", "holder_info"}
		}, provider.ErrInvalid},
		{"fetch scopes without accounts", func(r *provider.ConnectRequest) { r.FetchScopes = []string{"transactions"} }, provider.ErrInvalid},
		{"bad consent scope", func(r *provider.ConnectRequest) { r.ConsentScopes = []string{"string"} }, provider.ErrInvalid},
		{"period too long", func(r *provider.ConnectRequest) { r.ConsentPeriodDays = 91 }, provider.ErrInvalid},
		{"from date in the future", func(r *provider.ConnectRequest) { r.AttemptFrom = t0.AddDate(0, 0, 2) }, provider.ErrInvalid},
		{"bad return_to", func(r *provider.ConnectRequest) { r.ReturnTo = "javascript:alert(1)" }, provider.ErrInvalid},
		{"bad callback type", func(r *provider.ConnectRequest) { r.JavascriptCallbackType = "carrier_pigeon" }, provider.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			tc.edit(&req)
			cs, err := p.CreateConnectSession(ctx, req)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(time.Hour); !cs.ExpiresAt.Equal(want) {
				t.Errorf("expires at %s, want %s", cs.ExpiresAt, want)
			}
			s, err := p.Session(ctx, tokenOf(t, cs.ConnectURL))
			if err != nil {
				t.Fatal(err)
			}
			if s.Stage != StageLogin || s.CustomerID != cust.ID || s.BankCode != req.BankCode || s.BankName != "Sandbox Bank UK" ||
				s.ReturnTo != req.ReturnTo || s.JavascriptCallbackType != req.JavascriptCallbackType || s.Interactive ||
				s.AttemptsLeft != Attempts || s.Error != "" {
				t.Errorf("session %+v", s)
			}
			// What the page shows of the consent: what was asked.
			wantFetch := req.FetchScopes
			if wantFetch == nil {
				wantFetch = []string{"accounts", "holder_info", "transactions"}
			}
			if !slices.Equal(s.ConsentScopes, req.ConsentScopes) || s.ConsentDays != req.ConsentPeriodDays ||
				!s.ConsentFrom.Equal(req.ConsentFrom.Truncate(24*time.Hour)) || !slices.Equal(s.FetchScopes, wantFetch) {
				t.Errorf("consent of the session %v %v %d %v, want %v %v %d %v", s.ConsentScopes, s.ConsentFrom, s.ConsentDays, s.FetchScopes,
					req.ConsentScopes, req.ConsentFrom, req.ConsentPeriodDays, wantFetch)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	p := newProvider(t, clock, Options{})
	cust, err := p.CreateCustomer(ctx, "GB0010001-100300")
	if err != nil {
		t.Fatal(err)
	}
	open := func(t *testing.T, bank string) string {
		cs, err := p.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: cust.ID, BankCode: bank})
		if err != nil {
			t.Fatal(err)
		}
		return tokenOf(t, cs.ConnectURL)
	}
	type step struct {
		login     []string // username, password
		answer    string
		cancel    bool
		wantStage string
		wantErr   error
		wantClass string // ErrorClass after the step
		wantLeft  int    // AttemptsLeft after the step
	}
	wrong := func(stage, class string, left int) step {
		st := step{login: []string{"alex", "guess"}, wantStage: stage, wantClass: class, wantLeft: left}
		if class == ErrInvalidInteractiveCredentials {
			st.login, st.answer = nil, "000000"
		}
		return st
	}
	login := step{login: []string{"alex", "secret"}, wantStage: StageDone}
	tests := []struct {
		name  string
		bank  string
		steps []step
	}{
		{"ordinary bank", BankDefault, []step{login}},
		{"wrong password, then the right one", BankDefault, []step{
			{login: []string{"alex", "guess"}, wantStage: StageLogin, wantClass: ErrInvalidCredentials, wantLeft: 2},
			{login: []string{"", "secret"}, wantStage: StageLogin, wantClass: ErrInvalidCredentials, wantLeft: 1},
			login,
		}},
		{"out of tries", BankDefault, []step{
			wrong(StageLogin, ErrInvalidCredentials, 2),
			wrong(StageLogin, ErrInvalidCredentials, 1),
			wrong(StageFailed, ErrInvalidCredentials, 0),
			{login: []string{"alex", "secret"}, wantStage: StageFailed, wantClass: ErrInvalidCredentials, wantErr: ErrSessionUsed},
		}},
		{"challenge right", BankChallenge, []step{
			{answer: ChallengeAnswer, wantStage: StageLogin, wantErr: ErrWrongStage, wantLeft: 3},
			wrong(StageLogin, ErrInvalidCredentials, 2),
			{login: []string{"alex", "secret"}, wantStage: StageChallenge, wantLeft: 3}, // a new step: three tries again
			{login: []string{"alex", "secret"}, wantStage: StageChallenge, wantErr: ErrWrongStage, wantLeft: 3},
			{answer: " 123456 ", wantStage: StageDone},
		}},
		{"challenge wrong, then right", BankChallenge, []step{
			{login: []string{"alex", "secret"}, wantStage: StageChallenge, wantLeft: 3},
			wrong(StageChallenge, ErrInvalidInteractiveCredentials, 2),
			wrong(StageChallenge, ErrInvalidInteractiveCredentials, 1),
			{answer: ChallengeAnswer, wantStage: StageDone},
		}},
		{"challenge out of tries", BankChallenge, []step{
			{login: []string{"alex", "secret"}, wantStage: StageChallenge, wantLeft: 3},
			wrong(StageChallenge, ErrInvalidInteractiveCredentials, 2),
			wrong(StageChallenge, ErrInvalidInteractiveCredentials, 1),
			wrong(StageFailed, ErrInvalidInteractiveCredentials, 0),
			{answer: ChallengeAnswer, wantStage: StageFailed, wantClass: ErrInvalidInteractiveCredentials, wantErr: ErrSessionUsed},
		}},
		{"failing bank", BankFailing, []step{
			{login: []string{"alex", "secret"}, wantStage: StageLogin, wantClass: ErrProviderError, wantLeft: 2},
			{login: []string{"alex", "secret"}, wantStage: StageLogin, wantClass: ErrProviderError, wantLeft: 1},
			{login: []string{"alex", "secret"}, wantStage: StageFailed, wantClass: ErrProviderError},
		}},
		{"cancel at the login", BankDefault, []step{
			wrong(StageLogin, ErrInvalidCredentials, 2),
			{cancel: true, wantStage: StageCancelled, wantClass: ErrCancelled},
			{login: []string{"alex", "secret"}, wantStage: StageCancelled, wantClass: ErrCancelled, wantErr: ErrSessionUsed},
			{cancel: true, wantStage: StageCancelled, wantClass: ErrCancelled, wantErr: ErrSessionUsed},
		}},
		{"cancel at the challenge", BankChallenge, []step{
			{login: []string{"alex", "secret"}, wantStage: StageChallenge, wantLeft: 3},
			{cancel: true, wantStage: StageCancelled, wantClass: ErrCancelled},
			{answer: ChallengeAnswer, wantStage: StageCancelled, wantClass: ErrCancelled, wantErr: ErrSessionUsed},
		}},
		{"cancel after success", BankDefault, []step{
			login,
			{cancel: true, wantStage: StageDone, wantErr: ErrSessionUsed},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := open(t, tc.bank)
			var s Session
			for i, st := range tc.steps {
				var err error
				switch {
				case st.cancel:
					s, err = p.Cancel(ctx, token)
				case st.login != nil:
					s, err = p.SubmitLogin(ctx, token, st.login[0], st.login[1])
				default:
					s, err = p.SubmitChallenge(ctx, token, st.answer)
				}
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: error %v, want %v", i, err, st.wantErr)
				}
				if s.Stage != st.wantStage || s.ErrorClass != st.wantClass || s.AttemptsLeft != st.wantLeft {
					t.Fatalf("step %d: stage %q class %q left %d, want %q %q %d (%s)", i, s.Stage, s.ErrorClass, s.AttemptsLeft,
						st.wantStage, st.wantClass, st.wantLeft, s.Error)
				}
				if (s.ErrorClass == "") != (s.Error == "") || !strings.HasPrefix(s.Error, s.ErrorClass) {
					t.Errorf("step %d: error %q of class %q", i, s.Error, s.ErrorClass)
				}
				switch s.Stage {
				case StageChallenge:
					if s.Challenge == "" || !s.Interactive {
						t.Errorf("step %d: challenge without question: %+v", i, s)
					}
				case StageFailed, StageCancelled:
					if s.Error == "" || s.Challenge != "" {
						t.Errorf("step %d: %s with error %q, challenge %q", i, s.Stage, s.Error, s.Challenge)
					}
				case StageDone:
					if s.ConnectionID == "" || s.Error != "" {
						t.Errorf("step %d: done without connection or with error %q", i, s.Error)
					}
				}
			}
			if over(s.Stage) {
				if _, err := p.Session(ctx, token); !errors.Is(err, ErrSessionUsed) {
					t.Errorf("session after the end: %v", err)
				}
			}
		})
	}

	t.Run("failing bank leaves an inactive connection", func(t *testing.T) {
		conns, err := p.ListConnections(ctx, cust.ID)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(conns, func(c provider.Connection) bool { return c.BankCode == BankFailing })
		if i < 0 {
			t.Fatalf("no connection to the failing bank in %+v", conns)
		}
		if c := conns[i]; c.Status != "inactive" || !strings.HasPrefix(c.LastError, "ProviderError") {
			t.Errorf("failing connection %+v", c)
		}
		if _, err := p.ListAccounts(ctx, conns[i].ID); !errors.Is(err, provider.ErrUnavailable) {
			t.Errorf("accounts of the failing bank: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		token := open(t, BankDefault)
		clock.Advance(time.Hour)
		defer clock.Set(t0)
		if s, err := p.Session(ctx, token); !errors.Is(err, ErrSessionExpired) || s.Token != token {
			t.Errorf("Session: %+v, %v", s, err)
		}
		if _, err := p.SubmitLogin(ctx, token, "alex", Password); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("SubmitLogin: %v", err)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		for _, tok := range []string{strings.Repeat("ab", 32), "short", strings.Repeat("Z", 64), ""} {
			if _, err := p.Session(ctx, tok); !errors.Is(err, ErrSessionNotFound) {
				t.Errorf("%q: %v", tok, err)
			}
		}
	})
	t.Run("reconnect reuses the connection", func(t *testing.T) {
		_, first := connect(t, p, "GB0010001-100300", "sandbox_bank_oauth_client_de_xf", nil)
		clock.Advance(2 * time.Hour)
		defer clock.Set(t0)
		_, second := connect(t, p, "GB0010001-100300", "sandbox_bank_oauth_client_de_xf", nil)
		if first != second {
			t.Errorf("reconnect made a new connection %s (was %s)", second, first)
		}
		conns, err := p.ListConnections(ctx, cust.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range conns {
			if c.BankCode == "sandbox_bank_oauth_client_de_xf" {
				n++
				if !c.LastSuccessAt.Equal(t0.Add(2*time.Hour)) || !c.CreatedAt.Equal(t0) || c.Status != "active" {
					t.Errorf("reconnected connection %+v", c)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d connections to one bank", n)
		}
	})
}

// Concurrent submits on one link: the right password wins exactly once
// (the others find the session over), and wrong ones are each counted
// once, never more than the session allows.
func TestConcurrentSubmits(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{})
	cust, err := p.CreateCustomer(ctx, "GB0010001-100400")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	for _, tc := range []struct {
		name     string
		password string
		// outcomes of the n submits: stage after the submit → count, and
		// how many found the session over.
		want     map[string]int
		wantUsed int
	}{
		{"right password", Password, map[string]int{StageDone: 1}, n - 1},
		{"wrong password", "wrong", map[string]int{StageLogin: Attempts - 1, StageFailed: 1}, n - Attempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := p.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: cust.ID, BankCode: BankDefault})
			if err != nil {
				t.Fatal(err)
			}
			token := tokenOf(t, cs.ConnectURL)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				got  = map[string]int{}
				used int
			)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := p.SubmitLogin(ctx, token, "alex", tc.password)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						got[s.Stage]++
					case errors.Is(err, ErrSessionUsed):
						used++
						if !over(s.Stage) {
							t.Errorf("loser sees stage %q", s.Stage)
						}
					default:
						t.Errorf("submit: %v", err)
					}
				}()
			}
			wg.Wait()
			if !maps.Equal(got, tc.want) || used != tc.wantUsed {
				t.Errorf("outcomes %v and %d over, want %v and %d", got, used, tc.want, tc.wantUsed)
			}
		})
	}
	conns, err := p.ListConnections(ctx, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) > 1 {
		t.Errorf("%d connections", len(conns))
	}
}

func TestConnections(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(t0)
	st := openStore(t)
	p := New(st, Options{Clock: clock, PublicURL: publicURL})
	custID, connID := connect(t, p, "GB0010001-100500", BankDefault, nil)

	conns, err := p.ListConnections(ctx, custID)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Connection{
		ID: connID, CustomerID: custID, BankCode: BankDefault, BankName: "Sandbox Bank UK", CountryCode: "GB",
		Status: "active", DailyRefresh: true, NextRefreshPossibleAt: t0.Add(time.Hour), LastSuccessAt: t0, CreatedAt: t0, UpdatedAt: t0,
	}
	if len(conns) != 1 || conns[0] != want {
		t.Fatalf("connections %+v, want [%+v]", conns, want)
	}
	if _, err := p.ListConnections(ctx, "999999999999999999"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown customer: %v", err)
	}

	// Refresh: too early, then allowed an hour after the last one.
	clock.Advance(59 * time.Minute)
	if _, err := p.RefreshConnection(ctx, connID); !errors.Is(err, provider.ErrTooEarly) {
		t.Fatalf("early refresh: %v", err)
	}
	clock.Advance(time.Minute)
	c, err := p.RefreshConnection(ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	if !c.LastSuccessAt.Equal(now) || !c.NextRefreshPossibleAt.Equal(now.Add(time.Hour)) || c.Status != "active" {
		t.Errorf("refreshed %+v", c)
	}
	if _, err := p.RefreshConnection(ctx, connID); !errors.Is(err, provider.ErrTooEarly) {
		t.Errorf("second refresh: %v", err)
	}
	if _, err := p.RefreshConnection(ctx, "123"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown connection: %v", err)
	}

	// The failing bank fails its refresh too.
	_, failing := connectFailing(t, p, "GB0010001-100500")
	clock.Advance(2 * time.Hour)
	if _, err := p.RefreshConnection(ctx, failing); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("failing refresh: %v", err)
	}

	// A bank that leaves the directory disables its connections.
	gone := New(st, Options{Clock: clock, PublicURL: publicURL, Hidden: []string{BankDefault}})
	conns, err = gone.ListConnections(ctx, custID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if c.ID == connID && c.Status != "disabled" {
			t.Errorf("connection to a hidden bank is %q", c.Status)
		}
	}
	if _, err := gone.RefreshConnection(ctx, connID); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("refresh at a hidden bank: %v", err)
	}

	// Delete.
	if err := p.DeleteConnection(ctx, connID); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteConnection(ctx, connID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := p.ListAccounts(ctx, connID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("accounts of a deleted connection: %v", err)
	}
	conns, err = p.ListConnections(ctx, custID)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(conns, func(c provider.Connection) bool { return c.ID == connID }) {
		t.Errorf("deleted connection still listed")
	}
	if _, again := connect(t, p, "GB0010001-100500", BankDefault, nil); again != connID {
		t.Errorf("reconnect after delete: id %s, want %s", again, connID)
	}
}

func connectFailing(t *testing.T, p *Provider, identifier string) (string, string) {
	t.Helper()
	ctx := context.Background()
	id := p.customerID(identifier)
	cs, err := p.CreateConnectSession(ctx, provider.ConnectRequest{CustomerID: id, BankCode: BankFailing})
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	for range Attempts {
		if s, err = p.SubmitLogin(ctx, tokenOf(t, cs.ConnectURL), "alex", Password); err != nil || s.ConnectionID == "" {
			t.Fatalf("failing bank login: %+v, %v", s, err)
		}
	}
	if s.Stage != StageFailed {
		t.Fatalf("failing bank after %d tries: %+v", Attempts, s)
	}
	return id, s.ConnectionID
}

func TestSlowBank(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, clocktest.New(t0), Options{SlowDelay: 100 * time.Millisecond})
	_, connID := connect(t, p, "GB0010001-100600", BankSlow, nil)
	start := time.Now()
	if _, err := p.ListAccounts(ctx, connID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("slow bank answered in %s", d)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := p.ListAccounts(short, connID); !errors.Is(err, provider.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled slow fetch: %v", err)
	}
}
