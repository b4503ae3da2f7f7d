package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/clocktest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store/dynamo"
)

// TestScaleOut runs OpenAgg as several `openagg serve` processes on the
// AWS drivers (moto), sharing one table and the queues `openagg setup`
// made, as containers behind a load balancer would:
//
//   - the Aggregation journey, each request to the next process, its jobs
//     (directory load, connection syncs, imports, the scheduled refreshes
//     every process's scheduler races to queue) taken by whichever process
//     polls first;
//   - the import of the sandbox's big bank, chunk by chunk over the
//     processes, one of which is killed (SIGKILL) while it runs a chunk.
//
// Then: every transaction of the bank is stored exactly once and counted
// once, the chunk the killed process held was finished by another one,
// every queue and dead-letter queue is empty, the survivors stop cleanly
// on SIGTERM; how the jobs were shared, the import's throughput and its
// store calls are reported. `make test` runs it on a 30-day slice of the
// bank in one-page chunks; `make scaleout` (-scaleout.full) on the whole
// bank, and measures the import with one process and with three (each
// part in a test binary of its own, for a fresh moto; the measurements
// check the counts, the run with the kill every stored item too).
func TestScaleOut(t *testing.T) {
	if !*scaleoutFull {
		began := time.Now()
		phase := func(what string) {
			t.Logf("%s: %s", what, time.Since(began).Round(time.Millisecond))
			began = time.Now()
		}
		c := startCluster(t, "so"+platform.RandomHex(3), clusterOptions{processes: 3, lease: 6 * time.Second, importPages: 1, refresh: 5 * time.Second})
		phase("setup and three processes started")
		runJourney(t, c.stack())
		phase("journey")
		r := c.bigImport(t, "big-001", 30, 3, true)
		phase("big bank import and checks")
		c.stop(t)
		phase("stopped")
		c.report(t, r)
		return
	}
	var rows []importResult
	t.Run("one process", func(t *testing.T) {
		c := startCluster(t, "s1"+platform.RandomHex(3), clusterOptions{processes: 1, lease: app.DefaultWorkerLease, refresh: time.Hour})
		c.loadDirectory(t)
		rows = append(rows, c.bigImport(t, "big-101", *scaleoutDays, 0, false))
		c.stop(t)
		c.report(t, rows[len(rows)-1])
	})
	t.Run("three processes", func(t *testing.T) {
		c := startCluster(t, "s3"+platform.RandomHex(3), clusterOptions{processes: 3, lease: app.DefaultWorkerLease, refresh: time.Hour})
		c.loadDirectory(t)
		rows = append(rows, c.bigImport(t, "big-301", *scaleoutDays, 0, false))
		c.stop(t)
		c.report(t, rows[len(rows)-1])
	})
	t.Run("three processes, journey and a kill", func(t *testing.T) {
		// The production lease; a tick the journey can wait for.
		c := startCluster(t, "sk"+platform.RandomHex(3), clusterOptions{processes: 3, lease: app.DefaultWorkerLease, refresh: 30 * time.Second})
		runJourney(t, c.stack())
		rows = append(rows, c.bigImport(t, "big-302", *scaleoutDays, 2, true))
		c.stop(t)
		c.report(t, rows[len(rows)-1])
	})
	t.Log("big bank import on moto:")
	for _, r := range rows {
		t.Logf("  %-38s %7d tx in %6.1fs: %6.0f tx/s, %5.1f store calls per 1,000 tx, holdings jobs per process %v",
			r.label, r.transactions, r.elapsed.Seconds(), float64(r.transactions)/r.elapsed.Seconds(), r.callsPer1000(), r.jobsByProc)
	}
}

// importResult is what bigImport measured.
type importResult struct {
	label        string
	transactions int64
	elapsed      time.Duration // first chunk received to last chunk done
	storeCalls   int64         // of the import's chunks (a killed chunk's lost)
	jobsByProc   map[string]int
	killed       string // the process killed, if any
}

