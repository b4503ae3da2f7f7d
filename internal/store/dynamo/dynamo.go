// Package dynamo is the DynamoDB driver of the store port: one table with
// string keys PK/SK, the overloaded index GSI1 (GSI1PK/GSI1SK, projecting
// all attributes), a number version V, a number TTL (the table's TTL
// attribute) and the record as binary D.
//
// Reads of the table are strongly consistent, so a write is visible to the
// next Get or Query like in the bolt driver; GSI1 reads are eventually
// consistent, as DynamoDB allows nothing else.
package dynamo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/store"
)

// Attribute names of the table.
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrV      = "V"
	attrTTL    = "TTL"
	attrD      = "D"
)

// Options configures a Store.
type Options struct {
	// Table is the table name.
	Table string
	// TokenSecret signs continuation tokens; every instance serving the
	// table must share it. Empty means a random secret per Store, which
	// only suits a single process (tests, local runs).
	TokenSecret []byte
}

// Store is the DynamoDB driver of store.Store.
type Store struct {
	client  *dynamodb.Client
	table   *string
	tokens  *store.Tokens
	calls   atomic.Int64
	retries atomic.Int64
}

var _ store.Store = (*Store)(nil)

// New returns a Store on opts.Table through client.
func New(client *dynamodb.Client, opts Options) *Store {
	secret := opts.TokenSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go ≥ 1.24)
	}
	s := &Store{table: aws.String(opts.Table), tokens: store.NewTokens(secret)}
	// The same client (configuration, connections) with the SDK's own
	// retries counted in Retries: a throttled GetItem the SDK repeats is
	// as much a repeat as an unprocessed batch chunk the driver repeats.
	s.client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(slices.Clone(o.APIOptions), s.countAttempts)
	})
	return s
}

// attemptsKey holds, per operation call, how many attempts the SDK made.
type attemptsKey struct{}

// countAttempts adds to Retries every attempt of an operation call after
// its first (the SDK's retry middleware runs the Finalize steps after it
// once per attempt).
func (s *Store) countAttempts(st *middleware.Stack) error {
	if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("openaggAttempts",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(middleware.WithStackValue(ctx, attemptsKey{}, new(int)), in)
		}), middleware.Before); err != nil {
		return err
	}
	return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("openaggCountRetries",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			// Attempts of one call are sequential: no lock needed.
			if n, ok := middleware.GetStackValue(ctx, attemptsKey{}).(*int); ok {
				if *n++; *n > 1 {
					s.retries.Add(1)
				}
			}
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}

// AttemptTimeout bounds one HTTP attempt of a DynamoDB request, answer
// read included. Without it a connection that hangs (a half-open socket, a
// stalled load balancer) holds the request until the caller's deadline —
// the API's 29 s, a job's whole lease — where a new attempt on another
// connection would take milliseconds. The SDK retries a timed-out attempt
// like any connection error. DynamoDB answers in milliseconds; 5 s leaves
// room for a 1 MB query page or a 16 MB batch on a slow network.
const AttemptTimeout = 5 * time.Second

// WithAttemptTimeout sets the per-attempt timeout of a client built by
// NewClient (tests use a short one to make hung attempts cheap).
func WithAttemptTimeout(d time.Duration) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		bc, ok := o.HTTPClient.(*awshttp.BuildableClient)
		if !ok {
			bc = awshttp.NewBuildableClient()
		}
		o.HTTPClient = bc.WithTimeout(d)
	}
}

// NewClient builds a DynamoDB client from the default AWS configuration
// (environment, shared files, instance role). On AWS's endpoint its
// attempts time out after AttemptTimeout. A non-empty endpoint (moto,
// DynamoDB Local) replaces AWS's and keeps the SDK's default (no attempt
// timeout): those servers scan to answer a query, and a large one takes
// seconds there, which a timeout would only repeat. An empty region keeps
// the configured one; optFns apply last (WithAttemptTimeout, a test's
// middleware).
func NewClient(ctx context.Context, endpoint, region string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	fns := []func(*dynamodb.Options){WithAttemptTimeout(AttemptTimeout)}
	if endpoint != "" {
		fns = []func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }}
	}
	return dynamodb.NewFromConfig(cfg, append(fns, optFns...)...), nil
}

