package connection

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// Job types of queue.Connections (the connection-sync worker).
const (
	// JobLoad reads a party's connections from its providers into the
	// table; its payload is a LoadJob.
	JobLoad = "connections.load"
	// JobRefresh refreshes one connection at its provider and queues an
	// import; its payload is a RefreshJob.
	JobRefresh = "connections.refresh"
)

// LoadJob names the party to load, or a provider customer (provider
// callbacks know only that), optionally narrowed to one provider.
type LoadJob struct {
	// Channel is where the load was asked for (activity events).
	Channel    string `json:"channel,omitempty"`
	PartyID    string `json:"partyId,omitempty"`
	Provider   string `json:"provider,omitempty"`
	CustomerID string `json:"customerId,omitempty"`
	// ConnectionID is the provider connection a callback was about.
	ConnectionID string `json:"connectionId,omitempty"`
	// The callback's facts about ConnectionID (see Callback).
	Kind        string    `json:"kind,omitempty"`
	Stage       string    `json:"stage,omitempty"`
	Final       bool      `json:"final,omitempty"`
	StopReason  string    `json:"stopReason,omitempty"`
	Error       string    `json:"error,omitempty"`
	SentAt      time.Time `json:"sentAt,omitzero"`
	CallbackKey string    `json:"callbackKey,omitempty"`
}

// Callback is what a provider's callback says, in the port's terms (the
// API layer reads the provider's wire format).
type Callback struct {
	Provider     string
	Kind         string // the provider's callback kind (Salt Edge: success, fail, notify, destroy, service)
	CustomerID   string
	ConnectionID string
	Stage        string
	// Final: the provider finished fetching ConnectionID's data (Salt Edge:
	// the success callback of the last stage), so an import of the
	// connection now reads all of it. Intermediate callbacks only sync the
	// connection's state.
	Final bool
	// StopReason: the connection stopped for a reason a reconnect renews
	// (provider.StopConsentExpired, provider.StopConsentRevoked).
	StopReason string
	// Error is the provider's error class and message, if any.
	Error  string
	SentAt time.Time
	// Key identifies the callback: a duplicate or a replay has the same
	// key, so it is one unit of work and one import run.
	Key string
}

// Refresh reasons.
const (
	ReasonManual    = "manual"
	ReasonScheduled = "scheduled"
)

// RefreshJob names the connection to refresh.
type RefreshJob struct {
	PartyID  string `json:"partyId"`
	BankCode string `json:"bankCode"`
	Reason   string `json:"reason"`
	// Due is the scheduled time (scheduled refreshes): a refresh made at or
	// after it already satisfies the job.
	Due time.Time `json:"due,omitzero"`
	// RequestedAt is when a manual refresh was asked for.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// Channel is where the refresh was asked for (activity events).
	Channel string `json:"channel,omitempty"`
}

func (s *Service) sendLoad(ctx context.Context, j LoadJob, key string) error {
	j.Channel = cmp.Or(j.Channel, activity.ChannelOf(ctx))
	job, err := queue.NewJob(JobLoad, key, j)
	if err != nil {
		return err
	}
	if err := s.q.Send(ctx, queue.Connections, job, 0); err != nil {
		return fmt.Errorf("queue %s %s: %w", JobLoad, key, err)
	}
	return nil
}

func (s *Service) sendRefresh(ctx context.Context, j RefreshJob, key string) error {
	j.Channel = cmp.Or(j.Channel, activity.ChannelOf(ctx))
	job, err := queue.NewJob(JobRefresh, key, j)
	if err != nil {
		return err
	}
	if err := s.q.Send(ctx, queue.Connections, job, 0); err != nil {
		return fmt.Errorf("queue %s %s: %w", JobRefresh, key, err)
	}
	return nil
}

// QueueCallback queues the connection sync a provider callback asks for:
// the sync reads the customer's connections at the provider, applies them,
// and, for a final callback, queues an import of the connection it names
// (run id from the callback's key). The key makes a callback delivered
// twice one unit of work and one import run; the sync is idempotent anyway.
func (s *Service) QueueCallback(ctx context.Context, cb Callback) error {
	if cb.CustomerID == "" {
		return fault.Errorf(ErrInvalidRequest, "callback data.customer_id is required")
	}
	key := "callback/" + platform.DeterministicID(cb.Provider, cb.Key)
	return s.sendLoad(ctx, LoadJob{Provider: cb.Provider, CustomerID: cb.CustomerID, ConnectionID: cb.ConnectionID,
		Kind: cb.Kind, Stage: cb.Stage, Final: cb.Final, StopReason: cb.StopReason, Error: cb.Error, SentAt: cb.SentAt.UTC(),
		CallbackKey: cb.Key}, key)
}

