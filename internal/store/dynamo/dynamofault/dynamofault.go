// Package dynamofault makes a DynamoDB client meet the refusals real
// DynamoDB gives under load, for tests on moto (which never gives them):
// ThrottlingException and ProvisionedThroughputExceededException (HTTP 400
// with the service's JSON error body, so the SDK's retryer classifies them
// as it would DynamoDB's), InternalServerError (HTTP 500), attempts that
// hang on a socket that never answers until an HTTP timeout ends them,
// TransactWriteItems cancelled for throttling, and BatchWriteItem and
// BatchGetItem handing back part of their items as unprocessed.
//
// The faults are answered instead of the server, so nothing a refused
// attempt carried was applied (as DynamoDB guarantees for these refusals).
// Which calls meet a fault follows a seeded PRNG drawn once per operation
// call, never the clock: the same sequence of calls meets the same faults.
// Concurrent callers (a batch's parallel chunks, several workers) may
// interleave differently from run to run; tests assert what must hold
// whatever the interleaving.
package dynamofault

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
)

// Kind is a kind of fault.
type Kind int

// The kinds of fault, in the order Counts reports them.
const (
	// Throttling is a 400 ThrottlingException (the SDK retries it as a
	// throttle).
	Throttling Kind = iota
	// Throughput is a 400 ProvisionedThroughputExceededException (a
	// throttle too).
	Throughput
	// ServerError is a 500 InternalServerError (retried by status).
	ServerError
	// Timeout is an attempt sent to a socket that never answers, ended by
	// an HTTP client timeout (HangFor, not the client's own
	// dynamo.AttemptTimeout, which moto's slow large queries would trip)
	// with the error the client's timeout gives; the SDK retries it.
	Timeout
	// TxCanceled is a 400 TransactionCanceledException whose reasons say
	// ThrottlingError: not retried by the SDK; the driver repeats the
	// transaction.
	TxCanceled
	// Unprocessed is a BatchWriteItem (BatchGetItem) that writes (reads)
	// only part of its items and hands the rest back in UnprocessedItems
	// (UnprocessedKeys); the driver sends them again.
	Unprocessed
	numKinds
)

var kindNames = [numKinds]string{"throttling", "throughput", "server-error", "timeout", "tx-canceled", "unprocessed"}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Plan says how often faults happen.
type Plan struct {
	// Seed seeds the PRNG that picks the faulty calls and their faults.
	Seed uint64
	// Rate is the share of operation calls that meet faults (0..1).
	Rate float64
	// OutlastAt lists read and batch calls (GetItem, Query, BatchGetItem,
	// BatchWriteItem: the calls whose errors the driver hands on),
	// numbered from 1 since the plan was set, that fail on every attempt:
	// the fault outlasts the SDK's retries and the error reaches the
	// caller (a job then fails and the queue delivers it again). A batch
	// meets a 500 (the driver repeats a throttled batch itself), a read a
	// throttle or a 500. Numbering calls, not drawing, makes sure it
	// happens and bounds how close two such faults come, so that a job's
	// next delivery gets through.
	OutlastAt []int64
	// MaxStreak is how many leading attempts of a faulty call fail when it
	// does not outlast, drawn from 1..MaxStreak (default 2: the SDK makes
	// 3 attempts, so the call still succeeds).
	MaxStreak int
	// Kinds, when set, are the only faults made (a test of one kind).
	Kinds []Kind
}

// Injector decides and makes the faults of the clients it is installed on.
type Injector struct {
	plan     atomic.Pointer[Plan]
	mu       sync.Mutex
	rng      *rand.Rand
	passed   int64 // calls whose errors the driver passes on (under mu)
	calls    atomic.Int64
	attempts atomic.Int64
	counts   [numKinds]atomic.Int64
	hole     *blackHole
}

// New returns an injector following plan; its black hole (the socket of
// Timeout faults) closes when tb ends.
func New(tb testing.TB, plan Plan) *Injector {
	tb.Helper()
	h, err := newBlackHole()
	if err != nil {
		tb.Fatalf("dynamofault: %v", err)
	}
	tb.Cleanup(h.close)
	inj := &Injector{rng: rand.New(rand.NewPCG(plan.Seed, plan.Seed^0x9e3779b97f4a7c15)), hole: h}
	inj.SetPlan(plan)
	return inj
}

