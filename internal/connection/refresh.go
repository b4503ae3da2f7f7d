package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// refresh is the connections.refresh worker: refresh the connection at its
// provider and record the outcome. A provider that fetches synchronously
// has the fresh data at once: its import is queued here. One that only
// starts a fetch (Salt Edge; the connection answered says Fetching) tells
// when the data is complete with its final callback, which queues the
// import (QueueCallback): an import now would read the old data. A second
// delivery of the same job (same key), or a scheduled job whose due time an
// earlier refresh already covered, does nothing.
func (s *Service) refresh(ctx context.Context, jobKey string, j RefreshJob) error {
	k := Key(j.PartyID, j.BankCode)
	it, err := s.st.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil // removed since the job was queued
	}
	if err != nil {
		return fmt.Errorf("refresh %s: read connection: %w", k, err)
	}
	c, err := Decode(it)
	if err != nil {
		return err
	}
	switch {
	case c.Status != StatusActive || c.ProviderConnectionID == "":
		s.log.InfoContext(ctx, "refresh skipped: connection not active", "party", j.PartyID, "bank", j.BankCode, "status", c.Status)
		return nil
	case c.LastJob == jobKey:
		return nil
	case j.Reason == ReasonScheduled && !c.LastRefreshAt.IsZero() && !c.LastRefreshAt.Before(j.Due):
		return nil
	}
	prov, ok := s.providers[c.Provider]
	if !ok {
		return fmt.Errorf("%w: refresh %s: provider %q is not configured", queue.ErrPoison, k, c.Provider)
	}
	connID := c.ProviderConnectionID
	pc, err := prov.RefreshConnection(ctx, connID)
	now := s.now()
	switch {
	case errors.Is(err, provider.ErrTooEarly):
		// The provider refreshed it recently on its own: nothing newer to
		// import. Remember the job so a redelivery stops here, and the
		// provider's next possible refresh when it said it.
		var early *provider.TooEarlyError
		errors.As(err, &early)
		return s.mutate(ctx, k, func(c *Connection) (bool, error) {
			if c.ProviderConnectionID != connID {
				return false, nil
			}
			c.LastJob = jobKey
			if early != nil && early.At.After(c.NextRefreshPossibleAt) {
				c.NextRefreshPossibleAt = early.At.UTC()
			}
			return true, nil
		})
	case provider.StopReasonOf(err) != "":
		// The consent ended: only the user can renew it (connecting again
		// makes a reconnect session).
		var stopped *Connection
		reason, refusal := provider.StopReasonOf(err), "refresh refused: "+err.Error()
		err := s.mutate(ctx, k, func(c *Connection) (bool, error) {
			stopped = nil
			if c.ProviderConnectionID != connID || c.Status == StatusRemoving {
				return false, nil
			}
			c.Status, c.StopReason, c.NextRefresh, c.LastJob = StatusInactive, reason, time.Time{}, jobKey
			c.LastError = platform.Truncate(refusal, 500)
			stopped = c
			return true, nil
		})
		if err == nil && stopped != nil {
			s.reportChange(ctx, &c, *stopped, change{})
		}
		return err
	case errors.Is(err, provider.ErrNotFound):
		var gone *Connection
		err := s.mutate(ctx, k, func(c *Connection) (bool, error) {
			gone = nil
			if c.ProviderConnectionID != connID || c.Status == StatusRemoving {
				return false, nil
			}
			c.Status, c.ProviderStatus, c.NextRefresh, c.LastJob = StatusRemoved, "", time.Time{}, jobKey
			c.LastError = fmt.Sprintf("provider %s no longer knows connection %s", c.Provider, connID)
			gone = c
			return true, nil
		})
		if err == nil && gone != nil {
			s.reportChange(ctx, &c, *gone, change{})
		}
		return err
	case errors.Is(err, provider.ErrInvalid):
		return s.mutate(ctx, k, func(c *Connection) (bool, error) {
			if c.ProviderConnectionID != connID {
				return false, nil
			}
			c.LastJob, c.LastError = jobKey, "refresh refused: "+err.Error()
			return true, nil
		})
	case err != nil:
		return fmt.Errorf("refresh %s at %s: %w", k, prov.Name(), err) // retried by the queue
	}

	active := pc.Status == "active"
	runID := ""
	if active && !pc.Fetching {
		// Queued before the connection is updated, with a run id derived
		// from the job: a crash in between replays the same import job.
		runID = platform.DeterministicID("refresh", jobKey)[:20]
		if err := s.queueImport(ctx, c, runID, 0); err != nil {
			return err
		}
	}
	var done *Connection
	err = s.mutate(ctx, k, func(c *Connection) (bool, error) {
		done = nil
		if c.ProviderConnectionID != connID || c.Status == StatusRemoving {
			return false, nil
		}
		done = c
		c.LastJob = jobKey
		c.LastRefreshAt = now
		c.ProviderStatus = pc.Status
		c.NextRefreshPossibleAt = pc.NextRefreshPossibleAt.UTC()
		if active {
			c.LastError, c.StopReason = "", ""
			if runID != "" {
				c.ImportQueuedAt, c.ImportRunID = now, runID
			}
			if c.DailyRefresh && c.NextRefresh.IsZero() {
				c.NextRefresh = now.Add(s.cfg.RefreshEvery)
			}
		} else {
			c.Status, c.NextRefresh, c.LastError, c.StopReason = StatusInactive, time.Time{}, pc.LastError, pc.StopReason
		}
		return true, nil
	})
	if err == nil && done != nil {
		s.reportRefresh(ctx, jobKey, *done, c.LastRefreshAt, now, runID != "")
	}
	return err
}