// newConnectionImportDelay delays the import of a connection that a sync
// discovers (one OpenAgg has no record of): its job is queued before the
// record is written, and the importer starts a run only once the
// connection exists (holdings.Config.RunGuard), so the job waits for the
// write to land. A job that still finds no connection writes nothing.
const newConnectionImportDelay = 3 * time.Second

// queueImport sends the holdings import of c's provider connection. The
// key (party, bank, run id) makes a resend of the same run a no-op.
func (s *Service) queueImport(ctx context.Context, c Connection, runID string, delay time.Duration) error {
	req := c.importRequest(ctx, runID)
	key := c.PartyID + "/" + c.BankCode + "/" + runID
	job, err := queue.NewJob(holdings.JobImport, key, req)
	if err != nil {
		return err
	}
	if err := s.q.Send(ctx, queue.Holdings, job, delay); err != nil {
		return fmt.Errorf("queue import %s: %w", key, err)
	}
	return nil
}

// HandleJob is the connection-sync worker's handler (queue.Connections).
func (s *Service) HandleJob(ctx context.Context, job queue.Job) error {
	switch job.Type {
	case JobLoad:
		var j LoadJob
		if err := json.Unmarshal(job.Payload, &j); err != nil {
			return fmt.Errorf("%w: %s payload: %v", queue.ErrPoison, job.Type, err)
		}
		return s.load(activity.WithChannel(ctx, j.Channel), j)
	case JobRefresh:
		var j RefreshJob
		if err := json.Unmarshal(job.Payload, &j); err != nil || j.PartyID == "" || j.BankCode == "" {
			return fmt.Errorf("%w: %s payload: %v", queue.ErrPoison, job.Type, err)
		}
		return s.refresh(activity.WithChannel(ctx, j.Channel), job.Key, j)
	case JobSettle:
		j, err := decodeSettle(job)
		if err != nil {
			return err
		}
		return s.settle(ctx, j)
	}
	return fmt.Errorf("%w: unknown job type %q", queue.ErrPoison, job.Type)
}

// partition reads the party's profile and connections (one query).
func (s *Service) partition(ctx context.Context, partyID string) (*party.Profile, map[string]Connection, error) {
	conns := map[string]Connection{}
	var prof *party.Profile
	q := store.Query{PK: holdings.PartyPK(partyID)}
	for {
		page, err := s.st.Query(ctx, q)
		if err != nil {
			return nil, nil, fmt.Errorf("read party %s: %w", partyID, err)
		}
		for _, it := range page.Items {
			if it.SK == party.ProfileSK {
				pr, err := party.Decode(it)
				if err != nil {
					return nil, nil, err
				}
				prof = &pr
				continue
			}
			if code, ok := bankOfSK(it.SK); ok {
				c, err := Decode(it)
				if err != nil {
					return nil, nil, err
				}
				conns[code] = c
			}
		}
		if page.Next == "" {
			return prof, conns, nil
		}
		q.Token = page.Next
	}
}