func (r importResult) callsPer1000() float64 {
	return float64(r.storeCalls) * 1000 / float64(r.transactions)
}

// loadDirectory loads the bank directory through the system group.
func (c *cluster) loadDirectory(t *testing.T) {
	t.Helper()
	cl := &client{t: t, bases: c.bases(), http: &http.Client{Timeout: 30 * time.Second}}
	ops := c.token(t, "--sub", "ops", "--roles", bank.RoleManageDirectory)
	cl.expect("GET", "/system/banks", ops, "", 202)
	waitFor(t, "the big bank in the directory", func() (bool, string) {
		code, body := cl.do("GET", "/system/banks/"+sandbox.BankBig+"/provider/sandbox", ops, "", "")
		return code == 200, body
	})
}

// bigImport connects party to the sandbox's big bank with a consent of
// the last days days (0: the whole history) through the API, as a user
// does, and follows the import to its end. With killAt > 0 the process
// that receives the import's killAt-th chunk is killed (SIGKILL) as soon
// as it logs it. It checks that every transaction the bank lists is stored
// once and counted once, that a chunk the killed process held was
// finished elsewhere, and that every queue and DLQ is empty.
func (c *cluster) bigImport(t *testing.T, party string, days, killAt int, items bool) importResult {
	t.Helper()
	ctx := context.Background()
	label := fmt.Sprintf("%d process(es)", len(c.live()))
	if killAt > 0 {
		label += ", one killed"
	}
	cl := &client{t: t, bases: c.bases(), http: &http.Client{Timeout: time.Minute}}
	owner := c.token(t, "--sub", "owner-"+party)
	base := "/party/profiles/" + party
	cl.expect("POST", base, owner, "{}", 200)
	from := c.clockNow().AddDate(-6, 0, 0)
	if days > 0 {
		from = c.clockNow().AddDate(0, 0, -days)
	}
	f := from.Format(connection.DateLayout)
	body := fmt.Sprintf(`{"data":{"customer_id":"GB0010001-%s",
		"consent":{"from_date":"%s","period_days":"90","scope":["account_details","transactions_details"]},
		"attempt":{"from_date":"%s","period_days":"90","fetch_scope":["accounts","transactions"]}}}`, party, f, f)
	var resp struct {
		Data struct {
			ConnectURL string `json:"connect_url"`
		} `json:"data"`
	}
	cl.json("POST", base+"/banks/"+sandbox.BankBig+"/connections", owner, body, 200, &resp)
	u, err := url.Parse(resp.Data.ConnectURL)
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("token")

	// From here on, the chunks.
	marks := map[*proc]int{}
	for _, p := range c.procs {
		marks[p] = p.mark()
	}
	cl.form("/connect/sessions", url.Values{"token": {tok}, "username": {"owner"}, "password": {sandbox.Password}}, 200, `data-stage="done"`)
	connID := cl.sessionConnectionID(tok)

	// The kill happens in the log reader, as soon as the chosen chunk's
	// receipt is logged (counting from here: the first chunks may have
	// started already).
	var mu sync.Mutex
	var chunks int
	var victim *proc
	var held []string // message ids the victim held when killed
	if killAt > 0 {
		c.mu.Lock()
		c.onLine = func(p *proc, l logLine) {
			if l.Msg != msgReceived || l.Queue != "holdings" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			chunks++
			if chunks == killAt && victim == nil {
				victim, held = p, l.MessageIDs
				c.kill(p)
			}
		}
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.onLine = nil
			c.mu.Unlock()
		}()
	}

	// Follow the import in the table (a strongly consistent read, no work
	// for the processes: on moto an API poll costs an index query that
	// reads the whole table, and races the import's writes there).
	js := dynamoJourneyStore(t, c.env)
	hs := holdings.New(holdings.Deps{Store: js.store})
	deadline, every := time.Now().Add(3*time.Minute), 100*time.Millisecond
	if *scaleoutFull {
		deadline, every = time.Now().Add(30*time.Minute), time.Second
	}
	for {
		p, err := hs.Progress(ctx, party, sandbox.BankBig)
		if err != nil && !errors.Is(err, holdings.ErrImportNotFound) {
			t.Fatal(err)
		}
		if p.State == holdings.StateFailed {
			t.Fatalf("import failed: %+v", p)
		}
		if p.State == holdings.StateDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import not done: %+v", p)
		}
		time.Sleep(every)
	}
	checking := time.Now()
	// The API says the same, whichever process answers.
	var done connectionDetail
	waitFor(t, "the connection details after the import", func() (bool, string) {
		live := &client{t: t, bases: c.bases(), http: cl.http}
		code, body, err := live.try("GET", base+"/connectionDetails", owner, "", "")
		var d struct {
			Connections []connectionDetail `json:"connections"`
		}
		if err != nil || code != 200 || json.Unmarshal([]byte(body), &d) != nil || len(d.Connections) != 1 {
			return false, fmt.Sprintf("%d %s %v", code, body, err) // moto fails a request now and then
		}
		done = d.Connections[0]
		return true, ""
	})
	if done.Import.State != "done" || done.Status != "active" {
		t.Fatalf("connection after the import: %+v", done)
	}
	c.settle(t)
	mu.Lock()
	if killAt > 0 && victim == nil {
		t.Fatalf("the import had fewer than %d chunks: nothing was killed", killAt)
	}
	mu.Unlock()

	// Every transaction the bank lists, stored once, counted once: the
	// sandbox (its state is in the same table, its time the cluster's)
	// lists each account's posted and pending transactions; the table
	// holds exactly those in the account's partition.
	sb := sandbox.New(js.store, sandbox.Options{Clock: clocktest.New(c.clockNow())})
	accounts, err := sb.ListAccounts(ctx, connID)
	if err != nil || len(accounts) != 3 {
		t.Fatalf("big bank accounts %d: %v", len(accounts), err)
	}
	var total int64
	for _, a := range accounts {
		want := map[string]bool{}
		for _, pending := range []bool{false, true} {
			cursor := ""
			for {
				page, err := sb.ListTransactions(ctx, connID, a.ID, pending, cursor)
				if err != nil {
					t.Fatal(err)
				}
				for _, tx := range page.Transactions {
					want[tx.ID] = true
				}
				if cursor = page.Next; cursor == "" {
					break
				}
			}
		}
		if len(want) == 0 {
			t.Fatalf("account %s: the bank lists no transactions", a.Name)
		}
		if items {
			checkStoredTx(t, c.env, holdings.AccountPK(holdings.AccountID(sandbox.Name, connID, a.ID)), want)
		}
		total += int64(len(want))
	}
	if done.Import.Transactions != total || done.Import.Accounts != 3 {
		t.Errorf("import counted %d transactions in %d accounts, the bank lists %d in 3", done.Import.Transactions, done.Import.Accounts, total)
	}
	t.Logf("the import's checks took %s", time.Since(checking).Round(time.Millisecond))

	// The chunks, from the processes' logs.
	r := importResult{label: label, transactions: total, jobsByProc: map[string]int{}}
	var first, last time.Time
	doneBy := map[string]string{} // message id → the process that finished it
	for _, p := range c.procs {
		for _, l := range p.since(marks[p]) {
			if l.Queue != "holdings" {
				continue
			}
			switch l.Msg {
			case msgReceived:
				if first.IsZero() || l.Time.Before(first) {
					first = l.Time
				}
			case msgDone:
				if l.Time.After(last) {
					last = l.Time
				}
				r.storeCalls += l.StoreCalls
				if l.Failed == 0 {
					r.jobsByProc[p.name] += len(l.MessageIDs)
					for _, id := range l.MessageIDs {
						doneBy[id] = p.name
					}
				}
			}
		}
	}
	r.elapsed = last.Sub(first)
	if victim != nil {
		r.killed = victim.name
		for _, id := range held {
			// A chunk that ended before the kill arrived is the victim's
			// own; one it held is finished by another process after the
			// lease ran out.
			by, ok := doneBy[id]
			if !ok {
				t.Errorf("chunk %s held by the killed %s was never finished", id, victim.name)
			} else {
				t.Logf("chunk %s: received by %s, killed there, finished by %s", id, victim.name, by)
			}
		}
	}
	return r
}

