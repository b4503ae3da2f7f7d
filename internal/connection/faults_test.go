package connection_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamofault"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

// TestSyncAndRefreshUnderFaults: a party's connections on DynamoDB while
// DynamoDB throttles, fails with 500s, hangs, cancels transactions and
// leaves batch items unprocessed on 15% of the calls: connected through
// the API (every request answered as without faults: the SDK and the
// driver absorb them), then refreshed by the scheduler and synced from the
// provider by the workers while, besides, the 5th read or batch write
// fails on all its attempts, so that jobs fail and the queue (the
// production handlers, redelivery included) runs them again. Afterwards
// each connection is active and refreshed, its import done, and every
// provider transaction stored exactly once.
func TestSyncAndRefreshUnderFaults(t *testing.T) {
	inj := dynamofault.New(t, dynamofault.Plan{Seed: 5}) // no faults while the directory loads
	secret := []byte("connection-test-secret-0123")
	st, table := dynamofault.Store(t, inj, "connection", secret)
	var failed atomic.Int64 // deliveries that failed (and came again)
	e := partytest.New(t, partytest.Options{Store: st,
		Worker: func(name string, h queue.SQSHandler) queue.SQSHandler {
			return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				resp, err := h(ctx, ev)
				failed.Add(int64(len(resp.BatchItemFailures)))
				return resp, err
			}
		},
		// The provider's own state is not OpenAgg's table: no faults there.
		ProviderStore: dynamo.New(dynamotest.Client(t), dynamo.Options{Table: table, TokenSecret: secret})})
	absorbed := dynamofault.Plan{Rate: 0.15}
	lasting := dynamofault.Plan{Rate: 0.15, OutlastAt: []int64{5}}
	const party = "100700"
	banks := []string{sandbox.BankDefault, sandbox.BankChallenge}

	inj.SetPlan(absorbed)
	tok := e.Token("alice")
	e.CreateProfile(tok, party)
	for _, b := range banks {
		e.Connected(tok, party, b)
	}
	e.Settle()
	connected := inj.Total()

	// The daily refresh: the scheduler's query, then the jobs.
	e.Clock.Advance(25 * time.Hour)
	refreshedAt := e.Clock.Now()
	if n, err := e.Conns.RefreshDue(e.Ctx, refreshedAt); err != nil || n != len(banks) {
		t.Fatalf("due: %d %v", n, err)
	}
	inj.SetPlan(lasting)
	e.Drain()
	// A sync from the provider, asked through the API.
	inj.SetPlan(absorbed)
	if r := e.Do(http.MethodGet, "/party/profiles/"+party+"/connections", tok, ""); r.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", r.Status, r.Body)
	}
	inj.SetPlan(lasting)
	e.Drain()
	inj.SetPlan(dynamofault.Plan{})
	t.Logf("%s (%d while connecting); store: %d calls, %d retries; %d failed deliveries", inj, connected, st.Calls(), st.Retries(), failed.Load())

	r := e.Do(http.MethodGet, "/party/profiles/"+party+"/connectionDetails", tok, "")
	if r.Status != http.StatusOK || strings.Count(r.Body, `"status":"active"`) != len(banks) || strings.Count(r.Body, `"state":"done"`) != len(banks) {
		t.Fatalf("details: %d %s", r.Status, r.Body)
	}
	// A read the database keeps refusing past the retries: the API
	// answers 503 SERVICE_BUSY with Retry-After (a client retries), never
	// a 500, and the next request goes through.
	inj.SetPlan(dynamofault.Plan{OutlastAt: []int64{1}})
	busy := e.Do(http.MethodGet, "/party/profiles/"+party+"/connectionDetails", tok, "")
	inj.SetPlan(dynamofault.Plan{})
	if busy.Status != http.StatusServiceUnavailable || !strings.Contains(busy.Body, `"code":"SERVICE_BUSY"`) || busy.Header.Get("Retry-After") != "1" {
		t.Fatalf("details with the database refusing: %d %v %s", busy.Status, busy.Header, busy.Body)
	}
	if again := e.Do(http.MethodGet, "/party/profiles/"+party+"/connectionDetails", tok, ""); again.Status != http.StatusOK {
		t.Fatalf("details once the database answers: %d %s", again.Status, again.Body)
	}
	for _, b := range banks {
		it, err := e.Store.Get(e.Ctx, connection.Key(party, b))
		if err != nil {
			t.Fatal(err)
		}
		c, err := connection.Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		// (A redelivery's backoff moves the test clock on.)
		if c.Status != connection.StatusActive || c.LastRefreshAt.Before(refreshedAt) {
			t.Errorf("%s: status %s, last refresh %s, want active, refreshed at %s or later", b, c.Status, c.LastRefreshAt, refreshedAt)
		}
		p, err := e.Holdings.Progress(e.Ctx, party, b)
		if err != nil || p.State != holdings.StateDone || p.LastImportAt.Before(refreshedAt) {
			t.Errorf("%s: import %+v %v, want done at %s or later", b, p, err, refreshedAt)
		}
		want := providerTransactions(t, e, c.ProviderConnectionID)
		var total int64
		for accID, n := range want {
			id := holdings.AccountID(sandbox.Name, c.ProviderConnectionID, accID)
			got := 0
			for q := (store.Query{PK: holdings.AccountPK(id), SKPrefix: holdings.TxSKPrefix}); ; {
				page, err := e.Store.Query(e.Ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got += len(page.Items)
				if q.Token = page.Next; q.Token == "" {
					break
				}
			}
			if got != n {
				t.Errorf("%s: account %s holds %d transactions, the provider lists %d", b, accID, got, n)
			}
			total += int64(n)
		}
		if p.Transactions != total || total == 0 {
			t.Errorf("%s: the import counted %d transactions, the provider lists %d", b, p.Transactions, total)
		}
	}
	if inj.Total() == connected || st.Retries() == 0 || failed.Load() == 0 {
		t.Fatalf("faults not exercised while refreshing and syncing: %s, %d failed deliveries", inj, failed.Load())
	}
}

// providerTransactions counts what the sandbox lists for a connection,
// posted and pending, per provider account id.
func providerTransactions(t *testing.T, e *partytest.Env, connID string) map[string]int {
	t.Helper()
	accs, err := e.Sandbox.ListAccounts(e.Ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, a := range accs {
		for _, pending := range []bool{false, true} {
			for cursor := ""; ; {
				p, err := e.Sandbox.ListTransactions(e.Ctx, connID, a.ID, pending, cursor)
				if err != nil {
					t.Fatal(err)
				}
				out[a.ID] += len(p.Transactions)
				if cursor = p.Next; cursor == "" {
					break
				}
			}
		}
	}
	return out
}
