package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo"
)

// The refusals below are what DynamoDB answers under load or contention and
// moto never does. Each test puts a middleware in front of the real moto
// requests that makes DynamoDB's answer, and checks that the driver still
// keeps the port's promise.

// faultStore is a driver on a fresh moto table whose requests go through
// inject first.
func faultStore(t *testing.T, inject middleware.InitializeMiddleware) (*dynamo.Store, string) {
	t.Helper()
	c, table := newTable(t)
	fc := dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(slices.Clone(o.APIOptions), func(st *middleware.Stack) error {
			return st.Initialize.Add(inject, middleware.After)
		})
	})
	return dynamo.New(fc, dynamo.Options{Table: table, TokenSecret: []byte("storetest-secret-0123456789")}), table
}

// TestBatchRetriesUnprocessed: BatchWriteItem and BatchGetItem hand back
// part of each request as unprocessed (as a throttled table does); the
// driver retries those with backoff until everything is written and read.
func TestBatchRetriesUnprocessed(t *testing.T) {
	var table string
	var heldWrites, heldKeys atomic.Int64
	s, table := faultStore(t, middleware.InitializeMiddlewareFunc("unprocessed",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			switch p := in.Parameters.(type) {
			case *dynamodb.BatchWriteItemInput:
				reqs := p.RequestItems[table]
				keep, held := reqs[:len(reqs)-len(reqs)/2], reqs[len(reqs)-len(reqs)/2:]
				cp := *p
				cp.RequestItems = map[string][]types.WriteRequest{table: keep}
				in.Parameters = &cp
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && len(held) > 0 {
					heldWrites.Add(int64(len(held)))
					out.Result.(*dynamodb.BatchWriteItemOutput).UnprocessedItems = map[string][]types.WriteRequest{table: held}
				}
				return out, md, err
			case *dynamodb.BatchGetItemInput:
				ka := p.RequestItems[table]
				keep, held := ka.Keys[:len(ka.Keys)-len(ka.Keys)/2], ka.Keys[len(ka.Keys)-len(ka.Keys)/2:]
				cp := *p
				kept := ka
				kept.Keys = keep
				cp.RequestItems = map[string]types.KeysAndAttributes{table: kept}
				in.Parameters = &cp
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && len(held) > 0 {
					heldKeys.Add(int64(len(held)))
					left := ka
					left.Keys = held
					out.Result.(*dynamodb.BatchGetItemOutput).UnprocessedKeys = map[string]types.KeysAndAttributes{table: left}
				}
				return out, md, err
			}
			return next.HandleInitialize(ctx, in)
		}))

	ctx := t.Context()
	items := make([]store.Item, 60)
	keys := make([]store.Key, len(items))
	for i := range items {
		items[i] = store.Item{PK: "unprocessed", SK: fmt.Sprintf("%03d", i), Version: int64(i), Data: fmt.Appendf(nil, `{"i":%d}`, i)}
		keys[i] = items[i].Key()
	}
	before, retriesBefore := s.Calls(), s.Retries()
	if err := s.BatchWrite(ctx, items, nil); err != nil {
		t.Fatalf("BatchWrite: %v", err)
	}
	if heldWrites.Load() == 0 || s.Retries()-retriesBefore == 0 {
		t.Fatalf("no unprocessed writes were retried (held %d, %d retries)", heldWrites.Load(), s.Retries()-retriesBefore)
	}
	// 60 writes are 3 chunks of 25: 3 round trips, whatever was repeated.
	if got := s.Calls() - before; got != 3 {
		t.Fatalf("BatchWrite of 60 items: %d calls counted, want 3 (one per chunk)", got)
	}
	got, err := s.BatchGet(ctx, keys)
	if err != nil {
		t.Fatalf("BatchGet: %v", err)
	}
	if heldKeys.Load() == 0 {
		t.Fatal("no unprocessed keys were retried")
	}
	if len(got) != len(items) {
		t.Fatalf("BatchGet: %d items, want %d", len(got), len(items))
	}
	byKey := map[store.Key]store.Item{}
	for _, it := range got {
		byKey[it.Key()] = it
	}
	for _, want := range items {
		if it, ok := byKey[want.Key()]; !ok || it.Version != want.Version || string(it.Data) != string(want.Data) {
			t.Fatalf("item %s read back as %+v", want.Key(), it)
		}
	}
}

