package holdings

import "context"

// RunHook is an AccountHook that also wants to know when an import run
// has written everything it downloaded (the finAPI dialect starts its
// categorization then). ImportFinished is called at the end of the run's
// last step, after the final AccountsImported (accounts is what that call
// got; empty when the connection has no account) and before the run's done
// state is saved; a failure fails the step, which the queue retries, so it
// may be called more than once for a run and must be idempotent.
type RunHook interface {
	ImportFinished(ctx context.Context, req ImportRequest, accounts []Account) error
}

// ImportFinished implements RunHook: it calls every hook that is one, in
// order, stopping at the first error.
func (hs Hooks) ImportFinished(ctx context.Context, req ImportRequest, accounts []Account) error {
	for _, h := range hs {
		if rh, ok := h.(RunHook); ok {
			if err := rh.ImportFinished(ctx, req, accounts); err != nil {
				return err
			}
		}
	}
	return nil
}