// SetPlan changes the rates from the next operation call on; the count
// of OutlastAt starts again (the PRNG keeps its sequence; Seed is
// ignored). The zero Plan stops the faults.
func (inj *Injector) SetPlan(plan Plan) {
	if plan.MaxStreak <= 0 {
		plan.MaxStreak = 2
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	inj.passed = 0
	inj.plan.Store(&plan)
}

// Count is the number of faults of kind made so far.
func (inj *Injector) Count(kind Kind) int64 { return inj.counts[kind].Load() }

// Total is the number of faults of every kind made so far.
func (inj *Injector) Total() int64 {
	var n int64
	for k := range numKinds {
		n += inj.counts[k].Load()
	}
	return n
}

// Calls and Attempts are the operation calls and HTTP attempts seen.
func (inj *Injector) Calls() int64    { return inj.calls.Load() }
func (inj *Injector) Attempts() int64 { return inj.attempts.Load() }

// String reports the counts, for test logs.
func (inj *Injector) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls, %d attempts, faults:", inj.Calls(), inj.Attempts())
	for k := range numKinds {
		fmt.Fprintf(&b, " %s %d", k, inj.Count(k))
	}
	return b.String()
}

// Install adds the injector's middleware to a DynamoDB client's options
// (dynamodb.New, dynamo.NewClient).
func (inj *Injector) Install(o *dynamodb.Options) {
	o.APIOptions = append(append([]func(*middleware.Stack) error(nil), o.APIOptions...), inj.addMiddleware)
}

// MaxBackoff replaces, in Store's client, the SDK's wait between attempts
// (1 s × 2^attempt with jitter): the retryer, its attempts and its
// classification of errors stay the SDK's own.
const MaxBackoff = 5 * time.Millisecond

// Store is the DynamoDB driver on a fresh moto table through a client
// built by dynamo.NewClient (its production attempt timeout) with inj
// installed and MaxBackoff, and the table's name.
func Store(tb testing.TB, inj *Injector, prefix string, secret []byte) (*dynamo.Store, string) {
	tb.Helper()
	_, table := dynamotest.Table(tb, prefix)
	fast := func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, MaxBackoff) }
	c, err := dynamo.NewClient(tb.Context(), mototest.Endpoint(tb), "us-east-1", fast, inj.Install)
	if err != nil {
		tb.Fatalf("dynamofault: client: %v", err)
	}
	return dynamo.New(c, dynamo.Options{Table: table, TokenSecret: secret}), table
}

// callPlan is what one operation call meets, drawn when it starts.
type callPlan struct {
	faults  []Kind // the faults of its leading attempts
	outlast Kind   // when >= 0: every later attempt fails with it
	attempt int    // attempts made so far (sequential: no lock)
	txItems int    // TransactWriteItems: number of items (for the reasons)
}

type callKey struct{}

// attemptKinds are the faults any operation's attempt may meet, weighted.
var attemptKinds = []Kind{Throttling, Throttling, Throughput, Throughput, ServerError, ServerError, Timeout}

