package deploy_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// The events run (TestEvents) records, per function, the DynamoDB and SQS
// actions its code paths perform, so that every function's least-privilege
// policy in template.yaml is checked against what the real handlers do on
// the sample events: a missing action would be an AccessDenied in AWS.

type fnKey struct{}

// withFunction tags ctx with the function a store or queue call runs for.
func withFunction(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, fnKey{}, name)
}

// usage collects the IAM actions each function used.
type usage struct {
	mu   sync.Mutex
	used map[string]map[string]bool // function → action
}

func (u *usage) add(ctx context.Context, actions ...string) {
	name, _ := ctx.Value(fnKey{}).(string)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = map[string]map[string]bool{}
	}
	if u.used[name] == nil {
		u.used[name] = map[string]bool{}
	}
	for _, a := range actions {
		u.used[name][a] = true
	}
}

// recordingStore maps each call to the DynamoDB API actions the dynamo
// driver (internal/store/dynamo) makes for it: Update is a conditional
// PutItem, Transact one TransactWriteItems whose IAM check is per op
// (PutItem, DeleteItem, ConditionCheckItem).
type recordingStore struct {
	store.Store
	u *usage
}

func (s recordingStore) Get(ctx context.Context, k store.Key) (store.Item, error) {
	s.u.add(ctx, "dynamodb:GetItem")
	return s.Store.Get(ctx, k)
}

func (s recordingStore) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	s.u.add(ctx, "dynamodb:BatchGetItem")
	return s.Store.BatchGet(ctx, keys)
}

func (s recordingStore) Put(ctx context.Context, it store.Item, cond store.Condition) error {
	s.u.add(ctx, "dynamodb:PutItem")
	return s.Store.Put(ctx, it, cond)
}

func (s recordingStore) Update(ctx context.Context, it store.Item) (int64, error) {
	s.u.add(ctx, "dynamodb:PutItem")
	return s.Store.Update(ctx, it)
}

func (s recordingStore) Delete(ctx context.Context, k store.Key, cond store.Condition) error {
	s.u.add(ctx, "dynamodb:DeleteItem")
	return s.Store.Delete(ctx, k, cond)
}

func (s recordingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	s.u.add(ctx, "dynamodb:Query")
	return s.Store.Query(ctx, q)
}

func (s recordingStore) BatchWrite(ctx context.Context, puts []store.Item, deletes []store.Key) error {
	s.u.add(ctx, "dynamodb:BatchWriteItem")
	return s.Store.BatchWrite(ctx, puts, deletes)
}

func (s recordingStore) Transact(ctx context.Context, ops []store.TxOp) error {
	for _, op := range ops {
		switch {
		case op.Put != nil:
			s.u.add(ctx, "dynamodb:PutItem")
		case op.Delete != nil:
			s.u.add(ctx, "dynamodb:DeleteItem")
		default:
			s.u.add(ctx, "dynamodb:ConditionCheckItem")
		}
	}
	return s.Store.Transact(ctx, ops)
}

// recordingSender records sqs:SendMessage per target queue name.
type recordingSender struct {
	queue.Sender
	u *usage
}

func (s recordingSender) Send(ctx context.Context, queueName string, job queue.Job, delay time.Duration) error {
	s.u.add(ctx, "sqs:SendMessage:"+queueName)
	return s.Sender.Send(ctx, queueName, job, delay)
}

// granted lists the actions deploy.Functions grants a function, in the
// recorder's terms.
func granted(f deploy.Function) map[string]bool {
	g := map[string]bool{}
	for _, a := range f.TableActions {
		g["dynamodb:"+a] = true
	}
	names := map[string]string{}
	for _, q := range deploy.Queues() {
		names[q.LogicalID] = q.Name
	}
	for _, id := range f.SendsTo {
		g["sqs:SendMessage:"+names[id]] = true
	}
	return g
}

// checkPrivileges fails for an action a function used without a grant, and
// logs grants the run did not exercise (paths the sample events do not
// reach, or a grant to remove).
func checkPrivileges(t *testing.T, u *usage) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if acts := u.used[""]; len(acts) > 0 {
		t.Errorf("store or queue calls outside any function's context (a goroutine that dropped the request context?): %v", keys(acts))
	}
	for _, f := range deploy.Functions() {
		g := granted(f)
		var missing, unused []string
		for a := range u.used[f.Name] {
			if !g[a] {
				missing = append(missing, a)
			}
		}
		for a := range g {
			if !u.used[f.Name][a] {
				unused = append(unused, a)
			}
		}
		sort.Strings(missing)
		sort.Strings(unused)
		if len(missing) > 0 {
			t.Errorf("function %s uses %s, which its policy in internal/deploy does not grant (AccessDenied in AWS)", f.Name, strings.Join(missing, ", "))
		}
		if len(unused) > 0 {
			t.Logf("function %s: granted but not used by the sample events: %s", f.Name, strings.Join(unused, ", "))
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
