package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// API load benchmark parameters: a bounded number of concurrent keep-alive
// clients, a fixed number of requests per iteration.
const (
	loadClients  = 8
	loadRequests = 3000
	loadRounds   = 6
	loadWarmup   = 200
	// metaTxs is how many of the newest transactions get metadata (the
	// whole default page of 50).
	metaTxs = 50
)

// BenchmarkOBPTransactionsLoad is the API load figure of issue 5: GET
// /obp/v1.2/banks/BANK/accounts/ACC/owner/transactions (default limit 50,
// every transaction of the page carrying a narrative, a comment, a tag and
// a where tag on the owner view) against the local server built as `openagg
// serve` builds it (app.New on a temp data directory: bbolt store, local
// queue and dispatcher, sandbox provider; every API group on one handler
// and a loopback http.Server), with the sandbox big bank (three accounts,
// more than 100,000 transactions) imported through the public API and the
// workers. Side by side, in the same run and with the same client loop, a
// bare net/http server writes the same response bytes with the same
// headers. It reports:
//
//	req/s, p50-ms, p99-ms                 the OBP endpoint
//	bare-req/s, bare-p50-ms, bare-p99-ms  the bare handler
//	ratio                                 OBP req/s ÷ bare req/s (target ≥ 0.25)
//	store-calls/req                       store requests per OBP request (bolt's
//	                                      DynamoDB-equivalent counter; target ≤ 2)
//	resp-KB                               size of the response body
//	imported-tx                           transactions the import wrote
//
// Setup (directory load, import, metadata) is outside the timer. Run it
// with `make bench` (-benchtime 1x): one iteration is loadRequests requests
// to each server, in loadRounds alternating rounds.
func BenchmarkOBPTransactionsLoad(b *testing.B) {
	f := startLoadFixture(b)

	obpURL := f.base + f.txPath
	auth := http.Header{"Authorization": {"Bearer " + f.token}}
	want, hdr := f.capture(b, obpURL, auth)
	bare := startBare(b, want, hdr)

	compareLoad(b, f.calls, obpURL, bare.url, auth, want)
	b.ReportMetric(float64(f.imported), "imported-tx")
}

// compareLoad loads the service at url and the bare handler at bareURL,
// which answer the same bytes (want), and reports each one's rate and
// latencies, their ratio and the service's store calls per request. The
// two take turns in rounds (the order alternating), so a change of
// background load on the machine hits both alike; both are warmed first
// (connections, caches).
func compareLoad(b *testing.B, calls func() int64, url, bareURL string, auth http.Header, want []byte) {
	b.Helper()
	client, bareClient := loadClient(), loadClient()
	defer client.CloseIdleConnections()
	defer bareClient.CloseIdleConnections()
	if _, err := runLoad(client, url, auth, want, loadWarmup); err != nil {
		b.Fatal(err)
	}
	if _, err := runLoad(bareClient, bareURL, auth, want, loadWarmup); err != nil {
		b.Fatal(err)
	}
	var svc, raw loadResult
	var n int64
	for b.Loop() {
		for round := range loadRounds {
			for i := range 2 {
				if (round+i)%2 == 0 {
					c0 := calls()
					r, err := runLoad(client, url, auth, want, loadRequests/loadRounds)
					if err != nil {
						b.Fatal(err)
					}
					n += calls() - c0
					svc.merge(r)
				} else {
					r, err := runLoad(bareClient, bareURL, auth, want, loadRequests/loadRounds)
					if err != nil {
						b.Fatal(err)
					}
					raw.merge(r)
				}
			}
		}
	}
	b.ReportMetric(svc.rate(), "req/s")
	b.ReportMetric(svc.percentile(50), "p50-ms")
	b.ReportMetric(svc.percentile(99), "p99-ms")
	b.ReportMetric(raw.rate(), "bare-req/s")
	b.ReportMetric(raw.percentile(50), "bare-p50-ms")
	b.ReportMetric(raw.percentile(99), "bare-p99-ms")
	b.ReportMetric(svc.rate()/raw.rate(), "ratio")
	b.ReportMetric(float64(n)/float64(len(svc.lat)), "store-calls/req")
	b.ReportMetric(float64(len(want))/1024, "resp-KB")
}

// loadFixture is a running local server with the big bank imported.
type loadFixture struct {
	base     string // http://127.0.0.1:port
	token    string // the owner's bearer token
	txPath   string // .../owner/transactions of the imported account
	imported int64
	calls    func() int64
}

