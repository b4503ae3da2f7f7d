package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openagg/openagg/internal/store"
)

// Schema is the table's key schema: the attributes the driver reads and
// writes as keys, its index and its TTL attribute. CreateTable creates it
// and template.yaml declares it (internal/deploy renders the table's
// attribute definitions, key schema, index and TTL from TableSchema), so a
// table made by `openagg setup` and one deployed by SAM cannot differ.
type Schema struct {
	PartitionKey string
	SortKey      string
	// Indexes are global secondary indexes with string keys projecting
	// every attribute (the bolt driver keeps whole items in its index too).
	Indexes []Index
	// TTL is the attribute DynamoDB's time to live reads (epoch seconds).
	TTL string
}

// Index is one global secondary index.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// Attributes lists every key attribute (all strings), the table's keys
// first, as a table's attribute definitions declare them.
func (s Schema) Attributes() []string {
	out := []string{s.PartitionKey, s.SortKey}
	for _, ix := range s.Indexes {
		out = append(out, ix.PartitionKey, ix.SortKey)
	}
	return out
}

// TableSchema is the schema of the store's table.
func TableSchema() Schema {
	return Schema{
		PartitionKey: attrPK,
		SortKey:      attrSK,
		Indexes:      []Index{{Name: store.IndexGSI1, PartitionKey: attrGSI1PK, SortKey: attrGSI1SK}},
		TTL:          attrTTL,
	}
}

// check reports how an existing table's keys and indexes differ from s.
func (s Schema) check(t *types.TableDescription) error {
	keys := func(ks []types.KeySchemaElement) string {
		var b strings.Builder
		for _, k := range ks {
			fmt.Fprintf(&b, "%s:%s ", aws.ToString(k.AttributeName), k.KeyType)
		}
		return strings.TrimSpace(b.String())
	}
	want := fmt.Sprintf("%s:HASH %s:RANGE", s.PartitionKey, s.SortKey)
	if got := keys(t.KeySchema); got != want {
		return fmt.Errorf("key schema %q, want %q", got, want)
	}
	for _, ix := range s.Indexes {
		want := fmt.Sprintf("%s:HASH %s:RANGE", ix.PartitionKey, ix.SortKey)
		i := slices.IndexFunc(t.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool { return aws.ToString(g.IndexName) == ix.Name })
		if i < 0 {
			return fmt.Errorf("no index %s", ix.Name)
		}
		g := t.GlobalSecondaryIndexes[i]
		if got := keys(g.KeySchema); got != want {
			return fmt.Errorf("index %s key schema %q, want %q", ix.Name, got, want)
		}
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			return fmt.Errorf("index %s does not project all attributes", ix.Name)
		}
	}
	return nil
}

// CreateTable creates the store's table (TableSchema, on-demand billing,
// TTL switched on) for `openagg setup`, local runs and tests. It is
// idempotent: an existing table is left as it is (only TTL is switched on
// if it is off; keys or an index other than the schema's are an error),
// and it returns once the table is active. Deployed tables
// come from the SAM template, rendered from the same schema.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	schema := TableSchema()
	key := func(name string, kt types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(name), KeyType: kt}
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   []types.KeySchemaElement{key(schema.PartitionKey, types.KeyTypeHash), key(schema.SortKey, types.KeyTypeRange)},
	}
	for _, a := range schema.Attributes() {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
	}
	for _, ix := range schema.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  []types.KeySchemaElement{key(ix.PartitionKey, types.KeyTypeHash), key(ix.SortKey, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	_, err := client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 5*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", table, err)
	}
	if err := schema.check(desc.Table); err != nil {
		return fmt.Errorf("table %s exists but does not fit the store: %w", table, err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe TTL of %s: %w", table, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && (d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(schema.TTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}
