// Package sqstest makes SQS queues for tests.
package sqstest

import (
	"context"
	"fmt"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/sqs"
)

// CreateQueues creates each queue of the port named prefix+name with a
// dead-letter queue prefix+name+"-dlq" and a RedrivePolicy of maxReceive
// receives (sqs.EnsureQueue, the queues' other attributes left at SQS's
// defaults). It is idempotent. It returns name → queue URL, ready for
// sqs.New. `openagg setup` and template.yaml make the application's
// queues from deploy.Queues instead.
func CreateQueues(ctx context.Context, client *awssqs.Client, prefix string, maxReceive int) (map[string]string, error) {
	if maxReceive < 1 {
		return nil, fmt.Errorf("create sqs queues: maxReceive %d < 1", maxReceive)
	}
	names := queue.Names()
	urls := make(map[string]string, len(names))
	for _, name := range names {
		url, _, err := sqs.EnsureQueue(ctx, client, sqs.QueueSpec{Name: prefix + name, DLQName: prefix + name + "-dlq", MaxReceiveCount: maxReceive})
		if err != nil {
			return nil, err
		}
		urls[name] = url
	}
	return urls, nil
}
