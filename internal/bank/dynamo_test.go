package bank_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

var (
	dynamoOnce   sync.Once
	dynamoClient *dynamodb.Client
	dynamoErr    error
	tableSeq     atomic.Int64
	tableRun     = time.Now().UnixNano()
)

// TestDirectoryDynamo runs the same domain suite on the DynamoDB driver
// against moto (skipped loudly without moto_server, failing under CI=true).
func TestDirectoryDynamo(t *testing.T) {
	endpoint := mototest.Endpoint(t)
	dynamoOnce.Do(func() { dynamoClient, dynamoErr = dynamo.NewClient(t.Context(), endpoint, "us-east-1") })
	if dynamoErr != nil {
		t.Fatal(dynamoErr)
	}
	runDirectorySuite(t, func(t *testing.T) store.Store {
		table := fmt.Sprintf("bank-%d-%d", tableRun, tableSeq.Add(1))
		if err := dynamo.CreateTable(t.Context(), dynamoClient, table); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = dynamoClient.DeleteTable(t.Context(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		})
		return dynamo.New(dynamoClient, dynamo.Options{Table: table, TokenSecret: []byte("bank-test-secret-0123456789")})
	})
}
