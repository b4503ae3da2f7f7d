package local_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/queue/local"
)

func benchJob(b *testing.B) queue.Job {
	job, err := queue.NewJob("holdings.import", "acc-0123456789", map[string]any{"connection": "conn-1", "account": "acc-0123456789", "page": 3})
	if err != nil {
		b.Fatal(err)
	}
	return job
}

func reportJobsPerSecond(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkSend is one producer sending one job at a time: one committed
// (fsynced) write transaction per job.
func BenchmarkSend(b *testing.B) {
	q := newQueue(b, openDB(b, filepath.Join(b.TempDir(), "q.db")), local.Options{})
	job := benchJob(b)
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if err := q.Send(ctx, queue.Holdings, job, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportJobsPerSecond(b, start)
}

// BenchmarkSendParallel is many producers (API requests) at once: group
// commit puts their jobs in shared transactions.
func BenchmarkSendParallel(b *testing.B) {
	q := newQueue(b, openDB(b, filepath.Join(b.TempDir(), "q.db")), local.Options{})
	job := benchJob(b)
	ctx := context.Background()
	b.SetParallelism(16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Send(ctx, queue.Holdings, job, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportJobsPerSecond(b, start)
}

// BenchmarkDelivery is end to end: producers send b.N jobs while Run
// delivers them in batches of 10 to a handler that decodes each job.
func BenchmarkDelivery(b *testing.B) {
	q := newQueue(b, openDB(b, filepath.Join(b.TempDir(), "q.db")), local.Options{})
	job := benchJob(b)
	var handled atomic.Int64
	all := make(chan struct{})
	total := int64(b.N)
	consumer := queue.Consumer(slog.New(slog.DiscardHandler), func(ctx context.Context, job queue.Job) error {
		if handled.Add(1) == total {
			close(all)
		}
		return nil
	})
	q.Register(queue.Holdings, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return consumer(ctx, ev)
	}, local.ConsumerConfig{BatchSize: 10})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Send(ctx, queue.Holdings, job, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	<-all
	reportJobsPerSecond(b, start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
