package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/dynamo"
)

func TestMain(m *testing.M) {
	// The scale-out test runs this binary as `openagg serve` processes.
	if os.Getenv(childEnv) != "" {
		os.Exit(childServe())
	}
	os.Exit(mototest.Run(m))
}

// shiftClock is the real time plus an offset the test moves forward: time
// keeps flowing for the queue, and a jump passes the provider's
// next-refresh limit (one hour in the sandbox) or the daily refresh.
type shiftClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *shiftClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// journeyStore is what the journey needs of a driver: the store for
// targeted queries after the run, and every raw item (keys, index keys,
// data) to look for leftovers.
type journeyStore struct {
	store store.Store
	dump  func(t *testing.T) []string
	close func()
}

// journeyStack is the running service a journey talks to: one process or
// several serving the same records, requests going to each in turn.
type journeyStack struct {
	bases []string // base URLs, http://host:port
	// token mints a bearer token the processes accept (the token
	// command's flags).
	token func(t testing.TB, args ...string) string
	// now is the processes' time; advance moves it forward for all.
	now     func() time.Time
	advance func(t *testing.T, d time.Duration)
	// stop ends the work (a server stops as SIGTERM stops it; processes
	// that keep running settle their queues); inspect then opens the
	// records.
	stop    func(t *testing.T)
	inspect func(t *testing.T) journeyStore
}

// hosts are the host:port of the stack's processes.
func (s journeyStack) hosts() []string {
	out := make([]string, len(s.bases))
	for i, b := range s.bases {
		out[i] = strings.TrimPrefix(b, "http://")
	}
	return out
}

