package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// The soak's knobs: `make bench` runs it for the default few seconds,
// `make soak` for SOAKTIME (20s by default).
var (
	soakDuration = flag.Duration("soak.duration", 3*time.Second, "BenchmarkSoak: how long the mixed load runs (make soak: SOAKTIME)")
	soakWorkers  = flag.Int("soak.workers", 8, "BenchmarkSoak: concurrent workers, each a user with its own party, connections and customers")
)

// The API groups the soak reports on.
const (
	grpAggregation = "aggregation" // party, holdings, connect page
	grpOBP         = "obp"         // OBP 1.2
	grpCustomers   = "customers"   // OBP 2.x customers, links, social media
	grpFinAPI      = "finapi"
	grpSystem      = "system"
	grpHealth      = "health"
)

var soakGroups = []string{grpAggregation, grpOBP, grpCustomers, grpFinAPI, grpSystem, grpHealth}

// soakGoroutineSlack is how many more goroutines than before the load may
// run once the load's work has settled: the server's own background
// goroutines come and go (a timer, a poll); a leak of one per request or
// per connection flow is thousands.
const soakGoroutineSlack = 10

// soakHeapSlack bounds the heap's growth over the load: after it, the heap
// in use may be at most twice what it was before plus this. The load
// keeps no per-request state; a leak of a few hundred bytes per request
// over make soak's tens of thousands of requests, or of a buffer per
// connection flow, passes it.
const soakHeapSlack = 16 << 20

