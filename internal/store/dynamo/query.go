package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openagg/openagg/internal/store"
)

// Query implements store.Store with one Query request.
//
// It asks for one item more than the page: if it comes back, the page ends
// at the item before it and the token is sealed from that item, so Next is
// empty exactly when nothing follows (DynamoDB alone would hand out a token
// for a final, empty page whenever a page ends on the last item). When
// DynamoDB cuts the response at 1 MB, the page is shorter and the token is
// its LastEvaluatedKey.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if err := store.ValidateQuery(q); err != nil {
		return store.Page{}, fmt.Errorf("query %s: %w", q.PK, err)
	}
	in, err := s.queryInput(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("query %s: %w", q.PK, err)
	}
	if err := ctx.Err(); err != nil {
		return store.Page{}, fmt.Errorf("query %s: %w", q.PK, err)
	}
	limit := store.PageLimit(q)
	s.count(ctx, 1)
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return store.Page{}, fmt.Errorf("query %s: %w", q.PK, mapErr(err))
	}
	var page store.Page
	page.Items = make([]store.Item, 0, min(len(out.Items), limit))
	for _, av := range out.Items {
		if len(page.Items) == limit {
			page.Next = s.tokens.Seal(q, store.PageKey(q, page.Items[limit-1]))
			return page, nil
		}
		it, err := fromAV(av)
		if err != nil {
			return store.Page{}, fmt.Errorf("query %s: %w", q.PK, err)
		}
		page.Items = append(page.Items, it)
	}
	if out.LastEvaluatedKey != nil {
		last := make(map[string]string, len(out.LastEvaluatedKey))
		for name, av := range out.LastEvaluatedKey {
			sv, ok := av.(*types.AttributeValueMemberS)
			if !ok {
				return store.Page{}, fmt.Errorf("query %s: last evaluated key %s is %T", q.PK, name, av)
			}
			last[name] = sv.Value
		}
		page.Next = s.tokens.Seal(q, last)
	}
	return page, nil
}

// queryInput translates q into DynamoDB's key condition and start key.
func (s *Store) queryInput(q store.Query) (*dynamodb.QueryInput, error) {
	pkName, skName := attrPK, attrSK
	index := q.Index == store.IndexGSI1
	if index {
		pkName, skName = attrGSI1PK, attrGSI1SK
	}
	kc := expression.Key(pkName).Equal(expression.Value(q.PK))
	sk := expression.Key(skName)
	switch {
	case q.SKPrefix != "":
		kc = kc.And(sk.BeginsWith(q.SKPrefix))
	case q.From != "" && q.To != "":
		kc = kc.And(sk.Between(expression.Value(q.From), expression.Value(q.To)))
	case q.From != "":
		kc = kc.And(sk.GreaterThanEqual(expression.Value(q.From)))
	case q.To != "":
		kc = kc.And(sk.LessThanEqual(expression.Value(q.To)))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build key condition: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(!q.Desc),
		Limit:                     aws.Int32(int32(min(store.PageLimit(q), 1<<30) + 1)),
	}
	if index {
		in.IndexName = aws.String(store.IndexGSI1)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	if q.Token != "" {
		last, err := s.tokens.Open(q, q.Token)
		if err != nil {
			return nil, err
		}
		if err := store.ValidatePageKey(q, last); err != nil {
			return nil, err
		}
		in.ExclusiveStartKey = make(map[string]types.AttributeValue, len(last))
		for name, v := range last {
			in.ExclusiveStartKey[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	return in, nil
}

// TokenAfter implements store.Store.
func (s *Store) TokenAfter(q store.Query, it store.Item) string {
	return s.tokens.Seal(q, store.PageKey(q, it))
}
