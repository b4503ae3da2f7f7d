package bank_test

import (
	"os"
	"testing"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// TestDirectoryDynamo runs the same domain suite on the DynamoDB driver
// against moto (skipped loudly without moto_server, failing under CI=true).
func TestDirectoryDynamo(t *testing.T) {
	runDirectorySuite(t, func(t *testing.T) store.Store {
		return dynamotest.Store(t, "bank", []byte("bank-test-secret-0123456789"))
	}, onDynamo...)
}

// onDynamo is the focused end-to-end set that also runs on DynamoDB (moto):
// the main flow, the conditional writes (id claims, version-guarded access
// changes, a change racing a load) and the store-call budget. The drivers
// are proven equal by internal/store/storetest; the rest runs on bolt.
var onDynamo = []string{"LoadThenReadThreeWays", "InternalIDCollisionProbesNextID", "AccessChangeDuringLoadIsKept", "SetAccess", "StoreCallBudget"}
