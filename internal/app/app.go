// Package app wires OpenAgg: it builds the dependencies from the
// configuration (embedded default or AWS drivers), lists every API group,
// worker and schedule, and builds the http.Handler of a group exactly once
// for both `openagg serve` and the Lambda mains.
//
// Each API group adds ONE file internal/app/<group>.go with a method
// building its Group, and one builder and one line in Parts (parts.go).
// Workers and schedules do the same. Domain services are built once per
// App (services.go).
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// App holds the built dependencies. Fields are set once by New (or
// Assemble) and read-only afterwards.
type App struct {
	Config platform.Config
	Log    *slog.Logger
	Clock  platform.Clock
	Store  store.Store
	Queue  queue.Sender
	// Providers by name; "sandbox" is always there.
	Providers    map[string]provider.Provider
	Auth         *authn.Authenticator
	Entitlements *auth.Entitlements
	// JWTKey is the local HS256 key (embedded default only; nil in AWS,
	// where API Gateway validates tokens).
	JWTKey []byte
	// PageTokenSecret seals pagination tokens (the store drivers use it;
	// groups that build their own opaque tokens may too).
	PageTokenSecret []byte
	// CredentialsKey encrypts bank credentials at rest on the embedded
	// default (32 bytes); nil when Config.KMSKeyID selects KMS.
	CredentialsKey []byte

	// prepareWorkers readies the in-process consumers of the queues for
	// the given workers (the embedded queue's dispatcher, or pollers on
	// SQS) and returns what runs them until its ctx ends.
	prepareWorkers func(ctx context.Context, workers []Worker) (func(context.Context) error, error)
	// importLimits bound each step of an import (zero: holdings' defaults).
	importLimits holdings.Limits

	svc services // domain services, built once on first use

	mu       sync.Mutex
	handlers map[string]http.Handler // built group handlers, by name
	closers  []func() error
	closed   bool
}

// Deps are the pieces Assemble needs; New builds them from Config.
type Deps struct {
	Log       *slog.Logger   // default: JSON to stderr at Config.LogLevel
	Clock     platform.Clock // default: SystemClock
	Store     store.Store    // required
	Queue     queue.Sender   // required
	Providers map[string]provider.Provider
	// JWTKey enables local HS256 verification (and derives the page token
	// secret when Config.PageTokenSecret is empty).
	JWTKey         []byte
	CredentialsKey []byte
	// PrepareWorkers readies the in-process consumers of the queues (see
	// App.PrepareWorkers).
	PrepareWorkers func(ctx context.Context, workers []Worker) (func(context.Context) error, error)
	// ImportLimits bound each step of an import (zero: holdings').
	ImportLimits holdings.Limits
	// Closers run in reverse order on Close (the store file last if listed first).
	Closers []func() error
}

// Assemble builds an App from ready dependencies. Tests use it with a bolt
// store on a temp file; New uses it after opening the drivers.
func Assemble(cfg platform.Config, d Deps) (*App, error) {
	if d.Store == nil || d.Queue == nil {
		return nil, errors.New("assemble app: store and queue are required")
	}
	a := &App{
		Config:          cfg,
		Log:             d.Log,
		Clock:           d.Clock,
		Store:           d.Store,
		Queue:           d.Queue,
		Providers:       d.Providers,
		JWTKey:          d.JWTKey,
		PageTokenSecret: cfg.PageTokenSecret,
		CredentialsKey:  cfg.CredentialsKey,
		prepareWorkers:  d.PrepareWorkers,
		importLimits:    d.ImportLimits,
		handlers:        map[string]http.Handler{},
		closers:         d.Closers,
	}
	if a.Log == nil {
		a.Log = platform.NewLogger(os.Stderr, cfg.LogLevel)
	}
	if a.Clock == nil {
		a.Clock = platform.SystemClock{}
	}
	if a.Providers == nil {
		a.Providers = map[string]provider.Provider{}
	}
	if a.CredentialsKey == nil {
		a.CredentialsKey = d.CredentialsKey
	}
	if len(a.PageTokenSecret) == 0 && len(d.JWTKey) > 0 {
		a.PageTokenSecret = DerivePageTokenSecret(d.JWTKey)
	}
	authn, err := authn.New(authn.Options{
		Issuer:    cfg.JWTIssuer,
		Audiences: cfg.JWTAudiences,
		HMACKey:   d.JWTKey,
		JWKSURL:   cfg.JWKSURL,
		Clock:     a.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("assemble app: %w", err)
	}
	a.Auth = authn
	a.Entitlements = auth.NewEntitlements(auth.EntitlementsDeps{Store: a.Store, SuperAdmins: cfg.SuperAdmins, Clock: a.Clock})
	return a, nil
}

// DerivePageTokenSecret derives the pagination token secret from the local
// JWT key, so the embedded default needs no extra key file.
func DerivePageTokenSecret(jwtKey []byte) []byte {
	m := hmac.New(sha256.New, jwtKey)
	m.Write([]byte("openagg page tokens v1"))
	return m.Sum(nil)
}

// Provider returns the named provider or a 400 naming the known ones.
func (a *App) Provider(name string) (provider.Provider, error) {
	if p, ok := a.Providers[name]; ok {
		return p, nil
	}
	known := make([]string, 0, len(a.Providers))
	for n := range a.Providers {
		known = append(known, n)
	}
	slices.Sort(known)
	return nil, platform.BadRequest("UNKNOWN_PROVIDER", "unknown provider %q (configured: %v)", name, known)
}

// RunWorkers consumes the queues with workers until ctx ends, then returns
// once in-flight jobs finished or were released (none is lost: an
// unfinished job stays in the queue): the embedded queue's dispatcher, or
// on SQS a poller per worker with its event source mapping's settings
// (sqsRunner), which is how `openagg serve` runs the AWS configuration
// outside Lambda.
func (a *App) RunWorkers(ctx context.Context, workers []Worker) error {
	run, err := a.PrepareWorkers(ctx, workers)
	if err != nil {
		return err
	}
	return run(ctx)
}

// PrepareWorkers is RunWorkers in two steps: it readies the consumers (on
// SQS: finds every worker's queue, so a missing queue fails here) and
// returns the function that runs them until its ctx ends. `openagg serve`
// prepares before it serves requests.
func (a *App) PrepareWorkers(ctx context.Context, workers []Worker) (func(context.Context) error, error) {
	if a.prepareWorkers == nil {
		return nil, errors.New("run workers: no in-process consumer for the configured queue")
	}
	run, err := a.prepareWorkers(ctx, workers)
	if err != nil {
		return nil, fmt.Errorf("run workers: %w", err)
	}
	return run, nil
}

// Close releases the drivers (bbolt file, ...). It is safe to call twice.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