// startLoadFixture builds the App as `openagg serve` does, serves every
// group on a loopback http.Server with the same settings, runs the queue
// dispatcher in the background, and drives the user's path through the
// API: directory load, profile, connection at the big bank, connect form,
// import, metadata.
func startLoadFixture(b *testing.B) *loadFixture {
	b.Helper()
	dir := b.TempDir()
	vars := map[string]string{
		"OPENAGG_DATA_DIR": dir,
		"OPENAGG_ADDR":     "127.0.0.1:0",
	}
	cfg, err := platform.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	counter, ok := a.Store.(interface{ Calls() int64 })
	if !ok {
		b.Fatalf("store %T has no call counter", a.Store)
	}
	// Same logger as serve (JSON at the configured level, access log
	// included), written to nowhere so the benchmark output stays readable.
	a.Log = platform.NewLogger(io.Discard, cfg.LogLevel)
	handler, err := a.HandlerFor(app.GroupNames())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Errorf("http server: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		workers, err := a.Workers()
		if err != nil {
			b.Error(err)
			return
		}
		if err := a.RunWorkers(ctx, workers); err != nil {
			b.Errorf("queue dispatcher: %v", err)
		}
	}()
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		stop()
		wg.Wait()
		_ = a.Close()
	})

	f := &loadFixture{base: "http://" + ln.Addr().String(), calls: counter.Calls}
	c := &http.Client{Timeout: time.Minute}
	mint := func(sub string, roles ...string) string {
		tok, err := mintLocal(cfg.DataDir, cfg.JWTIssuer, cfg.JWTAudience, sub, "Bench "+sub, strings.Join(roles, ","), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	call := func(method, path, tok, contentType, body string, want int) string {
		b.Helper()
		req, err := http.NewRequest(method, f.base+path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			b.Fatal(err)
		}
		if want != 0 && resp.StatusCode != want {
			b.Fatalf("%s %s: %d, want %d: %.500s", method, path, resp.StatusCode, want, out)
		}
		return string(out)
	}
	waitFor := func(what string, done func() bool) {
		b.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !done() {
			if time.Now().After(deadline) {
				b.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The bank directory, loaded by the directory-loader worker.
	call(http.MethodGet, "/system/banks", mint("ops", bank.RoleManageDirectory), "", "", http.StatusAccepted)
	bankPath := "/obp/v1.2/banks/" + sandbox.BankBig
	waitFor("the bank directory", func() bool {
		return strings.Contains(call(http.MethodGet, bankPath, "", "", "", 0), `"id":"`+sandbox.BankBig+`"`)
	})

	// Profile and connection through the API, as a user makes them (README
	// walkthrough), with a consent from six years ago: the whole history.
	const party = "424242"
	owner := "bench-owner"
	f.token = mint(owner)
	call(http.MethodPost, "/party/profiles/"+party, f.token, "application/json", "{}", http.StatusOK)
	from := time.Now().UTC().AddDate(-6, 0, 0).Format("02-01-2006")
	body := fmt.Sprintf(`{"data":{"customer_id":"%s-%s",
		"consent":{"from_date":"%s","period_days":"90","scope":["account_details","transactions_details"]},
		"attempt":{"from_date":"%s","period_days":"90","fetch_scope":["accounts","transactions"]}}}`,
		platform.DefaultCompanyID, party, from, from)
	var conn struct {
		Data struct {
			ConnectURL string `json:"connect_url"`
		} `json:"data"`
	}
	out := call(http.MethodPost, "/party/profiles/"+party+"/banks/"+sandbox.BankBig+"/connections", f.token, "application/json", body, http.StatusOK)
	if err := json.Unmarshal([]byte(out), &conn); err != nil {
		b.Fatalf("connection: %v: %s", err, out)
	}
	cu, err := url.Parse(conn.Data.ConnectURL)
	if err != nil || cu.Query().Get("token") == "" {
		b.Fatalf("connect URL %q: %v", conn.Data.ConnectURL, err)
	}
	form := url.Values{"token": {cu.Query().Get("token")}, "username": {"bench"}, "password": {sandbox.Password}}
	call(http.MethodPost, "/connect/sessions", "", "application/x-www-form-urlencoded", form.Encode(), http.StatusOK)

	// The connection-sync and holdings-importer workers import it.
	start := time.Now()
	waitFor("the import", func() bool {
		var d struct {
			Connections []struct {
				Import *struct {
					State        string `json:"state"`
					Transactions int64  `json:"transactions"`
					LastError    string `json:"lastError"`
				} `json:"import"`
			} `json:"connections"`
		}
		if err := json.Unmarshal([]byte(call(http.MethodGet, "/party/profiles/"+party+"/connectionDetails", f.token, "", "", http.StatusOK)), &d); err != nil {
			b.Fatal(err)
		}
		if len(d.Connections) != 1 || d.Connections[0].Import == nil {
			return false
		}
		switch im := d.Connections[0].Import; im.State {
		case "done":
			f.imported = im.Transactions
			return true
		case "failed":
			b.Fatalf("import failed: %s", im.LastError)
		}
		return false
	})
	b.Logf("imported %d transactions of %s in %s", f.imported, sandbox.BankBig, time.Since(start).Round(time.Millisecond))
	if f.imported < 100_000 {
		b.Fatalf("imported %d transactions, want more than 100,000", f.imported)
	}

	// The owner (granted the owner view by the import) sees the accounts;
	// take the first one.
	var accounts struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(call(http.MethodGet, bankPath+"/accounts/private", f.token, "", "", http.StatusOK)), &accounts); err != nil || len(accounts.Accounts) != 3 {
		b.Fatalf("private accounts: %v %+v", err, accounts)
	}
	acc := bankPath + "/accounts/" + url.PathEscape(accounts.Accounts[0].ID) + "/owner"
	f.txPath = acc + "/transactions"

	// Metadata on every transaction of the first page, through the API.
	var page struct {
		Transactions []struct {
			ID string `json:"id"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(call(http.MethodGet, f.txPath, f.token, "", "", http.StatusOK)), &page); err != nil || len(page.Transactions) != metaTxs {
		b.Fatalf("first page: %v, %d transactions", err, len(page.Transactions))
	}
	for i, tx := range page.Transactions {
		md := f.txPath + "/" + url.PathEscape(tx.ID) + "/metadata/"
		call(http.MethodPost, md+"narrative", f.token, "application/json", fmt.Sprintf(`{"narrative":"invoice %d settled"}`, i), http.StatusCreated)
		call(http.MethodPost, md+"comments", f.token, "application/json", `{"value":"checked against the ledger"}`, http.StatusCreated)
		call(http.MethodPost, md+"tags", f.token, "application/json", `{"value":"reconciled"}`, http.StatusCreated)
		call(http.MethodPost, md+"where", f.token, "application/json", fmt.Sprintf(`{"where":{"latitude":51.5%02d,"longitude":-0.12}}`, i), http.StatusCreated)
	}
	return f
}

// capture fetches one real response: its body and the headers the bare
// server repeats.
func (f *loadFixture) capture(b *testing.B, u string, h http.Header) ([]byte, http.Header) {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("capture: %d %v %.300s", resp.StatusCode, err, body)
	}
	for _, k := range []string{"narrative", "comments", "tags", "where"} {
		if !bytes.Contains(body, []byte(`"`+k+`":`)) {
			b.Fatalf("the page carries no %s: %.500s", k, body)
		}
	}
	if n := bytes.Count(body, []byte(`"reconciled"`)); n != metaTxs {
		b.Fatalf("%d tagged transactions on the page, want %d", n, metaTxs)
	}
	return body, resp.Header.Clone()
}

// bareServer writes fixed bytes with fixed headers.
type bareServer struct{ url string }

// startBare serves body with the captured headers (Date and Content-Length
// are net/http's own) on a loopback http.Server with serve's settings.
func startBare(b *testing.B, body []byte, captured http.Header) *bareServer {
	b.Helper()
	hdr := captured.Clone()
	hdr.Del("Date")
	hdr.Del("Content-Length")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Errorf("bare server: %v", err)
		}
	}()
	b.Cleanup(func() { _ = srv.Close(); <-done })
	return &bareServer{url: "http://" + ln.Addr().String() + "/"}
}

// loadClient keeps one connection per concurrent client.
func loadClient() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns:        loadClients,
		MaxIdleConnsPerHost: loadClients,
		MaxConnsPerHost:     loadClients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

// loadResult is a set of request latencies and the wall time they took.
type loadResult struct {
	lat     []time.Duration
	elapsed time.Duration
}

func (r *loadResult) merge(o loadResult) {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
}

func (r *loadResult) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// percentile in milliseconds (nearest rank).
func (r *loadResult) percentile(p int) float64 {
	s := slices.Clone(r.lat)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return float64(s[max(i-1, 0)].Microseconds()) / 1000
}

// runLoad sends n GETs from loadClients goroutines, each reading the whole
// body and checking it is want, and records every latency.
func runLoad(c *http.Client, u string, h http.Header, want []byte, n int) (loadResult, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range loadClients {
		wg.Add(1)
		go func(h http.Header) {
			defer wg.Done()
			buf := bytes.NewBuffer(make([]byte, 0, len(want)+512))
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				err := get(c, u, h, buf)
				lat[i] = time.Since(t0)
				if err == nil && !bytes.Equal(buf.Bytes(), want) {
					err = fmt.Errorf("GET %s: body differs from the captured one (%d bytes, want %d)", u, buf.Len(), len(want))
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		}(h.Clone())
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return loadResult{}, *p
	}
	return loadResult{lat: lat, elapsed: time.Since(start)}, nil
}

func get(c *http.Client, u string, h http.Header, buf *bytes.Buffer) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header = h
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("GET %s: read body: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %.300s", u, resp.StatusCode, buf.Bytes())
	}
	return nil
}
