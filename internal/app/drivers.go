package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
)

// StoreFile is the bbolt file of the embedded default in the data directory.
const StoreFile = "openagg.db"

// CredentialsKeyFile keeps the local credentials encryption key.
const CredentialsKeyFile = "credentials.key"

// credentialsKey is the key that seals bank credentials and webhook
// secrets without KMS: OPENAGG_CREDENTIALS_KEY, else the data directory's
// (made on first use); nil when KMS seals them.
func credentialsKey(cfg platform.Config) ([]byte, error) {
	if cfg.CredentialsKey != nil || cfg.KMSKeyID != "" {
		return cfg.CredentialsKey, nil
	}
	k, err := platform.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, CredentialsKeyFile), 32)
	if err != nil {
		return nil, fmt.Errorf("local credentials key: %w", err)
	}
	return k, nil
}

// New builds the App from cfg: the embedded default (bbolt file in
// cfg.DataDir holding both the store and the local queue, sandbox provider,
// local HS256 key) or the AWS drivers (DynamoDB, SQS, Secrets Manager).
func New(ctx context.Context, cfg platform.Config) (*App, error) {
	return NewWith(ctx, cfg, Options{})
}

// newEmbedded opens <data>/openagg.db for the store and the local queue
// (opts.Store, when set, holds the records instead).
func newEmbedded(cfg platform.Config, log *slog.Logger, opts Options) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.DataDir, err)
	}
	jwtKey, err := authn.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	credKey, err := credentialsKey(cfg)
	if err != nil {
		return nil, err
	}
	secret := cfg.PageTokenSecret
	if len(secret) == 0 {
		secret = DerivePageTokenSecret(jwtKey)
	}
	path := filepath.Join(cfg.DataDir, StoreFile)
	// A short lock wait: the other holder is a long-running process, so
	// waiting longer would not help, and the message says what to do.
	st, err := bolt.Open(path, bolt.Options{TokenSecret: secret, Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: the data directory %s is locked by another openagg process (is `openagg serve` running on it?)", err, cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	clock := opts.Clock
	q, err := local.New(st.DB(), local.Options{Clock: clock, Log: log})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("open local queue in %s: %w", path, err)
	}
	var records store.Store = st
	if opts.Store != nil {
		records = opts.Store
	}
	providers, err := buildProviders(cfg, records, clock)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	cfg.PageTokenSecret = secret
	a, err := Assemble(cfg, Deps{
		Log:            log,
		Clock:          clock,
		Store:          records,
		Queue:          q,
		Providers:      providers,
		JWTKey:         jwtKey,
		CredentialsKey: credKey,
		PrepareWorkers: localRunner(q),
		ImportLimits:   opts.ImportLimits,
		Closers:        []func() error{st.Close},
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return a, nil
}

// localRunner registers each worker on its queue with the same settings as
// its SQS event source mapping; the returned function runs the dispatcher
// until ctx ends.
func localRunner(q *local.Queue) func(ctx context.Context, workers []Worker) (func(context.Context) error, error) {
	return func(_ context.Context, workers []Worker) (func(context.Context) error, error) {
		if len(workers) == 0 {
			return func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			}, nil
		}
		for _, w := range workers {
			q.Register(w.Queue, w.Handler, consumerConfig(w.Queue))
		}
		return q.Run, nil
	}
}

// consumerConfig is the template's event source mapping and redrive
// policy of the queue (deploy.ConsumerOf: batch size, maxReceiveCount,
// visibility timeout), one source for Lambda and the embedded queue. A
// queue the template does not consume gets the embedded queue's defaults.
func consumerConfig(queueName string) local.ConsumerConfig {
	c, ok := deploy.ConsumerOf(queueName)
	if !ok {
		return local.ConsumerConfig{}
	}
	return local.ConsumerConfig{BatchSize: c.BatchSize, MaxReceiveCount: c.MaxReceiveCount, VisibilityTimeout: c.VisibilityTimeout}
}

// Drain runs the registered workers on the embedded queue until it is idle:
// for tests and one-shot commands that need queued jobs done.
func (a *App) Drain(ctx context.Context) error {
	q, ok := a.Queue.(*local.Queue)
	if !ok {
		return errors.New("drain: the configured queue is not the local queue")
	}
	workers, err := a.Workers()
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	for _, w := range workers {
		q.Register(w.Queue, w.Handler, consumerConfig(w.Queue))
	}
	return q.Drain(ctx)
}
