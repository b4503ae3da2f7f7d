package connect_test

// The connect page in a real browser: headless Chromium driven through
// the DevTools protocol (internal/platform/browsertest), one browser for
// the package, one tab per test, the page served by the production stack
// on a loopback server. Each test saves screenshots in its artifact
// directory (go test -artifacts keeps them under -outputdir).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform/browsertest"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// browserEnv is the stack on a loopback server, the calling application's
// own server (where return_to leads) and a browser tab.
type browserEnv struct {
	t   *testing.T
	e   *partytest.Env
	tok string
	srv *httptest.Server // OpenAgg
	app *httptest.Server // the application: records where the user came back
	ctx context.Context

	mu       sync.Mutex
	requests []string // every URL the tab asked for
	returned []url.URL
}

// newBrowserEnv builds the stack with opts (AppName "Budget Buddy" unless
// set), alice's profile, and a tab whose time zone is Europe/Paris (the
// page shows the expiry in the user's own time).
func newBrowserEnv(t *testing.T, opts partytest.Options) *browserEnv {
	t.Helper()
	ctx := browsertest.Tab(t) // first: skips (or fails under CI) without a browser
	if opts.AppName == "" {
		opts.AppName = "Budget Buddy"
	}
	b := &browserEnv{t: t, e: partytest.New(t, opts), ctx: ctx}
	b.tok = b.e.Token(alice)
	b.e.CreateProfile(b.tok, partyID)
	b.srv = httptest.NewServer(b.e.Handler)
	t.Cleanup(b.srv.Close)
	b.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" { // the browser's own request
			http.NotFound(w, r)
			return
		}
		b.mu.Lock()
		b.returned = append(b.returned, *r.URL)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><title>Budget Buddy</title><h1 id="app">Back in Budget Buddy</h1>`)
	}))
	t.Cleanup(b.app.Close)
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, r.Request.URL)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	return b
}

// open starts a connection to bank (return_to: the application) and opens
// its connect page.
func (b *browserEnv) open(bank string) string {
	b.t.Helper()
	token := b.e.CreateConnectionWith(b.tok, partyID, bank, partytest.ConnectBodyReturning(partyID, b.app.URL+"/connected?state=xyz"))
	b.navigate(b.srv.URL+"/connect/sessions?token="+token, http.StatusOK)
	return token
}

// navigate loads u and checks the status of its document.
func (b *browserEnv) navigate(u string, status int64) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(u))
	if err != nil {
		b.t.Fatalf("navigate %s: %v", u, err)
	}
	if resp.Status != status {
		b.t.Fatalf("navigate %s: status %d, want %d", u, resp.Status, status)
	}
}

// keys types at the focused element, as a person at a keyboard does;
// "\t" moves the focus, "\r" submits.
func (b *browserEnv) keys(s string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.KeyEvent(s)); err != nil {
		b.t.Fatalf("type %q: %v", s, err)
	}
}

// submit types s (ending in "\r") into field and waits for the page it
// leads to.
func (b *browserEnv) submit(field, s string, status int64) {
	b.t.Helper()
	// The page puts the focus on its field at its next rendering step,
	// after the load: typed before that, the keys would go nowhere and no
	// page would follow.
	b.wantFocus(field)
	resp, err := chromedp.RunResponse(b.ctx, chromedp.KeyEvent(s))
	if err != nil {
		b.t.Fatalf("submit %q: %v", s, err)
	}
	if resp.Status != status {
		b.t.Fatalf("submit %q: status %d, want %d", s, resp.Status, status)
	}
}

// click clicks the element of sel and waits for the page it leads to.
func (b *browserEnv) click(sel string, status int64) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	if resp.Status != status {
		b.t.Fatalf("click %s: status %d, want %d", sel, resp.Status, status)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browserEnv, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text is the visible text of the element of sel ("" when there is none).
func (b *browserEnv) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, sel))
}

func (b *browserEnv) stage() string {
	b.t.Helper()
	return eval[string](b, `document.querySelector("main").dataset.stage`)
}

// focused is the id of the element that has the focus.
func (b *browserEnv) focused() string {
	b.t.Helper()
	return eval[string](b, `document.activeElement ? document.activeElement.id : ""`)
}

// wantFocus waits for the focus to be on the element id: the browser
// applies autofocus at its next rendering step after the load, not with
// it (the wait is bounded: a page that never focuses it fails).
func (b *browserEnv) wantFocus(id string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.activeElement !== null && document.activeElement.id === %q`, id))); err != nil {
		b.t.Fatalf("the focus is on %q, not %q (%v)", b.focused(), id, err)
	}
}

