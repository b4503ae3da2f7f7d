package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openagg/openagg/internal/store"
)

const (
	// maxBatchWrite is BatchWriteItem's limit per request.
	maxBatchWrite = 25
	// batchWorkers is how many batch requests run at once: enough to hide
	// the round trip of a large import, few enough not to provoke
	// throttling on a fresh on-demand table.
	batchWorkers = 4
	// Unprocessed items/keys are retried with capped exponential backoff and
	// full jitter, at most maxAttempts requests per chunk.
	maxAttempts  = 10
	backoffBase  = 25 * time.Millisecond
	backoffLimit = 2 * time.Second
)

// BatchGet implements store.Store: chunks of 100 keys, strongly consistent,
// unprocessed keys retried.
func (s *Store) BatchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	seen := make(map[store.Key]struct{}, len(keys))
	unique := make([]store.Key, 0, len(keys))
	for _, k := range keys {
		if err := store.ValidateKey(k); err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		if _, dup := seen[k]; !dup { // DynamoDB refuses duplicate keys
			seen[k] = struct{}{}
			unique = append(unique, k)
		}
	}
	chunks := chunk(len(unique), store.MaxBatchGet)
	results := make([][]store.Item, len(chunks))
	err := s.parallel(ctx, len(chunks), func(ctx context.Context, c int) error {
		avs := make([]map[string]types.AttributeValue, 0, chunks[c][1]-chunks[c][0])
		for _, k := range unique[chunks[c][0]:chunks[c][1]] {
			avs = append(avs, keyAV(k))
		}
		req := map[string]types.KeysAndAttributes{*s.table: {Keys: avs, ConsistentRead: aws.Bool(true)}}
		s.count(ctx, 1)
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				s.retries.Add(1)
			}
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				if !throttled(err) || attempt+1 >= maxAttempts {
					return mapErr(err)
				}
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
				continue
			}
			for _, av := range out.Responses[*s.table] {
				it, err := fromAV(av)
				if err != nil {
					return err
				}
				results[c] = append(results[c], it)
			}
			left, ok := out.UnprocessedKeys[*s.table]
			if !ok || len(left.Keys) == 0 {
				return nil
			}
			if attempt+1 >= maxAttempts {
				return busyErr(fmt.Errorf("%d keys still unprocessed after %d attempts", len(left.Keys), maxAttempts))
			}
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
			req = map[string]types.KeysAndAttributes{*s.table: left}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("batch get: %w", err)
	}
	items := make([]store.Item, 0, len(unique))
	for _, r := range results {
		items = append(items, r...)
	}
	return items, nil
}

// BatchWrite implements store.Store: chunks of 25 writes, a few in flight
// at once, unprocessed items retried. Everything is validated before the
// first request, so an invalid item writes nothing.
func (s *Store) BatchWrite(ctx context.Context, puts []store.Item, deletes []store.Key) error {
	if err := store.ValidateBatch(puts, deletes); err != nil {
		return fmt.Errorf("batch write: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("batch write: %w", err)
	}
	reqs := make([]types.WriteRequest, 0, len(puts)+len(deletes))
	for _, it := range puts {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: toAV(it)}})
	}
	for _, k := range deletes {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyAV(k)}})
	}
	chunks := chunk(len(reqs), maxBatchWrite)
	err := s.parallel(ctx, len(chunks), func(ctx context.Context, c int) error {
		pending := reqs[chunks[c][0]:chunks[c][1]]
		s.count(ctx, 1)
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				s.retries.Add(1)
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{*s.table: pending},
			})
			if err != nil {
				if !throttled(err) || attempt+1 >= maxAttempts {
					return mapErr(err)
				}
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
				continue
			}
			pending = out.UnprocessedItems[*s.table]
			if len(pending) == 0 {
				return nil
			}
			if attempt+1 >= maxAttempts {
				return busyErr(fmt.Errorf("%d writes still unprocessed after %d attempts", len(pending), maxAttempts))
			}
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return fmt.Errorf("batch write of %d items: %w", len(reqs), err)
	}
	return nil
}

// throttles classifies errors as the SDK's retryer does.
var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// throttled reports whether a batch request was refused for throughput
// (ProvisionedThroughputExceededException, ThrottlingException, ...) once
// the SDK's own attempts were spent. DynamoDB refuses a batch so only when
// none of its items could be processed: it is a batch whose items are all
// unprocessed, and is retried as such, with the same backoff and bound —
// else a throttle that hit all 25 items of a chunk would get the SDK's 3
// attempts where one that hit 24 gets maxAttempts, and a large import
// step would fail on a burst the table absorbs a second later.
func throttled(err error) bool {
	return throttles.IsErrorThrottle(err) == aws.TrueTernary
}

// chunk splits n elements into [start, end) ranges of at most size.
func chunk(n, size int) [][2]int {
	out := make([][2]int, 0, (n+size-1)/size)
	for start := 0; start < n; start += size {
		out = append(out, [2]int{start, min(start+size, n)})
	}
	return out
}

// parallel runs fn for 0..n-1 on up to batchWorkers goroutines and returns
// the first error; after an error no new chunk starts and the ones in
// flight see a canceled context.
func (s *Store) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(batchWorkers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// backoff sleeps before retry attempt+1: full jitter over a capped
// exponential, returning early when ctx ends.
func backoff(ctx context.Context, attempt int) error {
	d := min(backoffBase<<attempt, backoffLimit)
	t := time.NewTimer(rand.N(d) + time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