// draw decides the faults of a call of operation op.
func (inj *Injector) draw(op string, in any) *callPlan {
	cp := &callPlan{outlast: -1}
	if t, ok := in.(*dynamodb.TransactWriteItemsInput); ok {
		cp.txItems = len(t.TransactItems)
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	plan := inj.plan.Load()
	outlast := false
	switch op {
	case "GetItem", "Query", "BatchGetItem", "BatchWriteItem":
		inj.passed++
		outlast = slices.Contains(plan.OutlastAt, inj.passed)
	}
	if !outlast && inj.rng.Float64() >= plan.Rate {
		return cp
	}
	kinds := attemptKinds
	if op == "TransactWriteItems" {
		kinds = append(kinds[:len(kinds):len(kinds)], TxCanceled, TxCanceled, TxCanceled, TxCanceled, TxCanceled, TxCanceled)
	}
	if len(plan.Kinds) > 0 {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool { return !slices.Contains(plan.Kinds, k) })
	}
	unprocessed := (op == "BatchWriteItem" || op == "BatchGetItem") && (len(plan.Kinds) == 0 || slices.Contains(plan.Kinds, Unprocessed))
	if unprocessed && !outlast && (len(kinds) == 0 || inj.rng.IntN(2) == 0) {
		cp.faults = []Kind{Unprocessed}
		return cp
	}
	if len(kinds) == 0 {
		return cp
	}
	if outlast {
		// Throttles and 500s only: an outlasting timeout would cost the
		// test the SDK's three attempt timeouts.
		lasting := slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool {
			batch := op == "BatchWriteItem" || op == "BatchGetItem"
			return k == Timeout || batch && k != ServerError
		})
		if len(lasting) > 0 {
			cp.outlast = lasting[inj.rng.IntN(len(lasting))]
			return cp
		}
	}
	for range 1 + inj.rng.IntN(plan.MaxStreak) {
		cp.faults = append(cp.faults, kinds[inj.rng.IntN(len(kinds))])
	}
	return cp
}

func (inj *Injector) addMiddleware(st *middleware.Stack) error {
	if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("dynamofaultCall", inj.handleCall), middleware.After); err != nil {
		return err
	}
	// Innermost in the Deserialize step: between the operation's
	// deserializer and the HTTP client, once per attempt.
	return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("dynamofaultAttempt", inj.handleAttempt), middleware.After)
}

// handleCall draws the call's faults and makes Unprocessed ones: the
// request goes to the server without its second half, which comes back
// as unprocessed (nothing of it was written or read).
func (inj *Injector) handleCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	inj.calls.Add(1)
	op := awsmiddleware.GetOperationName(ctx)
	cp := inj.draw(op, in.Parameters)
	if len(cp.faults) != 1 || cp.faults[0] != Unprocessed {
		return next.HandleInitialize(middleware.WithStackValue(ctx, callKey{}, cp), in)
	}
	switch p := in.Parameters.(type) {
	case *dynamodb.BatchWriteItemInput:
		kept, held := halve(p.RequestItems, func(r []types.WriteRequest) int { return len(r) },
			func(r []types.WriteRequest, i, j int) []types.WriteRequest { return r[i:j] })
		if len(held) == 0 {
			break
		}
		cp := *p
		cp.RequestItems = kept
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		if err != nil {
			return out, md, err
		}
		res := out.Result.(*dynamodb.BatchWriteItemOutput)
		if res.UnprocessedItems == nil {
			res.UnprocessedItems = map[string][]types.WriteRequest{}
		}
		for table, reqs := range held {
			res.UnprocessedItems[table] = append(res.UnprocessedItems[table], reqs...)
		}
		inj.counts[Unprocessed].Add(1)
		return out, md, nil
	case *dynamodb.BatchGetItemInput:
		kept, held := halve(p.RequestItems, func(ka types.KeysAndAttributes) int { return len(ka.Keys) },
			func(ka types.KeysAndAttributes, i, j int) types.KeysAndAttributes { ka.Keys = ka.Keys[i:j]; return ka })
		if len(held) == 0 {
			break
		}
		cp := *p
		cp.RequestItems = kept
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		if err != nil {
			return out, md, err
		}
		res := out.Result.(*dynamodb.BatchGetItemOutput)
		if res.UnprocessedKeys == nil {
			res.UnprocessedKeys = map[string]types.KeysAndAttributes{}
		}
		for table, ka := range held {
			if left, ok := res.UnprocessedKeys[table]; ok {
				ka.Keys = append(left.Keys, ka.Keys...)
			}
			res.UnprocessedKeys[table] = ka
		}
		inj.counts[Unprocessed].Add(1)
		return out, md, nil
	}
	return next.HandleInitialize(ctx, in)
}