func (b *browserEnv) wantStage(want string) {
	b.t.Helper()
	if got := b.stage(); got != want {
		b.t.Fatalf("stage %q, want %q: %s", got, want, b.text("main"))
	}
}

func (b *browserEnv) wantText(sel string, parts ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, p := range parts {
		if !strings.Contains(got, p) {
			b.t.Fatalf("%s says %q, want %q in it", sel, got, p)
		}
	}
}

func (b *browserEnv) screenshot(name string) { browsertest.Screenshot(b.t, b.ctx, name) }

// axNode is what a screen reader gets of an element.
type axNode struct{ Role, Name string }

// accessible lists the accessibility tree's named nodes (role and name) as
// Chromium computes them for assistive technology.
func (b *browserEnv) accessible() []axNode {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		b.t.Fatal(err)
	}
	str := func(v *accessibility.Value) string {
		var s string
		if v != nil {
			_ = json.Unmarshal(v.Value, &s)
		}
		return s
	}
	var out []axNode
	for _, n := range res.Nodes {
		if !n.Ignored {
			out = append(out, axNode{Role: str(n.Role), Name: str(n.Name)})
		}
	}
	return out
}

func (b *browserEnv) wantAccessible(want ...axNode) {
	b.t.Helper()
	got := b.accessible()
	for _, w := range want {
		if !slices.ContainsFunc(got, func(n axNode) bool { return n.Role == w.Role && strings.HasPrefix(n.Name, w.Name) }) {
			b.t.Fatalf("no %s named %q for a screen reader in %v", w.Role, w.Name, got)
		}
	}
}

// selfContained checks that the tab asked for nothing but OpenAgg's pages
// and the way back to the application: no CDN, no font, no image.
func (b *browserEnv) selfContained() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if strings.HasSuffix(u, "/favicon.ico") {
			continue // the browser's own request, not the page's
		}
		if !strings.HasPrefix(u, b.srv.URL+"/connect/sessions") && !strings.HasPrefix(u, b.app.URL+"/") {
			b.t.Fatalf("the page loaded %s", u)
		}
	}
}

// backInApp follows the "Return to" button and returns the query the
// application got.
func (b *browserEnv) backInApp() url.Values {
	b.t.Helper()
	b.click("#return", http.StatusOK)
	b.wantText("#app", "Back in Budget Buddy")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.returned) != 1 || b.returned[0].Path != "/connected" {
		b.t.Fatalf("the application saw %v", b.returned)
	}
	return b.returned[0].Query()
}

// login fills the login form with the keyboard: the username field has the
// focus, Tab moves to the password, Enter submits.
func (b *browserEnv) login(password string, status int64) {
	b.t.Helper()
	b.wantFocus("username")
	b.keys("alice")
	b.keys("\t")
	if f := b.focused(); f != "password" {
		b.t.Fatalf("Tab moved the focus to %q, not the password", f)
	}
	b.submit("password", password+"\r", status)
}