// Calls is the number of store round trips made so far: one per Get,
// Put, Update, Delete, Query and Transact, one per chunk of a BatchGet
// (100 keys) or BatchWrite (25 writes), as the embedded driver counts them.
// Retries are not round trips of the caller's: a request the driver
// repeats after a transport failure, a transaction conflict or unprocessed
// batch items counts once (Retries counts the repeats), so the store-call
// budgets the tests hold requests to do not depend on the network.
func (s *Store) Calls() int64 { return s.calls.Load() }

// count adds n calls to Calls and to the counter of ctx (store.WithCallCounter).
func (s *Store) count(ctx context.Context, n int64) {
	s.calls.Add(n)
	store.CountCalls(ctx, n)
}

// Retries is the number of requests repeated on top of Calls, by the SDK's
// retryer (a throttle, a 5xx, a timed-out attempt) or by the driver (a
// transaction conflict, unprocessed batch items, a conditional write's
// transport failure).
func (s *Store) Retries() int64 { return s.retries.Load() }

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Item, error) {
	if err := store.ValidateKey(k); err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, err)
	}
	s.count(ctx, 1)
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            keyAV(k),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, mapErr(err))
	}
	if out.Item == nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, store.ErrNotFound)
	}
	it, err := fromAV(out.Item)
	if err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", k, err)
	}
	return it, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, it store.Item, cond store.Condition) error {
	if err := s.put(ctx, it, cond); err != nil {
		return fmt.Errorf("put %s: %w", it.Key(), err)
	}
	return nil
}

// Update implements store.Store: a whole-item put guarded by the version.
func (s *Store) Update(ctx context.Context, it store.Item) (int64, error) {
	cond := store.IfVersion(it.Version)
	it.Version++
	if err := s.put(ctx, it, cond); err != nil {
		return 0, fmt.Errorf("update %s: %w", it.Key(), err)
	}
	return it.Version, nil
}

func (s *Store) put(ctx context.Context, it store.Item, cond store.Condition) error {
	if err := store.Validate(it); err != nil {
		return err
	}
	expr, err := condition(cond)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.count(ctx, 1)
	in := &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      toAV(it),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if cond.Kind == store.CondNone {
		return mapErr(s.retryConflicts(ctx, func() error {
			_, err := s.client.PutItem(ctx, in)
			return err
		}))
	}
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	return mapErr(s.retryConflicts(ctx, func() error {
		return s.retryAmbiguous(ctx, func(opts func(*dynamodb.Options)) error {
			_, err := s.client.PutItem(ctx, in, opts)
			return err
		}, func(old map[string]types.AttributeValue) bool {
			stored, err := fromAV(old)
			return err == nil && sameItem(stored, it)
		})
	}))
}

// retryAmbiguous makes one conditional write with the SDK's own retries
// switched off and retries retryable failures itself, so that it knows
// when an earlier attempt may have been applied although its answer was
// lost (a dropped connection, a 5xx, a response failing its checksum). A
// later attempt then fails its own condition against that write: when the
// item DynamoDB returns with the refusal (ALL_OLD) is what this write
// wanted (landed), the write is reported done instead of ErrConditionFailed,
// so that callers which re-read and re-apply after a failed condition do
// not apply a change twice (a comment appended twice).
func (s *Store) retryAmbiguous(ctx context.Context, call func(func(*dynamodb.Options)) error, landed func(old map[string]types.AttributeValue) bool) error {
	once := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	retryable := retry.IsErrorRetryables(retry.DefaultRetryables)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
		}
		err := call(once)
		if err == nil {
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if attempt > 0 && landed(ccf.Item) {
				return nil
			}
			return err
		}
		if retryable.IsErrorRetryable(err) != aws.TrueTernary || attempt+1 >= maxAttempts {
			return err
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return fmt.Errorf("%w (retry abandoned: %w)", err, berr)
		}
	}
}