// report logs how the jobs were shared over the processes.
func (c *cluster) report(t *testing.T, r importResult) {
	t.Helper()
	var workers []string
	counts := map[string]map[string]int{} // worker → process → messages done
	failed := map[string]int{}
	for _, p := range c.procs {
		for _, l := range p.since(0) {
			if l.Msg != msgDone {
				continue
			}
			if counts[l.Worker] == nil {
				counts[l.Worker] = map[string]int{}
				workers = append(workers, l.Worker)
			}
			counts[l.Worker][p.name] += len(l.MessageIDs) - l.Failed
			failed[l.Worker] += l.Failed
		}
	}
	sort.Strings(workers)
	t.Logf("jobs done per process (killed: %q):", r.killed)
	for _, w := range workers {
		var parts []string
		for _, p := range c.procs {
			parts = append(parts, fmt.Sprintf("%s %d", p.name, counts[w][p.name]))
		}
		t.Logf("  %-18s %s (failed and retried: %d)", w, strings.Join(parts, ", "), failed[w])
	}
	t.Logf("big bank import (%s): %d transactions in %s, %.0f tx/s, %.1f store calls per 1,000 transactions, chunks per process %v",
		r.label, r.transactions, r.elapsed.Round(time.Millisecond), float64(r.transactions)/r.elapsed.Seconds(), r.callsPer1000(), r.jobsByProc)
	if slices.ContainsFunc(c.procs, func(p *proc) bool { return p.alive() }) {
		t.Error("report before stop: processes still running")
	}
}