func TestBrowserLogin(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	b.open(sandbox.BankDefault)
	b.wantStage("login")
	b.wantText("h1", "Connect your Sandbox Bank UK accounts")
	b.wantText(".brand", "Sandbox Bank UK", "Secure connection for Budget Buddy")
	b.wantText(".consent", "Budget Buddy asks to see", "Your accounts", "Your transactions", "10 February 2025", "90 days", "8 June 2025")
	// The expiry in the user's time zone: 13:00 UTC is 14:00 in Paris.
	b.wantText("#expires", "14:00")
	if got := b.text("#expires"); strings.Contains(got, "UTC") {
		t.Fatalf("the expiry is not in local time: %q", got)
	}
	b.wantAccessible(axNode{"textbox", "Username"}, axNode{"textbox", "Password"}, axNode{"button", "Log in to Sandbox Bank UK"},
		axNode{"button", "Cancel"}, axNode{"image", "Sandbox Bank UK logo"}, axNode{"heading", "Connect your Sandbox Bank UK accounts"})
	b.screenshot("login")

	// While the bank works the page shows it: buttons disabled, a spinner,
	// a status announced, and a second submit is refused. (Chromium stops
	// answering questions about a page whose navigation is in flight, so
	// the test holds the first submit at its event, after the page's own
	// handler ran, and then lets the form go as the browser would.)
	b.wantFocus("username")
	b.keys("alice\t")
	eval[chromedp.Void](b, `(function () {
		var held = false; window.submits = [];
		window.addEventListener("submit", function (e) { if (!held) { held = true; e.preventDefault(); } }, true);
		window.addEventListener("submit", function (e) { window.submits.push(e.defaultPrevented); });
	})()`)
	b.keys(sandbox.Password + "\r")
	type busyState struct {
		Busy     string `json:"busy"`
		Disabled bool   `json:"disabled"`
		Status   string `json:"status"`
		Button   string `json:"button"`
		Spinner  bool   `json:"spinner"`
		Again    []bool `json:"again"`
	}
	busy := eval[busyState](b, `(function () {
		document.querySelector("form").requestSubmit();
		return {busy: document.querySelector("main").getAttribute("aria-busy"),
			disabled: Array.prototype.every.call(document.querySelectorAll("button"), function (x) { return x.disabled; }),
			status: document.getElementById("status").textContent,
			button: document.querySelector("form button").textContent,
			spinner: !!document.querySelector("form button .spinner"),
			again: window.submits};
	})()`)
	if want := (busyState{Busy: "true", Disabled: true, Status: "Connecting to Sandbox Bank UK…", Button: "Connecting to Sandbox Bank UK…",
		Spinner: true, Again: []bool{true, true}}); !reflect.DeepEqual(busy, want) {
		t.Fatalf("busy state %+v, want %+v", busy, want)
	}
	b.wantAccessible(axNode{"status", ""})
	b.screenshot("busy")
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Evaluate[chromedp.Void](`HTMLFormElement.prototype.submit.call(document.querySelector("form"))`))
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("submit: %v %v", resp, err)
	}
	b.wantStage("done")
	b.wantText("h1", "Connected")
	b.wantText("main", "Your accounts at Sandbox Bank UK are connected.")
	b.wantAccessible(axNode{"link", "Return to Budget Buddy"})
	b.screenshot("done")
	c := conn(t, b.e, sandbox.BankDefault)
	if c.Status != connection.StatusActive {
		t.Fatalf("connection %+v", c)
	}
	q := b.backInApp()
	if q.Get("stage") != "done" || q.Get("connection_id") != c.ProviderConnectionID || q.Get("state") != "xyz" || q.Has("error_class") {
		t.Fatalf("the application got %v", q)
	}
	b.selfContained()
	b.e.Drain()
}

func TestBrowserChallenge(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	b.open(sandbox.BankChallenge)
	b.login(sandbox.Password, http.StatusOK)
	b.wantStage("challenge")
	b.wantText("h1", "Confirm it is you")
	b.wantFocus("answer")
	b.wantAccessible(axNode{"textbox", "Enter the 6-digit code"}, axNode{"button", "Confirm"}, axNode{"button", "Cancel"})
	b.screenshot("challenge")
	b.submit("answer", sandbox.ChallengeAnswer+"\r", http.StatusOK)
	b.wantStage("done")
	b.screenshot("done")
	if q := b.backInApp(); q.Get("stage") != "done" || q.Get("connection_id") == "" {
		t.Fatalf("the application got %v", q)
	}
	b.selfContained()
	b.e.Drain()
}

func TestBrowserWrongPasswordThenSuccess(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	b.open(sandbox.BankDefault)
	b.login("Secret", http.StatusOK)
	b.wantStage("login")
	b.wantText("#error", "The username or password is not correct.", "You can try 2 more times.")
	// The error is announced and the password field, marked invalid and
	// described by it, has the focus for the next try.
	b.wantFocus("password")
	if got := eval[string](b, `document.getElementById("password").getAttribute("aria-invalid") + " " + document.getElementById("password").getAttribute("aria-describedby")`); got != "true password-hint error" {
		t.Fatalf("password field: %q", got)
	}
	b.wantAccessible(axNode{"alert", ""})
	if strings.Contains(b.text("main"), sandbox.ErrInvalidCredentials) {
		t.Fatalf("the page shows an internal code: %s", b.text("main"))
	}
	b.screenshot("wrong-password")
	// The username is typed again (the form does not keep it), then the
	// right password.
	if _, err := chromedp.Run(b.ctx, chromedp.Focus(chromedp.CSS("#username"))); err != nil {
		t.Fatal(err)
	}
	b.login(sandbox.Password, http.StatusOK)
	b.wantStage("done")
	b.screenshot("done")
	if c := conn(t, b.e, sandbox.BankDefault); c.Status != connection.StatusActive {
		t.Fatalf("connection %+v", c)
	}
	b.selfContained()
	b.e.Drain()
}

