package store

import (
	"context"
	"sync/atomic"
)

type callCounterKey struct{}

// WithCallCounter returns a context under which the drivers add every
// round trip they make to n, as they add it to their own call count: a
// queue consumer measures what one batch of jobs costs while other work
// runs in the same process (requests, other queues), which the driver's
// process-wide count cannot tell apart.
func WithCallCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, callCounterKey{}, n)
}

// CountCalls adds k round trips to the counter ctx carries, if any. Drivers
// call it wherever they count a call.
func CountCalls(ctx context.Context, k int64) {
	if n, _ := ctx.Value(callCounterKey{}).(*atomic.Int64); n != nil {
		n.Add(k)
	}
}