// BenchmarkSoak is the sustained load of issue 12: `openagg serve` on the
// embedded default (serveInProcess: every group on one http.Server, the
// local queue's workers and the scheduler in the background), the bank
// directory loaded, and then -soak.workers concurrent users for
// -soak.duration, each running rounds of a realistic mix over every group:
//
//	aggregation  connection details, accounts, transaction pages (followed
//	             to the end and again), the transaction sync over its
//	             cursor, import requests (accountwithtransactions), and a
//	             new party's connection through the connect page
//	             (profile, connection, page, form) while the previous
//	             one is removed
//	obp          OBP 1.2 private accounts, owner transactions paged with
//	             obp_limit / obp_offset, a narrative rewritten, a tag added
//	             and deleted
//	customers    OBP 2.1.0 customers created (two per user) and listed,
//	             social media handles written and read, entitlements read
//	finapi       banks, accounts, transaction pages, connections; a demo
//	             bank import that is deleted once downloaded and
//	             categorized, then imported again
//	system       banks by code and by country; the directory reloaded
//	             and a bank's access set by the operator (worker 0)
//	health       /health and /whoami
//
// Every answer's status is checked against the one the documented API
// gives for that request: a transport error, a 5xx or any other status is
// an error, and any error fails the benchmark. It reports requests per
// second overall and per group, p50 and p99 latency per group (ms), the
// live heap (HeapInuse after a GC) before, halfway through and after the
// load (more than twice the first plus soakHeapSlack at the end fails
// it), and the goroutines before and after (the load's background work
// settled): more than soakGoroutineSlack extra goroutines fail it.
//
// The setup (directory, one imported connection and one finAPI demo
// connection per worker) is outside the figures; b.Loop runs the load
// once (its one iteration outlasts make bench's -benchtime).
func BenchmarkSoak(b *testing.B) {
	s := serveInProcess(b, map[string]string{"OPENAGG_DATA_DIR": b.TempDir(), "OPENAGG_SUPERADMINS": "root"}, app.Options{})
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns:        *soakWorkers * 2,
		MaxIdleConnsPerHost: *soakWorkers * 2,
		IdleConnTimeout:     time.Minute,
	}}
	defer hc.CloseIdleConnections()
	c := &client{t: b, bases: s.bases, http: hc}
	ops := s.token(b, "--sub", "ops", "--roles", "CanManageBankDirectory")
	c.expect("GET", "/system/banks", ops, "", 202)
	waitFor(b, "the bank directory", func() (bool, string) {
		code, body := c.do("GET", "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", ops, "", "")
		if code != 200 {
			return false, body
		}
		code, body = c.do("GET", "/api/v1/banks?search=00000000", ops, "", "")
		return code == 200 && strings.Contains(body, `"blz":"00000000"`), body
	})
	workers := setupSoakWorkers(b, c, s, ops, *soakWorkers)

	settle := func() {
		hc.CloseIdleConnections()
		runtime.GC()
	}
	settle()
	heapStart, goStart := heapInuse(), runtime.NumGoroutine()
	var heapMid uint64
	var elapsed time.Duration
	for b.Loop() {
		began := time.Now()
		deadline := began.Add(*soakDuration)
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					w.round()
				}
			}()
		}
		time.Sleep(*soakDuration / 2)
		heapMid = heapInuse()
		wg.Wait()
		elapsed = time.Since(began)
	}

	// The load's background work (imports, categorization, removals)
	// ends; then the goroutines must be back where they were.
	var goEnd int
	for settled := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		settle()
		if goEnd = runtime.NumGoroutine(); goEnd <= goStart+soakGoroutineSlack || time.Now().After(settled) {
			break
		}
	}
	heapEnd := heapInuse()
	if heapEnd > 2*heapStart+soakHeapSlack {
		b.Errorf("heap in use grew from %d to %d bytes over the load (%d halfway)", heapStart, heapEnd, heapMid)
	}
	if goEnd > goStart+soakGoroutineSlack {
		var dump strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		b.Errorf("goroutines: %d before the load, %d after:\n%.4000s", goStart, goEnd, dump.String())
	}

	var all int
	var errs []string
	nerr := 0
	for _, w := range workers {
		nerr += w.nerr
		errs = append(errs, w.errs...)
	}
	var report strings.Builder
	fmt.Fprintf(&report, "soak: %d workers for %s\n", len(workers), elapsed.Round(time.Millisecond))
	for _, g := range soakGroups {
		var lat []time.Duration
		for _, w := range workers {
			lat = append(lat, w.lat[g]...)
		}
		all += len(lat)
		if len(lat) == 0 {
			b.Errorf("group %s: no request in the load", g)
			continue
		}
		r := loadResult{lat: lat, elapsed: elapsed}
		b.ReportMetric(r.rate(), g+"-req/s")
		b.ReportMetric(r.percentile(50), g+"-p50-ms")
		b.ReportMetric(r.percentile(99), g+"-p99-ms")
		fmt.Fprintf(&report, "  %-12s %7d requests %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms\n", g, len(lat), r.rate(), r.percentile(50), r.percentile(99))
	}
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintf(&report, "  total        %7d requests %8.1f req/s, %d errors\n", all, float64(all)/elapsed.Seconds(), nerr)
	fmt.Fprintf(&report, "  heap in use  %.1f MB before, %.1f MB halfway, %.1f MB after\n", mb(heapStart), mb(heapMid), mb(heapEnd))
	fmt.Fprintf(&report, "  goroutines   %d before, %d after", goStart, goEnd)
	b.Log(report.String())
	b.ReportMetric(float64(all)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(nerr), "errors")
	b.ReportMetric(mb(heapStart), "heap-start-MB")
	b.ReportMetric(mb(heapMid), "heap-mid-MB")
	b.ReportMetric(mb(heapEnd), "heap-end-MB")
	b.ReportMetric(float64(goStart), "goroutines-start")
	b.ReportMetric(float64(goEnd), "goroutines-end")
	if nerr > 0 {
		b.Errorf("%d errors in the load; the first ones:\n%s", nerr, strings.Join(errs, "\n"))
	}
}

// heapInuse is the heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// soakWorker is one user of the load: its own party (a connection at the
// default sandbox bank, imported), its OBP account and transactions, its
// finAPI demo connection, its customers. Its fields are its own: only its
// goroutine touches them during the load.
type soakWorker struct {
	id    int
	hc    *http.Client
	base  string
	now   func() time.Time
	token string
	ops   string // the operator's token (directory and access, worker 0)
	// cycler is a second finAPI user of the worker's: finAPI allows one
	// connection per bank and user, and the first one's is kept.
	cycler string

	party    string
	accounts []string // its holdings account ids
	txAcc    int      // the account whose pages it reads
	txPage   string   // the next page token of that account ("": the first)
	cursor   string   // its sync cursor
	flow     string   // the party of the last connect flow ("" : none yet)

	obpAccount string   // /obp/v1.2/banks/B/accounts/ID
	obpTxs     []string // transaction ids with a narrative

	customerIDs []string // the customers it created

	finBank    int64 // the demo bank's finAPI id
	finAccount int64 // the account of its kept demo connection
	finConn    int64 // the cycled demo connection (0: none)

	rounds int
	lat    map[string][]time.Duration
	nerr   int
	errs   []string // the first few errors
}