func TestBrowserWrongCodeThenSuccess(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	b.open(sandbox.BankChallenge)
	b.login(sandbox.Password, http.StatusOK)
	b.submit("answer", "111111\r", http.StatusOK)
	b.wantStage("challenge")
	b.wantText("#error", "That code is not correct.", "You can try 2 more times.")
	b.wantFocus("answer")
	b.wantAccessible(axNode{"alert", ""})
	b.screenshot("wrong-code")
	b.submit("answer", "222222\r", http.StatusOK)
	b.wantText("#error", "You can try once more.")
	b.submit("answer", sandbox.ChallengeAnswer+"\r", http.StatusOK)
	b.wantStage("done")
	b.screenshot("done")
	b.selfContained()
	b.e.Drain()
}

func TestBrowserCancel(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	b.open(sandbox.BankDefault)
	b.click("form[action='/connect/sessions/cancel'] button", http.StatusOK)
	b.wantStage("cancelled")
	b.wantText("h1", "Cancelled")
	b.wantText("main", "nothing was shared with Budget Buddy")
	b.screenshot("cancelled")
	if c := conn(t, b.e, sandbox.BankDefault); c.Status != connection.StatusFailed {
		t.Fatalf("connection %+v", c)
	}
	if q := b.backInApp(); q.Get("stage") != "cancelled" || q.Get("state") != "xyz" || q.Has("connection_id") {
		t.Fatalf("the application got %v", q)
	}
	b.selfContained()
}

func TestBrowserExpiry(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	b.open(sandbox.BankDefault)
	// The page stays open past the link's hour; the login then finds it
	// expired.
	b.e.Clock.Advance(time.Hour)
	b.login(sandbox.Password, http.StatusGone)
	b.wantStage("expired")
	b.wantText("h1", "This link has expired")
	b.wantText("main", "Start again from Budget Buddy")
	b.screenshot("expired")
	if c := conn(t, b.e, sandbox.BankDefault); c.Status != connection.StatusPending {
		t.Fatalf("connection %+v", c)
	}
	if q := b.backInApp(); q.Get("stage") != "expired" || q.Has("connection_id") {
		t.Fatalf("the application got %v", q)
	}
	b.selfContained()
}

// At phone width the page fits: nothing wider than the screen, full-width
// controls, text fields large enough that a phone does not zoom.
func TestBrowserPhoneWidth(t *testing.T) {
	b := newBrowserEnv(t, partytest.Options{})
	if err := chromedp.Do(b.ctx, browsertest.Phone()); err != nil {
		t.Fatal(err)
	}
	b.open(sandbox.BankChallenge)
	type layout struct {
		ScrollWidth int      `json:"scrollWidth"`
		Width       int      `json:"width"`
		Overflow    []string `json:"overflow"`
		MinFont     float64  `json:"minFont"`
		Narrow      []string `json:"narrow"`
	}
	check := func() {
		t.Helper()
		l := eval[layout](b, `(function () {
			var w = window.innerWidth, out = {scrollWidth: document.documentElement.scrollWidth, width: w, overflow: [], minFont: 99, narrow: []};
			document.querySelectorAll("main *").forEach(function (e) {
				var r = e.getBoundingClientRect();
				if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5)) { out.overflow.push(e.tagName + "#" + e.id); }
			});
			document.querySelectorAll("input:not([type=hidden])").forEach(function (e) {
				out.minFont = Math.min(out.minFont, parseFloat(getComputedStyle(e).fontSize));
			});
			document.querySelectorAll("button, a.button, input:not([type=hidden])").forEach(function (e) {
				if (e.getBoundingClientRect().width < w * 0.8) { out.narrow.push(e.tagName + "#" + e.id); }
			});
			return out;
		})()`)
		if l.Width != 375 || l.ScrollWidth > l.Width || len(l.Overflow) > 0 || l.MinFont < 16 || len(l.Narrow) > 0 {
			t.Fatalf("layout at phone width: %+v", l)
		}
	}
	check()
	b.screenshot("phone-login")
	b.login(sandbox.Password, http.StatusOK)
	b.submit("answer", "000000\r", http.StatusOK)
	check()
	b.screenshot("phone-wrong-code")
	b.submit("answer", sandbox.ChallengeAnswer+"\r", http.StatusOK)
	check()
	b.screenshot("phone-done")
	b.e.Drain()
}

