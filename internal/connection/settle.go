package connection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
)

// JobSettle checks, without the user, that a connect session the user
// submitted to left its connection in the state the session ended in; its
// payload is a SettleJob.
const JobSettle = "connections.settle"

// SettleAfter is how long after a submit to the connect page its settle
// job first looks, by default (Config.SettleAfter,
// OPENAGG_CONNECT_SETTLE_AFTER): far longer than a submit takes, so the
// job finds the page's own recording done and does nothing, unless the
// process died between spending the token at the provider and recording
// the outcome.
const SettleAfter = time.Minute

// SettleJob names the connection a connect session belongs to (by the
// session's provider customer and bank) and the session (by its token's
// hash: the token is a bearer secret and never goes to a queue).
type SettleJob struct {
	Provider   string `json:"provider"`
	CustomerID string `json:"customerId"`
	BankCode   string `json:"bankCode"`
	TokenHash  string `json:"tokenHash"`
}

// ExpiredSessionError is the last error of a pending connection whose
// connect session ended without one: expired, cancelled or out of tries,
// with the page's own recording lost.
const ExpiredSessionError = "the connect session ended without a connection (expired, cancelled, or out of tries); create the connection again for a new connect_url"

// WatchConnect records, before the connect page lets the provider spend a
// session's one-time token (a submit of the login, the challenge answer or
// a cancel), that the session's outcome must reach its connection: it
// queues a settle job Config.SettleAfter from now. The page records the outcome
// itself right after the submit (CompleteConnect, FailConnect); the job
// repeats that from the provider's side if the process died in between,
// so a spent token never leaves a connection pending for good. A failure
// to queue is returned, and the page must then not submit.
func (s *Service) WatchConnect(ctx context.Context, o Outcome) error {
	if _, ok := s.providers[o.Provider]; !ok {
		return fmt.Errorf("watch connect session: provider %q is not configured", o.Provider)
	}
	return s.sendSettle(ctx, SettleJob{Provider: o.Provider, CustomerID: o.CustomerID, BankCode: o.BankCode, TokenHash: TokenHash(o.Token)}, s.cfg.SettleAfter)
}

func (s *Service) sendSettle(ctx context.Context, j SettleJob, delay time.Duration) error {
	key := "settle/" + j.TokenHash + "/" + platform.NewID()
	job, err := queue.NewJob(JobSettle, key, j)
	if err != nil {
		return err
	}
	if err := s.q.Send(ctx, queue.Connections, job, delay); err != nil {
		return fmt.Errorf("queue %s for bank %s: %w", JobSettle, j.BankCode, err)
	}
	return nil
}

// settle is the connections.settle worker. A connection that is no longer
// pending on this session is settled: nothing to do. Otherwise it syncs
// the connection from the provider's list, as a provider callback would
// (the sandbox's spent session left its connection active, or inactive
// with the bank's error): the pending connection becomes active (its
// import queued with the activation's run id, the one the page would have
// queued) or, once the session has expired, failed. Still pending: while
// the session can still be used the job looks again when it expires
// (within queue.MaxDelay); after that a connection the provider has
// nothing for fails with ExpiredSessionError. Every step is a version-guarded write of what the
// provider says, so a second delivery changes nothing.
func (s *Service) settle(ctx context.Context, j SettleJob) error {
	prof, rec, err := s.sessionPair(ctx, Outcome{Provider: j.Provider, CustomerID: j.CustomerID, BankCode: j.BankCode})
	if errors.Is(err, ErrUnknownSession) {
		s.log.InfoContext(ctx, "settle: no connection for the session", "provider", j.Provider, "customer", j.CustomerID, "bank", j.BankCode)
		return nil
	}
	if err != nil {
		return err
	}
	if rec == nil || rec.Status != StatusPending || rec.ConnectTokenHash != j.TokenHash {
		return nil // recorded, or a newer session took over
	}
	prov := s.providers[j.Provider]
	list, err := prov.ListConnections(ctx, j.CustomerID)
	if err != nil {
		return fmt.Errorf("settle %s/%s: list connections at %s: %w", prof.PartyID, j.BankCode, j.Provider, err)
	}
	now := s.now()
	sessionOpen := now.Before(rec.ConnectExpiresAt)
	// While the session is open, only a connection it made active is its
	// outcome: the sandbox keeps the failing bank's inactive connection
	// after every failed try, and the user may still have tries left.
	if pc, ok := sessionConnection(list, j.BankCode, rec); ok && (pc.Status == "active" || !sessionOpen) {
		next, err := s.apply(ctx, prof, j.Provider, j.BankCode, pc, false, &firstRead{rec: rec}, "")
		if err != nil {
			return fmt.Errorf("settle %s/%s: %w", prof.PartyID, j.BankCode, err)
		}
		if next.Status != StatusPending || next.ConnectTokenHash != j.TokenHash {
			s.log.InfoContext(ctx, "settle: connect outcome recorded from the provider", "party", prof.PartyID, "bank", j.BankCode, "status", next.Status)
			return nil
		}
		rec = &next
	}
	if sessionOpen {
		// The user may still be on the page: look again at expiry.
		return s.sendSettle(ctx, j, min(rec.ConnectExpiresAt.Sub(now)+time.Second, queue.MaxDelay))
	}
	var failed *Connection
	err = s.mutateFrom(ctx, rec.Key(), rec, func(c *Connection) (bool, error) {
		failed = nil
		if c.Status != StatusPending || c.ConnectTokenHash != j.TokenHash {
			return false, nil
		}
		c.Status, c.LastError = StatusFailed, ExpiredSessionError
		failed = c
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("settle %s/%s: %w", prof.PartyID, j.BankCode, err)
	}
	if failed != nil {
		s.log.InfoContext(ctx, "settle: connect session ended without a connection", "party", prof.PartyID, "bank", j.BankCode)
		s.reportChange(ctx, rec, *failed, change{})
	}
	return nil
}

// sessionConnection picks the provider connection a pending connection's
// session would have produced: the one it reconnects, else the newest at
// its bank; one the provider last changed before the session started
// cannot be its outcome.
func sessionConnection(list []provider.Connection, bankCode string, rec *Connection) (provider.Connection, bool) {
	var best provider.Connection
	found := false
	for _, pc := range list {
		switch {
		case pc.BankCode != bankCode, pc.UpdatedAt.Before(rec.ConnectStartedAt):
		case rec.ProviderConnectionID != "" && pc.ID == rec.ProviderConnectionID:
			return pc, true
		case !found || pc.CreatedAt.After(best.CreatedAt):
			best, found = pc, true
		}
	}
	return best, found
}

func decodeSettle(job queue.Job) (SettleJob, error) {
	var j SettleJob
	if err := json.Unmarshal(job.Payload, &j); err != nil || j.Provider == "" || j.CustomerID == "" || j.BankCode == "" || j.TokenHash == "" {
		return SettleJob{}, fmt.Errorf("%w: %s payload: %v", queue.ErrPoison, job.Type, err)
	}
	return j, nil
}
