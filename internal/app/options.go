package app

import (
	"context"
	"os"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Options adjust what NewWith builds, for end-to-end tests that run the
// whole stack as `openagg serve` does but must control what a real server
// cannot: the time, or the store driver under the embedded queue.
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
}

// NewWith is New with Options; New(ctx, cfg) is NewWith(ctx, cfg, Options{}).
func NewWith(ctx context.Context, cfg platform.Config, opts Options) (*App, error) {
	if opts.Clock == nil {
		opts.Clock = platform.SystemClock{}
	}
	log := platform.NewLogger(os.Stderr, cfg.LogLevel)
	if cfg.Store == platform.StoreDynamo {
		return newAWS(ctx, cfg, log, opts.Clock)
	}
	return newEmbedded(cfg, log, opts)
}