// Another site may not frame the page (frame-ancestors 'none' and
// X-Frame-Options DENY): the browser refuses to show it. An origin allowed
// by OPENAGG_CONNECT_FRAME_ANCESTORS may, and with post_message the page
// tells it the outcome.
func TestBrowserFraming(t *testing.T) {
	parent := func(t *testing.T) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><title>Budget Buddy</title><h1>Budget Buddy</h1><p id="got"></p>
<iframe id="connect" title="Connect your bank" style="width:480px;height:760px" src="%s"></iframe>
<script>window.addEventListener("message", function (e) { document.getElementById("got").textContent = e.data; });</script>`, r.URL.Query().Get("src"))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	frameOf := func(b *browserEnv) *cdp.Frame {
		t.Helper()
		tree, err := chromedp.Call(b.ctx, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tree.FrameTree.ChildFrames) != 1 {
			t.Fatalf("%d frames in the parent page", len(tree.FrameTree.ChildFrames))
		}
		return tree.FrameTree.ChildFrames[0].Frame
	}

	t.Run("refused", func(t *testing.T) {
		b := newBrowserEnv(t, partytest.Options{})
		site := parent(t)
		token := b.e.CreateConnection(b.tok, partyID, sandbox.BankDefault)
		connectURL := b.srv.URL + "/connect/sessions?token=" + token
		b.navigate(site.URL+"/?src="+url.QueryEscape(connectURL), http.StatusOK)
		f := frameOf(b)
		if !strings.HasPrefix(f.URL, "chrome-error://") || f.UnreachableURL != connectURL {
			t.Fatalf("the frame shows %q (unreachable %q): the browser did not refuse it", f.URL, f.UnreachableURL)
		}
		b.screenshot("framing-refused")
		if c := conn(t, b.e, sandbox.BankDefault); c.Status != connection.StatusPending {
			t.Fatalf("connection %+v", c)
		}
	})

	t.Run("allowed origin", func(t *testing.T) {
		site := parent(t)
		b := newBrowserEnv(t, partytest.Options{FrameAncestors: []string{site.URL}})
		token := b.e.CreateConnection(b.tok, partyID, sandbox.BankDefault) // javascript_callback_type post_message
		connectURL := b.srv.URL + "/connect/sessions?token=" + token
		b.navigate(site.URL+"/?src="+url.QueryEscape(connectURL), http.StatusOK)
		if f := frameOf(b); f.URL != connectURL {
			t.Fatalf("the frame shows %q (unreachable %q)", f.URL, f.UnreachableURL)
		}
		frames, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSS("iframe")))
		if err != nil {
			t.Fatal(err)
		}
		in := chromedp.FromNode(frames[0])
		if err := chromedp.Do(b.ctx,
			chromedp.SendKeys(chromedp.CSS("#username"), "alice", in),
			chromedp.SendKeys(chromedp.CSS("#password"), sandbox.Password, in),
			chromedp.Click(chromedp.CSS("form button"), in),
		); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(b.ctx, chromedp.Poll[string](`document.getElementById("got").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Data struct {
				ConnectionID string `json:"connection_id"`
				Stage        string `json:"stage"`
				Error        string `json:"error"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(got), &msg); err != nil {
			t.Fatalf("the parent got %q: %v", got, err)
		}
		c := conn(t, b.e, sandbox.BankDefault)
		if msg.Data.Stage != "done" || msg.Data.ConnectionID != c.ProviderConnectionID || msg.Data.Error != "" || c.Status != connection.StatusActive {
			t.Fatalf("the parent got %+v; connection %+v", msg, c)
		}
		b.screenshot("framed-done")
		b.e.Drain()
	})
}
