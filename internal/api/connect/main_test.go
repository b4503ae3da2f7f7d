package connect_test

import (
	"os"
	"testing"

	"github.com/openagg/openagg/internal/platform/browsertest"
	"github.com/openagg/openagg/internal/platform/mototest"
)

// The handler tests run on bolt; the focused end-to-end set (the group's
// main flow, its store-call budgets, its conditional writes and batches)
// runs on the DynamoDB driver too, against the moto_server this binary
// starts. The browser tests share one headless Chromium, stopped at the
// end.
func TestMain(m *testing.M) {
	code := mototest.Run(m)
	browsertest.Stop()
	os.Exit(code)
}
