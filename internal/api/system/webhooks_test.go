package system_test

import (
	"encoding/json"
	"fmt"
	"github.com/openagg/openagg/internal/platform/clocktest"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/webhook"
)

// receiver is a client's webhook endpoint: it verifies every delivery
// with the secret it was given (Standard Webhooks, on the service's clock)
// and answers 503 to the first delivery of each webhook-id when flaky.
type receiver struct {
	t      *testing.T
	clock  *clocktest.Clock
	flaky  bool
	srv    *httptest.Server
	secret string

	mu   sync.Mutex
	got  []delivery
	seen map[string]int
}

type delivery struct {
	id      string
	status  int
	payload webhook.Payload
}

func newReceiver(t *testing.T, clock *clocktest.Clock, flaky bool) *receiver {
	r := &receiver{t: t, clock: clock, flaky: flaky, seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		id := req.Header.Get("webhook-id")
		if err := webhook.Verify(r.secret, id, req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body, r.clock.Now(), 5*time.Minute); err != nil {
			r.t.Errorf("delivery %s does not verify: %v", id, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			r.t.Errorf("delivery %s: %v", id, err)
		}
		r.seen[id]++
		status := http.StatusNoContent
		if r.flaky && r.seen[id] == 1 {
			status = http.StatusServiceUnavailable
		}
		r.got = append(r.got, delivery{id: id, status: status, payload: p})
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// accepted are the deliveries answered 2xx, by webhook-id: a duplicate
// (the same id accepted twice) is what the receiver must drop.
func (r *receiver) accepted() map[string][]webhook.Payload {
	out := map[string][]webhook.Payload{}
	for _, d := range r.deliveries() {
		if d.status < 300 {
			out[d.id] = append(out[d.id], d.payload)
		}
	}
	return out
}

// register creates an endpoint through the API and gives its secret to r.
func register(t *testing.T, e *partytest.Env, admin, name string, r *receiver, events ...string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"url": r.srv.URL + "/hooks/" + name, "events": events})
	resp := e.Do(http.MethodPut, "/system/webhooks/"+name, admin, string(body))
	if resp.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, resp.Status, resp.Body)
	}
	var w struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &w); err != nil || !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("register %s: no secret in %s", name, resp.Body)
	}
	r.secret = w.Secret
}

// drainAll runs the queues, moving the clock past each retry, until no
// job is left.
func drainAll(t *testing.T, e *partytest.Env) {
	t.Helper()
	for range 100 {
		e.Drain()
		if e.Depth(queue.Webhooks)+e.Depth(queue.Activity)+e.Depth(queue.Holdings)+e.Depth(queue.Connections) == 0 {
			return
		}
		e.Clock.Advance(webhook.FirstRetry)
	}
	t.Fatal("the queues never empty")
}

