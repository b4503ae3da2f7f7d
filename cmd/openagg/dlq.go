package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
	"github.com/openagg/openagg/internal/queue/sqs"
)

const dlqUsage = `usage: openagg dlq list [QUEUE...] [flags]
       openagg dlq show QUEUE ID [flags]
       openagg dlq redrive QUEUE [--id ID]... [flags]

The dead letters of the job queues (` + "directory, connections, holdings, activity, webhooks" + `):
list shows each queue's count and messages, show prints one message's job
(its details on stderr), redrive puts messages back on their queue (every
one, or those named by --id).

The embedded queue is read from the data directory (--data; stop
` + "`openagg serve`" + ` on it first: its file is one process's). SQS is used with
--driver sqs (the default when OPENAGG_QUEUE=sqs), --stage or --endpoint:
the queues ` + "`openagg setup`" + ` and template.yaml name openagg-STAGE-QUEUE, each
with its -dlq, or those of serve's OPENAGG_QUEUE_URL_<QUEUE>.

flags:
`

// dlqCmd is the operator's dead-letter tool, for the embedded queue and
// for SQS.
func dlqCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || !slices.Contains([]string{"list", "show", "redrive"}, args[0]) {
		fmt.Fprint(e.stderr, dlqUsage)
		newDLQFlags(e, "").fs.PrintDefaults()
		return errUsage
	}
	sub := args[0]
	f := newDLQFlags(e, sub)
	pos, err := parseInterleaved(f.fs, args[1:])
	if err != nil {
		return errUsage
	}
	switch {
	case sub == "show" && len(pos) != 2, sub == "redrive" && len(pos) != 1:
		fmt.Fprint(e.stderr, dlqUsage)
		return errUsage
	case sub != "redrive" && len(f.ids) > 0:
		fmt.Fprintln(e.stderr, "--id is a flag of redrive")
		return errUsage
	}
	queues := pos
	if sub == "list" && len(queues) == 0 {
		queues = queue.Names()
	}
	if sub == "show" {
		queues = pos[:1]
	}
	for _, q := range queues {
		if !slices.Contains(queue.Names(), q) {
			return fmt.Errorf("unknown queue %q (queues: %s)", q, strings.Join(queue.Names(), ", "))
		}
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	b, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer b.close()

	switch sub {
	case "list":
		return dlqList(ctx, e, b, queues, f.json)
	case "show":
		return dlqShow(ctx, e, b, pos[0], pos[1], f.json)
	default:
		return dlqRedrive(ctx, e, b, pos[0], f.ids)
	}
}

// dlqFlags are the flags of every dlq subcommand.
type dlqFlags struct {
	e                                          env
	fs                                         *flag.FlagSet
	data, driver, stage, endpoint, sqsEndpoint *string
	region                                     *string
	json                                       bool
	ids                                        idList
}

// idList is a repeatable --id.
type idList []string

func (l *idList) String() string { return strings.Join(*l, ",") }
func (l *idList) Set(v string) error {
	if v == "" {
		return errors.New("empty id")
	}
	*l = append(*l, v)
	return nil
}

func newDLQFlags(e env, sub string) *dlqFlags {
	f := &dlqFlags{e: e, fs: flag.NewFlagSet("dlq "+sub, flag.ContinueOnError)}
	f.fs.SetOutput(e.stderr)
	f.data = f.fs.String("data", cmp.Or(e.getenv("OPENAGG_DATA_DIR"), platform.DefaultDataDir), "data directory of the embedded queue (OPENAGG_DATA_DIR)")
	f.driver = f.fs.String("driver", cmp.Or(strings.ToLower(e.getenv("OPENAGG_QUEUE")), platform.QueueLocal), "queue driver: local or sqs (OPENAGG_QUEUE)")
	f.stage = f.fs.String("stage", "", "SQS: the stage whose queues setup made, "+deploy.Queues()[0].QueueName("<stage>")+" and its -dlq (default: serve's "+platform.QueueURLEnv("<queue>")+", else stage local)")
	f.endpoint = f.fs.String("endpoint", "", "SQS endpoint (moto, ElasticMQ), as setup takes it; empty: AWS itself")
	f.sqsEndpoint = f.fs.String("sqs-endpoint", "", "SQS endpoint, overrides --endpoint (default $OPENAGG_SQS_ENDPOINT)")
	f.region = f.fs.String("region", cmp.Or(e.getenv("AWS_REGION"), e.getenv("AWS_DEFAULT_REGION"), platform.DefaultRegion), "AWS region (AWS_REGION)")
	f.fs.BoolVar(&f.json, "json", false, "list, show: JSON on stdout")
	f.fs.Var(&f.ids, "id", "redrive: the message to put back (repeatable; default every one)")
	return f
}

