package partytest

import (
	"testing"

	"github.com/openagg/openagg/internal/store/storetest"
)

// Driver is a store driver the handler tests run on (storetest.Driver).
type Driver = storetest.Driver

// Drivers are the embedded bbolt driver on a temp file and the DynamoDB
// driver on a fresh moto table (storetest.Drivers).
func Drivers() []Driver { return storetest.Drivers("partytest", nil) }

// Bolt is the embedded driver: the handler tests run on it (New's default
// store). The drivers are proven equal by storetest's conformance suite,
// so only the focused end-to-end set runs on both (ForEachDriver).
func Bolt() Driver {
	for _, d := range Drivers() {
		if d.Name == "bolt" {
			return d
		}
	}
	panic("partytest: storetest.Drivers lists no bolt driver")
}

// ForEachDriver runs fn as one subtest per driver, named after it. It is
// for the focused end-to-end set of each group: its main flow, the
// store-call budgets, the conditional-write and batch paths.
func ForEachDriver(t *testing.T, fn func(t *testing.T, d Driver)) {
	t.Helper()
	for _, d := range Drivers() {
		t.Run(d.Name, func(t *testing.T) { fn(t, d) })
	}
}

// ForEachStore runs fn as one subtest per driver on an environment built
// with opts and that driver's fresh store (opts.Store is replaced), for the
// end-to-end set like ForEachDriver. The subtests share opts: per-test
// state (a Clock, a provider with state of its own, a ProviderStore)
// belongs in a ForEachDriver body instead.
func ForEachStore(t *testing.T, opts Options, fn func(t *testing.T, e *Env)) {
	t.Helper()
	ForEachDriver(t, func(t *testing.T, d Driver) {
		o := opts
		o.Store = d.Open(t)
		fn(t, New(t, o))
	})
}