// TestWebhooksEndToEnd runs the real stack: a client registers two
// endpoints; a user connects a bank. The endpoint subscribed to connection
// statuses, imports and sync notices gets each event signed, once more
// after its first refusal (the same webhook-id), and the sync notice leads
// to the party's changes; the endpoint subscribed to import failures only
// gets nothing. An activity reported twice reaches the receiver with one
// webhook-id. The deliveries endpoint shows every attempt.
func TestWebhooksEndToEnd(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	admin := e.Token("ops", webhook.RoleManage)
	flaky := newReceiver(t, e.Clock, true)
	failures := newReceiver(t, e.Clock, false)
	register(t, e, admin, "crm", flaky, webhook.EventConnectionStatus, webhook.EventImportCompleted, webhook.EventSyncAvailable)
	register(t, e, admin, "alerts", failures, webhook.EventImportFailed)

	alice := e.Token("alice")
	const party = "300300"
	e.CreateProfile(alice, party)
	e.Connected(alice, party, sandbox.BankDefault)
	drainAll(t, e)

	got := flaky.accepted()
	byType := map[string][]webhook.Payload{}
	for id, ps := range got {
		if len(ps) != 1 {
			t.Fatalf("webhook-id %s accepted %d times", id, len(ps))
		}
		byType[ps[0].Type] = append(byType[ps[0].Type], ps[0])
	}
	for _, d := range flaky.deliveries() {
		if flaky.seen[d.id] != 2 {
			t.Fatalf("webhook-id %s was sent %d times, want 2 (refused, then accepted)", d.id, flaky.seen[d.id])
		}
	}
	var statuses []string
	for _, p := range byType[webhook.EventConnectionStatus] {
		if p.Data.PartyID != party || p.Data.BankCode != sandbox.BankDefault || p.Data.UserID != "alice" {
			t.Fatalf("status event %+v", p)
		}
		statuses = append(statuses, p.Data.Status)
	}
	slices.Sort(statuses)
	if fmt.Sprint(statuses) != "[active pending]" {
		t.Fatalf("connection statuses %v", statuses)
	}
	imports := byType[webhook.EventImportCompleted]
	if len(imports) != 1 || imports[0].Data.Counts == nil || imports[0].Data.Counts.Transactions == 0 ||
		imports[0].Data.Counts.Added != imports[0].Data.Counts.Transactions || imports[0].Data.Counts.Accounts == 0 {
		t.Fatalf("import.completed %+v", imports)
	}
	syncs := byType[webhook.EventSyncAvailable]
	if len(syncs) != 1 || len(syncs[0].Data.AccountIDs) != imports[0].Data.Counts.Accounts {
		t.Fatalf("transactions.sync_available %+v", syncs)
	}
	if n := len(failures.deliveries()); n != 0 {
		t.Fatalf("the endpoint subscribed to import.failed only got %d deliveries", n)
	}

	// The notice leads the client to the changes: every transaction of
	// the accounts it names, added.
	r := e.Do(http.MethodGet, "/holdings/profiles/"+party+"/transactions/sync?count=500", alice, "")
	var page struct {
		Added []struct {
			AccountID string `json:"accountId"`
		} `json:"added"`
		HasMore bool `json:"has_more"`
	}
	if err := json.Unmarshal([]byte(r.Body), &page); err != nil || r.Status != http.StatusOK {
		t.Fatalf("sync: %d %s", r.Status, r.Body)
	}
	if int64(len(page.Added)) != imports[0].Data.Counts.Transactions || page.HasMore {
		t.Fatalf("sync added %d, the import %d", len(page.Added), imports[0].Data.Counts.Transactions)
	}
	for _, a := range page.Added {
		if !slices.Contains(syncs[0].Data.AccountIDs, a.AccountID) {
			t.Fatalf("sync added a transaction of account %s, which the notice does not name", a.AccountID)
		}
	}

	// Every attempt is listed, newest first: each message refused once,
	// then delivered.
	r = e.Do(http.MethodGet, "/system/webhooks/crm/deliveries?limit=100", admin, "")
	var ds struct {
		Deliveries []struct {
			ID            string  `json:"id"`
			Attempt       int     `json:"attempt"`
			Status        int     `json:"status"`
			Outcome       string  `json:"outcome"`
			NextAttemptAt *string `json:"nextAttemptAt"`
		} `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(r.Body), &ds); err != nil || r.Status != http.StatusOK {
		t.Fatalf("deliveries: %d %s", r.Status, r.Body)
	}
	outcomes := map[string]string{}
	for _, d := range ds.Deliveries {
		outcomes[d.ID] += fmt.Sprintf("%d:%s:%d ", d.Attempt, d.Outcome, d.Status)
	}
	if len(outcomes) != len(got) {
		t.Fatalf("deliveries list %d messages, the receiver accepted %d", len(outcomes), len(got))
	}
	for id, o := range outcomes {
		if o != "2:delivered:204 1:retrying:503 " {
			t.Fatalf("message %s: attempts %s", id, o)
		}
	}

	// The same activity reported twice (a redelivered job): one webhook-id.
	sink := activity.Queued{Sender: e.Queue, Now: e.Clock.Now, NewKey: platform.NewID}
	ev := activity.Event{Kind: activity.ConnectionFailed, Key: "failed/test-1", UserID: "alice", PartyID: party, BankCode: sandbox.BankDefault, Result: "failed", Detail: "The bank said no."}
	for range 2 {
		if err := sink.Record(e.Ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	before := len(flaky.deliveries())
	drainAll(t, e)
	var ids []string
	for _, d := range flaky.deliveries()[before:] {
		if d.status < 300 && d.payload.Data.Status == "failed" {
			ids = append(ids, d.id)
		}
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("a twice-reported activity was accepted under ids %v, want one id twice", ids)
	}

	// Unsubscribed from connection statuses: no more of them.
	body, _ := json.Marshal(map[string]any{"url": flaky.srv.URL + "/hooks/crm", "events": []string{webhook.EventImportCompleted}})
	if r := e.Do(http.MethodPut, "/system/webhooks/crm", admin, string(body)); r.Status != http.StatusOK || strings.Contains(r.Body, "whsec_") {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	before = len(flaky.deliveries())
	ev.Key = "failed/test-2"
	if err := sink.Record(e.Ctx, ev); err != nil {
		t.Fatal(err)
	}
	drainAll(t, e)
	if n := len(flaky.deliveries()) - before; n != 0 {
		t.Fatalf("an unsubscribed event was delivered %d times", n)
	}
}

// TestWebhookRoutes checks the registration API's answers and refusals.
func TestWebhookRoutes(t *testing.T) {
	e := partytest.New(t, partytest.Options{})
	admin := e.Token("ops", webhook.RoleManage)
	stored := e.Token("carol")
	granter := auth.Principal{Subject: "admin", Roles: []string{auth.RoleCanCreateEntitlementAtAnyBank}}
	if _, err := e.Ents.Grant(e.Ctx, granter, "carol", "", webhook.RoleManage); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, e.Clock, false)
	register(t, e, admin, "crm", rcv, webhook.EventImportCompleted)

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "GET", "/system/webhooks", "", "", 401, ""},
		{"no role", "GET", "/system/webhooks", e.Token("bob"), "", 403, "MISSING_ROLE"},
		{"no role to register", "PUT", "/system/webhooks/x", e.Token("bob"), `{"url":"http://127.0.0.1/","events":["import.completed"]}`, 403, "MISSING_ROLE"},
		{"stored role", "GET", "/system/webhooks", stored, "", 200, ""},
		{"list", "GET", "/system/webhooks", admin, "", 200, ""},
		{"one", "GET", "/system/webhooks/crm", admin, "", 200, ""},
		{"unknown", "GET", "/system/webhooks/nope", admin, "", 404, "WEBHOOK_NOT_FOUND"},
		{"bad name", "PUT", "/system/webhooks/a%20b", admin, `{"url":"http://127.0.0.1/","events":["import.completed"]}`, 400, "INVALID_WEBHOOK_NAME"},
		{"bad url", "PUT", "/system/webhooks/x", admin, `{"url":"ftp://127.0.0.1/","events":["import.completed"]}`, 400, "INVALID_WEBHOOK_URL"},
		{"no events", "PUT", "/system/webhooks/x", admin, `{"url":"http://127.0.0.1/","events":[]}`, 400, "INVALID_WEBHOOK_EVENTS"},
		{"unknown field", "PUT", "/system/webhooks/x", admin, `{"url":"http://127.0.0.1/","events":["import.completed"],"secret":"mine"}`, 400, "MALFORMED_JSON"},
		{"deliveries limit", "GET", "/system/webhooks/crm/deliveries?limit=0", admin, "", 400, "INVALID_LIMIT"},
		{"deliveries of unknown", "GET", "/system/webhooks/nope/deliveries", admin, "", 404, "WEBHOOK_NOT_FOUND"},
		{"delete unknown", "DELETE", "/system/webhooks/nope", admin, "", 404, "WEBHOOK_NOT_FOUND"},
		{"delete", "DELETE", "/system/webhooks/crm", admin, "", 204, ""},
		{"deleted", "GET", "/system/webhooks/crm", admin, "", 404, "WEBHOOK_NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(tc.method, tc.path, tc.token, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.code != "" && !strings.Contains(r.Body, `"code":"`+tc.code+`"`) {
				t.Fatalf("body %s, want code %s", r.Body, tc.code)
			}
			if strings.Contains(r.Body, "whsec_") {
				t.Fatalf("a secret shown after its creation: %s", r.Body)
			}
		})
	}
}