// sameItem reports whether a stored item is exactly the item a put wrote.
func sameItem(a, b store.Item) bool {
	return a.PK == b.PK && a.SK == b.SK && a.GSI1PK == b.GSI1PK && a.GSI1SK == b.GSI1SK &&
		a.Version == b.Version && a.TTL == b.TTL && bytes.Equal(a.Data, b.Data)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, k store.Key, cond store.Condition) error {
	if err := store.ValidateKey(k); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	expr, err := condition(cond)
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	in := &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       keyAV(k),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if cond.Kind != store.CondNone {
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	s.count(ctx, 1)
	err = s.retryConflicts(ctx, func() error {
		if cond.Kind == store.CondNone {
			_, err := s.client.DeleteItem(ctx, in)
			return err
		}
		// An earlier attempt that deleted the item leaves nothing to
		// return with the refusal: the delete is done.
		return s.retryAmbiguous(ctx, func(opts func(*dynamodb.Options)) error {
			_, err := s.client.DeleteItem(ctx, in, opts)
			return err
		}, func(old map[string]types.AttributeValue) bool { return len(old) == 0 })
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, mapErr(err))
	}
	return nil
}

// Transact implements store.Store with one TransactWriteItems call.
func (s *Store) Transact(ctx context.Context, ops []store.TxOp) error {
	if err := store.ValidateTransact(ops); err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	if len(ops) == 0 {
		return nil
	}
	items := make([]types.TransactWriteItem, len(ops))
	for i, op := range ops {
		expr, err := condition(op.Cond)
		if err != nil {
			return fmt.Errorf("transact op %d: %w", i, err)
		}
		switch {
		case op.Put != nil:
			items[i].Put = &types.Put{TableName: s.table, Item: toAV(*op.Put),
				ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
		case op.Delete != nil:
			items[i].Delete = &types.Delete{TableName: s.table, Key: keyAV(*op.Delete),
				ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
		default:
			items[i].ConditionCheck = &types.ConditionCheck{TableName: s.table, Key: keyAV(op.Key),
				ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	s.count(ctx, 1)
	err := s.retryConflicts(ctx, func() error {
		_, err := s.client.TransactWriteItems(ctx, in)
		return err
	})
	if err == nil {
		return nil
	}
	// DynamoDB gives one reason per op, in order; "None" for the ops that
	// would have succeeded. The first failed condition names the op.
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		for i, r := range canceled.CancellationReasons {
			if aws.ToString(r.Code) == reasonConditionFailed && i < len(ops) {
				return &store.TxError{Index: i, Key: ops[i].OpKey()}
			}
		}
	}
	return fmt.Errorf("transact: %w", mapErr(err))
}

// Cancellation reasons of TransactWriteItems.
const (
	reasonConditionFailed = "ConditionalCheckFailed"
	reasonConflict        = "TransactionConflict"
	reasonThrottled       = "ThrottlingError"
	reasonThroughput      = "ProvisionedThroughputExceeded"
)

// retryConflicts runs a single-request write again, with backoff, while
// DynamoDB refuses it only because another transaction holds one of its
// items (or throttles it inside a transaction). Such a refusal applied
// nothing, and the bolt driver, which serialises writers, never reports
// one: after the retry the write either succeeds or fails on its own
// conditions, as it would there.
func (s *Store) retryConflicts(ctx context.Context, call func() error) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
		}
		err := call()
		if err == nil || !transientConflict(err) || attempt+1 >= maxAttempts {
			return err
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return fmt.Errorf("%w (retry abandoned: %w)", err, berr)
		}
	}
}

// transientConflict: a TransactionConflictException of PutItem/DeleteItem,
// or a cancelled transaction whose reasons are only conflicts or
// throttling (no failed condition).
func transientConflict(err error) bool {
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return false
	}
	transient := false
	for _, r := range canceled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case reasonConflict, reasonThrottled, reasonThroughput:
			transient = true
		default:
			return false
		}
	}
	return transient
}