// load reconciles the party's connections with what its providers list.
func (s *Service) load(ctx context.Context, j LoadJob) error {
	partyID := j.PartyID
	if partyID == "" {
		if j.Provider == "" || j.CustomerID == "" {
			return fmt.Errorf("%w: load job names neither a party nor a customer", queue.ErrPoison)
		}
		id, err := party.PartyOfCustomer(ctx, s.st, j.Provider, j.CustomerID)
		if errors.Is(err, store.ErrNotFound) {
			// Not ours (another app's customer) or a profile whose creation
			// failed: nothing to sync, and retrying will not change that.
			s.log.WarnContext(ctx, "load: unknown provider customer", "provider", j.Provider, "customer", j.CustomerID)
			return nil
		}
		if err != nil {
			return err
		}
		partyID = id
	}
	prof, conns, err := s.partition(ctx, partyID)
	if err != nil {
		return err
	}
	if prof == nil {
		s.log.WarnContext(ctx, "load: no profile", "party", partyID)
		return nil
	}
	var errs []error
	for provName, customerID := range prof.Customers {
		if j.Provider != "" && provName != j.Provider {
			continue
		}
		prov, ok := s.providers[provName]
		if !ok {
			s.log.WarnContext(ctx, "load: provider not configured", "party", partyID, "provider", provName)
			continue
		}
		list, err := prov.ListConnections(ctx, customerID)
		if err != nil {
			errs = append(errs, fmt.Errorf("list connections of party %s at %s: %w", partyID, provName, err))
			continue
		}
		if err := s.syncProvider(ctx, *prof, provName, list, conns, j); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncProvider applies one provider's list of connections to the stored
// connections of that provider; j's callback facts apply to the connection
// it names.
func (s *Service) syncProvider(ctx context.Context, prof party.Profile, provName string, list []provider.Connection, stored map[string]Connection, j LoadJob) error {
	byBank := map[string]provider.Connection{}
	listed := map[string]bool{}
	for _, pc := range list {
		listed[pc.ID] = true
		if pc.BankCode == "" {
			continue
		}
		cur, seen := byBank[pc.BankCode]
		rec, has := stored[pc.BankCode]
		switch {
		case !seen:
			byBank[pc.BankCode] = pc
		case has && rec.ProviderConnectionID == pc.ID:
			byBank[pc.BankCode] = pc // the one we know wins
		case has && rec.ProviderConnectionID == cur.ID:
		case pc.CreatedAt.After(cur.CreatedAt):
			byBank[pc.BankCode] = pc // else the newest
		}
	}
	var errs []error
	for code, pc := range byBank {
		if rec, has := stored[code]; has && rec.Provider != provName {
			continue // the party's connection to this bank is at another provider
		}
		first := &firstRead{} // the partition query just read every connection
		if rec, has := stored[code]; has {
			first.rec = &rec
		}
		importRun := ""
		if j.ConnectionID != "" && j.ConnectionID == pc.ID {
			pc = j.overlay(pc, first.rec)
			if j.Final {
				importRun = platform.DeterministicID("callback", provName, j.CallbackKey)[:20]
			}
		}
		if _, err := s.apply(ctx, prof, provName, code, pc, false, first, importRun); err != nil {
			errs = append(errs, err)
		}
	}
	// Connections the provider no longer lists were deleted there.
	for code, rec := range stored {
		if rec.Provider != provName || rec.ProviderConnectionID == "" || listed[rec.ProviderConnectionID] {
			continue
		}
		if _, ok := byBank[code]; ok {
			continue
		}
		switch rec.Status {
		case StatusPending, StatusRemoving, StatusRemoved:
			continue
		}
		var gone *Connection
		if err := s.mutateFrom(ctx, rec.Key(), &rec, func(c *Connection) (bool, error) {
			gone = nil
			if c.Provider != provName || c.ProviderConnectionID != rec.ProviderConnectionID || c.Status == StatusPending || c.Status == StatusRemoving || c.Status == StatusRemoved {
				return false, nil
			}
			c.Status = StatusRemoved
			c.ProviderStatus = ""
			c.NextRefresh = time.Time{}
			c.LastError = fmt.Sprintf("provider %s no longer knows connection %s", provName, rec.ProviderConnectionID)
			gone = c
			return true, nil
		}); err != nil {
			errs = append(errs, err)
		} else if gone != nil {
			s.reportChange(ctx, &rec, *gone, change{})
		}
	}
	return errors.Join(errs...)
}

// overlay applies what the callback says of pc over what the provider's
// list says: an ended consent stops the connection even if the list, read
// a moment later, still shows it active — unless the callback predates the
// connect session the stored connection waits for or went through (a late
// or replayed callback of the consent a reconnect replaced).
func (j LoadJob) overlay(pc provider.Connection, rec *Connection) provider.Connection {
	if j.StopReason == "" || (rec != nil && !j.SentAt.IsZero() && j.SentAt.Before(rec.ConnectStartedAt)) {
		return pc
	}
	if pc.Status == "active" {
		pc.Status = "inactive"
	}
	pc.Fetching = false
	pc.StopReason = j.StopReason
	if j.Error != "" {
		pc.LastError = j.Error
	}
	return pc
}

// mutateAttempts bounds the read-modify-write retries of one change.
const mutateAttempts = 4

// mutate applies fn to the stored connection and writes it back
// version-guarded when fn reports a change, re-reading on a concurrent
// write. A missing connection is left alone (nil).
func (s *Service) mutate(ctx context.Context, k store.Key, fn func(c *Connection) (bool, error)) error {
	return s.mutateFrom(ctx, k, nil, fn)
}

// mutateFrom is mutate whose first attempt starts from first, the
// connection as the caller just read it (with its version), instead of a
// Get; nil reads it. A stale first fails the version guard and is re-read.
func (s *Service) mutateFrom(ctx context.Context, k store.Key, first *Connection, fn func(c *Connection) (bool, error)) error {
	for range mutateAttempts {
		var c Connection
		if first != nil {
			c, first = *first, nil
		} else {
			it, err := s.st.Get(ctx, k)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read connection %s: %w", k, err)
			}
			if c, err = Decode(it); err != nil {
				return err
			}
		}
		changed, err := fn(&c)
		if err != nil || !changed {
			return err
		}
		c.UpdatedAt = s.now()
		nit, err := c.Item()
		if err != nil {
			return err
		}
		if _, err = s.st.Update(ctx, nit); err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return fmt.Errorf("update connection %s: %w", k, err)
		}
	}
	return fmt.Errorf("update connection %s: %d concurrent writes: %w", k, mutateAttempts, store.ErrConditionFailed)
}