// TestBatchWriteGivesUpWithTheContext: a table that never processes a write
// does not keep the caller past its deadline.
func TestBatchWriteGivesUpWithTheContext(t *testing.T) {
	s, _ := faultStore(t, middleware.InitializeMiddlewareFunc("never",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*dynamodb.BatchWriteItemInput); ok {
				return middleware.InitializeOutput{Result: &dynamodb.BatchWriteItemOutput{UnprocessedItems: p.RequestItems}}, middleware.Metadata{}, nil
			}
			return next.HandleInitialize(ctx, in)
		}))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.BatchWrite(ctx, []store.Item{{PK: "never", SK: "1"}, {PK: "never", SK: "2"}}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("BatchWrite returned %s after the deadline", d)
	}
}

// TestTransactionConflictsAreRetried: DynamoDB refuses a write whose item
// another transaction holds (TransactionConflictException for PutItem and
// DeleteItem, a TransactionCanceledException with TransactionConflict
// reasons for TransactWriteItems). Nothing was applied, so the driver
// retries, and the caller sees what the bolt driver, which serialises
// writers, would give: success, or the write's own failed condition.
func TestTransactionConflictsAreRetried(t *testing.T) {
	var conflicts atomic.Int64 // refusals still to make
	var refused atomic.Int64
	s, _ := faultStore(t, middleware.InitializeMiddlewareFunc("conflict",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			var err error
			switch p := in.Parameters.(type) {
			case *dynamodb.PutItemInput, *dynamodb.DeleteItemInput:
				err = &types.TransactionConflictException{Message: aws.String("Transaction is ongoing for the item")}
			case *dynamodb.TransactWriteItemsInput:
				reasons := make([]types.CancellationReason, len(p.TransactItems))
				for i := range reasons {
					reasons[i].Code = aws.String("None")
				}
				reasons[len(reasons)-1].Code = aws.String("TransactionConflict")
				err = &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
			}
			if err != nil && conflicts.Add(-1) >= 0 {
				refused.Add(1)
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleInitialize(ctx, in)
		}))
	ctx := t.Context()
	a, b := store.Item{PK: "conflict", SK: "a", Version: 1}, store.Item{PK: "conflict", SK: "b", Version: 1}

	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"put", func() error { return s.Put(ctx, a, store.IfNotExists()) }, nil},
		{"update", func() error { _, err := s.Update(ctx, a); return err }, nil},
		{"update with a stale version", func() error { _, err := s.Update(ctx, a); return err }, store.ErrConditionFailed},
		{"transaction", func() error {
			return s.Transact(ctx, []store.TxOp{store.TxPut(b, store.IfNotExists()), store.TxCheck(a.Key(), store.IfVersion(2))})
		}, nil},
		{"transaction with a failed condition", func() error {
			return s.Transact(ctx, []store.TxOp{store.TxDelete(b.Key(), store.Condition{}), store.TxCheck(a.Key(), store.IfVersion(1))})
		}, store.ErrConditionFailed},
		{"delete", func() error { return s.Delete(ctx, b.Key(), store.IfExists()) }, nil},
	}
	for _, st := range steps {
		conflicts.Store(2)
		refused.Store(0)
		calls, retries := s.Calls(), s.Retries()
		err := st.do()
		if refused.Load() != 2 {
			t.Fatalf("%s: %d conflicts made, want 2", st.name, refused.Load())
		}
		if s.Calls()-calls != 1 || s.Retries()-retries != 2 {
			t.Fatalf("%s: %d calls and %d retries counted, want 1 call and 2 retries", st.name, s.Calls()-calls, s.Retries()-retries)
		}
		if st.wantErr == nil && err != nil || st.wantErr != nil && !errors.Is(err, st.wantErr) {
			t.Fatalf("%s after two conflicts: err = %v, want %v", st.name, err, st.wantErr)
		}
	}
	if _, err := s.Get(ctx, b.Key()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b after the delete: %v", err)
	}
	if it, err := s.Get(ctx, a.Key()); err != nil || it.Version != 2 {
		t.Fatalf("a: %+v, %v; want version 2", it, err)
	}

	// A conflict that does not clear is reported, not retried forever.
	conflicts.Store(1 << 30)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := s.Put(short, a, store.Condition{})
	var conflict *types.TransactionConflictException
	if !errors.As(err, &conflict) || errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("put under a lasting conflict: err = %v, want the conflict", err)
	}
}

