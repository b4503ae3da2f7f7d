package app

import (
	"context"
	"os"
	"time"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Options adjust what NewWith builds: what `openagg serve` needs beyond a
// Lambda (LocalTokens), and for end-to-end tests that run the whole stack
// as `openagg serve` does but must control what a real server cannot: the
// time, the store driver under the embedded queue, the SQS lease, the size
// of an import step.
type Options struct {
	// Clock replaces the system clock everywhere (auth, services, sandbox,
	// local queue), e.g. a clock a test moves past the provider's
	// next-refresh limit. Default platform.SystemClock.
	Clock platform.Clock
	// Store, with the embedded default (OPENAGG_STORE=bolt), holds the
	// records instead of the bbolt file, e.g. the DynamoDB driver on moto;
	// the local queue and the local keys stay in Config.DataDir. The App
	// does not close it. Ignored with the AWS drivers.
	Store store.Store
	// LocalTokens, with the AWS drivers, verifies HS256 bearer tokens
	// signed with the data directory's key (jwt.key, what `openagg token`
	// mints) unless OPENAGG_JWKS_URL names an issuer: `openagg serve` sets
	// it, since no API Gateway validates tokens in front of it. The Lambdas
	// never do. (The embedded default always verifies local tokens.)
	LocalTokens bool
	// WorkerLease is how long a message received from SQS stays invisible
	// before RunWorkers renews its lease (default DefaultWorkerLease; at
	// least 3 s). A process that dies leaves its messages invisible this
	// long.
	WorkerLease time.Duration
	// ImportLimits bound each step of an import (default: holdings').
	ImportLimits holdings.Limits
}

// NewWith is New with Options; New(ctx, cfg) is NewWith(ctx, cfg, Options{}).
func NewWith(ctx context.Context, cfg platform.Config, opts Options) (*App, error) {
	if opts.Clock == nil {
		opts.Clock = platform.SystemClock{}
	}
	log := platform.NewLogger(os.Stderr, cfg.LogLevel)
	if cfg.Store == platform.StoreDynamo {
		return newAWS(ctx, cfg, log, opts)
	}
	return newEmbedded(cfg, log, opts)
}