// parseInterleaved parses flags that may follow positional arguments
// ("redrive holdings --id X"), which the flag package alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// open picks the driver: SQS when asked for by --driver or implied by an
// SQS flag, else the embedded queue.
func (f *dlqFlags) open(ctx context.Context) (dlqBackend, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	useSQS := set["stage"] || set["endpoint"] || set["sqs-endpoint"]
	switch *f.driver {
	case platform.QueueSQS:
		useSQS = true
	case platform.QueueLocal:
		if set["driver"] && useSQS {
			return nil, errors.New("--driver local takes no --stage or --endpoint")
		}
	default:
		return nil, fmt.Errorf("--driver %q: local or sqs", *f.driver)
	}
	if !useSQS {
		return openLocalDLQ(*f.data)
	}
	stage := cmp.Or(*f.stage, "local")
	if !regexp.MustCompile(deploy.StagePattern).MatchString(stage) {
		return nil, fmt.Errorf("--stage %q: must match %s (as the template's Stage)", stage, deploy.StagePattern)
	}
	endpoint := cmp.Or(*f.sqsEndpoint, *f.endpoint, f.e.getenv("OPENAGG_SQS_ENDPOINT"))
	if p, err := url.Parse(endpoint); endpoint != "" && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
	}
	if endpoint != "" && f.e.getenv("AWS_ACCESS_KEY_ID") == "" && f.e.getenv("AWS_PROFILE") == "" {
		return nil, errors.New("no AWS credentials in the environment: moto and ElasticMQ accept any, e.g. export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local")
	}
	client, err := sqs.NewClient(ctx, endpoint, *f.region)
	if err != nil {
		return nil, err
	}
	b := &sqsDLQ{client: client, stage: stage, urls: map[string]string{}, stderr: f.e.stderr}
	if !set["stage"] {
		// serve's environment names the queues themselves.
		for _, name := range queue.Names() {
			b.urls[name] = f.e.getenv(platform.QueueURLEnv(name))
		}
	}
	return b, nil
}

// deadLetter is one message of a dead-letter queue as the tool shows it.
// A zero time or an empty error is unknown (SQS keeps no failure times or
// errors: its first failure is its first receive).
type deadLetter struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Key          string          `json:"key,omitempty"`
	ReceiveCount int             `json:"receiveCount"`
	FirstFailure time.Time       `json:"firstFailure,omitzero"`
	LastFailure  time.Time       `json:"lastFailure,omitzero"`
	LastError    string          `json:"lastError,omitempty"`
	Job          json.RawMessage `json:"job"`
}

// jobOf is a message body as JSON (a body that is not is quoted).
func jobOf(body string) json.RawMessage {
	if json.Valid([]byte(body)) {
		return json.RawMessage(body)
	}
	b, _ := json.Marshal(body)
	return b
}

// dlqBackend is the dead-letter queue of one driver.
type dlqBackend interface {
	// list returns a queue's dead letters and where they are kept.
	list(ctx context.Context, queueName string) (where string, _ []deadLetter, _ error)
	// redrive puts the named dead letters (every one when ids is empty)
	// back on their queue and returns how many it moved.
	redrive(ctx context.Context, queueName string, ids []string) (int, error)
	close() error
}

// localDLQ is the embedded queue's dead-letter list.
type localDLQ struct {
	db   *bbolt.DB
	q    *local.Queue
	path string
}