// condition builds the condition expression of cond; the zero Expression
// (all nil fields) for CondNone.
func condition(cond store.Condition) (expression.Expression, error) {
	var c expression.ConditionBuilder
	switch cond.Kind {
	case store.CondNone:
		return expression.Expression{}, nil
	case store.CondNotExists:
		c = expression.Name(attrPK).AttributeNotExists()
	case store.CondExists:
		c = expression.Name(attrPK).AttributeExists()
	case store.CondVersion:
		// A missing item has no V, so the comparison fails for it too.
		c = expression.Name(attrV).Equal(expression.Value(cond.Version))
	default:
		return expression.Expression{}, store.ValidateCondition(cond)
	}
	expr, err := expression.NewBuilder().WithCondition(c).Build()
	if err != nil {
		return expression.Expression{}, fmt.Errorf("build condition: %w", err)
	}
	return expr, nil
}

// mapErr turns DynamoDB's refusals into the port's codes, keeping the SDK
// error in the chain for errors.As.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%w: %w", store.ErrConditionFailed, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "maximum allowed size") {
		return fmt.Errorf("%w: %w", store.ErrTooLarge, err)
	}
	if busy(err) {
		return busyErr(err)
	}
	return err
}

// busy reports a refusal for load that outlasted the retries: throttling,
// a DynamoDB server error, the SDK's retry quota spent, a write still in
// conflict with other transactions or throttled inside a transaction.
func busy(err error) bool {
	var quota *ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true
	}
	if transientConflict(err) {
		return true // still conflicting or throttled after retryConflicts
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
		"InternalServerError", "ServiceUnavailable":
		return true
	}
	return false
}

// busyErr is err as store.ErrBusy.
func busyErr(err error) error {
	return fault.Wrap(store.ErrBusy, err, "the service is busy; retry in a moment")
}

func keyAV(k store.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// toAV is the table's attribute layout of an item: index keys, TTL and data
// are omitted when empty (an index key must never be an empty string).
func toAV(it store.Item) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: it.PK},
		attrSK: &types.AttributeValueMemberS{Value: it.SK},
		attrV:  &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)},
	}
	if it.GSI1PK != "" {
		m[attrGSI1PK] = &types.AttributeValueMemberS{Value: it.GSI1PK}
		m[attrGSI1SK] = &types.AttributeValueMemberS{Value: it.GSI1SK}
	}
	if it.TTL != 0 {
		m[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(it.TTL, 10)}
	}
	if len(it.Data) > 0 {
		m[attrD] = &types.AttributeValueMemberB{Value: it.Data}
	}
	return m
}

func fromAV(m map[string]types.AttributeValue) (store.Item, error) {
	var it store.Item
	var err error
	str := func(name string, required bool) string {
		switch v := m[name].(type) {
		case *types.AttributeValueMemberS:
			return v.Value
		case nil:
			if required && err == nil {
				err = fmt.Errorf("item without %s", name)
			}
		default:
			if err == nil {
				err = fmt.Errorf("attribute %s is %T, want a string", name, v)
			}
		}
		return ""
	}
	num := func(name string) int64 {
		switch v := m[name].(type) {
		case *types.AttributeValueMemberN:
			n, perr := strconv.ParseInt(v.Value, 10, 64)
			if perr != nil && err == nil {
				err = fmt.Errorf("attribute %s: %w", name, perr)
			}
			return n
		case nil:
			return 0
		default:
			if err == nil {
				err = fmt.Errorf("attribute %s is %T, want a number", name, v)
			}
			return 0
		}
	}
	it.PK, it.SK = str(attrPK, true), str(attrSK, true)
	it.GSI1PK, it.GSI1SK = str(attrGSI1PK, false), str(attrGSI1SK, false)
	it.Version, it.TTL = num(attrV), num(attrTTL)
	switch v := m[attrD].(type) {
	case *types.AttributeValueMemberB:
		if len(v.Value) > 0 {
			it.Data = v.Value
		}
	case nil:
	default:
		if err == nil {
			err = fmt.Errorf("attribute %s is %T, want binary", attrD, v)
		}
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("decode item: %w", err)
	}
	return it, nil
}
