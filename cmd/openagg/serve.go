package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/platform"
)

// errUsage: the flag package already printed the problem.
var errUsage = errors.New("usage")

// shutdownTimeout bounds the HTTP drain on SIGINT/SIGTERM.
const shutdownTimeout = 30 * time.Second

// loadConfig reads the environment and applies the common flags.
func loadConfig(e env, fs *flag.FlagSet, args []string, addr bool) (platform.Config, error) {
	cfg, err := platform.LoadConfig(e.getenv)
	if err != nil {
		return cfg, err
	}
	var a *string
	if addr {
		a = fs.String("addr", cfg.Addr, "listen address (OPENAGG_ADDR)")
	}
	data := fs.String("data", cfg.DataDir, "data directory of the embedded default (OPENAGG_DATA_DIR)")
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, errUsage
		}
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "unexpected arguments: %v\n", fs.Args())
		return cfg, errUsage
	}
	if a != nil {
		cfg.Addr = *a
	}
	cfg.DataDir = *data
	return cfg, nil
}

func serveCmd(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e, flag.NewFlagSet("serve", flag.ContinueOnError), args, true)
	if err != nil {
		return err
	}
	// Without OPENAGG_PUBLIC_URL the connect URLs point at this server,
	// whatever --addr says.
	return serveWith(ctx, cfg, serveOptions{publicURLFromListener: e.getenv("OPENAGG_PUBLIC_URL") == ""}, nil)
}

// serveOptions adjust serveWith.
type serveOptions struct {
	// app builds the App (end-to-end tests: a clock they move, the
	// DynamoDB driver under the embedded queue).
	app app.Options
	// publicURLFromListener sets Config.PublicURL, the base of connect and
	// callback URLs, to the address the server listens on (its real port,
	// also with --addr HOST:0).
	publicURLFromListener bool
}

// serveWith runs the server until ctx is done, then shuts down in order: stop
// accepting and drain HTTP requests (they may still enqueue jobs), stop the
// scheduler, stop the queue workers (they wait for the jobs in flight;
// unfinished ones stay queued, released at once on SQS), close the bbolt
// file. ready, when not nil, receives the listening address.
//
// On the embedded default the workers run on the local queue in the bbolt
// file (one process per data directory). On the AWS drivers
// (OPENAGG_STORE=dynamo, OPENAGG_QUEUE=sqs) each worker polls its SQS
// queue as Lambda's event source mapping would (app.RunWorkers), bearer
// tokens are verified with the data directory's key (or OPENAGG_JWKS_URL),
// and any number of processes may serve the same table and queues.
func serveWith(ctx context.Context, cfg platform.Config, opts serveOptions, ready chan<- string) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if opts.publicURLFromListener {
		cfg.PublicURL = listenerURL(ln.Addr())
	}
	// No API Gateway validates tokens in front of this server.
	opts.app.LocalTokens = true
	a, err := app.NewWith(ctx, cfg, opts.app)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer a.Close()
	// Every group, worker and schedule is built before the server
	// listens: a configuration error stops the start, not a request.
	handler, err := a.HandlerFor(app.GroupNames())
	if err != nil {
		_ = ln.Close()
		return err
	}
	workers, err := a.Workers()
	if err != nil {
		_ = ln.Close()
		return err
	}
	tick, err := a.Scheduler()
	if err != nil {
		_ = ln.Close()
		return err
	}
	// On SQS this finds every worker's queue: a missing one stops the
	// start too.
	runWorkers, err := a.PrepareWorkers(ctx, workers)
	if err != nil {
		_ = ln.Close()
		return err
	}
	// Requests in flight are counted, so that the store is closed only
	// after the last handler returned: srv.Close (after a drain that timed
	// out) does not wait for them, and the embedded store lends its mapped
	// bytes to readers, so closing it under a running handler could crash
	// the process.
	var inflight sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inflight.Add(1)
			defer inflight.Done()
			handler.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}

	// Background work gets its own context, cancelled only after HTTP
	// drained, so a request's jobs are still dispatched.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup
	errs := make(chan error, 3)

	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := runWorkers(bg); err != nil {
			errs <- fmt.Errorf("queue workers: %w", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		runScheduler(bg, a, tick, cfg.RefreshInterval)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http server: %w", err)
		}
	}()

	addr := ln.Addr().String()
	a.Log.Info("openagg listening", "addr", addr, "url", "http://"+addr, "publicUrl", a.Config.PublicURL, "groups", app.GroupNames(),
		"workers", len(workers), "dataDir", cfg.DataDir, "store", cfg.Store, "queue", cfg.Queue, "version", platform.Version)
	if ready != nil {
		ready <- addr
	}

	var runErr error
	select {
	case <-ctx.Done():
		a.Log.Info("shutting down: draining HTTP requests")
	case runErr = <-errs:
		a.Log.Error("shutting down after failure", "err", runErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.Log.Error("http shutdown", "err", err)
		_ = srv.Close()
	}
	a.Log.Info("shutting down: stopping workers and scheduler")
	stopBG()
	wg.Wait()
	close(errs)
	for err := range errs {
		if runErr == nil {
			runErr = err
		}
	}
	drained := make(chan struct{})
	go func() {
		inflight.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(shutdownTimeout):
		// Left open rather than closed under a running handler; the
		// process exit releases it.
		a.Log.Error("requests still running after the shutdown; the store is left open")
		if runErr == nil {
			runErr = errors.New("requests still running after the shutdown")
		}
		return runErr
	}
	if err := a.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close: %w", err)
	}
	a.Log.Info("stopped")
	return runErr
}

// runScheduler runs tick every interval until ctx is done; a failing tick
// is logged and retried at the next one (as the EventBridge rule would).
func runScheduler(ctx context.Context, a *app.App, tick func(context.Context) error, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := tick(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("scheduler tick failed", "err", err)
			}
		}
	}
}

// listenerURL is the base URL a local client reaches addr at; an
// unspecified address (0.0.0.0, [::]) is reached on the loopback.
func listenerURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
