package store

import "context"

// Lender is an optional capability of a driver: a query whose items' data
// is lent to the caller instead of copied. A caller that only reads the
// data before it goes on (compares it with what it holds, decodes it)
// saves a copy of every item; the embedded driver lends the bytes of its
// memory-mapped file. Callers type-assert it and fall back to Query (see
// QueryWith).
type Lender interface {
	// QueryLent runs q as Query does and calls fn with the page, once. The
	// items' Data is valid only until fn returns and must not be modified;
	// everything else (keys, Next) is the caller's. An error of fn is
	// returned as is.
	QueryLent(ctx context.Context, q Query, fn func(Page) error) error
}

// QueryWith runs q and calls fn with the page: lent when s is a Lender,
// else as Query returns it. fn must treat the items' Data as QueryLent
// says.
func QueryWith(ctx context.Context, s Store, q Query, fn func(Page) error) error {
	if l, ok := s.(Lender); ok {
		return l.QueryLent(ctx, q, fn)
	}
	p, err := s.Query(ctx, q)
	if err != nil {
		return err
	}
	return fn(p)
}
