package connect_test

import (
	"os"
	"testing"

	"github.com/openagg/openagg/internal/platform/mototest"
)

// The handler tests run on bolt and on the DynamoDB driver against the
// moto_server this binary starts.
func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }
