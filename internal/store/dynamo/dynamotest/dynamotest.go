// Package dynamotest gives a test a fresh, empty DynamoDB table on the test
// binary's moto (see mototest: its TestMain runs mototest.Run), dropped when
// the test ends. Without moto_server the test is skipped, as mototest says.
package dynamotest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store/dynamo"
)

// One client per test binary; table names are unique across runs sharing
// a moto (the run's start time) and within the run (a sequence number).
var (
	clientOnce sync.Once
	client     *dynamodb.Client
	clientErr  error
	tables     atomic.Int64
	runID      = time.Now().UnixNano()
)

// Client returns the test binary's client on moto.
func Client(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	endpoint := mototest.Endpoint(tb)
	clientOnce.Do(func() { client, clientErr = dynamo.NewClient(context.Background(), endpoint, "us-east-1") })
	if clientErr != nil {
		tb.Fatalf("dynamo client: %v", clientErr)
	}
	return client
}

// Table returns a client on moto and a fresh table named after prefix.
func Table(tb testing.TB, prefix string) (*dynamodb.Client, string) {
	tb.Helper()
	client := Client(tb)
	table := fmt.Sprintf("%s-%d-%d", prefix, runID, tables.Add(1))
	if err := dynamo.CreateTable(tb.Context(), client, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	tb.Cleanup(func() {
		// tb.Context is already cancelled when cleanups run.
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return client, table
}

// Store is the DynamoDB driver on a fresh table; secret signs its page
// tokens.
func Store(tb testing.TB, prefix string, secret []byte) *dynamo.Store {
	tb.Helper()
	c, table := Table(tb, prefix)
	return dynamo.New(c, dynamo.Options{Table: table, TokenSecret: secret})
}
