package finapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/finapi"
	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/openapi/openapitest"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/storetest"
)

// t0 is when every test starts (the fake clock of the whole stack).
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is the whole stack as `openagg serve` runs it (every group on one
// handler, the embedded queue drained by the real workers) on a fake clock,
// its records in a bolt store whose round trips are counted.
type env struct {
	t     testing.TB
	a     *app.App
	h     http.Handler
	clock *clocktest.Clock
	st    *storetest.Counter
	logs  *logBuffer // every log line of the stack, debug level
}

// logBuffer collects log output (written by requests and workers).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newEnv builds the stack; setup, when given, runs on the App before the
// handlers are built and the directory is loaded (extra providers).
func newEnv(t testing.TB, setup ...func(a *app.App)) *env {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"OPENAGG_DATA_DIR": dir, "OPENAGG_LOG_LEVEL": "error"}
	cfg, err := platform.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	records, err := bolt.Open(filepath.Join(dir, "records.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: clocktest.New(t0), st: &storetest.Counter{Store: records}}
	e.a, err = app.NewWith(context.Background(), cfg, app.Options{Clock: e.clock, Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.a.Close(); err != nil {
			t.Error(err)
		}
		if err := records.Close(); err != nil {
			t.Error(err)
		}
	})
	e.logs = &logBuffer{}
	e.a.Log = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, f := range setup {
		f(e.a)
	}
	if e.h, err = e.a.HandlerFor(app.GroupNames()); err != nil {
		t.Fatal(err)
	}
	e.h = openapitest.Wrap(t, e.h) // every request and answer against the OpenAPI documents
	// The bank directory, as an administrator loads it.
	admin := e.token("admin", bank.RoleManageDirectory)
	if r := e.do("GET", "/system/banks", admin, ""); r.code != http.StatusAccepted {
		t.Fatalf("load directory: %d %s", r.code, r.body)
	}
	e.drain()
	return e
}

// token mints a bearer token of sub, valid for the whole test whatever the
// fake clock does.
func (e *env) token(sub string, roles ...string) string {
	e.t.Helper()
	tok, err := authn.Mint(e.a.JWTKey, authn.Claims{Sub: sub, Name: strings.ToUpper(sub[:1]) + sub[1:], Roles: roles,
		Issuer: e.a.Config.JWTIssuer, Audience: e.a.Config.JWTAudience, Now: e.clock.Now(), TTL: 24 * 365 * time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// drain runs the queued jobs (and those they queue) to the end.
func (e *env) drain() {
	e.t.Helper()
	if err := e.a.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// resp is one answer.
type resp struct {
	code   int
	header http.Header
	body   string
	reads  int64 // store round trips of the request
	writes int64
}

// do sends a request through the whole stack; body, when not empty, is
// JSON.
func (e *env) do(method, path, tok, body string, header ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.st.Reset()
	e.h.ServeHTTP(rec, req)
	return resp{code: rec.Code, header: rec.Header(), body: rec.Body.String(), reads: e.st.Reads.Load(), writes: e.st.Writes.Load()}
}

// json decodes the body into v, failing the test on another status.
func (r resp) json(t testing.TB, status int, v any) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d: %s", r.code, status, r.body)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("%v in %s", err, r.body)
	}
}

// errorCode is the code of a finAPI error body (and checks its shape).
func (r resp) errorCode(t testing.TB) string {
	t.Helper()
	var m struct {
		Errors []struct{ Message, Code, Type string }
		Date   string
		ReqID  string `json:"requestId"`
	}
	if err := json.Unmarshal([]byte(r.body), &m); err != nil || len(m.Errors) != 1 || m.Date == "" || m.ReqID == "" ||
		m.ReqID != r.header.Get("X-Request-Id") || m.Errors[0].Message == "" {
		t.Fatalf("not a finAPI error (%v): %d %s", err, r.code, r.body)
	}
	return m.Errors[0].Code
}

// wantError checks an error answer's status and code.
func (r resp) wantError(t testing.TB, status int, code string) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d (%s): %s", r.code, status, code, r.body)
	}
	if got := r.errorCode(t); got != code {
		t.Fatalf("code %s, want %s: %s", got, code, r.body)
	}
}

// demoBankID finds the demo bank through the banks API, as a client does.
func (e *env) demoBankID(tok string) int64 {
	e.t.Helper()
	var page struct {
		Banks []struct {
			ID  int64
			BLZ string
		}
	}
	e.do("GET", "/api/v1/banks?search=00000000", tok, "").json(e.t, 200, &page)
	if len(page.Banks) != 1 || page.Banks[0].BLZ != "00000000" {
		e.t.Fatalf("demo bank: %+v", page)
	}
	return page.Banks[0].ID
}

// bankID finds a bank that can be imported by (a unique part of) its name.
func (e *env) bankID(tok, search string) int64 {
	e.t.Helper()
	var page struct{ Banks []struct{ ID int64 } }
	e.do("GET", "/api/v1/banks?isSupported=true&search="+strings.ReplaceAll(search, " ", "%20"), tok, "").json(e.t, 200, &page)
	if len(page.Banks) != 1 {
		e.t.Fatalf("bank %q: %+v", search, page)
	}
	return page.Banks[0].ID
}

// connection is the part of a BankConnection the tests read.
type connection struct {
	ID                   int64
	BankID               int64
	Name                 *string
	BankingUserID        *string
	BankingCustomerID    *string
	BankingPin           *string
	Type                 string
	UpdateStatus         string
	CategorizationStatus string
	LastManualUpdate     *struct {
		Result, Timestamp string
		ErrorMessage      *string
	}
	LastAutoUpdate *struct {
		Result, Timestamp string
		ErrorMessage      *string
	}
	AccountIDs []int64
}

// importDemo imports the demo bank and runs the download and the
// categorization.
func (e *env) importDemo(tok string) connection {
	e.t.Helper()
	var c connection
	e.do("POST", "/api/v1/bankConnections/import", tok, fmt.Sprintf(`{"bankId":%d}`, e.demoBankID(tok))).json(e.t, 201, &c)
	e.drain()
	return e.get(tok, c.ID)
}

func (e *env) get(tok string, id int64) connection {
	e.t.Helper()
	var c connection
	e.do("GET", fmt.Sprintf("/api/v1/bankConnections/%d", id), tok, "").json(e.t, 200, &c)
	return c
}

// mustConformTo fails t with every violation of body against the model.
func mustConformTo(t testing.TB, model, body string) {
	t.Helper()
	for _, v := range finapi.Conform(model, []byte(body)) {
		t.Errorf("%s (in %.300s)", v, body)
	}
}