// lostAnswer is a retryable failure that happens after DynamoDB applied the
// request: the answer is lost (a dropped connection, a 5xx from a proxy, a
// response that fails its checksum).
type lostAnswer struct{}

func (lostAnswer) Error() string        { return "answer lost after the write was applied" }
func (lostAnswer) RetryableError() bool { return true }

// TestConditionalWriteWithLostAnswer: the first attempt of a conditional
// put (and delete) lands but its answer is lost; the retry then fails its
// own condition against that write. The driver reports the write done, so a
// caller that re-reads and re-applies after a failed condition does not
// apply its change twice — while a put that really conflicts still fails.
func TestConditionalWriteWithLostAnswer(t *testing.T) {
	var lose atomic.Bool
	s, _ := faultStore(t, middleware.InitializeMiddlewareFunc("lost-answer",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil && lose.CompareAndSwap(true, false) {
				return middleware.InitializeOutput{}, md, lostAnswer{}
			}
			return out, md, err
		}))
	ctx := context.Background()
	k := store.Key{PK: "P", SK: "S"}
	it := store.Item{PK: k.PK, SK: k.SK, Version: 1, Data: []byte(`{"tags":["a"]}`)}

	lose.Store(true)
	calls, retries := s.Calls(), s.Retries()
	if err := s.Put(ctx, it, store.IfNotExists()); err != nil {
		t.Fatalf("create whose answer was lost: %v", err)
	}
	// The repeat is the driver's, not a round trip of the caller's: the
	// store-call budgets must not depend on the network.
	if s.Calls()-calls != 1 || s.Retries()-retries != 1 {
		t.Fatalf("a put repeated after a lost answer counts %d calls and %d retries, want 1 and 1", s.Calls()-calls, s.Retries()-retries)
	}
	next := it
	next.Version, next.Data = 2, []byte(`{"tags":["a","b"]}`)
	lose.Store(true)
	if err := s.Put(ctx, next, store.IfVersion(1)); err != nil {
		t.Fatalf("update whose answer was lost: %v", err)
	}
	got, err := s.Get(ctx, k)
	if err != nil || got.Version != 2 || string(got.Data) != `{"tags":["a","b"]}` {
		t.Fatalf("stored %+v %v", got, err)
	}
	// Without a lost answer a failed condition is a failed condition, also
	// when the stored item happens to equal the one written.
	if err := s.Put(ctx, next, store.IfVersion(1)); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("stale update: %v, want ErrConditionFailed", err)
	}
	if err := s.Put(ctx, next, store.IfNotExists()); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("second create: %v, want ErrConditionFailed", err)
	}
	// A stale writer with other content still conflicts.
	other := next
	other.Data = []byte(`{"tags":["x"]}`)
	if err := s.Put(ctx, other, store.IfVersion(1)); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("conflicting update: %v, want ErrConditionFailed", err)
	}
	lose.Store(true)
	if err := s.Delete(ctx, k, store.IfVersion(2)); err != nil {
		t.Fatalf("delete whose answer was lost: %v", err)
	}
	if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.Delete(ctx, k, store.IfVersion(2)); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("delete of a missing item: %v, want ErrConditionFailed", err)
	}
}

