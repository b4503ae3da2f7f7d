package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/queue/sqs"
)

// childEnv makes the test binary run as one `openagg serve` process of a
// cluster (TestMain), configured by its environment like the real
// command, plus the test settings below (read here only: they are no
// configuration of openagg).
const (
	childEnv         = "OPENAGG_TEST_SERVE_CHILD"
	childClockFile   = "OPENAGG_TEST_CLOCK_FILE"   // the time the process sees (RFC 3339), moved by the test
	childWorkerLease = "OPENAGG_TEST_WORKER_LEASE" // app.Options.WorkerLease
	childImportPages = "OPENAGG_TEST_IMPORT_PAGES" // provider pages per import step (0: the default)
)

// clockAck is the line a child prints when it sees a new time.
const clockAck = "test clock"

// childServe is the child's main: serveWith as serveCmd calls it, on the
// clock of the test's clock file. It returns the exit code.
func childServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := platform.LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	clock, err := watchClock(ctx, os.Getenv(childClockFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lease, _ := time.ParseDuration(os.Getenv(childWorkerLease))
	pages, _ := strconv.Atoi(os.Getenv(childImportPages))
	opts := app.Options{Clock: clock, WorkerLease: lease, ImportLimits: holdings.Limits{MaxPages: pages}}
	if err := serveWith(ctx, cfg, serveOptions{app: opts, publicURLFromListener: true}, nil); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	return 0
}

// fileClock is a time that stands still until the test writes another
// one into its file: every process of a cluster sees the same time, which
// the test moves (past a refresh limit, a day on) as the in-process
// journey moves its clock, and the sandbox's data stay the same while an
// import runs (no pending transaction gets booked half way).
type fileClock struct{ now atomic.Pointer[time.Time] }

func (c *fileClock) Now() time.Time { return *c.now.Load() }

// watchClock reads the clock file now and then every 20 ms until ctx
// ends, printing clockAck with each new time it takes.
func watchClock(ctx context.Context, path string) (*fileClock, error) {
	read := func() (time.Time, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return time.Time{}, err
		}
		return time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	}
	t, err := read()
	if err != nil {
		return nil, fmt.Errorf("test clock %s: %w", path, err)
	}
	c := &fileClock{}
	c.now.Store(&t)
	ack := func(t time.Time) {
		b, _ := json.Marshal(map[string]string{"msg": clockAck, "now": t.Format(time.RFC3339Nano)})
		fmt.Fprintln(os.Stderr, string(b))
	}
	ack(t)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if n, err := read(); err == nil && !n.Equal(c.Now()) {
				c.now.Store(&n)
				ack(n)
			}
		}
	}()
	return c, nil
}

// logLine is what the cluster reads of a child's JSON log lines.
type logLine struct {
	Time       time.Time `json:"time"`
	Level      string    `json:"level"`
	Msg        string    `json:"msg"`
	Addr       string    `json:"addr"`
	Worker     string    `json:"worker"`
	Queue      string    `json:"queue"`
	MessageIDs []string  `json:"messageIds"`
	Failed     int       `json:"failed"`
	StoreCalls int64     `json:"storeCalls"`
	Received   int64     `json:"received"`
	Released   int64     `json:"released"`
	Now        string    `json:"now"`
	Err        any       `json:"err"`
}

// Log messages the cluster follows (internal/app/sqsworkers.go, serve.go).
const (
	msgListening = "openagg listening"
	msgReceived  = "sqs batch received"
	msgDone      = "sqs batch done"
	msgStopped   = "sqs worker stopped"
)

// proc is one `openagg serve` process of a cluster.
type proc struct {
	name   string
	cmd    *exec.Cmd
	base   string
	ready  chan struct{}
	exited chan struct{}
	err    error // the exit, once exited is closed

	mu     sync.Mutex
	lines  []logLine // the lines the cluster follows, in order
	clock  time.Time // the last time it acknowledged
	killed bool
}

func (p *proc) since(mark int) []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines[mark:])
}

func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// clusterOptions set up a cluster.
type clusterOptions struct {
	processes   int
	lease       time.Duration // the SQS lease of the workers
	importPages int           // provider pages per import step (0: default)
	// refresh is every process's scheduler tick (OPENAGG_REFRESH_INTERVAL).
	// On moto each tick costs ten index queries that each read the whole
	// table (moto has no index of its own), so a short tick slows a big
	// import; the journey waits for one tick after its clock jump.
	refresh time.Duration
}