// TestJourneyBolt runs the walkthrough of the README on the embedded
// default, exactly as `openagg serve` runs it.
func TestJourneyBolt(t *testing.T) {
	dir := t.TempDir()
	s := serveInProcess(t, map[string]string{"OPENAGG_DATA_DIR": dir}, app.Options{})
	s.inspect = func(t *testing.T) journeyStore {
		// The server closed the bbolt file: open it again to look inside.
		st, err := bolt.Open(filepath.Join(dir, app.StoreFile), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return journeyStore{store: st, close: func() { _ = st.Close() }, dump: func(t *testing.T) []string {
			var out []string
			err := st.DB().View(func(tx *bbolt.Tx) error {
				for _, name := range []string{bolt.BucketItems, bolt.BucketGSI1} {
					err := tx.Bucket([]byte(name)).ForEach(func(k, v []byte) error {
						out = append(out, name+" "+string(k)+" "+string(v))
						return nil
					})
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}}
	}
	runJourney(t, s)
}

// TestJourneyAWS runs the same journey through `openagg serve` on the AWS
// drivers, as `openagg setup` configures them on moto: the records in
// DynamoDB, the jobs on SQS queues consumed by the server's pollers.
func TestJourneyAWS(t *testing.T) {
	endpoint := mototest.Endpoint(t)
	env := setupStage(t, endpoint, "j"+platform.RandomHex(4), t.TempDir())
	s := serveInProcess(t, env, app.Options{})
	s.inspect = func(t *testing.T) journeyStore { return dynamoJourneyStore(t, env) }
	runJourney(t, s)
}

// dynamoJourneyStore opens the table of a setup environment.
func dynamoJourneyStore(t *testing.T, env map[string]string) journeyStore {
	t.Helper()
	ctx := context.Background()
	cfg, err := platform.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamo.NewClient(ctx, cfg.DynamoEndpoint, cfg.Region)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = dc.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(cfg.Table)})
	})
	st := dynamo.New(dc, dynamo.Options{Table: cfg.Table, TokenSecret: cfg.PageTokenSecret})
	return journeyStore{store: st, close: func() {}, dump: func(t *testing.T) []string {
		var out []string
		in := &dynamodb.ScanInput{TableName: aws.String(cfg.Table)}
		for {
			page, err := dc.Scan(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, item := range page.Items {
				var b strings.Builder
				keys := make([]string, 0, len(item))
				for k := range item {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					switch v := item[k].(type) {
					case *types.AttributeValueMemberS:
						fmt.Fprintf(&b, "%s=%s ", k, v.Value)
					case *types.AttributeValueMemberB:
						fmt.Fprintf(&b, "%s=%s ", k, v.Value)
					case *types.AttributeValueMemberN:
						fmt.Fprintf(&b, "%s=%s ", k, v.Value)
					}
				}
				out = append(out, b.String())
			}
			if len(page.LastEvaluatedKey) == 0 {
				return out
			}
			in.ExclusiveStartKey = page.LastEvaluatedKey
		}
	}}
}

// serveInProcess starts the server as `openagg serve` does (every group on
// one http.Server on a random loopback port, the queue workers and the
// scheduler ticking every second in the background) with the environment
// vars, on a clock the journey moves. The caller sets inspect.
func serveInProcess(t testing.TB, vars map[string]string, opts app.Options) journeyStack {
	t.Helper()
	clock := &shiftClock{}
	opts.Clock = clock
	all := map[string]string{
		"OPENAGG_ADDR":             "127.0.0.1:0",
		"OPENAGG_LOG_LEVEL":        "warn",
		"OPENAGG_REFRESH_INTERVAL": "1s",
	}
	for k, v := range vars {
		all[k] = v
	}
	cfg, err := platform.LoadConfig(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	finished := make(chan struct{})
	var serveErr error
	// As serveCmd without OPENAGG_PUBLIC_URL: connect URLs name the port
	// the server got.
	go func() {
		defer close(finished)
		serveErr = serveWith(ctx, cfg, serveOptions{app: opts, publicURLFromListener: true}, ready)
	}()
	// A failed test still shuts the server down before its data directory
	// is removed.
	t.Cleanup(func() {
		stop()
		select {
		case <-finished:
		case <-time.After(40 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case <-finished:
		t.Fatalf("serve ended early: %v", serveErr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return journeyStack{
		bases: []string{"http://" + addr},
		// Tokens, minted by the token command with the data directory's
		// key.
		token: func(t testing.TB, args ...string) string {
			t.Helper()
			e, out, errb := testEnv(all)
			if rc := run(context.Background(), e, append([]string{"token", "--ttl", "96h"}, args...)); rc != 0 {
				t.Fatalf("token %v: exit %d: %s", args, rc, errb)
			}
			return strings.TrimSpace(out.String())
		},
		now:     clock.Now,
		advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
		// Stop the server as SIGTERM does.
		stop: func(t *testing.T) {
			t.Helper()
			stop()
			select {
			case <-finished:
				if serveErr != nil {
					t.Fatalf("serve returned %v", serveErr)
				}
			case <-time.After(40 * time.Second):
				t.Fatal("serve did not shut down")
			}
		},
	}
}

// runJourney walks the README's journey over real HTTP only, against the
// running stack s; at the end it stops the work and looks in the records.
func runJourney(t *testing.T, s journeyStack) {
	began := time.Now()
	c := &client{t: t, bases: s.bases, http: &http.Client{Timeout: 30 * time.Second}}

	// Tokens (long enough for the clock jumps below).
	alice := s.token(t, "--sub", "alice", "--name", "Alice")
	bob := s.token(t, "--sub", "bob")
	ops := s.token(t, "--sub", "ops", "--roles", "CanManageBankDirectory")

	const party = "alice-001"
	base := "/party/profiles/" + party
	hold := "/holdings/profiles/" + party

	// 1. Profile: created once, owned by alice.
	var prof struct {
		Data struct{ ID, Identifier, Secret string } `json:"data"`
	}
	c.json("POST", base, alice, "{}", 200, &prof)
	if prof.Data.Identifier != "GB0010001-"+party || prof.Data.ID == "" || prof.Data.Secret == "" {
		t.Fatalf("profile: %+v", prof.Data)
	}
	c.expect("POST", base, alice, "{}", 409, "PROFILE_EXISTS")
	c.expect("GET", base+"/connectionDetails", bob, "", 403, "PARTY_FORBIDDEN")

	// 2. Bank directory: only with the role; loaded by the workers.
	c.expect("GET", "/system/banks", alice, "", 403, "MISSING_ROLE")
	c.expect("GET", "/system/banks", ops, "", 202, `"Status":"Initiated: Loading all providers"`)
	var gb []bankObject
	waitFor(t, "the GB banks of the directory", func() (bool, string) {
		gb = nil
		body := c.json("GET", "/system/countries/GB/banks", alice, "", 200, &gb)
		return slices.ContainsFunc(gb, func(b bankObject) bool { return b.BankCode == sandbox.BankChallenge }) &&
			slices.ContainsFunc(gb, func(b bankObject) bool { return b.BankCode == sandbox.BankDefault }), body
	})

	// 3. One bank, three ways.
	var byCode, byID bankObject
	c.json("GET", "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", alice, "", 200, &byCode)
	if !regexp.MustCompile(`^BD\d{10}$`).MatchString(byCode.InternalBankID) || byCode.CountryCode != "GB" || byCode.IsActive != "active" {
		t.Fatalf("bank by code: %+v", byCode)
	}
	c.json("GET", "/system/banks/"+byCode.InternalBankID, alice, "", 200, &byID)
	if byID.BankCode != sandbox.BankDefault || byID.BankName != byCode.BankName {
		t.Fatalf("bank by internal id %s: %+v", byCode.InternalBankID, byID)
	}
	i := slices.IndexFunc(gb, func(b bankObject) bool { return b.BankCode == sandbox.BankDefault })
	if gb[i].InternalBankID != byCode.InternalBankID || !slices.IsSortedFunc(gb, func(a, b bankObject) int {
		return strings.Compare(strings.ToLower(a.BankName), strings.ToLower(b.BankName))
	}) {
		t.Fatalf("banks of GB: %+v", gb)
	}

	// 4. A connection at an ordinary bank, completed with the form.
	from := s.now().AddDate(0, 0, -60).Format(connection.DateLayout)
	connectBody := fmt.Sprintf(`{"data":{"customer_id":%q,`+
		`"consent":{"from_date":%q,"period_days":"90","scope":["account_details","transactions_details"]},`+
		`"attempt":{"from_date":%q,"period_days":"90","fetch_scope":["accounts","transactions"]}}}`, prof.Data.Identifier, from, from)
	connect := func(bankCode string) (pagePath, tok string) {
		t.Helper()
		var resp struct {
			Data struct {
				ExpiresAt  string `json:"expires_at"`
				ConnectURL string `json:"connect_url"`
			} `json:"data"`
		}
		c.json("POST", base+"/banks/"+bankCode+"/connections", alice, connectBody, 200, &resp)
		u, err := url.Parse(resp.Data.ConnectURL)
		// The URL names the process that answered (any of them may
		// serve the page).
		if err != nil || !slices.Contains(s.hosts(), u.Host) || u.Path != "/connect/sessions" || len(u.Query().Get("token")) != 64 {
			t.Fatalf("connect_url %q (servers %v): %v", resp.Data.ConnectURL, s.hosts(), err)
		}
		if exp, err := time.Parse(time.RFC3339, resp.Data.ExpiresAt); err != nil || !exp.After(s.now()) {
			t.Fatalf("expires_at %q: %v", resp.Data.ExpiresAt, err)
		}
		return u.RequestURI(), u.Query().Get("token")
	}
	login := url.Values{"username": {"alice"}, "password": {sandbox.Password}}

	pagePath, tok := connect(sandbox.BankDefault)
	c.expect("GET", pagePath, "", "", 200, `data-stage="login"`)
	login.Set("token", tok)
	c.form("/connect/sessions", login, 200, `data-stage="done"`)
	c.form("/connect/sessions", login, 400, `data-stage="used"`) // one attempt per token
	// The page's JSON form names the provider's connection (looked for
	// in the records after the removal).
	connIDs := map[string]string{sandbox.BankDefault: c.sessionConnectionID(tok)}

	// 5. The import runs on its own; its progress is in the details.
	imported := c.waitImport(base, alice, sandbox.BankDefault, time.Time{})
	if imported.Import.Accounts == 0 || imported.Import.Transactions == 0 || imported.Status != "active" ||
		imported.DigitalProfileID != prof.Data.Identifier || imported.NextRefresh == "" || imported.CountryCode != "GB" {
		t.Fatalf("connection after import: %+v", imported)
	}

	// 6. Accounts and every transaction, page by page.
	accounts := c.accounts(hold, alice)
	defaultAccounts := accountsOf(accounts, sandbox.BankDefault)
	if len(defaultAccounts) != imported.Import.Accounts {
		t.Fatalf("%d accounts listed, import says %d: %+v", len(defaultAccounts), imported.Import.Accounts, accounts)
	}
	var txCount int64
	for _, acc := range defaultAccounts {
		txCount += int64(c.allTransactions(hold, alice, acc.ID, 40))
	}
	if txCount != imported.Import.Transactions {
		t.Fatalf("%d transactions listed, import says %d", txCount, imported.Import.Transactions)
	}
	c.expect("GET", hold+"/accounts/"+defaultAccounts[0].ID+"/transactions?limit=5&pageToken=bogus", alice, "", 400, "INVALID_PAGE_TOKEN")
	c.expect("GET", hold+"/accounts/"+defaultAccounts[0].ID+"/transactions", bob, "", 403, "PARTY_FORBIDDEN")

	// 7. The challenge bank: login, then the challenge answer. A wrong
	// code is a try on the same link; a cancel ends it.
	_, tok = connect(sandbox.BankChallenge)
	login.Set("token", tok)
	c.form("/connect/sessions", login, 200, `data-stage="challenge"`)
	c.form("/connect/sessions/challenge", url.Values{"token": {tok}, "answer": {"wrong"}}, 200, `data-stage="challenge"`, "That code is not correct.", "You can try 2 more times.")
	c.form("/connect/sessions/cancel", url.Values{"token": {tok}}, 200, `data-stage="cancelled"`)
	c.form("/connect/sessions/challenge", url.Values{"token": {tok}, "answer": {sandbox.ChallengeAnswer}}, 400, `data-stage="used"`)
	_, tok = connect(sandbox.BankChallenge) // a cancelled connection starts again
	login.Set("token", tok)
	c.form("/connect/sessions", login, 200, `data-stage="challenge"`)
	c.form("/connect/sessions/challenge", url.Values{"token": {tok}, "answer": {"000000"}}, 200, `data-stage="challenge"`)
	c.form("/connect/sessions/challenge", url.Values{"token": {tok}, "answer": {sandbox.ChallengeAnswer}}, 200, `data-stage="done"`)
	connIDs[sandbox.BankChallenge] = c.sessionConnectionID(tok)
	challenge := c.waitImport(base, alice, sandbox.BankChallenge, time.Time{})
	accounts = c.accounts(hold, alice)
	if n := len(accountsOf(accounts, sandbox.BankChallenge)); n != challenge.Import.Accounts || n == 0 {
		t.Fatalf("challenge bank: %d accounts listed, import says %d", n, challenge.Import.Accounts)
	}

	// 8. Refresh: refused before the provider allows it (an hour after the
	// login), accepted after; the refresh imports again.
	refresh := base + "/banks/" + sandbox.BankDefault + "/refreshConnections"
	c.expect("PUT", refresh, alice, "{}", 409, "REFRESH_TOO_EARLY", "the provider allows the next refresh of the connection to bank '"+sandbox.BankDefault+"' at ")
	s.advance(t, 61*time.Minute)
	var ref struct {
		DailyRefresh  string `json:"daily_refresh"`
		NextRefreshAt string `json:"next_refresh_at"`
		Message       string `json:"message"`
	}
	c.json("PUT", refresh, alice, "{}", 200, &ref)
	next, err := time.Parse(time.RFC3339, ref.NextRefreshAt)
	if ref.DailyRefresh != "true" || err != nil || next.Sub(s.now()) < 23*time.Hour ||
		ref.Message != "refresh of the connection to bank '"+sandbox.BankDefault+"' initiated" {
		t.Fatalf("refresh: %+v (%v)", ref, err)
	}
	last, _ := time.Parse(time.RFC3339, imported.Import.LastImportAt)
	refreshed := c.waitImport(base, alice, sandbox.BankDefault, last)
	if refreshed.Import.Transactions < imported.Import.Transactions {
		t.Fatalf("refresh lost transactions: %d, then %d", imported.Import.Transactions, refreshed.Import.Transactions)
	}
	c.expect("PUT", refresh, alice, "{}", 409, "REFRESH_TOO_EARLY")

	// 9. The daily refresh: a day later the scheduler (ticking every
	// second) finds both connections due through the refresh index, and
	// each is refreshed and imported again.
	before := map[string]string{sandbox.BankDefault: refreshed.NextRefresh, sandbox.BankChallenge: challenge.NextRefresh}
	s.advance(t, 25*time.Hour)
	jumped := s.now().Truncate(time.Second)
	waitFor(t, "the scheduled refreshes and their imports", func() (bool, string) {
		d, body := c.details(base, alice)
		for _, x := range d {
			at, _ := time.Parse(time.RFC3339, x.Import.LastImportAt)
			if x.NextRefresh <= before[x.BankCode] || x.Import.State != "done" || at.Before(jumped) {
				return false, body
			}
		}
		return len(d) == 2, body
	})

	// 10. Remove both connections: each takes its accounts with it.
	removed := map[string][]string{}
	for _, code := range []string{sandbox.BankDefault, sandbox.BankChallenge} {
		for _, acc := range accountsOf(c.accounts(hold, alice), code) {
			removed[code] = append(removed[code], acc.ID)
		}
		path := base + "/banks/" + code + "/removeConnections"
		c.expect("DELETE", path, bob, "", 403, "PARTY_FORBIDDEN")
		c.expect("DELETE", path, alice, "", 200, `"message":"success"`)
		c.expect("DELETE", path, alice, "", 404, "CONNECTION_NOT_FOUND")
		if n := len(accountsOf(c.accounts(hold, alice), code)); n != 0 {
			t.Fatalf("%d accounts of %s left after the removal", n, code)
		}
		for _, id := range removed[code] {
			c.expect("GET", hold+"/accounts/"+id+"/transactions", alice, "", 404, "ACCOUNT_NOT_FOUND")
		}
		c.expect("PUT", base+"/banks/"+code+"/refreshConnections", alice, "{}", 404, "CONNECTION_NOT_FOUND")
	}
	if d, body := c.details(base, alice); len(d) != 0 {
		t.Fatalf("connection details after removing everything: %s", body)
	}
	c.expect("GET", base+"/connectionDetails", alice, "", 200, `{"connections":[]}`)
	elapsed := time.Since(began)

	// Stop the work, then look at the records.
	s.stop(t)
	js := s.inspect(t)
	defer js.close()
	for code, ids := range removed {
		assertNothingLeft(t, js, party, code, ids, connIDs[code])
	}
	t.Logf("journey over HTTP took %s (%d + %d transactions imported, %d after the refreshes)",
		elapsed.Round(time.Millisecond), imported.Import.Transactions, challenge.Import.Transactions, refreshed.Import.Transactions)
}

// assertNothingLeft checks at the store level that nothing of the party's
// connection at bankCode is left: no connection or import item, no item in
// its accounts' partitions, no index entry (party's accounts, transactions
// by date, refresh schedule), and no raw item naming one of its accounts
// or its provider connection (but the sandbox's used connect sessions:
// the provider's own records, which expire by TTL like Salt Edge's; and
// the party's change log, whose entries about the accounts must be data-free
// removal notices and markers).
func assertNothingLeft(t *testing.T, js journeyStore, partyID, bankCode string, accountIDs []string, connID string) {
	t.Helper()
	ctx := context.Background()
	if len(accountIDs) == 0 {
		t.Fatalf("%s: no account ids to look for", bankCode)
	}
	empty := func(what string, q store.Query) {
		t.Helper()
		page, err := js.store.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(page.Items) != 0 {
			t.Errorf("%s: %d items left, first %s", what, len(page.Items), page.Items[0].Key())
		}
	}
	for _, k := range []store.Key{connection.Key(partyID, bankCode), {PK: holdings.PartyPK(partyID), SK: holdings.ImportSK(bankCode)}} {
		if _, err := js.store.Get(ctx, k); err == nil || !strings.Contains(err.Error(), store.ErrNotFound.Error()) {
			t.Errorf("%s: still there (%v)", k, err)
		}
	}
	empty("party accounts index at "+bankCode, store.Query{Index: store.IndexGSI1, PK: holdings.PartyAccountsGSI1PK(partyID), SKPrefix: bankCode + "#"})
	for _, id := range accountIDs {
		empty("partition of account "+id, store.Query{PK: holdings.AccountPK(id)})
		empty("transactions index of account "+id, store.Query{Index: store.IndexGSI1, PK: holdings.TxByDateGSI1PK(id)})
	}
	for shard := range connection.RefreshShards {
		page, err := js.store.Query(ctx, store.Query{Index: store.IndexGSI1, PK: connection.RefreshGSI1PK(shard)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if strings.HasSuffix(it.GSI1SK, "#"+partyID+"#"+bankCode) {
				t.Errorf("refresh index still lists %s/%s: %s", partyID, bankCode, it.GSI1SK)
			}
		}
	}
	raw := js.dump(t)
	if connID == "" {
		t.Fatalf("%s: no provider connection id to look for", bankCode)
	}
	// The dump sees what must stay: the party's profile.
	if !slices.ContainsFunc(raw, func(l string) bool { return strings.Contains(l, holdings.PartyPK(partyID)) }) {
		t.Fatalf("the raw dump (%d items) lacks the profile of %s", len(raw), partyID)
	}
	// The party's change log announces the removal of the connection's
	// transactions (issue 14: by id, to every client that got them): it
	// may name the accounts in removal notices, redaction markers and the
	// end marker of their removal, never with any data.
	logged := map[string]int{}
	for _, id := range accountIDs {
		logged[id] = 0
	}
	q := store.Query{PK: holdings.SyncPK(partyID), From: "0"}
	for {
		page, err := js.store.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var chunk struct {
				Entries []map[string]json.RawMessage `json:"e"`
			}
			if err := json.Unmarshal(it.Data, &chunk); err != nil {
				t.Fatalf("change log chunk %s: %v", it.SK, err)
			}
			for _, e := range chunk.Entries {
				var acc, op string
				_ = json.Unmarshal(e["a"], &acc)
				_ = json.Unmarshal(e["o"], &op)
				if _, removed := logged[acc]; !removed {
					continue
				}
				logged[acc]++
				if _, data := e["t"]; data || (op != "r" && op != "x" && op != "z") {
					t.Errorf("the change log keeps %q of removed account %s in %s (with data: %v)", op, acc, it.SK, data)
				}
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	changeLog := "SYNC#" + partyID
	for _, line := range raw {
		for _, id := range accountIDs {
			if strings.Contains(line, id) && !(strings.Contains(line, changeLog) && logged[id] > 0) {
				t.Errorf("item naming removed account %s: %.300s", id, line)
			}
		}
		if strings.Contains(line, connID) && !strings.Contains(line, "SBX#SES#") {
			t.Errorf("item naming removed connection %s: %.300s", connID, line)
		}
	}
}

// bankObject is the part of the system group's bank object the journey reads.
type bankObject struct {
	BankCode       string `json:"bankCode"`
	BankName       string `json:"bankName"`
	InternalBankID string `json:"internalBankId"`
	CountryCode    string `json:"countryCode"`
	IsActive       string `json:"isActive"`
}

type connectionDetail struct {
	DigitalProfileID string `json:"DigitalProfileID"`
	BankCode         string `json:"bankCode"`
	NextRefresh      string `json:"NextRefresh"`
	Status           string `json:"status"`
	CountryCode      string `json:"CountryCode"`
	LastError        string `json:"lastError"`
	Import           struct {
		State        string `json:"state"`
		Accounts     int    `json:"accounts"`
		Transactions int64  `json:"transactions"`
		LastImportAt string `json:"lastImportAt"`
		LastError    string `json:"lastError"`
	} `json:"import"`
}

type account struct {
	ID       string `json:"id"`
	BankCode string `json:"bankCode"`
	Currency string `json:"currency"`
	Balance  string `json:"balance"`
}

func accountsOf(all []account, bankCode string) []account {
	var out []account
	for _, a := range all {
		if a.BankCode == bankCode {
			out = append(out, a)
		}
	}
	return out
}

// client speaks plain HTTP to the servers, as curl would, each request to
// the next server in turn.
type client struct {
	t     testing.TB
	bases []string
	next  int
	http  *http.Client
}

// base is the server the next request goes to.
func (c *client) base() string {
	b := c.bases[c.next%len(c.bases)]
	c.next++
	return b
}

func (c *client) do(method, path, token, contentType, body string) (int, string) {
	c.t.Helper()
	code, b, err := c.try(method, path, token, contentType, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return code, b
}

// try is do that returns a transport error instead of failing the test.
func (c *client) try(method, path, token, contentType, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base()+path, rd)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return resp.StatusCode, string(b), nil
}

func jsonType(body string) string {
	if body == "" {
		return ""
	}
	return "application/json"
}

// expect checks the status and that the body holds every snippet.
func (c *client) expect(method, path, token, body string, status int, snippets ...string) string {
	c.t.Helper()
	code, got := c.do(method, path, token, jsonType(body), body)
	if code != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, status, got)
	}
	for _, s := range snippets {
		if !strings.Contains(got, s) {
			c.t.Fatalf("%s %s: body lacks %q: %s", method, path, s, got)
		}
	}
	return got
}

// json checks the status and decodes the body into out.
func (c *client) json(method, path, token, body string, status int, out any) string {
	c.t.Helper()
	got := c.expect(method, path, token, body, status)
	if err := json.Unmarshal([]byte(got), out); err != nil {
		c.t.Fatalf("%s %s: decode %s: %v", method, path, got, err)
	}
	return got
}

// form posts an x-www-form-urlencoded form, as `curl -d` does.
func (c *client) form(path string, v url.Values, status int, snippets ...string) {
	c.t.Helper()
	code, got := c.do("POST", path, "", "application/x-www-form-urlencoded", v.Encode())
	if code != status {
		c.t.Fatalf("POST %s: %d, want %d: %s", path, code, status, got)
	}
	for _, snippet := range snippets {
		if !strings.Contains(got, snippet) {
			c.t.Fatalf("POST %s: %d, want %d with %q: %s", path, code, status, snippet, got)
		}
	}
}

// sessionConnectionID reads the provider connection id of a finished
// connect session from the page's JSON form (a used token answers 400).
func (c *client) sessionConnectionID(tok string) string {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base()+"/connect/sessions?token="+tok, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Stage        string `json:"stage"`
		ConnectionID string `json:"connectionId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 400 || v.Stage != "used" || v.ConnectionID == "" {
		c.t.Fatalf("session JSON: %d %+v %v", resp.StatusCode, v, err)
	}
	return v.ConnectionID
}

func (c *client) details(base, token string) ([]connectionDetail, string) {
	c.t.Helper()
	var d struct {
		Connections []connectionDetail `json:"connections"`
	}
	body := c.json("GET", base+"/connectionDetails", token, "", 200, &d)
	return d.Connections, body
}

// waitImport polls the connection details until the import of bankCode is
// done after the given time, failing at once on a failed import.
func (c *client) waitImport(base, token, bankCode string, after time.Time) connectionDetail {
	c.t.Helper()
	var found connectionDetail
	waitFor(c.t, "the import of "+bankCode, func() (bool, string) {
		d, body := c.details(base, token)
		i := slices.IndexFunc(d, func(x connectionDetail) bool { return x.BankCode == bankCode })
		if i < 0 {
			return false, body
		}
		found = d[i]
		if found.Import.State == "failed" || found.Status == "failed" {
			c.t.Fatalf("import of %s failed: %s", bankCode, body)
		}
		at, _ := time.Parse(time.RFC3339, found.Import.LastImportAt)
		return found.Import.State == "done" && at.After(after), body
	})
	return found
}

func (c *client) accounts(base, token string) []account {
	c.t.Helper()
	var a struct {
		Accounts []account `json:"accounts"`
	}
	c.json("GET", base+"/accounts", token, "", 200, &a)
	return a.Accounts
}

// allTransactions reads an account's transactions in pages of limit and
// returns how many there are, checking the order and that no id repeats.
func (c *client) allTransactions(base, token, accountID string, limit int) int {
	c.t.Helper()
	seen := map[string]bool{}
	var lastKey string
	pageToken := ""
	for pages := 0; ; pages++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if pageToken != "" {
			q.Set("pageToken", pageToken)
		}
		var page struct {
			Transactions []struct {
				ID       string `json:"id"`
				Status   string `json:"status"`
				MadeOn   string `json:"madeOn"`
				PostedAt string `json:"postedAt"`
				Amount   string `json:"amount"`
			} `json:"transactions"`
			NextPageToken string `json:"nextPageToken"`
		}
		c.json("GET", base+"/accounts/"+accountID+"/transactions?"+q.Encode(), token, "", 200, &page)
		if len(page.Transactions) > limit || (page.NextPageToken != "" && len(page.Transactions) == 0) {
			c.t.Fatalf("page %d of %s: %d transactions, next %q", pages, accountID, len(page.Transactions), page.NextPageToken)
		}
		for _, tx := range page.Transactions {
			if seen[tx.ID] || tx.Amount == "" {
				c.t.Fatalf("transaction %+v repeated or without amount", tx)
			}
			seen[tx.ID] = true
			key := tx.PostedAt
			if key == "" {
				key = tx.MadeOn
			}
			if lastKey != "" && key[:10] > lastKey[:10] {
				c.t.Fatalf("transactions of %s not newest first: %s after %s", accountID, key, lastKey)
			}
			lastKey = key
		}
		if page.NextPageToken == "" {
			return len(seen)
		}
		pageToken = page.NextPageToken
	}
}

// waitFor polls cond until it holds (a minute at most: moto and several
// processes on a shared machine are slow).
func waitFor(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last answer: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