// firstRead is the stored connection as the caller just read it (rec nil:
// there is none), so that apply's first attempt needs no Get of its own.
type firstRead struct{ rec *Connection }

// apply upserts the connection of prof's party at bankCode from the
// provider's connection pc, version-guarded, and queues an import of it:
// as run importRun (a final callback: the provider finished fetching) when
// the connection is active, or when it becomes active with its data
// already fetched (pc.Fetching false: a synchronous provider; an
// asynchronous one imports with its final callback instead, since the data
// is not there yet). fromConnect says that the user just completed a
// connect session for pc (the hosted page), so a pending connection is
// activated whatever the provider's timestamps say. first, when not nil,
// stands for the first Get (a stale one fails the version guard and the
// next attempt reads again).
func (s *Service) apply(ctx context.Context, prof party.Profile, provName, bankCode string, pc provider.Connection, fromConnect bool, first *firstRead, importRun string) (Connection, error) {
	k := Key(prof.PartyID, bankCode)
	for range mutateAttempts {
		var rec *Connection
		if first != nil {
			rec, first = first.rec, nil
		} else {
			it, err := s.st.Get(ctx, k)
			switch {
			case err == nil:
				c, err := Decode(it)
				if err != nil {
					return Connection{}, err
				}
				rec = &c
			case !errors.Is(err, store.ErrNotFound):
				return Connection{}, fmt.Errorf("read connection %s: %w", k, err)
			}
		}
		now := s.now()
		next, activated, changed := reconcile(rec, prof, provName, bankCode, pc, now, s.cfg.RefreshEvery, fromConnect)
		actID := activationID(next)
		runID := ""
		switch {
		case next.Status != StatusActive || next.ProviderConnectionID == "":
		case importRun != "":
			runID = importRun
		case activated && !pc.Fetching:
			runID = actID
		}
		queued := false
		if runID != "" && runID != next.ImportRunID {
			// Queue first: a crash before the write replays this whole
			// transition with the same run id, so the import is never lost
			// and never doubled. A run already queued (the same callback
			// again) is not queued twice.
			delay := time.Duration(0)
			if rec == nil {
				delay = newConnectionImportDelay
			}
			if err := s.queueImport(ctx, next, runID, delay); err != nil {
				return Connection{}, err
			}
			next.ImportQueuedAt, next.ImportRunID = now, runID
			changed, queued = true, true
			if importRun != "" {
				// The provider just refreshed the data (its own daily
				// refresh, or one asked for): the daily refresh here is due
				// a period from now, a backstop for when the provider's
				// does not come.
				next.LastRefreshAt = now
				if next.DailyRefresh {
					next.NextRefresh = now.Add(s.cfg.RefreshEvery)
				}
			}
		}
		if !changed {
			return next, nil
		}
		ch := change{activated: activated, activationID: actID, imported: queued}
		next.UpdatedAt = now
		if rec == nil {
			next.Version = 1
			nit, err := next.Item()
			if err != nil {
				return Connection{}, err
			}
			err = s.st.Put(ctx, nit, store.IfNotExists())
			if err == nil {
				s.reportChange(ctx, rec, next, ch)
				return next, nil
			}
			if !errors.Is(err, store.ErrConditionFailed) {
				return Connection{}, fmt.Errorf("create connection %s: %w", k, err)
			}
			continue
		}
		nit, err := next.Item()
		if err != nil {
			return Connection{}, err
		}
		v, err := s.st.Update(ctx, nit)
		if err == nil {
			next.Version = v
			if activated {
				s.log.InfoContext(ctx, "connection active", "party", next.PartyID, "bank", next.BankCode, "connection", next.ProviderConnectionID)
			}
			s.reportChange(ctx, rec, next, ch)
			return next, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return Connection{}, fmt.Errorf("update connection %s: %w", k, err)
		}
	}
	return Connection{}, fmt.Errorf("apply provider connection to %s: %d concurrent writes: %w", k, mutateAttempts, store.ErrConditionFailed)
}

