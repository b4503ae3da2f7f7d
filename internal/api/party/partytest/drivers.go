package partytest

import (
	"path/filepath"
	"testing"

	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

// Driver is a store driver the handler tests run on.
type Driver struct {
	// Name names the driver's subtest: "bolt" or "dynamo".
	Name string
	// Open returns a fresh, empty store, closed or dropped when the test
	// ends.
	Open func(t testing.TB) Store
}

// Drivers are the embedded bbolt driver on a temp file and the DynamoDB
// driver on a fresh moto table (the test binary's TestMain must run
// mototest.Run; without moto_server the dynamo subtests are skipped, as
// mototest says).
func Drivers() []Driver {
	return []Driver{
		{"bolt", func(t testing.TB) Store {
			t.Helper()
			db, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}},
		{"dynamo", func(t testing.TB) Store {
			t.Helper()
			return dynamotest.Store(t, "partytest", nil)
		}},
	}
}

// ForEachDriver runs fn as one subtest per driver, named after it.
func ForEachDriver(t *testing.T, fn func(t *testing.T, d Driver)) {
	t.Helper()
	for _, d := range Drivers() {
		t.Run(d.Name, func(t *testing.T) { fn(t, d) })
	}
}

// ForEachStore runs fn as one subtest per driver on an environment built
// with opts and that driver's fresh store (opts.Store is replaced). The
// subtests share opts: per-test state (a Clock, a provider with state of
// its own, a ProviderStore) belongs in a ForEachDriver body instead.
func ForEachStore(t *testing.T, opts Options, fn func(t *testing.T, e *Env)) {
	t.Helper()
	ForEachDriver(t, func(t *testing.T, d Driver) {
		o := opts
		o.Store = d.Open(t)
		fn(t, New(t, o))
	})
}
