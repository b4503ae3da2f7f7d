package holdings

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// Import states (ImportProgress.State).
const (
	StateQueued  = "queued"
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Checkpoint phases of a run and of one account within it.
const (
	phaseAccounts     = "accounts"     // accounts listed; not yet confirmed written
	phaseTransactions = "transactions" // accounts written; importing transactions
	phaseDone         = "done"

	accPosted  = "posted"  // paging posted transactions from Cursor
	accPending = "pending" // paging pending transactions from Cursor
	accDone    = "done"
)

// importState is the Data of the IMPORT#<bank> item: the progress that the
// connection details endpoint decodes (top-level "progress") and, beside it,
// the checkpoint of the current run.
//
// Removed marks the tombstone that RemoveConnectionData leaves in place of
// the state until the connection's removal deletes both: no job can claim a
// run against it (a conditional create fails, a version-guarded update
// too), so a job still running cannot start the import again between the
// data removal and the connection's deletion. Readers see no state.
type importState struct {
	Progress   ImportProgress `json:"progress"`
	Checkpoint Checkpoint     `json:"checkpoint"`
	Removed    bool           `json:"removed,omitempty"`
}

// Checkpoint is where an import run stands. It is written with a version
// guard (store.Update) at the start of a step (the claim) and at its end.
//
// Step is the number of the step whose job may run now; a job of an older
// step is a duplicate and does nothing. SentStep is the highest step whose
// job is known to be enqueued: a redelivered job of step Step-1 re-sends the
// continuation only when SentStep < Step (its first delivery crashed between
// the checkpoint update and the send), so duplicates never multiply.
type Checkpoint struct {
	RunID    string `json:"runId"`
	Step     int    `json:"step"`
	SentStep int    `json:"sentStep"`
	Phase    string `json:"phase,omitempty"`
	// Attempts counts the tries of the current step (reset when it ends).
	Attempts int             `json:"attempts,omitempty"`
	Accounts []AccountCursor `json:"accounts,omitempty"`
	// NewAccounts are the ids of accounts first stored by this run whose
	// AccountHook call has not succeeded yet.
	NewAccounts []string `json:"newAccounts,omitempty"`
	// Recent are the ids of the runs before this one (newest last, at most
	// maxRecentRuns): a redelivered first job of one of them is ignored
	// instead of starting that run again.
	Recent []string `json:"recent,omitempty"`
	// AccountIDs are every account this connection's imports ever stored
	// (kept across runs): RemoveConnectionData deletes them even before
	// the party's account index shows them (GSI1 is eventually consistent
	// on DynamoDB).
	AccountIDs []string `json:"accountIds,omitempty"`
	// Changes count what this run's steps logged to the party's change
	// log, Changed the accounts they concern (both as the steps ended: a
	// step that is retried after a crash may have logged more); Retried
	// says a step of the run was tried again, so the run may have logged
	// changes these miss.
	Changes      SyncCounts `json:"changes,omitzero"`
	Changed      []string   `json:"changed,omitempty"`
	Retried      bool       `json:"retried,omitempty"`
	Transactions int64      `json:"transactions"`
	Pages        int64      `json:"pages"`
	StartedAt    time.Time  `json:"startedAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
}

// AccountCursor is the position of one account in a run.
type AccountCursor struct {
	ID         string `json:"id"`
	ProviderID string `json:"providerId"`
	Phase      string `json:"phase"`
	Cursor     string `json:"cursor,omitempty"`
	// Pending collects the provider ids of the current pending transactions
	// while the pending list is paged (it may span steps).
	Pending []string `json:"pending,omitempty"`
	// Fresh: the account was first stored by this run, so the change log
	// knows none of its transactions unless this run logged them (its
	// digest buckets are not read before the first commit).
	Fresh bool `json:"fresh,omitempty"`
}

// maxRecentRuns bounds Checkpoint.Recent.
const maxRecentRuns = 10

// newRun returns the checkpoint of a new run that supersedes cp.
func newRun(cp Checkpoint, runID string, now time.Time) Checkpoint {
	recent := slices.Clone(cp.Recent)
	if cp.RunID != "" && cp.RunID != runID {
		recent = append(recent, cp.RunID)
	}
	if len(recent) > maxRecentRuns {
		recent = recent[len(recent)-maxRecentRuns:]
	}
	return Checkpoint{RunID: runID, Recent: recent, AccountIDs: slices.Clone(cp.AccountIDs), StartedAt: now}
}

// importJob is the payload of a JobImport job: the request plus the step
// number (0 for the first job, which is what a bare ImportRequest decodes to).
type importJob struct {
	ImportRequest
	Step int `json:"step,omitempty"`
}

// jobKey is the idempotency key of a step: run id and step number.
func jobKey(runID string, step int) string { return runID + "#" + strconv.Itoa(step) }

func importKey(partyID, bankCode string) store.Key {
	return store.Key{PK: PartyPK(partyID), SK: ImportSK(bankCode)}
}

// loadState reads the import state; a removal's tombstone reads as
// store.ErrNotFound.
func (s *Service) loadState(ctx context.Context, partyID, bankCode string) (importState, int64, error) {
	st, ver, err := s.loadRawState(ctx, partyID, bankCode)
	if err == nil && st.Removed {
		return importState{}, 0, fmt.Errorf("load import state of party %s at %s: removed: %w", partyID, bankCode, store.ErrNotFound)
	}
	return st, ver, err
}

// loadRawState reads the import state item as it is, tombstone included.
func (s *Service) loadRawState(ctx context.Context, partyID, bankCode string) (importState, int64, error) {
	it, err := s.store.Get(ctx, importKey(partyID, bankCode))
	if err != nil {
		return importState{}, 0, fmt.Errorf("load import state of party %s at %s: %w", partyID, bankCode, err)
	}
	var st importState
	if err := json.Unmarshal(it.Data, &st); err != nil {
		return importState{}, 0, fmt.Errorf("decode import state of party %s at %s: %w", partyID, bankCode, err)
	}
	return st, it.Version, nil
}

func (s *Service) stateItem(partyID, bankCode string, st importState, ver int64) (store.Item, error) {
	st.Checkpoint.UpdatedAt = s.clock.Now()
	data, err := json.Marshal(st)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode import state: %w", err)
	}
	k := importKey(partyID, bankCode)
	return store.Item{PK: k.PK, SK: k.SK, Version: ver, Data: data}, nil
}

// save writes st if the stored version is still ver and returns the new one.
func (s *Service) save(ctx context.Context, partyID, bankCode string, st importState, ver int64) (int64, error) {
	it, err := s.stateItem(partyID, bankCode, st, ver)
	if err != nil {
		return 0, err
	}
	v, err := s.store.Update(ctx, it)
	if err != nil {
		return 0, fmt.Errorf("save import checkpoint of party %s at %s: %w", partyID, bankCode, err)
	}
	return v, nil
}

// errConnectionGone: the run guard's item (the connection) does not exist.
var errConnectionGone = errors.New("holdings: the connection of the import does not exist")

// create writes the first state of a party's import at a bank (version 0).
// With a run guard, the connection must exist in the same transaction:
// errConnectionGone (matching store.ErrConditionFailed) when it does not.
func (s *Service) create(ctx context.Context, partyID, bankCode string, st importState) (int64, error) {
	it, err := s.stateItem(partyID, bankCode, st, 0)
	if err != nil {
		return 0, err
	}
	if s.guard == nil {
		err = s.store.Put(ctx, it, store.IfNotExists())
	} else {
		err = s.store.Transact(ctx, []store.TxOp{
			store.TxPut(it, store.IfNotExists()),
			store.TxCheck(s.guard(partyID, bankCode), store.IfExists()),
		})
		if te := (*store.TxError)(nil); errors.As(err, &te) && te.Index == 1 {
			err = fmt.Errorf("%w: %w", errConnectionGone, err)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("create import state of party %s at %s: %w", partyID, bankCode, err)
	}
	return 0, nil
}

// EnqueueImport starts an import run of a party's connection: it marks the
// progress "queued" with a fresh checkpoint (keeping the counts and time of
// the last import) and enqueues the run's first job. A run already under
// way is superseded: its next step sees another run id and stops. An empty
// req.RunID gets a new random one.
func (s *Service) EnqueueImport(ctx context.Context, req ImportRequest) error {
	if req.PartyID == "" || req.BankCode == "" || req.Provider == "" || req.ConnectionID == "" {
		return fault.Errorf(ErrInvalidImport, "an import needs a party, a bank, a provider and a connection")
	}
	if req.RunID == "" {
		req.RunID = platform.NewID()
	}
	req.Channel = cmp.Or(req.Channel, activity.ChannelOf(ctx))
	now := s.clock.Now()
	var err error
	for range 5 {
		if err = s.startRun(ctx, req, now); !errors.Is(err, store.ErrConditionFailed) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("enqueue import of party %s at %s: %w", req.PartyID, req.BankCode, err)
	}
	if err := s.send(ctx, req, 0); err != nil {
		return fmt.Errorf("enqueue import of party %s at %s: %w", req.PartyID, req.BankCode, err)
	}
	return nil
}

// startRun writes the queued state of a new run: a conditional create or a
// version-guarded update (ErrConditionFailed when another writer raced).
func (s *Service) startRun(ctx context.Context, req ImportRequest, now time.Time) error {
	st, ver, err := s.loadRawState(ctx, req.PartyID, req.BankCode)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if st.Removed {
		return fault.Errorf(ErrConnectionRemoving, "the connection of party %q to bank '%s' is being removed", req.PartyID, req.BankCode)
	}
	st.Progress.State = StateQueued
	st.Progress.LastError = ""
	st.Checkpoint = newRun(st.Checkpoint, req.RunID, now)
	it, err := s.stateItem(req.PartyID, req.BankCode, st, ver)
	if err != nil {
		return err
	}
	if exists {
		_, err = s.store.Update(ctx, it)
	} else {
		err = s.store.Put(ctx, it, store.IfNotExists())
	}
	return err
}

func (s *Service) send(ctx context.Context, req ImportRequest, step int) error {
	job, err := queue.NewJob(JobImport, jobKey(req.RunID, step), importJob{ImportRequest: req, Step: step})
	if err != nil {
		return err
	}
	if err := s.queue.Send(ctx, queue.Holdings, job, 0); err != nil {
		return fmt.Errorf("send import step %d of run %s: %w", step, req.RunID, err)
	}
	return nil
}

// HandleJob is the holdings-importer worker: it runs one step of an import
// run. A nil error acknowledges the message; an error makes the queue
// deliver it again (transient failures only).
func (s *Service) HandleJob(ctx context.Context, job queue.Job) error {
	if job.Type != JobImport {
		return fmt.Errorf("%w: holdings importer cannot handle job type %q", queue.ErrPoison, job.Type)
	}
	var j importJob
	if err := json.Unmarshal(job.Payload, &j); err != nil {
		return fmt.Errorf("%w: decode import job %s: %v", queue.ErrPoison, job.Key, err)
	}
	if j.PartyID == "" || j.BankCode == "" || j.Provider == "" || j.ConnectionID == "" || j.RunID == "" || j.Step < 0 {
		return fmt.Errorf("%w: import job %s lacks party, bank, provider, connection or run id", queue.ErrPoison, job.Key)
	}
	return s.runStep(ctx, j)
}

// claimTries bounds how often a step is claimed again after its claim
// met a checkpoint that moved without changing (see runStep).
const claimTries = 3

// errClaimLost: the claim's version-guarded write failed.
var errClaimLost = errors.New("holdings: import step claim lost")

// claimView is what a claim depends on: the run, its step, the attempts
// at it and the state. A write that changes none of them (the previous
// step recording that it sent this step's job) does not claim the step.
type claimView struct {
	exists   bool
	run      string
	step     int
	attempts int
	state    string
}

func viewOf(exists bool, st importState) claimView {
	if !exists {
		return claimView{}
	}
	cp := st.Checkpoint
	return claimView{exists: true, run: cp.RunID, step: cp.Step, attempts: cp.Attempts, state: st.Progress.State}
}

func (s *Service) runStep(ctx context.Context, j importJob) error {
	ctx = activity.WithChannel(ctx, j.Channel)
	log := s.log.With("party", j.PartyID, "bank", j.BankCode, "run", j.RunID, "step", j.Step)
	for try := 1; ; try++ {
		st, ver, err := s.loadState(ctx, j.PartyID, j.BankCode)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		cp := st.Checkpoint
		seen := viewOf(exists, st)
		switch {
		case exists && cp.RunID != j.RunID && j.Step == 0 && slices.Contains(cp.Recent, j.RunID):
			log.InfoContext(ctx, "first job of an earlier run ignored", "currentRun", cp.RunID)
			return nil
		case (!exists || cp.RunID != j.RunID) && j.Step == 0:
			// The first job of a run that was not started by EnqueueImport
			// (connection-sync sends bare ImportRequests): it starts the run,
			// superseding any other. Nothing is written before the provider
			// answered, so a late job of a removed connection (whose provider
			// connection is gone) leaves no trace.
			st.Progress.State, st.Progress.LastError = StateQueued, ""
			st.Checkpoint = newRun(cp, j.RunID, s.clock.Now())
		case !exists:
			log.InfoContext(ctx, "import job of a removed connection ignored")
			return nil
		case cp.RunID != j.RunID:
			log.InfoContext(ctx, "import job of a superseded run ignored", "currentRun", cp.RunID)
			return nil
		case st.Progress.State == StateDone || st.Progress.State == StateFailed:
			log.InfoContext(ctx, "import job of a finished run ignored", "state", st.Progress.State)
			return nil
		case j.Step == cp.Step-1:
			return s.resend(ctx, log, j, st, ver)
		case j.Step != cp.Step:
			log.InfoContext(ctx, "duplicate import job ignored", "checkpointStep", cp.Step)
			return nil
		}
		attempts := st.Checkpoint.Attempts + 1
		if reason := s.exhausted(ctx, j, st, attempts); reason != "" {
			return s.giveUp(ctx, log, j, attempts, errors.New(reason))
		}
		claimed, err := s.execute(ctx, log, j, st, ver, exists, attempts)
		if errors.Is(err, errClaimLost) {
			// Another delivery of this step (or a new run, or a removal)
			// changed the checkpoint: this one is not needed. But the
			// version also moves when the step before records that it sent
			// this job, which a consumer quick enough to get the job before
			// that write sees: then nobody claimed the step, so claim it
			// again rather than drop the import half way.
			st2, _, lerr := s.loadState(ctx, j.PartyID, j.BankCode)
			if lerr != nil && !errors.Is(lerr, store.ErrNotFound) {
				return lerr
			}
			if viewOf(lerr == nil, st2) != seen {
				log.InfoContext(ctx, "import step claimed elsewhere (or its connection is being removed); ignored")
				return nil
			}
			if try == claimTries {
				return fmt.Errorf("claim import step %d of run %s: the checkpoint kept moving: %w", j.Step, j.RunID, store.ErrConditionFailed)
			}
			log.InfoContext(ctx, "the checkpoint moved but the step is unclaimed; claiming again", "try", try)
			continue
		}
		if err == nil {
			return nil
		}
		if errors.As(err, new(continuationError)) {
			if s.lastDelivery(ctx) {
				return s.giveUp(ctx, log, importJob{ImportRequest: j.ImportRequest, Step: j.Step + 1}, 1, err)
			}
			log.WarnContext(ctx, "import step done but its continuation was not sent; the queue will redeliver it", "err", err)
			return err
		}
		permanent := isPermanent(err)
		recorded, rerr := s.recordFailure(ctx, j, attempts, err, permanent, !claimed)
		if rerr != nil {
			log.ErrorContext(ctx, "could not record import failure", "err", rerr)
		}
		if rerr == nil && !recorded && !claimed && j.Step == 0 && errors.Is(err, provider.ErrNotFound) {
			// The provider no longer knows the job's connection and no run of
			// this party and bank waits for the job: it was queued before its
			// connection was removed. Expected, and nothing was written.
			log.InfoContext(ctx, "import job of a removed connection ignored", "err", err)
			return nil
		}
		if (permanent || attempts >= s.limits.MaxAttempts) && rerr != nil {
			// Not recorded: acknowledging would leave the run "running"
			// for good. The redelivery records it (exhausted).
			return fmt.Errorf("import step %d of run %s failed (%w) and the failure could not be recorded: %w", j.Step, j.RunID, err, rerr)
		}
		if permanent || attempts >= s.limits.MaxAttempts {
			log.ErrorContext(ctx, "import failed", "attempts", attempts, "err", err)
			if recorded {
				s.reportImport(ctx, j.ImportRequest, activity.ImportFailed, ImportProgress{State: StateFailed, LastError: errorText(err)}, SyncCounts{})
			}
			return nil
		}
		log.WarnContext(ctx, "import step failed; the queue will retry it", "attempts", attempts, "err", err)
		return err
	}
}

// lastDelivery reports whether the job being handled is on the holdings
// queue's last delivery: failing it would move it to the dead-letter queue.
func (s *Service) lastDelivery(ctx context.Context) bool {
	return s.maxReceive > 0 && queue.ReceiveCount(ctx) >= s.maxReceive
}

// exhausted says why the step that j would now claim must not run again
// ("" when it may): every try MaxAttempts allows was claimed without an
// outcome (a try that returns records its error, and the failure at the
// last one; only a try that never returned, crashed, killed or timed out,
// leaves just its claim), or this is the queue's last delivery, which
// also covers tries that stopped before their claim (listing the
// accounts). A crash records nothing, so the delivery after it records the
// failure instead of running into the same crash.
func (s *Service) exhausted(ctx context.Context, j importJob, st importState, attempts int) string {
	tries := attempts - 1
	last := s.lastDelivery(ctx)
	if last {
		tries = max(tries, queue.ReceiveCount(ctx)-1)
	}
	if attempts <= s.limits.MaxAttempts && !last {
		return ""
	}
	reason := fmt.Sprintf("import step %d was tried %d times without finishing (the worker crashed, was stopped or timed out)", j.Step, tries)
	if st.Checkpoint.RunID == j.RunID && st.Progress.LastError != "" {
		reason += "; last error: " + st.Progress.LastError
	}
	return reason
}

// giveUp records that j's run failed with cause instead of trying its
// step again, and tells the activity sink. The job is acknowledged once
// the failure is recorded; until then its error makes the queue deliver
// it again.
func (s *Service) giveUp(ctx context.Context, log *slog.Logger, j importJob, attempts int, cause error) error {
	recorded, err := s.recordFailure(ctx, j, attempts, permanentError{cause}, true, true)
	if err != nil {
		return fmt.Errorf("record the failure of import step %d of run %s (%v): %w", j.Step, j.RunID, cause, err)
	}
	log.ErrorContext(ctx, "import failed: step given up", "attempts", attempts, "receiveCount", queue.ReceiveCount(ctx), "recorded", recorded, "err", cause)
	if recorded {
		s.reportImport(ctx, j.ImportRequest, activity.ImportFailed, ImportProgress{State: StateFailed, LastError: errorText(cause)}, SyncCounts{})
	}
	return nil
}

// resend handles a redelivered job of the step before the checkpoint's:
// it enqueues the continuation again unless it is known to be sent.
func (s *Service) resend(ctx context.Context, log *slog.Logger, j importJob, st importState, ver int64) error {
	if st.Checkpoint.SentStep >= st.Checkpoint.Step {
		log.InfoContext(ctx, "duplicate import job ignored", "checkpointStep", st.Checkpoint.Step)
		return nil
	}
	log.InfoContext(ctx, "re-sending the continuation of a redelivered step", "next", st.Checkpoint.Step)
	if err := s.send(ctx, j.ImportRequest, st.Checkpoint.Step); err != nil {
		if s.lastDelivery(ctx) {
			return s.giveUp(ctx, log, importJob{ImportRequest: j.ImportRequest, Step: st.Checkpoint.Step}, 1, err)
		}
		return err
	}
	st.Checkpoint.SentStep = st.Checkpoint.Step
	if _, err := s.save(ctx, j.PartyID, j.BankCode, st, ver); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return err
	}
	return nil
}

// execute runs one step: accounts (first step), then transaction pages up
// to the step's limits, then the checkpoint and the continuation.
func (s *Service) execute(ctx context.Context, log *slog.Logger, j importJob, st importState, ver int64, exists bool, attempts int) (claimed bool, err error) {
	started := time.Now()
	prov, err := s.providers(j.Provider)
	if err != nil {
		return false, permanentError{fmt.Errorf("provider %q: %w", j.Provider, err)}
	}
	cp := &st.Checkpoint
	cp.Attempts = attempts
	cp.Retried = cp.Retried || attempts > 1
	cp.SentStep = max(cp.SentStep, cp.Step) // this job exists, so it was sent

	// Accounts: listed on the first step (and again if that step is
	// retried before it ended), written after the claim below.
	var accounts []Account
	if cp.Phase == "" || cp.Phase == phaseAccounts {
		accounts, err = s.listAccounts(ctx, j.ImportRequest, prov, cp)
		if err != nil {
			return false, err
		}
		cp.Phase = phaseAccounts
		st.Progress.Accounts = len(accounts)
	}
	st.Progress.State = StateRunning
	st.Progress.Transactions = cp.Transactions

	// The claim: a version-guarded write that a concurrent delivery of the
	// same step (or a new run, or a removal) makes fail.
	if exists {
		ver, err = s.save(ctx, j.PartyID, j.BankCode, st, ver)
	} else {
		ver, err = s.create(ctx, j.PartyID, j.BankCode, st)
	}
	if errors.Is(err, errConnectionGone) {
		log.InfoContext(ctx, "import job of a removed connection ignored", "err", err)
		return false, nil
	}
	if errors.Is(err, store.ErrConditionFailed) {
		return false, errClaimLost // runStep looks at what moved
	}
	if err != nil {
		return false, err
	}
	sl := s.newSyncLog(j.PartyID)
	for _, ac := range cp.Accounts {
		if ac.Fresh {
			sl.fresh[ac.ID] = true
		}
	}
	err = s.stepBody(ctx, log, j, &st, accounts, prov, started, sl)
	if err == nil && cp.Phase == phaseDone {
		err = s.finalHook(ctx, j.ImportRequest, cp.Accounts)
	}
	if err != nil {
		return true, s.stepFailed(ctx, log, j, cp.Accounts, err)
	}
	cp.Changes = cp.Changes.Add(sl.counts)
	for _, id := range sl.changedAccounts() {
		if !slices.Contains(cp.Changed, id) {
			cp.Changed = append(cp.Changed, id)
		}
	}

	if cp.Phase == phaseDone {
		touched := cp.Accounts
		st.Progress = ImportProgress{State: StateDone, Accounts: st.Progress.Accounts, Transactions: cp.Transactions, LastImportAt: s.clock.Now()}
		cp.Attempts, cp.Accounts = 0, nil
		if _, err := s.save(ctx, j.PartyID, j.BankCode, st, ver); err != nil {
			return true, s.lostCheckpoint(ctx, log, j, touched, err)
		}
		log.InfoContext(ctx, "import done", "accounts", st.Progress.Accounts, "transactions", cp.Transactions, "pages", cp.Pages,
			"added", cp.Changes.Added, "modified", cp.Changes.Modified, "removed", cp.Changes.Removed)
		s.reportImport(ctx, j.ImportRequest, activity.ImportCompleted, st.Progress, cp.Changes)
		s.reportRunChanges(ctx, j.ImportRequest, *cp, touched)
		return true, nil
	}
	cp.Step++
	cp.Attempts = 0
	st.Progress.Transactions = cp.Transactions
	if ver, err = s.save(ctx, j.PartyID, j.BankCode, st, ver); err != nil {
		return true, s.lostCheckpoint(ctx, log, j, cp.Accounts, err)
	}
	if err := s.send(ctx, j.ImportRequest, cp.Step); err != nil {
		// The redelivery of this job sees SentStep < Step and re-sends, so
		// it must be redelivered whatever its attempt count.
		return true, continuationError{err}
	}
	cp.SentStep = cp.Step
	if _, err := s.save(ctx, j.PartyID, j.BankCode, st, ver); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		// The continuation is sent; only the bookkeeping failed, and the
		// continuation's claim records SentStep itself.
		log.WarnContext(ctx, "could not record the sent continuation", "err", err)
	}
	log.InfoContext(ctx, "import step done", "transactions", cp.Transactions, "pages", cp.Pages, "elapsed", time.Since(started))
	return true, nil
}

// stepBody writes the accounts listed by this step, calls the hook for new
// ones and pages transactions until the step's limits; it advances the
// in-memory checkpoint, which the caller saves.
func (s *Service) stepBody(ctx context.Context, log *slog.Logger, j importJob, st *importState, accounts []Account, prov provider.Provider, started time.Time, sl *syncLog) error {
	cp := &st.Checkpoint
	if cp.Phase == phaseAccounts {
		items := make([]store.Item, 0, len(accounts))
		for _, a := range accounts {
			it, err := accountItem(a)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		if err := s.store.BatchWrite(ctx, items, nil); err != nil {
			return fmt.Errorf("write accounts: %w", err)
		}
		if len(cp.NewAccounts) > 0 && s.hook != nil {
			var fresh []Account
			for _, a := range accounts {
				for _, id := range cp.NewAccounts {
					if a.ID == id {
						fresh = append(fresh, a)
					}
				}
			}
			if err := s.hook.AccountsImported(ctx, fresh); err != nil {
				return fmt.Errorf("account hook: %w", err)
			}
		}
		cp.NewAccounts = nil
		cp.Phase = phaseTransactions
	}

	buf := newWriteBuffer(s.store, sl, s.limits.FlushSize)
	pages, txs := 0, 0
	// Every step fetches at least one page, so a run always moves on.
	within := func() bool {
		return pages == 0 || pages < s.limits.MaxPages && txs < s.limits.MaxTransactions && time.Since(started) < s.limits.TimeBudget
	}
	for i := range cp.Accounts {
		ac := &cp.Accounts[i]
		for ac.Phase != accDone {
			if !within() {
				if err := buf.flush(ctx); err != nil {
					return err
				}
				return nil
			}
			pending := ac.Phase == accPending
			page, err := prov.ListTransactions(ctx, j.ConnectionID, ac.ProviderID, pending, ac.Cursor)
			if err != nil {
				return fmt.Errorf("list %s transactions of account %s: %w", ac.Phase, ac.ProviderID, err)
			}
			pages++
			cp.Pages++
			for _, pt := range page.Transactions {
				t := transactionRecord(ac.ID, pt, pending)
				it, err := txItem(t)
				if err != nil {
					// One malformed transaction must not block the import.
					log.WarnContext(ctx, "transaction skipped", "account", ac.ID, "tx", pt.ID, "err", err)
					continue
				}
				if err := buf.addTx(ctx, it, t); err != nil {
					return err
				}
				// The counterparty directory: its item rides in the same
				// buffer, once per chunk (its data derives from its id, so
				// a second copy in the chunk would change nothing).
				if c, ok := CounterpartyOf(t); ok && !buf.has(store.Key{PK: AccountPK(c.AccountID), SK: CounterpartySK(c.ID)}) {
					cit, err := counterpartyItem(c)
					if err != nil {
						log.WarnContext(ctx, "counterparty skipped", "account", ac.ID, "tx", pt.ID, "err", err)
					} else if err := buf.add(ctx, cit); err != nil {
						return err
					}
				}
				if pending {
					ac.Pending = append(ac.Pending, t.ID)
				}
				txs++
				cp.Transactions++
			}
			ac.Cursor = page.Next
			if page.Next != "" {
				continue
			}
			if !pending {
				ac.Phase = accPending
				continue
			}
			// The pending list is complete: drop what the bank booked.
			if err := buf.flush(ctx); err != nil {
				return err
			}
			if err := s.reconcilePending(ctx, ac, sl); err != nil {
				return err
			}
			ac.Phase, ac.Pending = accDone, nil
		}
	}
	if err := buf.flush(ctx); err != nil {
		return err
	}
	cp.Phase = phaseDone
	return nil
}

// finalHook tells the hook about every account of a finished run, as
// stored now (balances, pending ids): one BatchGet; then a RunHook that
// the run is finished.
func (s *Service) finalHook(ctx context.Context, req ImportRequest, cursors []AccountCursor) error {
	if s.hook == nil {
		return nil
	}
	rh, _ := s.hook.(RunHook)
	if len(cursors) == 0 {
		if rh == nil {
			return nil
		}
		return rh.ImportFinished(ctx, req, nil)
	}
	keys := make([]store.Key, len(cursors))
	for i, ac := range cursors {
		keys[i] = store.Key{PK: AccountPK(ac.ID), SK: AccountSK}
	}
	items, err := s.store.BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("load imported accounts: %w", err)
	}
	byID := make(map[string]Account, len(items))
	for _, it := range items {
		a, err := DecodeAccount(it)
		if err != nil {
			return err
		}
		byID[a.ID] = a
	}
	accounts := make([]Account, 0, len(cursors))
	for _, ac := range cursors {
		if a, ok := byID[ac.ID]; ok {
			accounts = append(accounts, a)
		}
	}
	if err := s.hook.AccountsImported(ctx, accounts); err != nil {
		return fmt.Errorf("account hook: %w", err)
	}
	if rh != nil {
		if err := rh.ImportFinished(ctx, req, accounts); err != nil {
			return fmt.Errorf("run hook: %w", err)
		}
	}
	return nil
}

// listAccounts lists the connection's accounts at the provider, keeps the
// stored PendingIDs of known ones and, on the first try of a run, records
// which ones are new; it sets the checkpoint's account cursors.
func (s *Service) listAccounts(ctx context.Context, req ImportRequest, prov provider.Provider, cp *Checkpoint) ([]Account, error) {
	listed, err := prov.ListAccounts(ctx, req.ConnectionID)
	if err != nil {
		return nil, fmt.Errorf("list accounts of connection %s: %w", req.ConnectionID, err)
	}
	now := s.clock.Now()
	accounts := make([]Account, 0, len(listed))
	keys := make([]store.Key, 0, len(listed))
	seen := map[string]bool{}
	for _, pa := range listed {
		a := accountRecord(req, pa, now)
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		accounts = append(accounts, a)
		keys = append(keys, store.Key{PK: AccountPK(a.ID), SK: AccountSK})
	}
	stored, err := s.store.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load stored accounts: %w", err)
	}
	old := make(map[string]Account, len(stored))
	for _, it := range stored {
		a, err := DecodeAccount(it)
		if err != nil {
			return nil, err
		}
		old[a.ID] = a
	}
	first := cp.Phase == ""
	if first {
		cp.NewAccounts = nil
	}
	// A retried first step finds the accounts it stored: they stay fresh.
	fresh := map[string]bool{}
	for _, ac := range cp.Accounts {
		fresh[ac.ID] = ac.Fresh
	}
	cp.Accounts = cp.Accounts[:0]
	for i := range accounts {
		a := &accounts[i]
		o, stored := old[a.ID]
		if stored {
			a.PendingIDs = o.PendingIDs
		} else if first {
			cp.NewAccounts = append(cp.NewAccounts, a.ID)
		}
		cp.Accounts = append(cp.Accounts, AccountCursor{ID: a.ID, ProviderID: a.ProviderAccountID, Phase: accPosted, Fresh: !stored || fresh[a.ID]})
		if !slices.Contains(cp.AccountIDs, a.ID) {
			cp.AccountIDs = append(cp.AccountIDs, a.ID)
		}
	}
	return accounts, nil
}

// reconcilePending deletes the stored pending transactions that the bank
// no longer lists as pending (Salt Edge books them under a new id) and
// records the current pending ids on the account: one Get, at most one
// BatchGet, one commit of the change log (the removals: before the
// deletion, so that a retry still finds what to log) and one BatchWrite.
func (s *Service) reconcilePending(ctx context.Context, ac *AccountCursor, sl *syncLog) error {
	it, err := s.store.Get(ctx, store.Key{PK: AccountPK(ac.ID), SK: AccountSK})
	if err != nil {
		return fmt.Errorf("reconcile pending transactions of account %s: %w", ac.ID, err)
	}
	acc, err := DecodeAccount(it)
	if err != nil {
		return err
	}
	current := make(map[string]bool, len(ac.Pending))
	ids := make([]string, 0, len(ac.Pending))
	for _, id := range ac.Pending {
		if !current[id] {
			current[id] = true
			ids = append(ids, id)
		}
	}
	var stale []store.Key
	for _, id := range acc.PendingIDs {
		if !current[id] {
			stale = append(stale, store.Key{PK: AccountPK(ac.ID), SK: TxSK(id)})
		}
	}
	var deletes []store.Key
	var removals []txChange
	if len(stale) > 0 {
		// A pending transaction booked under its own id was just rewritten
		// as posted by this run: only the ones still pending are stale.
		items, err := s.store.BatchGet(ctx, stale)
		if err != nil {
			return fmt.Errorf("load stale pending transactions of account %s: %w", ac.ID, err)
		}
		for _, it := range items {
			t, err := decodeTransaction(it)
			if err != nil {
				return err
			}
			if t.Status == "pending" {
				deletes = append(deletes, it.Key())
				removals = append(removals, removalOf(t))
			}
		}
	}
	if err := sl.apply(ctx, removals); err != nil {
		return fmt.Errorf("log removed pending transactions of account %s: %w", ac.ID, err)
	}
	acc.PendingIDs = ids
	accIt, err := accountItem(acc)
	if err != nil {
		return err
	}
	if err := s.store.BatchWrite(ctx, []store.Item{accIt}, deletes); err != nil {
		return fmt.Errorf("reconcile pending transactions of account %s: %w", ac.ID, err)
	}
	return nil
}

// stepFailed handles an error after the claim: if the connection was
// removed meanwhile (the import state is gone), what this step wrote is
// swept and the job ends; otherwise the error stands.
func (s *Service) stepFailed(ctx context.Context, log *slog.Logger, j importJob, touched []AccountCursor, err error) error {
	_, _, lerr := s.loadState(ctx, j.PartyID, j.BankCode)
	if !errors.Is(lerr, store.ErrNotFound) {
		return err
	}
	log.WarnContext(ctx, "connection removed during an import step; sweeping its accounts again", "err", err)
	return s.sweep(ctx, j.PartyID, touched)
}

func (s *Service) sweep(ctx context.Context, partyID string, touched []AccountCursor) error {
	sl := s.newSyncLog(partyID)
	for _, ac := range touched {
		if err := s.removeAccount(ctx, sl, ac.ID); err != nil {
			return err
		}
	}
	return nil
}

// lostCheckpoint handles a failed end-of-step write. A condition failure
// means the checkpoint changed under the step; if the connection was
// removed meanwhile, what this step wrote is swept away again (the removal
// may have run before these writes landed).
func (s *Service) lostCheckpoint(ctx context.Context, log *slog.Logger, j importJob, touched []AccountCursor, err error) error {
	if !errors.Is(err, store.ErrConditionFailed) {
		return err
	}
	_, _, lerr := s.loadState(ctx, j.PartyID, j.BankCode)
	if errors.Is(lerr, store.ErrNotFound) {
		log.WarnContext(ctx, "connection removed during an import step; sweeping its accounts again")
		return s.sweep(ctx, j.PartyID, touched)
	}
	log.InfoContext(ctx, "import checkpoint changed during the step (duplicate delivery or a new run); this delivery stops")
	return nil
}

// recordFailure stores the last error of the step (and the failed state
// when the error is permanent or the attempts are used up), unless the run
// moved on meanwhile; recorded says whether it did.
func (s *Service) recordFailure(ctx context.Context, j importJob, attempts int, cause error, permanent, mayCreate bool) (recorded bool, err error) {
	// A first job that the provider answers "unknown connection" before its
	// claim never starts a run: it is a late job of a removed connection,
	// and must neither leave an import state nor supersede the run of a
	// newer connection to the same bank.
	gone := errors.Is(cause, provider.ErrNotFound)
	for range 3 {
		st, ver, err := s.loadState(ctx, j.PartyID, j.BankCode)
		exists := err == nil
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The first step of a run started by a bare job failed before
			// its claim. Record it, unless the provider no longer knows the
			// connection.
			if !mayCreate || j.Step != 0 || gone {
				return false, nil
			}
			st.Checkpoint = newRun(Checkpoint{}, j.RunID, s.clock.Now())
		case err != nil:
			return false, err
		case st.Checkpoint.RunID != j.RunID && j.Step == 0 && mayCreate && !gone && !slices.Contains(st.Checkpoint.Recent, j.RunID):
			st.Progress.State = StateQueued
			st.Checkpoint = newRun(st.Checkpoint, j.RunID, s.clock.Now())
		}
		cp := &st.Checkpoint
		if cp.RunID != j.RunID || cp.Step != j.Step || st.Progress.State == StateDone || st.Progress.State == StateFailed {
			return false, nil
		}
		st.Progress.LastError = errorText(cause)
		cp.Attempts = max(cp.Attempts, attempts)
		st.Progress.State = StateRunning
		if permanent || attempts >= s.limits.MaxAttempts {
			st.Progress.State = StateFailed
		}
		if exists {
			_, err = s.save(ctx, j.PartyID, j.BankCode, st, ver)
		} else {
			_, err = s.create(ctx, j.PartyID, j.BankCode, st)
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return err == nil, err
		}
	}
	return false, nil
}

// continuationError: the step's checkpoint moved on but its continuation
// could not be enqueued; only a redelivery of the step can send it.
type continuationError struct{ err error }

func (e continuationError) Error() string { return "send continuation: " + e.err.Error() }
func (e continuationError) Unwrap() error { return e.err }

// permanentError marks a failure that a retry cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// isPermanent: the provider refused (unknown connection or account, invalid
// request) or the request cannot be served; anything else (provider
// unavailable, store errors, timeouts) is retried by the queue.
func isPermanent(err error) bool {
	var pe permanentError
	if errors.As(err, &pe) {
		return true
	}
	if c := fault.ClassOf(err); c != fault.Internal && c != fault.Unavailable && c != fault.Busy {
		return true // a domain's refusal: the same request fails again
	}
	// Not yet kinds: app.Provider's unknown provider and the view hook's
	// refusals are *platform.Error below 500.
	var e *platform.Error
	if errors.As(err, &e) && e.Status < 500 {
		return true
	}
	return errors.Is(err, provider.ErrNotFound) || errors.Is(err, provider.ErrInvalid) ||
		errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTooLarge)
}

// errorText is the progress's lastError: the error's text, bounded.
func errorText(err error) string {
	const maxLen = 500
	msg := err.Error()
	if e := (*platform.Error)(nil); errors.As(err, &e) {
		msg = e.Code + ": " + e.Message
	}
	if len(msg) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}
