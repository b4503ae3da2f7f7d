package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/dynamo"
	"github.com/openagg/openagg/internal/store/dynamo/dynamotest"
	"github.com/openagg/openagg/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// newTable returns a client on moto and a fresh, empty table that is
// dropped when tb ends.
func newTable(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	return dynamotest.Table(tb, "store")
}

func newStore(tb testing.TB) *dynamo.Store {
	tb.Helper()
	return dynamotest.Store(tb, "store", []byte("storetest-secret-0123456789"))
}

func TestConformance(t *testing.T) {
	t.Logf("DynamoDB driver against moto at %s", mototest.Endpoint(t))
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestCreateTableIdempotent(t *testing.T) {
	c, table := newTable(t)
	if err := dynamo.CreateTable(t.Context(), c, table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	out, err := c.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	d := out.Table
	if len(d.GlobalSecondaryIndexes) != 1 || aws.ToString(d.GlobalSecondaryIndexes[0].IndexName) != store.IndexGSI1 ||
		d.GlobalSecondaryIndexes[0].Projection.ProjectionType != types.ProjectionTypeAll {
		t.Fatalf("indexes: %+v", d.GlobalSecondaryIndexes)
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("billing: %+v", d.BillingModeSummary)
	}
	ttl, err := c.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "TTL" {
		t.Fatalf("TTL: %+v", ttl.TimeToLiveDescription)
	}
}

// TestCreateTableRefusesAnotherSchema: `openagg setup` on an endpoint
// where a table of that name exists with other keys (made by hand) says so
// instead of serving a store that cannot work.
func TestCreateTableRefusesAnotherSchema(t *testing.T) {
	c, _ := newTable(t) // starts moto, makes the client
	table := "other-schema-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	_, err := c.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	err = dynamo.CreateTable(t.Context(), c, table)
	if err == nil || !strings.Contains(err.Error(), "does not fit the store") || !strings.Contains(err.Error(), `key schema "id:HASH"`) {
		t.Fatalf("CreateTable over a table with other keys: %v", err)
	}
}

// TestCalls pins the request accounting the import benchmark relies on.
func TestCalls(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	items := make([]store.Item, 60)
	keys := make([]store.Key, 0, 150)
	for i := range items {
		items[i] = store.Item{PK: "calls", SK: fmt.Sprintf("%03d", i), Data: []byte("x")}
		keys = append(keys, items[i].Key())
	}
	for i := len(keys); i < 150; i++ {
		keys = append(keys, store.Key{PK: "calls", SK: fmt.Sprintf("missing%03d", i)})
	}
	steps := []struct {
		name string
		do   func() error
		want int64
	}{
		{"batch write of 60", func() error { return s.BatchWrite(ctx, items, nil) }, 3},
		{"batch get of 150", func() error { _, err := s.BatchGet(ctx, keys); return err }, 2},
		{"get", func() error { _, err := s.Get(ctx, keys[0]); return err }, 1},
		{"query", func() error { _, err := s.Query(ctx, store.Query{PK: "calls"}); return err }, 1},
		{"transact", func() error {
			return s.Transact(ctx, []store.TxOp{store.TxCheck(keys[0], store.IfExists()), store.TxDelete(keys[1], store.Condition{})})
		}, 1},
	}
	for _, st := range steps {
		before := s.Calls()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Calls() - before; got != st.want {
			t.Fatalf("%s: %d calls, want %d", st.name, got, st.want)
		}
	}
}

func BenchmarkStore(b *testing.B) {
	b.Logf("DynamoDB driver against moto at %s", mototest.Endpoint(b))
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