// cluster is several `openagg serve` processes (this test binary run as
// serve) sharing one stage made by `openagg setup` on the test binary's
// moto: one table, three queues with their DLQs.
type cluster struct {
	t         *testing.T
	env       map[string]string // setup's output
	dataDir   string
	clockFile string
	procs     []*proc

	mu  sync.Mutex
	now time.Time
	// onLine, when set, sees every followed line as it arrives (the kill).
	onLine func(p *proc, l logLine)
}

// scaleoutFull selects the heavy scale-out run (make scaleout).
var scaleoutFull = flag.Bool("scaleout.full", false, "scale-out test: the whole big bank, and one-process and three-process measurements (make scaleout)")

// scaleoutDays, with -scaleout.full, imports only the bank's last days
// days (0: its whole history): a shorter measurement.
var scaleoutDays = flag.Int("scaleout.days", 0, "scale-out test with -scaleout.full: import the big bank's last N days only (0: all of it)")

func startCluster(t *testing.T, stage string, o clusterOptions) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, dataDir: dir, clockFile: filepath.Join(dir, "clock"),
		now: time.Now().UTC().Truncate(time.Second)}
	c.env = setupStage(t, mototest.Endpoint(t), stage, dir)
	c.writeClock()
	for i := range o.processes {
		c.procs = append(c.procs, c.start(fmt.Sprintf("p%d", i+1), o))
	}
	for _, p := range c.procs {
		select {
		case <-p.ready:
		case <-p.exited:
			t.Fatalf("%s ended at start: %v", p.name, p.err)
		case <-time.After(time.Minute):
			t.Fatalf("%s did not start", p.name)
		}
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			if p.alive() {
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		if t.Failed() {
			c.dumpLogs(t)
		}
	})
	return c
}

// dumpLogs shows, after a failure, what each process logged at warning
// level or above, and its last lines.
func (c *cluster) dumpLogs(t *testing.T) {
	for _, p := range c.procs {
		raw, err := os.ReadFile(filepath.Join(c.dataDir, p.name+".log"))
		if err != nil {
			t.Logf("%s: %v", p.name, err)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		var b strings.Builder
		for _, l := range lines {
			if !strings.HasPrefix(l, "{") || strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
				b.WriteString("  " + l + "\n")
			}
		}
		// The last lines but the access log.
		var work []string
		for _, l := range lines {
			if !strings.Contains(l, `"msg":"request"`) {
				work = append(work, l)
			}
		}
		b.WriteString("  ... last lines (but requests):\n")
		for _, l := range work[max(0, len(work)-30):] {
			b.WriteString("  " + l + "\n")
		}
		t.Logf("%s (exit %v):\n%s", p.name, p.err, b.String())
	}
}

func (c *cluster) start(name string, o clusterOptions) *proc {
	t := c.t
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = os.Environ()
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env,
		childEnv+"=1", childClockFile+"="+c.clockFile,
		childWorkerLease+"="+o.lease.String(), childImportPages+"="+strconv.Itoa(o.importPages),
		"OPENAGG_ADDR=127.0.0.1:0", "OPENAGG_LOG_LEVEL=debug", "OPENAGG_REFRESH_INTERVAL="+o.refresh.String(),
		// The connect page's settle jobs are SQS-delayed in real time; the
		// cluster waits for every queue to empty, delayed jobs included.
		"OPENAGG_CONNECT_SETTLE_AFTER=2s")
	dieWithParent(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(c.dataDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			raw := sc.Bytes()
			_, _ = logFile.Write(append(raw, '\n'))
			var l logLine
			if json.Unmarshal(raw, &l) != nil {
				continue
			}
			switch l.Msg {
			case msgListening:
				p.base = "http://" + l.Addr
				close(p.ready)
			case clockAck:
				at, _ := time.Parse(time.RFC3339Nano, l.Now)
				p.mu.Lock()
				p.clock = at
				p.mu.Unlock()
			case msgReceived, msgDone, msgStopped:
				p.mu.Lock()
				p.lines = append(p.lines, l)
				p.mu.Unlock()
				c.mu.Lock()
				on := c.onLine
				c.mu.Unlock()
				if on != nil {
					on(p, l)
				}
			}
		}
	}()
	go func() {
		<-read // all output read before Wait closes the pipe
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p
}