// halve splits each table's requests of a batch: the first half (rounded
// up) is sent, the rest held back. held is empty when nothing is left over.
func halve[R any](reqs map[string]R, n func(R) int, slice func(r R, i, j int) R) (kept, held map[string]R) {
	kept, held = make(map[string]R, len(reqs)), map[string]R{}
	for table, r := range reqs {
		cut := n(r) - n(r)/2
		kept[table] = slice(r, 0, cut)
		if cut < n(r) {
			held[table] = slice(r, cut, n(r))
		}
	}
	return kept, held
}

// handleAttempt answers an attempt the call's plan says fails.
func (inj *Injector) handleAttempt(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	inj.attempts.Add(1)
	cp, _ := middleware.GetStackValue(ctx, callKey{}).(*callPlan)
	if cp == nil {
		return next.HandleDeserialize(ctx, in)
	}
	kind := cp.outlast
	if cp.attempt < len(cp.faults) {
		kind = cp.faults[cp.attempt]
	}
	cp.attempt++
	if kind < 0 {
		return next.HandleDeserialize(ctx, in)
	}
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return next.HandleDeserialize(ctx, in)
	}
	inj.counts[kind].Add(1)
	if kind == Timeout {
		return middleware.DeserializeOutput{}, middleware.Metadata{}, inj.hang(ctx, req)
	}
	status, body := 400, ""
	switch kind {
	case Throttling:
		body = errorBody("ThrottlingException", "Rate of requests exceeds the allowed throughput.", "")
	case Throughput:
		body = errorBody("ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.", "")
	case ServerError:
		status, body = 500, errorBody("InternalServerError", "Internal server error", "")
	case TxCanceled:
		reasons := make([]string, max(cp.txItems, 1))
		for i := range reasons {
			reasons[i] = `{"Code":"None"}`
		}
		reasons[len(reasons)-1] = `{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity of your table or index."}`
		codes := strings.Repeat("None, ", len(reasons)-1) + "ThrottlingError"
		body = errorBody("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons ["+codes+"]",
			`,"CancellationReasons":[`+strings.Join(reasons, ",")+`]`)
	default:
		return next.HandleDeserialize(ctx, in)
	}
	resp := &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":     {"application/x-amz-json-1.0"},
			"X-Amzn-Requestid": {fmt.Sprintf("DYNAMOFAULT%08d", inj.attempts.Load())},
			// DynamoDB signs every answer with its CRC32; the client checks it.
			"X-Amz-Crc32": {strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)},
		},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req.Request,
	}
	return middleware.DeserializeOutput{RawResponse: &smithyhttp.Response{Response: resp}}, middleware.Metadata{}, nil
}

// HangFor is how long a Timeout fault's attempt waits for an answer.
const HangFor = 100 * time.Millisecond

// hang sends the attempt to the black hole through an HTTP client that
// gives up after HangFor, and returns what smithy's HTTP client handler
// makes of the failure (as it would of the client's own timeout).
func (inj *Injector) hang(ctx context.Context, req *smithyhttp.Request) error {
	r := req.Build(ctx)
	r.URL.Host = inj.hole.addr
	resp, err := (&http.Client{Timeout: HangFor}).Do(r)
	if err == nil {
		_ = resp.Body.Close()
		return fmt.Errorf("dynamofault: the black hole answered %s", resp.Status)
	}
	if ctx.Err() != nil {
		return &smithy.CanceledError{Err: ctx.Err()}
	}
	return &smithyhttp.RequestSendError{Err: err}
}

// errorBody is DynamoDB's JSON error body (awsJson1_0) for code.
func errorBody(code, message, extra string) string {
	return fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%q%s}`, code, message, extra)
}

// blackHole accepts connections, reads whatever comes and never answers.
type blackHole struct {
	l      net.Listener
	addr   string
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

func newBlackHole() (*blackHole, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the black hole: %w", err)
	}
	h := &blackHole{l: l, addr: l.Addr().String()}
	h.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed
			}
			h.mu.Lock()
			if h.closed {
				h.mu.Unlock()
				_ = c.Close()
				return
			}
			h.conns = append(h.conns, c)
			h.wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
			h.mu.Unlock()
		}
	})
	return h, nil
}

func (h *blackHole) close() {
	_ = h.l.Close()
	h.mu.Lock()
	h.closed = true
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}
