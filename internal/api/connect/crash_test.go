package connect_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
)

// errCrashed is what every effect meets once the process has "died".
var errCrashed = errors.New("process killed (test)")

// crash stands for kill -9 at an arbitrary point of a request: once armed
// with a budget, the first budget store calls and queue sends happen and
// every later one fails, as nothing happens after the process is gone.
// Disarming it is the restart: the data file and the queue hold what was
// done before the crash, and nothing else.
type crash struct {
	mu    sync.Mutex
	armed bool
	left  int
	used  int
}

func (c *crash) arm(budget int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.left, c.used = true, budget, 0
}

// disarm restarts the process and reports how many effects it made.
func (c *crash) disarm() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	return c.used
}

func (c *crash) step() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed {
		return nil
	}
	if c.left == 0 {
		return errCrashed
	}
	c.left--
	c.used++
	return nil
}

// crashStore is the store of a process that may crash.
type crashStore struct {
	partytest.Store
	c *crash
}

func (s crashStore) Get(ctx context.Context, k store.Key) (store.Item, error) {
	if err := s.c.step(); err != nil {
		return store.Item{}, err
	}
	return s.Store.Get(ctx, k)
}

func (s crashStore) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	if err := s.c.step(); err != nil {
		return nil, err
	}
	return s.Store.BatchGet(ctx, keys)
}

func (s crashStore) Put(ctx context.Context, it store.Item, cond store.Condition) error {
	if err := s.c.step(); err != nil {
		return err
	}
	return s.Store.Put(ctx, it, cond)
}

func (s crashStore) Update(ctx context.Context, it store.Item) (int64, error) {
	if err := s.c.step(); err != nil {
		return 0, err
	}
	return s.Store.Update(ctx, it)
}

func (s crashStore) Delete(ctx context.Context, k store.Key, cond store.Condition) error {
	if err := s.c.step(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, k, cond)
}

func (s crashStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if err := s.c.step(); err != nil {
		return store.Page{}, err
	}
	return s.Store.Query(ctx, q)
}

func (s crashStore) BatchWrite(ctx context.Context, puts []store.Item, deletes []store.Key) error {
	if err := s.c.step(); err != nil {
		return err
	}
	return s.Store.BatchWrite(ctx, puts, deletes)
}

func (s crashStore) Transact(ctx context.Context, ops []store.TxOp) error {
	if err := s.c.step(); err != nil {
		return err
	}
	return s.Store.Transact(ctx, ops)
}

// crashSender is the queue producer of a process that may crash.
type crashSender struct {
	queue.Sender
	c *crash
}

func (s crashSender) Send(ctx context.Context, name string, job queue.Job, delay time.Duration) error {
	if err := s.c.step(); err != nil {
		return err
	}
	return s.Sender.Send(ctx, name, job, delay)
}

// connectOutcome is what a finished connect leaves, compared between runs.
type connectOutcome struct {
	status      connection.Status
	hasError    bool
	providerID  bool
	importState string
	accounts    int
	txs         int64
}

// TestConnectCompletionIsCrashSafe (issue 12, finding 2): the process dies
// at every point of the connect page's final submit (each store call and
// queue send in turn is the first that does not happen). After the restart
// and the queued work, the connection holds the same outcome as a run
// without a crash — active with its import done once, or failed — whether
// or not the crash came after the provider spent the one-time token. A
// token the crash left unspent still works: the user submits again.
func TestConnectCompletionIsCrashSafe(t *testing.T) {
	login := func(e *partytest.Env, token string) partytest.Response { return e.Login(token) }
	challenge := func(e *partytest.Env, token string) partytest.Response {
		return e.PostForm("/connect/sessions/challenge", url.Values{"token": {token}, "answer": {sandbox.ChallengeAnswer}})
	}
	cancel := func(e *partytest.Env, token string) partytest.Response {
		return e.PostForm("/connect/sessions/cancel", url.Values{"token": {token}})
	}
	for _, tc := range []struct {
		name   string
		bank   string
		before []func(*partytest.Env, string) partytest.Response
		last   func(*partytest.Env, string) partytest.Response
		want   connection.Status
	}{
		{"login connects", sandbox.BankDefault, nil, login, connection.StatusActive},
		{"challenge connects", sandbox.BankChallenge, []func(*partytest.Env, string) partytest.Response{login}, challenge, connection.StatusActive},
		{"last failed try", sandbox.BankFailing, []func(*partytest.Env, string) partytest.Response{login, login}, login, connection.StatusFailed},
		{"cancel", sandbox.BankDefault, nil, cancel, connection.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// run walks the flow with the final submit crashing after budget
			// effects (-1: no crash) and returns the outcome and how many
			// effects the submit made.
			run := func(t *testing.T, budget int) (connectOutcome, int) {
				c := &crash{}
				db, err := bolt.Open(filepath.Join(t.TempDir(), "crash.db"), bolt.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				e := partytest.New(t, partytest.Options{
					Store:  crashStore{Store: db, c: c},
					Sender: func(q queue.Sender) queue.Sender { return crashSender{Sender: q, c: c} },
				})
				tok := e.Token(alice)
				e.CreateProfile(tok, partyID)
				token := e.CreateConnection(tok, partyID, tc.bank)
				for _, step := range tc.before {
					step(e, token)
				}
				used := 0
				if budget >= 0 {
					c.arm(budget)
					tc.last(e, token)
					used = c.disarm()
					if _, err := e.Sandbox.Session(e.Ctx, token); err == nil {
						// The crash came before the token was spent: the
						// connection waits, the queued work leaves it
						// alone while the session is open, and the user
						// tries again.
						e.Drain()
						e.Clock.Advance(connection.SettleAfter)
						e.Drain()
						if got := conn(t, e, tc.bank); got.Status != connection.StatusPending {
							t.Fatalf("token unspent, connection %s after the queued work", got.Status)
						}
						tc.last(e, token)
					}
				} else {
					c.arm(1 << 30)
					tc.last(e, token)
					used = c.disarm()
				}
				// What the queues hold after the restart: the settle job a
				// minute on, then what waits for the session's expiry.
				e.Drain()
				e.Clock.Advance(connection.SettleAfter)
				e.Drain()
				e.Clock.Advance(time.Hour)
				e.Drain()
				return outcomeOf(t, e, tc.bank), used
			}
			want, effects := run(t, -1)
			if want.status != tc.want {
				t.Fatalf("without a crash: %+v, want status %s", want, tc.want)
			}
			if effects < 3 {
				t.Fatalf("the final submit made %d effects", effects)
			}
			for budget := range effects {
				t.Run(strconv.Itoa(budget), func(t *testing.T) {
					if got, _ := run(t, budget); got != want {
						t.Fatalf("crash after %d of %d effects: %+v, want %+v (as without a crash)", budget, effects, got, want)
					}
				})
			}
		})
	}
}

func outcomeOf(t *testing.T, e *partytest.Env, bank string) connectOutcome {
	t.Helper()
	_, details, err := e.Conns.Details(e.Ctx, auth.Principal{Subject: alice}, partyID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		if d.BankCode == bank {
			return connectOutcome{status: d.Status, hasError: d.LastError != "", providerID: d.ProviderConnectionID != "",
				importState: d.Import.State, accounts: d.Import.Accounts, txs: d.Import.Transactions}
		}
	}
	t.Fatalf("no connection to %s", bank)
	return connectOutcome{}
}
