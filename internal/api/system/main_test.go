package system_test

import (
	"os"
	"testing"

	"github.com/openagg/openagg/internal/platform/mototest"
)

// The handler tests run on bolt; the focused end-to-end set (the group's
// main flow, its store-call budgets, its conditional writes and batches)
// runs on the DynamoDB driver too, against the moto_server this binary
// starts.
func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }
