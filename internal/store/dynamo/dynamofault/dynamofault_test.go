package dynamofault_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo/dynamofault"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

var secret = []byte("dynamofault-test-secret-0123456789")

// TestEachKindIsAbsorbed: with one kind of fault on a share of the calls,
// every store operation still does what it says (the SDK's retryer, or
// the driver, repeats the refused request), the faults happened and the
// repeats are counted in Retries.
func TestEachKindIsAbsorbed(t *testing.T) {
	for _, tc := range []struct {
		kind dynamofault.Kind
		rate float64
	}{
		{dynamofault.Throttling, 0.3},
		{dynamofault.Throughput, 0.3},
		{dynamofault.ServerError, 0.3},
		{dynamofault.Timeout, 0.1},
		{dynamofault.TxCanceled, 0.5},
		{dynamofault.Unprocessed, 0.5},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			t.Parallel()
			inj := dynamofault.New(t, dynamofault.Plan{Seed: 7, Rate: tc.rate, Kinds: []dynamofault.Kind{tc.kind}})
			s, _ := dynamofault.Store(t, inj, "fault", secret)
			ctx := t.Context()
			const n = 40
			items := make([]store.Item, n)
			for i := range items {
				items[i] = store.Item{PK: "P", SK: fmt.Sprintf("%03d", i), Version: 1, Data: fmt.Appendf(nil, `{"i":%d}`, i)}
			}
			if err := s.BatchWrite(ctx, items[:n/2], nil); err != nil {
				t.Fatalf("batch write: %v", err)
			}
			for _, it := range items[n/2 : n-10] {
				if err := s.Put(ctx, it, store.IfNotExists()); err != nil {
					t.Fatalf("put %s: %v", it.SK, err)
				}
			}
			for i := n - 10; i < n; i += 2 {
				if err := s.Transact(ctx, []store.TxOp{store.TxPut(items[i], store.IfNotExists()), store.TxPut(items[i+1], store.IfNotExists())}); err != nil {
					t.Fatalf("transact %d: %v", i, err)
				}
			}
			for _, it := range items[:10] {
				got, err := s.Get(ctx, it.Key())
				if err != nil || string(got.Data) != string(it.Data) {
					t.Fatalf("get %s: %+v %v", it.SK, got, err)
				}
			}
			keys := make([]store.Key, n)
			for i, it := range items {
				keys[i] = it.Key()
			}
			for range 3 {
				got, err := s.BatchGet(ctx, keys)
				if err != nil || len(got) != n {
					t.Fatalf("batch get: %d items, %v", len(got), err)
				}
			}
			var listed []store.Item
			for q := (store.Query{PK: "P", Limit: 7}); ; {
				page, err := s.Query(ctx, q)
				if err != nil {
					t.Fatalf("query: %v", err)
				}
				listed = append(listed, page.Items...)
				if page.Next == "" {
					break
				}
				q.Token = page.Next
			}
			if len(listed) != n {
				t.Fatalf("%d items listed, want %d", len(listed), n)
			}
			for i, it := range listed {
				if it.SK != items[i].SK || string(it.Data) != string(items[i].Data) || it.Version != 1 {
					t.Fatalf("item %d: %+v, want %+v", i, it, items[i])
				}
			}
			t.Logf("%s; store: %d calls, %d retries", inj, s.Calls(), s.Retries())
			if inj.Count(tc.kind) == 0 || inj.Total() != inj.Count(tc.kind) {
				t.Fatalf("faults made: %s", inj)
			}
			if s.Retries() < inj.Total() {
				t.Fatalf("%d retries counted for %d faults", s.Retries(), inj.Total())
			}
		})
	}
}

// TestLastingFaultReachesTheCaller: a fault on every attempt is what
// DynamoDB says it is once the SDK gives up after its three attempts —
// proof that the SDK classified the fabricated answers as retryable.
func TestLastingFaultReachesTheCaller(t *testing.T) {
	for _, tc := range []struct {
		kind dynamofault.Kind
		is   func(error) bool
	}{
		{dynamofault.Throttling, func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{dynamofault.Throughput, func(err error) bool {
			var e *types.ProvisionedThroughputExceededException
			return errors.As(err, &e)
		}},
		{dynamofault.ServerError, func(err error) bool { var e *types.InternalServerError; return errors.As(err, &e) }},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			inj := dynamofault.New(t, dynamofault.Plan{Seed: 1, Rate: 1, OutlastAt: []int64{1}, Kinds: []dynamofault.Kind{tc.kind}})
			s, _ := dynamofault.Store(t, inj, "fault", secret)
			_, err := s.Get(t.Context(), store.Key{PK: "P", SK: "S"})
			if !tc.is(err) || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v (%T)", err, errors.Unwrap(err))
			}
			var resp *smithyhttp.ResponseError
			if !errors.As(err, &resp) || (tc.kind == dynamofault.ServerError) != (resp.HTTPStatusCode() == 500) {
				t.Fatalf("err = %v, want the HTTP status of the fault", err)
			}
			if inj.Count(tc.kind) != 3 || s.Retries() != 2 || s.Calls() != 1 {
				t.Fatalf("%s; %d calls %d retries, want 3 attempts of one call", inj, s.Calls(), s.Retries())
			}
		})
	}
}