// activationID identifies one activation of c: its provider connection
// through its connect session (the run id of the import it queues, and the
// key of its activity event).
func activationID(c Connection) string {
	return platform.DeterministicID("activate", c.PartyID, c.BankCode, c.ProviderConnectionID, c.ConnectTokenHash)[:20]
}

// reconcile computes the connection after the provider reported pc. It is
// pure: same inputs, same answer, so a repeated sync changes nothing.
func reconcile(rec *Connection, prof party.Profile, provName, bankCode string, pc provider.Connection, now time.Time, every time.Duration, fromConnect bool) (next Connection, activated, changed bool) {
	if rec == nil {
		created := pc.CreatedAt.UTC()
		if created.IsZero() {
			created = now
		}
		next = Connection{PartyID: prof.PartyID, BankCode: bankCode, CreatedAt: created,
			OwnerSub: prof.OwnerSub, OwnerName: prof.OwnerName, Identifier: prof.Identifier}
	} else {
		next = *rec
		if rec.Status == StatusRemoving {
			return next, false, false
		}
		// A pending connection waits for its connect session: the
		// provider's state of the same connection from before the session
		// says nothing about it — nor does its failure of an attempt that
		// started before the session (a reconnect of a connection whose
		// consent ended is inactive until the user finishes).
		if rec.Status == StatusPending && !fromConnect && pc.ID == rec.ProviderConnectionID {
			stale := !pc.UpdatedAt.After(rec.ConnectStartedAt) ||
				(pc.Status != "active" && !pc.AttemptAt.IsZero() && pc.AttemptAt.Before(rec.ConnectStartedAt))
			if stale {
				return next, false, false
			}
		}
	}
	next.Provider = provName
	if pc.CustomerID != "" {
		next.CustomerID = pc.CustomerID
	}
	if pc.BankName != "" {
		next.BankName = pc.BankName
	}
	if pc.CountryCode != "" {
		next.Country = pc.CountryCode
	}
	next.ProviderConnectionID = pc.ID
	next.ProviderStatus = pc.Status
	next.DailyRefresh = pc.DailyRefresh
	next.NextRefreshPossibleAt = pc.NextRefreshPossibleAt.UTC()

	var status Status
	switch {
	case fromConnect, pc.Status == "active":
		status = StatusActive
	case pc.LastError != "" && rec != nil && (rec.Status == StatusPending || rec.Status == StatusFailed):
		status = StatusFailed // the connect attempt failed
	default:
		status = StatusInactive // inactive or disabled at the provider: reconnect needed
	}
	activated = status == StatusActive && (rec == nil || rec.Status != StatusActive || rec.ProviderConnectionID != pc.ID)
	next.Status = status
	next.StopReason = ""
	switch {
	case status != StatusActive:
		next.NextRefresh = time.Time{}
		next.LastError = pc.LastError
		next.StopReason = pc.StopReason
	case !next.DailyRefresh:
		next.NextRefresh = time.Time{}
		next.LastError = ""
	default:
		next.LastError = ""
		if activated || next.NextRefresh.IsZero() {
			next.NextRefresh = now.Add(every)
		}
	}
	if rec == nil {
		return next, activated, true
	}
	a, _ := json.Marshal(rec)
	b, _ := json.Marshal(next)
	return next, activated, !bytes.Equal(a, b)
}