// checkStoredTx checks that an account's partition holds exactly the
// transactions want: as many transaction items as want has (a count
// query), and each of want's ids among them (batched gets of the keys).
// Keys are unique, so the two make the sets equal. On moto this is much
// faster than reading the partition page by page (each page filters the
// whole partition again).
func checkStoredTx(t *testing.T, env map[string]string, pk string, want map[string]bool) {
	t.Helper()
	ctx := context.Background()
	dc, err := dynamo.NewClient(ctx, env["OPENAGG_DYNAMO_ENDPOINT"], env["AWS_REGION"])
	if err != nil {
		t.Fatal(err)
	}
	table := aws.String(env["OPENAGG_TABLE"])
	count := &dynamodb.QueryInput{
		TableName:                 table,
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :tx)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}, ":tx": &types.AttributeValueMemberS{Value: holdings.TxSKPrefix}},
		Select:                    types.SelectCount,
		ConsistentRead:            aws.Bool(true),
	}
	stored := 0
	for {
		out, err := dc.Query(ctx, count)
		if err != nil {
			t.Fatal(err)
		}
		stored += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		count.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if stored != len(want) {
		t.Errorf("%s: %d transactions stored, the bank lists %d", pk, stored, len(want))
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	found := 0
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: holdings.TxSK(id)}}
		}
		req := map[string]types.KeysAndAttributes{*table: {Keys: keys, ProjectionExpression: aws.String("SK"), ConsistentRead: aws.Bool(true)}}
		for len(req) > 0 {
			out, err := dc.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				t.Fatal(err)
			}
			found += len(out.Responses[*table])
			req = out.UnprocessedKeys
		}
	}
	if found != len(want) {
		t.Errorf("%s: %d of the bank's %d transactions stored", pk, found, len(want))
	}
}
