package local

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/openagg/openagg/internal/platform"
)

// Layout, per queue, in top-level buckets of the shared bbolt file:
//
//	queue/<name>/messages  seq (8 bytes BE)                → record JSON
//	queue/<name>/schedule  visibleAt ns (8 BE) ‖ seq (8 BE) → empty
//	queue/<name>/dead      seq                              → record JSON
//
// The schedule index orders live messages by the time they become visible,
// then by send order, so a receive is a cursor scan from the start that
// stops at the first key in the future, and the first key tells the
// dispatcher how long to sleep.
const (
	bucketPrefix  = "queue/"
	msgsSuffix    = "/messages"
	schedSuffix   = "/schedule"
	deadSuffix    = "/dead"
	schedKeyBytes = 16
)

func bucketName(queueName, suffix string) []byte {
	return []byte(bucketPrefix + queueName + suffix)
}

// record is the stored form of a message.
type record struct {
	Seq             uint64    `json:"seq"`
	ID              string    `json:"id"`
	Type            string    `json:"type"`
	Key             string    `json:"key,omitempty"`
	Body            string    `json:"body"`
	SentAt          time.Time `json:"sentAt"`
	VisibleAt       time.Time `json:"visibleAt"`
	FirstReceivedAt time.Time `json:"firstReceivedAt,omitzero"`
	ReceiveCount    int       `json:"receiveCount,omitempty"`
	InFlight        bool      `json:"inFlight,omitempty"`
	DeadAt          time.Time `json:"deadAt,omitzero"`
	// The failures of its deliveries: the first and the last, and what the
	// last said (the handler's error, a panic, a timeout or a stopped
	// process), for the operator's `openagg dlq`.
	FirstFailedAt time.Time `json:"firstFailedAt,omitzero"`
	LastFailedAt  time.Time `json:"lastFailedAt,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
}

// maxErrorLen bounds a record's LastError.
const maxErrorLen = 1000

// failed records a failed delivery of r at now.
func (r *record) failed(now time.Time, reason string) {
	if r.FirstFailedAt.IsZero() {
		r.FirstFailedAt = now
	}
	r.LastFailedAt = now
	r.LastError = platform.Truncate(reason, maxErrorLen)
}

func (r record) message(queueName string) Message {
	return Message{
		ID: r.ID, Queue: queueName, Type: r.Type, Key: r.Key, Body: r.Body,
		SentAt: r.SentAt, VisibleAt: r.VisibleAt, FirstReceivedAt: r.FirstReceivedAt,
		ReceiveCount: r.ReceiveCount, InFlight: r.InFlight, DeadAt: r.DeadAt,
		FirstFailedAt: r.FirstFailedAt, LastFailedAt: r.LastFailedAt, LastError: r.LastError,
	}
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

func schedKey(at time.Time, seq uint64) []byte {
	ns := max(at.UnixNano(), 0)
	k := binary.BigEndian.AppendUint64(make([]byte, 0, schedKeyBytes), uint64(ns))
	return binary.BigEndian.AppendUint64(k, seq)
}

func schedTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC()
}

type buckets struct{ msgs, sched, dead *bbolt.Bucket }

// open returns the buckets of a queue in a write transaction, creating them
// on first use.
func open(tx *bbolt.Tx, queueName string) (buckets, error) {
	var bs buckets
	var err error
	if bs.msgs, err = tx.CreateBucketIfNotExists(bucketName(queueName, msgsSuffix)); err != nil {
		return bs, fmt.Errorf("bucket of %s: %w", queueName, err)
	}
	if bs.sched, err = tx.CreateBucketIfNotExists(bucketName(queueName, schedSuffix)); err != nil {
		return bs, fmt.Errorf("schedule bucket of %s: %w", queueName, err)
	}
	if bs.dead, err = tx.CreateBucketIfNotExists(bucketName(queueName, deadSuffix)); err != nil {
		return bs, fmt.Errorf("dead-letter bucket of %s: %w", queueName, err)
	}
	return bs, nil
}

func (bs buckets) put(r record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode message %s: %w", r.ID, err)
	}
	if err := bs.msgs.Put(seqKey(r.Seq), v); err != nil {
		return fmt.Errorf("store message %s: %w", r.ID, err)
	}
	if err := bs.sched.Put(schedKey(r.VisibleAt, r.Seq), nil); err != nil {
		return fmt.Errorf("schedule message %s: %w", r.ID, err)
	}
	return nil
}

func (bs buckets) get(seq uint64) (record, bool, error) {
	v := bs.msgs.Get(seqKey(seq))
	if v == nil {
		return record{}, false, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return record{}, false, fmt.Errorf("decode message #%d: %w", seq, err)
	}
	return r, true, nil
}

// unschedule removes r's current schedule entry, before r changes.
func (bs buckets) unschedule(r record) error {
	return bs.sched.Delete(schedKey(r.VisibleAt, r.Seq))
}

// bury moves an (unscheduled) message to the dead-letter list.
func (bs buckets) bury(r record, now time.Time) error {
	r.InFlight = false
	r.DeadAt = now
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode dead letter %s: %w", r.ID, err)
	}
	if err := bs.dead.Put(seqKey(r.Seq), v); err != nil {
		return fmt.Errorf("store dead letter %s: %w", r.ID, err)
	}
	return bs.msgs.Delete(seqKey(r.Seq))
}

func insert(tx *bbolt.Tx, queueName string, r record) error {
	bs, err := open(tx, queueName)
	if err != nil {
		return err
	}
	if r.Seq, err = bs.msgs.NextSequence(); err != nil {
		return fmt.Errorf("sequence of %s: %w", queueName, err)
	}
	return bs.put(r)
}

// receive takes up to n visible messages, marks them in flight until
// now+visibility and returns them. A message whose receive count already
// reached maxReceive (its earlier deliveries never finished: the process
// died with it in flight) goes to the dead-letter list instead, as SQS's
// redrive does. When nothing is visible, next is when the first message
// becomes visible (zero if the queue is empty); buried counts the messages
// moved to the dead-letter list.
func receive(tx *bbolt.Tx, queueName string, now time.Time, cfg ConsumerConfig) (batch []record, next time.Time, buried int, err error) {
	bs, err := open(tx, queueName)
	if err != nil {
		return nil, time.Time{}, 0, err
	}
	limit := schedKey(now, ^uint64(0))
	for len(batch) < cfg.BatchSize {
		// Collect first: a bbolt cursor must not see its bucket change.
		var keys [][]byte
		c := bs.sched.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < cfg.BatchSize-len(batch); k, _ = c.Next() {
			if bytes.Compare(k, limit) > 0 {
				break
			}
			keys = append(keys, bytes.Clone(k))
		}
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			if err := bs.sched.Delete(k); err != nil {
				return nil, time.Time{}, 0, fmt.Errorf("unschedule: %w", err)
			}
			r, ok, err := bs.get(binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return nil, time.Time{}, 0, err
			}
			if !ok {
				continue // index entry without a message: drop it
			}
			if r.InFlight {
				// Due again while in flight: its delivery outlived the
				// visibility timeout (a hung handler), as SQS would see it.
				r.failed(now, fmt.Sprintf("delivery %d did not finish within the visibility timeout (%s)", r.ReceiveCount, cfg.VisibilityTimeout))
			}
			if r.ReceiveCount >= cfg.MaxReceiveCount {
				if err := bs.bury(r, now); err != nil {
					return nil, time.Time{}, 0, err
				}
				buried++
				continue
			}
			r.ReceiveCount++
			if r.FirstReceivedAt.IsZero() {
				r.FirstReceivedAt = now
			}
			r.InFlight = true
			r.VisibleAt = now.Add(cfg.VisibilityTimeout)
			if err := bs.put(r); err != nil {
				return nil, time.Time{}, 0, err
			}
			batch = append(batch, r)
		}
	}
	if len(batch) == 0 {
		if k, _ := bs.sched.Cursor().First(); k != nil {
			next = schedTime(k)
		}
	}
	return batch, next, buried, nil
}

// outcome of one delivered message.
type outcome int

const (
	acked    outcome = iota // handled: delete
	failed                  // retry after backoff, or dead-letter
	released                // not the job's fault (shutdown): visible now, receive not counted
)

// settle records the outcome of a delivery. A message whose state no longer
// matches the delivery (received again meanwhile) is left alone.
func settle(tx *bbolt.Tx, queueName string, now time.Time, cfg ConsumerConfig, batch []record, outcomes []outcome, reasons []string) error {
	bs, err := open(tx, queueName)
	if err != nil {
		return err
	}
	for i, d := range batch {
		r, ok, err := bs.get(d.Seq)
		if err != nil {
			return err
		}
		if !ok || !r.InFlight || r.ReceiveCount != d.ReceiveCount {
			continue
		}
		if err := bs.unschedule(r); err != nil {
			return fmt.Errorf("unschedule %s: %w", r.ID, err)
		}
		switch outcomes[i] {
		case acked:
			if err := bs.msgs.Delete(seqKey(r.Seq)); err != nil {
				return fmt.Errorf("delete %s: %w", r.ID, err)
			}
			continue
		case released:
			r.ReceiveCount--
			r.VisibleAt = now
		case failed:
			r.failed(now, reasons[i])
			if r.ReceiveCount >= cfg.MaxReceiveCount {
				if err := bs.bury(r, now); err != nil {
					return err
				}
				continue
			}
			r.VisibleAt = now.Add(cfg.backoff(r.ReceiveCount))
		}
		r.InFlight = false
		if err := bs.put(r); err != nil {
			return err
		}
	}
	return nil
}

// resetInFlight makes every in-flight message of every queue visible now:
// at open, nothing is in flight any more.
func resetInFlight(tx *bbolt.Tx, now time.Time) error {
	var queues []string
	err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		n := string(name)
		if len(n) > len(bucketPrefix)+len(msgsSuffix) && n[:len(bucketPrefix)] == bucketPrefix && n[len(n)-len(msgsSuffix):] == msgsSuffix {
			queues = append(queues, n[len(bucketPrefix):len(n)-len(msgsSuffix)])
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, qn := range queues {
		bs, err := open(tx, qn)
		if err != nil {
			return err
		}
		var stuck []record
		err = bs.msgs.ForEach(func(_, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode message of %s: %w", qn, err)
			}
			if r.InFlight {
				stuck = append(stuck, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range stuck {
			if err := bs.unschedule(r); err != nil {
				return fmt.Errorf("unschedule %s: %w", r.ID, err)
			}
			r.failed(now, fmt.Sprintf("the process stopped during delivery %d (a crash or a kill)", r.ReceiveCount))
			r.InFlight = false
			r.VisibleAt = now
			if err := bs.put(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func redrive(tx *bbolt.Tx, queueName string, now time.Time, ids []string) (int, error) {
	if tx.Bucket(bucketName(queueName, deadSuffix)) == nil {
		return 0, nil
	}
	bs, err := open(tx, queueName)
	if err != nil {
		return 0, err
	}
	var dead []record
	err = bs.dead.ForEach(func(_, v []byte) error {
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode dead letter: %w", err)
		}
		if len(ids) == 0 || slices.Contains(ids, r.ID) {
			dead = append(dead, r)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, r := range dead {
		if err := bs.dead.Delete(seqKey(r.Seq)); err != nil {
			return 0, fmt.Errorf("delete dead letter %s: %w", r.ID, err)
		}
		r.DeadAt, r.FirstReceivedAt, r.ReceiveCount, r.InFlight, r.VisibleAt = time.Time{}, time.Time{}, 0, false, now
		r.FirstFailedAt, r.LastFailedAt, r.LastError = time.Time{}, time.Time{}, ""
		if err := bs.put(r); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