func openLocalDLQ(dataDir string) (*localDLQ, error) {
	path := filepath.Join(dataDir, app.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no embedded data at %s (--data, OPENAGG_DATA_DIR; --driver sqs for SQS): %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is locked by a running openagg process: stop `openagg serve` on %s first (the embedded queue is one process's)", path, dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	q, err := local.New(db, local.Options{})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &localDLQ{db: db, q: q, path: path}, nil
}

func (l *localDLQ) list(_ context.Context, queueName string) (string, []deadLetter, error) {
	msgs, err := l.q.DeadLetters(queueName)
	if err != nil {
		return "", nil, err
	}
	out := make([]deadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = deadLetter{ID: m.ID, Type: m.Type, Key: m.Key, ReceiveCount: m.ReceiveCount,
			FirstFailure: m.FirstFailedAt, LastFailure: cmp.Or(m.LastFailedAt, m.DeadAt), LastError: m.LastError, Job: jobOf(m.Body)}
	}
	return l.path + " (embedded)", out, nil
}

func (l *localDLQ) redrive(_ context.Context, queueName string, ids []string) (int, error) {
	return l.q.Redrive(queueName, ids...)
}

func (l *localDLQ) close() error { return l.db.Close() }

// sqsDLQ is the dead-letter queues of SQS.
type sqsDLQ struct {
	client *awssqs.Client
	stage  string
	urls   map[string]string // from serve's environment
	stderr io.Writer
}

// queueURL is the URL of the named queue: serve's, else the stage's.
func (s *sqsDLQ) queueURL(ctx context.Context, queueName string) (string, error) {
	if u := s.urls[queueName]; u != "" {
		return u, nil
	}
	for _, q := range deploy.Queues() {
		if q.Name != queueName {
			continue
		}
		out, err := s.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(q.QueueName(s.stage))})
		if err != nil {
			return "", fmt.Errorf("find sqs queue %s of stage %s (made by `openagg setup --stage %s`): %w", q.QueueName(s.stage), s.stage, s.stage, err)
		}
		return aws.ToString(out.QueueUrl), nil
	}
	return "", fmt.Errorf("no queue %q in the template", queueName)
}

func (s *sqsDLQ) dlq(ctx context.Context, queueName string) (src, dlqURL, dlqARN string, err error) {
	if src, err = s.queueURL(ctx, queueName); err != nil {
		return "", "", "", err
	}
	dlqURL, dlqARN, err = sqs.DLQOf(ctx, s.client, src)
	return src, dlqURL, dlqARN, err
}

func (s *sqsDLQ) list(ctx context.Context, queueName string) (string, []deadLetter, error) {
	_, dlqURL, _, err := s.dlq(ctx, queueName)
	if err != nil {
		return "", nil, err
	}
	msgs, err := sqs.Peek(ctx, s.client, dlqURL)
	if err != nil {
		return "", nil, err
	}
	out := make([]deadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = deadLetter{ID: m.ID, Type: m.Type, Key: m.Key, ReceiveCount: m.ReceiveCount, FirstFailure: m.FirstReceivedAt, Job: jobOf(m.Body)}
	}
	return dlqURL, out, nil
}

// moveWait bounds how long redrive follows an SQS message move task.
const moveWait = 5 * time.Minute

func (s *sqsDLQ) redrive(ctx context.Context, queueName string, ids []string) (int, error) {
	src, dlqURL, dlqARN, err := s.dlq(ctx, queueName)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		// The whole queue: SQS's own message move task, where the endpoint
		// has one (AWS); it moves them back to their source queue.
		handle, err := sqs.StartMove(ctx, s.client, dlqARN)
		if err == nil {
			fmt.Fprintf(s.stderr, "started SQS message move task %s from %s\n", handle, dlqARN)
			return s.followMove(ctx, dlqARN)
		}
		fmt.Fprintf(s.stderr, "no SQS message move task (%v); moving the messages one by one (each sent before it is deleted)\n", err)
	}
	return sqs.Redrive(ctx, s.client, dlqURL, src, ids)
}