// live are the processes still running.
func (c *cluster) live() []*proc {
	var out []*proc
	for _, p := range c.procs {
		if p.alive() {
			out = append(out, p)
		}
	}
	return out
}

func (c *cluster) bases() []string {
	var out []string
	for _, p := range c.live() {
		out = append(out, p.base)
	}
	return out
}

func (c *cluster) writeClock() {
	c.t.Helper()
	tmp := c.clockFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(c.now.Format(time.RFC3339Nano)), 0o600); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, c.clockFile); err != nil {
		c.t.Fatal(err)
	}
}

// advance moves every process's clock by d and returns once each running
// process acknowledged it.
func (c *cluster) advance(t *testing.T, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	c.now = c.now.Add(d)
	want := c.now
	c.mu.Unlock()
	c.writeClock()
	for _, p := range c.live() {
		waitFor(t, p.name+" taking the new time", func() (bool, string) {
			p.mu.Lock()
			defer p.mu.Unlock()
			return !p.clock.Before(want), p.clock.String()
		})
	}
}

func (c *cluster) clockNow() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// token mints a token as `openagg token` does, with the data directory's
// key, issued at the cluster's time.
func (c *cluster) token(t testing.TB, args ...string) string {
	t.Helper()
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "")
	name := fs.String("name", "", "")
	roles := fs.String("roles", "", "")
	ttl := fs.Duration("ttl", 96*time.Hour, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	key, err := authn.LoadOrCreateKey(c.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var rs []string
	if *roles != "" {
		rs = strings.Split(*roles, ",")
	}
	tok, err := authn.Mint(key, authn.Claims{Sub: *sub, Name: *name, Roles: rs, Issuer: platform.DefaultJWTIssuer,
		Audience: platform.DefaultJWTAudience, TTL: *ttl, Now: c.clockNow()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// queues are the stage's queues and dead-letter queues by name.
func (c *cluster) queues(t *testing.T) (client *awssqs.Client, urls map[string]string) {
	t.Helper()
	client, err := sqs.NewClient(context.Background(), c.env["OPENAGG_SQS_ENDPOINT"], c.env["AWS_REGION"])
	if err != nil {
		t.Fatal(err)
	}
	urls = map[string]string{}
	for _, q := range deploy.Queues() {
		u := c.env[platform.QueueURLEnv(q.Name)]
		urls[q.Name] = u
		urls[q.Name+"-dlq"] = strings.TrimSuffix(u, "/"+q.QueueName(c.stage())) + "/" + q.DLQName(c.stage())
	}
	return client, urls
}

func (c *cluster) stage() string { return strings.TrimPrefix(c.env["OPENAGG_TABLE"], "openagg-") }

// depths are the messages on each queue (visible, delayed or in flight).
func (c *cluster) depths(t *testing.T) map[string]int {
	t.Helper()
	client, urls := c.queues(t)
	out := map[string]int{}
	for name, u := range urls {
		a, err := client.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range a.Attributes {
			n, _ := strconv.Atoi(v)
			out[name] += n
		}
	}
	return out
}

// settle waits until every queue and every dead-letter queue is empty:
// every job done, none dead.
func (c *cluster) settle(t *testing.T) {
	t.Helper()
	waitFor(t, "every queue empty", func() (bool, string) {
		d := c.depths(t)
		for _, n := range d {
			if n != 0 {
				return false, fmt.Sprint(d)
			}
		}
		return true, ""
	})
}

// stack is the cluster as the journey's stack: requests go to each
// running process in turn.
func (c *cluster) stack() journeyStack {
	return journeyStack{
		bases:   c.bases(),
		token:   c.token,
		now:     c.clockNow,
		advance: c.advance,
		// The processes keep running: the journey's work is over when
		// every queue is empty.
		stop:    c.settle,
		inspect: func(t *testing.T) journeyStore { return dynamoJourneyStore(t, c.env) },
	}
}

// stop sends SIGTERM to the running processes and checks each stops
// cleanly.
func (c *cluster) stop(t *testing.T) {
	t.Helper()
	for _, p := range c.live() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.procs {
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			t.Fatalf("%s did not stop on SIGTERM", p.name)
		}
		p.mu.Lock()
		killed := p.killed
		p.mu.Unlock()
		if !killed && p.err != nil {
			t.Errorf("%s exited with %v", p.name, p.err)
		}
	}
}

// kill ends a process with SIGKILL, as a node lost would.
func (c *cluster) kill(p *proc) {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
}
