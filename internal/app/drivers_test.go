package app

import (
	"testing"
	"time"

	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
)

// TestConsumerConfigIsTheTemplates: the embedded queue consumes each queue
// with the batch size, maxReceiveCount and visibility timeout of the
// template's event source mapping and redrive policy (one source:
// deploy.Consumers), and every worker has one.
func TestConsumerConfigIsTheTemplates(t *testing.T) {
	for _, tc := range []struct {
		queue string
		want  local.ConsumerConfig
	}{
		{queue.Directory, local.ConsumerConfig{BatchSize: 5, MaxReceiveCount: 5, VisibilityTimeout: 12 * time.Minute}},
		{queue.Connections, local.ConsumerConfig{BatchSize: 10, MaxReceiveCount: 5, VisibilityTimeout: 12 * time.Minute}},
		{queue.Holdings, local.ConsumerConfig{BatchSize: 1, MaxReceiveCount: 5, VisibilityTimeout: 30 * time.Minute}},
	} {
		t.Run(tc.queue, func(t *testing.T) {
			if got := consumerConfig(tc.queue); got != tc.want {
				t.Errorf("consumerConfig = %+v, want %+v", got, tc.want)
			}
		})
	}
	a := newTestApp(t)
	for _, w := range workers(t, a) {
		c, ok := deploy.ConsumerOf(w.Queue)
		if !ok || c.Function != w.Name {
			t.Errorf("worker %s of queue %s: the template's consumer is %+v", w.Name, w.Queue, c)
		}
	}
}