// followMove waits for the move task from dlqARN to end.
func (s *sqsDLQ) followMove(ctx context.Context, dlqARN string) (int, error) {
	deadline := time.Now().Add(moveWait)
	for {
		st, err := sqs.LastMove(ctx, s.client, dlqARN)
		if err != nil {
			return 0, err
		}
		switch st.Status {
		case "COMPLETED":
			return int(st.Moved), nil
		case "FAILED", "CANCELLED":
			return int(st.Moved), fmt.Errorf("the message move task from %s ended %s after %d messages: %s", dlqARN, st.Status, st.Moved, st.Failure)
		}
		if time.Now().After(deadline) {
			return int(st.Moved), fmt.Errorf("the message move task from %s is still %s after %s (%d of %d moved); `openagg dlq list` shows what is left", dlqARN, st.Status, moveWait, st.Moved, st.ToMove)
		}
		select {
		case <-ctx.Done():
			return int(st.Moved), ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func (s *sqsDLQ) close() error { return nil }

func dlqList(ctx context.Context, e env, b dlqBackend, queues []string, asJSON bool) error {
	type queueDLQ struct {
		Queue    string       `json:"queue"`
		Where    string       `json:"deadLetterQueue"`
		Count    int          `json:"count"`
		Messages []deadLetter `json:"messages"`
	}
	var all []queueDLQ
	for _, name := range queues {
		where, msgs, err := b.list(ctx, name)
		if err != nil {
			return err
		}
		if msgs == nil {
			msgs = []deadLetter{}
		}
		all = append(all, queueDLQ{Queue: name, Where: where, Count: len(msgs), Messages: msgs})
	}
	if asJSON {
		return writeJSON(e.stdout, all)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, q := range all {
		fmt.Fprintf(w, "%s: %s in %s\n", q.Queue, plural(int64(q.Count), "dead letter"), q.Where)
		if q.Count == 0 {
			continue
		}
		fmt.Fprintln(w, "  ID\tTYPE\tRECEIVES\tFIRST FAILURE\tLAST FAILURE\tLAST ERROR")
		for _, m := range q.Messages {
			fmt.Fprintf(w, "  %s\t%s\t%d\t%s\t%s\t%s\n", m.ID, cmp.Or(m.Type, "-"), m.ReceiveCount, stamp(m.FirstFailure), stamp(m.LastFailure),
				cmp.Or(platform.Truncate(strings.Join(strings.Fields(m.LastError), " "), 120), "-"))
		}
	}
	return w.Flush()
}

func dlqShow(ctx context.Context, e env, b dlqBackend, queueName, id string, asJSON bool) error {
	_, msgs, err := b.list(ctx, queueName)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(msgs, func(m deadLetter) bool { return m.ID == id })
	if i < 0 {
		return fmt.Errorf("no dead letter %s in queue %s (`openagg dlq list %s` lists them)", id, queueName, queueName)
	}
	m := msgs[i]
	if asJSON {
		return writeJSON(e.stdout, m)
	}
	fmt.Fprintf(e.stderr, "%s dead letter %s: type %s, key %s, %d receives, first failure %s, last failure %s\nlast error: %s\n",
		queueName, m.ID, cmp.Or(m.Type, "-"), cmp.Or(m.Key, "-"), m.ReceiveCount, stamp(m.FirstFailure), stamp(m.LastFailure), cmp.Or(m.LastError, "-"))
	return writeJSON(e.stdout, m.Job)
}

func dlqRedrive(ctx context.Context, e env, b dlqBackend, queueName string, ids []string) error {
	if len(ids) > 0 {
		// Every id must be a dead letter of the queue, or nothing moves.
		_, msgs, err := b.list(ctx, queueName)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.ContainsFunc(msgs, func(m deadLetter) bool { return m.ID == id }) {
				return fmt.Errorf("no dead letter %s in queue %s (`openagg dlq list %s` lists them); nothing moved", id, queueName, queueName)
			}
		}
	}
	n, err := b.redrive(ctx, queueName, ids)
	fmt.Fprintf(e.stdout, "%s: %s back on the queue\n", queueName, plural(int64(n), "message"))
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
