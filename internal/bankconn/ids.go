package bankconn

import (
	"context"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/store"
)

// counter is the Data of an id counter item: the last id given.
type counter struct {
	Last int64 `json:"last"`
}

// idAttempts bounds the retries of an allocation that lost a race for the
// counter.
const idAttempts = 8

// reserve reads the counter of kind ("conn", "acc") and returns the first
// of n new ids with the write that moves the counter past them: the caller
// commits it in one transaction with the records that take the ids, so an
// id is given once (the counter's version guards it) and a failed
// transaction gives none. One Get.
func (s *core) reserve(ctx context.Context, kind string, n int64) (int64, store.TxOp, error) {
	k := seqKeys[kind]
	it, err := s.st.Get(ctx, k)
	var c counter
	cond := store.IfNotExists()
	version := int64(1)
	switch {
	case err == nil:
		if c, err = decode[counter](it); err != nil {
			return 0, store.TxOp{}, err
		}
		cond, version = store.IfVersion(it.Version), it.Version+1
	case !errors.Is(err, store.ErrNotFound):
		return 0, store.TxOp{}, fmt.Errorf("read %s id counter: %w", kind, err)
	}
	last := c.Last + n
	limit := int64(MaxID)
	if kind == "acc" {
		limit = MaxAccountID
	}
	if last > limit {
		return 0, store.TxOp{}, fmt.Errorf("%s ids exhausted: %d > %d", kind, last, limit)
	}
	item, err := encode(k, counter{Last: last}, version)
	if err != nil {
		return 0, store.TxOp{}, err
	}
	return c.Last + 1, store.TxPut(item, cond), nil
}

// counterLost reports whether a transaction failed on its first op, the
// counter (another allocation won: reserve again).
func counterLost(err error) bool {
	var te *store.TxError
	return errors.As(err, &te) && te.Index == 0
}