// TestHungAttemptsTimeOut: a DynamoDB endpoint that accepts connections
// and never answers ends each attempt at the client's attempt timeout; the
// SDK retries each (a connection error) and the caller gets the error
// after its three attempts instead of waiting for its own deadline.
// NewClient sets dynamo.AttemptTimeout on AWS's endpoint unless told
// otherwise, and none on a local one.
func TestHungAttemptsTimeOut(t *testing.T) {
	mototest.Endpoint(t) // the SDK's test credentials and region
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})

	ctx := t.Context()
	def, err := dynamo.NewClient(ctx, "", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if bc, ok := def.Options().HTTPClient.(*awshttp.BuildableClient); !ok || bc.GetTimeout() != dynamo.AttemptTimeout {
		t.Fatalf("NewClient's HTTP client %T for AWS has no attempt timeout of %s", def.Options().HTTPClient, dynamo.AttemptTimeout)
	}
	local, err := dynamo.NewClient(ctx, "http://"+l.Addr().String(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if bc, ok := local.Options().HTTPClient.(*awshttp.BuildableClient); ok && bc.GetTimeout() != 0 {
		t.Fatalf("NewClient's HTTP client for a local endpoint has an attempt timeout of %s", bc.GetTimeout())
	}

	c, err := dynamo.NewClient(ctx, "http://"+l.Addr().String(), "us-east-1", dynamo.WithAttemptTimeout(50*time.Millisecond),
		func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond) })
	if err != nil {
		t.Fatal(err)
	}
	s := dynamo.New(c, dynamo.Options{Table: "hung"})
	_, err = s.Get(ctx, store.Key{PK: "P", SK: "S"})
	var send *smithyhttp.RequestSendError
	var timeout net.Error
	if !errors.As(err, &send) || !errors.As(err, &timeout) || !timeout.Timeout() || ctx.Err() != nil {
		t.Fatalf("get from a hung endpoint: %v", err)
	}
	if s.Calls() != 1 || s.Retries() != 2 {
		t.Fatalf("%d calls and %d retries, want the SDK's 3 attempts of one call", s.Calls(), s.Retries())
	}
}

// TestThrottledBatchIsRetried: a BatchWriteItem or BatchGetItem refused
// for throughput after the SDK's attempts (nothing of it was processed) is
// retried by the driver like a batch whose items all came back
// unprocessed; any other failure of a batch is the caller's.
func TestThrottledBatchIsRetried(t *testing.T) {
	var refusals atomic.Int64 // refusals still to make
	var refuse atomic.Value   // func() error
	s, _ := faultStore(t, middleware.InitializeMiddlewareFunc("throttle",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			switch in.Parameters.(type) {
			case *dynamodb.BatchWriteItemInput, *dynamodb.BatchGetItemInput:
				if refusals.Add(-1) >= 0 {
					return middleware.InitializeOutput{}, middleware.Metadata{}, refuse.Load().(func() error)()
				}
			}
			return next.HandleInitialize(ctx, in)
		}))
	ctx := t.Context()
	items := []store.Item{{PK: "B", SK: "1", Version: 1}, {PK: "B", SK: "2", Version: 1}}
	keys := []store.Key{items[0].Key(), items[1].Key()}
	throughput := func() error {
		return &types.ProvisionedThroughputExceededException{Message: aws.String("The level of configured provisioned throughput for the table was exceeded.")}
	}
	throttling := func() error {
		return &types.ThrottlingException{Message: aws.String("Rate of requests exceeds the allowed throughput.")}
	}
	server := func() error { return &types.InternalServerError{Message: aws.String("Internal server error")} }
	for _, tc := range []struct {
		name    string
		refuse  func() error
		n       int64
		call    func() error
		retries int64
		wantErr bool
	}{
		{"write throttled twice", throughput, 2, func() error { return s.BatchWrite(ctx, items, nil) }, 2, false},
		{"read throttled twice", throttling, 2, func() error {
			got, err := s.BatchGet(ctx, keys)
			if err == nil && len(got) != len(keys) {
				return fmt.Errorf("%d items read, want %d", len(got), len(keys))
			}
			return err
		}, 2, false},
		{"write failing with a 500", server, 1, func() error { return s.BatchWrite(ctx, items, nil) }, 0, true},
	} {
		refuse.Store(tc.refuse)
		refusals.Store(tc.n)
		retries := s.Retries()
		err := tc.call()
		if (err != nil) != tc.wantErr || s.Retries()-retries != tc.retries {
			t.Fatalf("%s: err = %v, %d retries; want error %v, %d retries", tc.name, err, s.Retries()-retries, tc.wantErr, tc.retries)
		}
	}
}