// RefreshDue queues a refresh of every connection whose daily refresh is
// due at now and moves its next refresh one period ahead. It reads the
// refresh index (GSI1 partitions REFRESH#0..9, sort key range up to now),
// never the table. Each job's key names the connection and its due time, so
// a connection queued twice (a run that died before advancing it, or an
// index read lagging a write) is refreshed once. It is the
// refresh-scheduler function's handler and the tick of `openagg serve`.
func (s *Service) RefreshDue(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	queued := 0
	var errs []error
	for shard := range RefreshShards {
		n, err := s.refreshShard(ctx, shard, now)
		queued += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if queued > 0 {
		s.log.InfoContext(ctx, "scheduled refreshes queued", "count", queued)
	}
	return queued, errors.Join(errs...)
}

// schedulePage is the page size of the refresh index reads.
const schedulePage = 100

func (s *Service) refreshShard(ctx context.Context, shard int, now time.Time) (int, error) {
	q := store.Query{Index: store.IndexGSI1, PK: RefreshGSI1PK(shard), To: refreshUpTo(now), Limit: schedulePage}
	queued := 0
	for queued < s.cfg.MaxScheduledPerShard {
		page, err := s.st.Query(ctx, q)
		if err != nil {
			return queued, fmt.Errorf("read refresh shard %d: %w", shard, err)
		}
		for _, it := range page.Items {
			c, err := Decode(it)
			if err != nil {
				return queued, err
			}
			if !c.dueForRefresh() || c.NextRefresh.After(now) {
				continue // the index lags a write that already moved it
			}
			due := c.NextRefresh
			key := fmt.Sprintf("scheduled/%s/%s/%s", c.PartyID, c.BankCode, due.Format(time.RFC3339))
			if err := s.sendRefresh(ctx, RefreshJob{PartyID: c.PartyID, BankCode: c.BankCode, Reason: ReasonScheduled, Due: due}, key); err != nil {
				return queued, err
			}
			queued++
			next := due.Add(s.cfg.RefreshEvery)
			if !next.After(now) {
				next = now.Add(s.cfg.RefreshEvery) // missed days are not caught up one by one
			}
			c.NextRefresh = next
			c.UpdatedAt = now
			nit, err := c.Item()
			if err != nil {
				return queued, err
			}
			if _, err := s.st.Update(ctx, nit); err != nil && !errors.Is(err, store.ErrConditionFailed) {
				return queued, fmt.Errorf("advance next refresh of %s: %w", c.Key(), err)
			}
			// A concurrent write (the worker, a manual refresh) wins; if it
			// left the connection due, the next run queues the same key.
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	return queued, nil
}