// setupSoakWorkers creates the workers' users, roles, parties, imported
// connections and finAPI demo connections (imports started for all, then
// waited for).
func setupSoakWorkers(b *testing.B, c *client, s journeyStack, ops string, n int) []*soakWorker {
	b.Helper()
	root := s.token(b, "--sub", "root")
	bank := "/obp/v1.2/banks/" + sandbox.BankDefault
	var demo struct {
		Banks []struct {
			ID int64 `json:"id"`
		} `json:"banks"`
	}
	c.json("GET", "/api/v1/banks?search=00000000", ops, "", 200, &demo)
	if len(demo.Banks) != 1 {
		b.Fatalf("the demo bank: %+v", demo)
	}
	workers := make([]*soakWorker, n)
	finConns := make([]int64, n)
	for i := range workers {
		w := &soakWorker{
			id: i, hc: c.http, base: s.bases[0], now: s.now, ops: ops,
			token:   s.token(b, "--sub", fmt.Sprintf("load-%d", i)),
			cycler:  s.token(b, "--sub", fmt.Sprintf("load-%d-fin", i)),
			party:   fmt.Sprintf("load-%d", i),
			finBank: demo.Banks[0].ID,
			lat:     map[string][]time.Duration{},
		}
		workers[i] = w
		for _, role := range []string{"CanCreateCustomer", "CanCreateUserCustomerLink", "CanAddSocialMediaHandle", "CanGetSocialMediaHandles"} {
			c.expect("POST", "/obp/v2.1.0/users/"+url.PathEscape("load-"+fmt.Sprint(i))+"/entitlements", root,
				`{"bank_id":"`+sandbox.BankDefault+`","role_name":"`+role+`"}`, 201)
		}
		c.expect("POST", "/party/profiles/"+w.party, w.token, "{}", 200)
		var conn struct {
			Data struct {
				ConnectURL string `json:"connect_url"`
			} `json:"data"`
		}
		c.json("POST", "/party/profiles/"+w.party+"/banks/"+sandbox.BankDefault+"/connections", w.token, w.connectionBody(), 200, &conn)
		u, err := url.Parse(conn.Data.ConnectURL)
		if err != nil {
			b.Fatal(err)
		}
		c.form("/connect/sessions", url.Values{"token": {u.Query().Get("token")}, "username": {w.party}, "password": {sandbox.Password}}, 200, `data-stage="done"`)
		var fc struct {
			ID int64 `json:"id"`
		}
		c.json("POST", "/api/v1/bankConnections/import", w.token, fmt.Sprintf(`{"bankId":%d,"name":"kept"}`, w.finBank), 201, &fc)
		finConns[i] = fc.ID
	}
	for i, w := range workers {
		c.waitImport("/party/profiles/"+w.party, w.token, sandbox.BankDefault, time.Time{})
		for _, a := range c.accounts("/holdings/profiles/"+w.party, w.token) {
			w.accounts = append(w.accounts, a.ID)
		}
		var accounts struct {
			Accounts []struct {
				ID string `json:"id"`
			} `json:"accounts"`
		}
		c.json("GET", bank+"/accounts/private", w.token, "", 200, &accounts)
		if len(accounts.Accounts) == 0 || len(w.accounts) == 0 {
			b.Fatalf("worker %d: no accounts", i)
		}
		w.obpAccount = bank + "/accounts/" + accounts.Accounts[0].ID
		var txs struct {
			Transactions []struct {
				ID string `json:"id"`
			} `json:"transactions"`
		}
		c.json("GET", w.obpAccount+"/owner/transactions", w.token, "", 200, &txs)
		for _, tx := range txs.Transactions[:min(10, len(txs.Transactions))] {
			w.obpTxs = append(w.obpTxs, tx.ID)
			c.expect("POST", w.txMeta(tx.ID)+"/narrative", w.token, `{"narrative":"soak"}`, 201)
		}
		if len(w.obpTxs) == 0 {
			b.Fatalf("worker %d: no OBP transactions", i)
		}
		path := fmt.Sprintf("/api/v1/bankConnections/%d", finConns[i])
		waitFor(b, "the demo import of worker "+fmt.Sprint(i), func() (bool, string) {
			code, body := c.do("GET", path, w.token, "", "")
			return code == 200 && strings.Contains(body, `"updateStatus":"READY"`) && strings.Contains(body, `"categorizationStatus":"READY"`), body
		})
		var fa struct {
			Accounts []struct {
				ID int64 `json:"id"`
			} `json:"accounts"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/accounts?bankConnectionIds=%d", finConns[i]), w.token, "", 200, &fa)
		if len(fa.Accounts) == 0 {
			b.Fatalf("worker %d: no finAPI accounts", i)
		}
		w.finAccount = fa.Accounts[0].ID
	}
	return workers
}

// connectionBody is the Aggregation connection creation body for the
// worker's party (consent and attempt from 30 days ago, dd-MM-yyyy).
func (w *soakWorker) connectionBody() string {
	from := w.now().AddDate(0, 0, -30).Format("02-01-2006")
	return `{"data":{"customer_id":"GB0010001-` + w.party + `",` +
		`"consent":{"from_date":"` + from + `","period_days":"90","scope":["account_details","transactions_details"]},` +
		`"attempt":{"from_date":"` + from + `","period_days":"90","fetch_scope":["accounts","transactions"]}}}`
}

func (w *soakWorker) txMeta(id string) string {
	return w.obpAccount + "/owner/transactions/" + url.PathEscape(id) + "/metadata"
}

// soakRequest is one request of the load and the status the API answers
// it with.
type soakRequest struct {
	group, method, path, token string
	contentType, body          string
	header                     http.Header
	want                       int
}

// call sends r and records its latency under its group. A transport
// error, another status than r.want, or a body that does not decode into
// out (when given) is an error; call reports whether the request went
// as it should, and the body.
func (w *soakWorker) call(r soakRequest, out any) (string, bool) {
	t0 := time.Now()
	code, body, err := w.send(r)
	w.lat[r.group] = append(w.lat[r.group], time.Since(t0))
	if err == nil && code != r.want {
		err = fmt.Errorf("status %d, want %d: %.300s", code, r.want, body)
	}
	if err == nil && out != nil {
		if derr := json.Unmarshal([]byte(body), out); derr != nil {
			err = fmt.Errorf("decode %.200s: %w", body, derr)
		}
	}
	if err != nil {
		w.nerr++
		if len(w.errs) < 3 {
			w.errs = append(w.errs, fmt.Sprintf("worker %d: %s %s: %v", w.id, r.method, r.path, err))
		}
		return body, false
	}
	return body, true
}

func (w *soakWorker) send(r soakRequest) (int, string, error) {
	var rd io.Reader
	if r.body != "" {
		rd = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, w.base+r.path, rd)
	if err != nil {
		return 0, "", err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	ct := r.contentType
	if ct == "" && r.body != "" {
		ct = "application/json"
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// get is a GET of the worker's user that must answer 200.
func (w *soakWorker) get(group, path string, out any) bool {
	_, ok := w.call(soakRequest{group: group, method: "GET", path: path, token: w.token, want: 200}, out)
	return ok
}

// round is one pass of the worker's mix; the writes that create things
// run every few rounds so that the data grows as a real service's does,
// not with every request.
func (w *soakWorker) round() {
	r := w.rounds
	w.rounds++
	w.aggregation(r)
	w.obp(r)
	w.customers(r)
	w.finapi(r)
	w.system(r)
	w.get(grpHealth, "/health", nil)
	w.get(grpHealth, "/whoami", nil)
}

func (w *soakWorker) aggregation(r int) {
	party := "/party/profiles/" + w.party
	hold := "/holdings/profiles/" + w.party
	w.get(grpAggregation, party+"/connectionDetails", nil)
	w.get(grpAggregation, hold+"/accounts", nil)
	var page struct {
		NextPageToken string `json:"nextPageToken"`
	}
	q := url.Values{"limit": {"50"}}
	if w.txPage != "" {
		q.Set("pageToken", w.txPage)
	}
	if !w.get(grpAggregation, hold+"/accounts/"+w.accounts[w.txAcc]+"/transactions?"+q.Encode(), &page) {
		page.NextPageToken = ""
	}
	// At the last page, the next account from its first page.
	if w.txPage = page.NextPageToken; w.txPage == "" {
		w.txAcc = (w.txAcc + 1) % len(w.accounts)
	}
	var sync struct {
		NextCursor string `json:"next_cursor"`
	}
	if w.get(grpAggregation, hold+"/transactions/sync?count=100&cursor="+url.QueryEscape(w.cursor), &sync) {
		w.cursor = sync.NextCursor
	}
	if r%4 == 1 {
		w.call(soakRequest{group: grpAggregation, method: "POST", path: hold + "/banks/" + sandbox.BankDefault + "/accountwithtransactions", token: w.token, body: "{}", want: 202}, nil)
	}
	if r%8 == 3 {
		w.connectFlow(r)
	}
}

// connectFlow: a new party of the worker's user connects the default bank
// through the connect page (the import follows on the workers), and the
// connection of the flow before is removed with its accounts.
func (w *soakWorker) connectFlow(r int) {
	party := fmt.Sprintf("%s-%d", w.party, r)
	if _, ok := w.call(soakRequest{group: grpAggregation, method: "POST", path: "/party/profiles/" + party, token: w.token, body: "{}", want: 200}, nil); !ok {
		return
	}
	var conn struct {
		Data struct {
			ConnectURL string `json:"connect_url"`
		} `json:"data"`
	}
	saved := w.party
	w.party = party
	body := w.connectionBody()
	w.party = saved
	if _, ok := w.call(soakRequest{group: grpAggregation, method: "POST", path: "/party/profiles/" + party + "/banks/" + sandbox.BankDefault + "/connections", token: w.token, body: body, want: 200}, &conn); !ok {
		return
	}
	u, err := url.Parse(conn.Data.ConnectURL)
	if err != nil {
		w.nerr++
		w.errs = append(w.errs, fmt.Sprintf("worker %d: connect_url %q: %v", w.id, conn.Data.ConnectURL, err))
		return
	}
	page, ok := w.call(soakRequest{group: grpAggregation, method: "GET", path: u.RequestURI(), want: 200}, nil)
	if !ok {
		return
	}
	if !strings.Contains(page, `data-stage="login"`) {
		w.nerr++
		w.errs = append(w.errs, fmt.Sprintf("worker %d: connect page not at login: %.300s", w.id, page))
		return
	}
	form := url.Values{"token": {u.Query().Get("token")}, "username": {party}, "password": {sandbox.Password}}
	done, ok := w.call(soakRequest{group: grpAggregation, method: "POST", path: "/connect/sessions", contentType: "application/x-www-form-urlencoded", body: form.Encode(), want: 200}, nil)
	if !ok {
		return
	}
	if !strings.Contains(done, `data-stage="done"`) {
		w.nerr++
		w.errs = append(w.errs, fmt.Sprintf("worker %d: connect form not done: %.300s", w.id, done))
		return
	}
	if w.flow != "" {
		w.call(soakRequest{group: grpAggregation, method: "DELETE", path: "/party/profiles/" + w.flow + "/banks/" + sandbox.BankDefault + "/removeConnections", token: w.token, want: 200}, nil)
	}
	w.flow = party
}

func (w *soakWorker) obp(r int) {
	w.get(grpOBP, "/obp/v1.2/banks/"+sandbox.BankDefault+"/accounts/private", nil)
	hdr := http.Header{"obp_limit": {"20"}, "obp_offset": {fmt.Sprint((r % 5) * 20)}}
	w.call(soakRequest{group: grpOBP, method: "GET", path: w.obpAccount + "/owner/transactions", token: w.token, header: hdr, want: 200}, nil)
	meta := w.txMeta(w.obpTxs[r%len(w.obpTxs)])
	w.call(soakRequest{group: grpOBP, method: "PUT", path: meta + "/narrative", token: w.token, body: fmt.Sprintf(`{"narrative":"soak round %d"}`, r), want: 200}, nil)
	var tag struct {
		ID string `json:"id"`
	}
	if _, ok := w.call(soakRequest{group: grpOBP, method: "POST", path: meta + "/tags", token: w.token, body: `{"value":"soak"}`, want: 201}, &tag); ok {
		w.call(soakRequest{group: grpOBP, method: "DELETE", path: meta + "/tags/" + url.PathEscape(tag.ID), token: w.token, want: 204}, nil)
	}
	if r%4 == 0 {
		w.get(grpOBP, w.obpAccount+"/owner/other_accounts", nil)
	}
}

func (w *soakWorker) customers(r int) {
	bank := "/obp/v2.1.0/banks/" + sandbox.BankDefault
	if len(w.customerIDs) < 2 {
		body := fmt.Sprintf(`{"user_id":"","customer_number":"soak-%d-%d","legal_name":"Load %d","mobile_phone_number":"+44 7000 000000",`+
			`"email":"load@example.com","face_image":{"url":"https://example.com/a.png","date":"2026-01-02T03:04:05Z"},`+
			`"date_of_birth":"1990-01-02T00:00:00Z","relationship_status":"single","dependants":0,"dob_of_dependants":[],`+
			`"credit_rating":{"rating":"A","source":"soak"},"credit_limit":{"currency":"GBP","amount":"1000.00"},`+
			`"highest_education_attained":"Master","employment_status":"worker","kyc_status":true,"last_ok_date":"2026-01-02T03:04:05Z"}`, w.id, len(w.customerIDs), w.id)
		var created struct {
			ID string `json:"customer_id"`
		}
		if _, ok := w.call(soakRequest{group: grpCustomers, method: "POST", path: bank + "/customers", token: w.token, body: body, want: 201}, &created); ok {
			w.customerIDs = append(w.customerIDs, created.ID)
		}
		return
	}
	w.get(grpCustomers, "/obp/v2.1.0/users/current/customers", nil)
	w.get(grpCustomers, bank+"/customers", nil)
	i := r % len(w.customerIDs)
	handles := fmt.Sprintf("/obp/v2.0.0/banks/%s/customers/%s/social_media_handles", sandbox.BankDefault, url.PathEscape(w.customerIDs[i]))
	body := fmt.Sprintf(`{"customer_number":"soak-%d-%d","type":"mastodon","handle":"@load%d","date_added":"2026-01-02T03:04:05Z","date_activated":"2026-01-02T03:04:05Z"}`, w.id, i, r%3)
	w.call(soakRequest{group: grpCustomers, method: "POST", path: handles, token: w.token, body: body, want: 201}, nil)
	w.get(grpCustomers, handles, nil)
	if r%4 == 2 {
		w.get(grpCustomers, fmt.Sprintf("/obp/v2.0.0/users/load-%d/entitlements", w.id), nil)
	}
}

func (w *soakWorker) finapi(r int) {
	w.get(grpFinAPI, "/api/v1/banks?search=00000000", nil)
	w.get(grpFinAPI, "/api/v1/accounts", nil)
	w.get(grpFinAPI, fmt.Sprintf("/api/v1/transactions?view=userView&accountIds=%d&perPage=50&page=%d&order=bankBookingDate,desc", w.finAccount, r%3+1), nil)
	w.get(grpFinAPI, "/api/v1/bankConnections", nil)
	if r%4 != 2 {
		return
	}
	// The cycled connection: imported, read until downloaded and
	// categorized, then deleted (a busy one is never deleted: that is
	// the documented 422).
	if w.finConn == 0 {
		var conn struct {
			ID int64 `json:"id"`
		}
		if _, ok := w.call(soakRequest{group: grpFinAPI, method: "POST", path: "/api/v1/bankConnections/import", token: w.cycler, body: fmt.Sprintf(`{"bankId":%d,"name":"cycled"}`, w.finBank), want: 201}, &conn); ok {
			w.finConn = conn.ID
		}
		return
	}
	path := fmt.Sprintf("/api/v1/bankConnections/%d", w.finConn)
	var conn struct {
		UpdateStatus         string `json:"updateStatus"`
		CategorizationStatus string `json:"categorizationStatus"`
	}
	_, ok := w.call(soakRequest{group: grpFinAPI, method: "GET", path: path, token: w.cycler, want: 200}, &conn)
	if ok && conn.UpdateStatus == "READY" && conn.CategorizationStatus == "READY" {
		if _, ok := w.call(soakRequest{group: grpFinAPI, method: "DELETE", path: path, token: w.cycler, want: 200}, nil); ok {
			w.finConn = 0
		}
	}
}

func (w *soakWorker) system(r int) {
	w.get(grpSystem, "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", nil)
	w.get(grpSystem, "/system/countries/GB/banks", nil)
	if w.id != 0 {
		return
	}
	switch r % 16 {
	case 5:
		w.call(soakRequest{group: grpSystem, method: "GET", path: "/system/banks", token: w.ops, want: 202}, nil)
	case 13:
		w.call(soakRequest{group: grpSystem, method: "PUT", path: "/system/bank/" + sandbox.BankChallenge + "/access", token: w.ops, body: `{"setAccess":"Yes"}`, want: 200}, nil)
	}
}
