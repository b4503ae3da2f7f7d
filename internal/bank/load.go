package bank

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// LoadPayload is the payload of a directory.load job: load the page at
// Cursor ("" = first page) of Provider's directory for load LoadID.
type LoadPayload struct {
	Provider string `json:"provider"`
	LoadID   string `json:"loadId"`
	Cursor   string `json:"cursor"`
}

// LoadState is the progress of a provider's latest load (one item per
// provider). The worker only processes the page the state expects, which
// turns a redelivered or duplicated job into a no-op and lets a new load
// supersede one still running.
type LoadState struct {
	Provider string `json:"provider"`
	LoadID   string `json:"loadId"`
	// Cursor is the next page to load; meaningless once Done.
	Cursor      string    `json:"cursor"`
	Done        bool      `json:"done"`
	Pages       int       `json:"pages"`
	Banks       int       `json:"banks"`       // banks listed by the provider so far
	Written     int       `json:"written"`     // bank records created or changed
	Inactivated int       `json:"inactivated"` // banks no longer listed, marked inactive
	StartedAt   time.Time `json:"startedAt"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`

	Version int64 `json:"-"`
}

// startAttempts bounds StartLoad's retries against a concurrent StartLoad
// or worker moving a load state between its read and its write.
const startAttempts = 3

// StartLoad starts a load of every configured provider's directory: it
// records a new load id in each provider's load state (one BatchGet, one
// transaction) and enqueues the first page job of each provider on
// queue.Directory. A load still running is superseded: its remaining jobs
// find another load id in the state and stop. It returns the load id.
func (s *Service) StartLoad(ctx context.Context) (string, error) {
	if s.queue == nil {
		return "", errors.New("start directory load: no queue configured")
	}
	if len(s.providers) == 0 {
		return "", errors.New("start directory load: no provider configured")
	}
	now := s.clock.Now().UTC()
	keys := make([]store.Key, len(s.providers))
	for i, p := range s.providers {
		keys[i] = loadKey(p.Name())
	}
	var loadID string
	var err error
	for range startAttempts {
		var items []store.Item
		items, err = s.store.BatchGet(ctx, keys)
		if err != nil {
			return "", fmt.Errorf("start directory load: read load states: %w", err)
		}
		versions := make(map[store.Key]int64, len(items))
		latest := ""
		for _, it := range items {
			versions[it.Key()] = it.Version
			var old LoadState
			if json.Unmarshal(it.Data, &old) == nil && old.LoadID > latest {
				latest = old.LoadID
			}
		}
		// The new load must sort after every earlier one: pages skip banks
		// last seen by a "newer" load.
		loadID = newLoadID(now)
		if loadID <= latest {
			loadID = loadIDAfter(latest)
		}
		ops := make([]store.TxOp, 0, len(s.providers))
		for i, p := range s.providers {
			old, exists := versions[keys[i]]
			st := LoadState{Provider: p.Name(), LoadID: loadID, StartedAt: now, Version: old + 1}
			it, err := loadItem(st)
			if err != nil {
				return "", err
			}
			// The version keeps growing across loads, so a worker holding
			// an older load's state can never match it (no ABA).
			cond := store.IfNotExists()
			if exists {
				cond = store.IfVersion(old)
			}
			ops = append(ops, store.TxPut(it, cond))
		}
		err = s.store.Transact(ctx, ops)
		if err == nil || !errors.Is(err, store.ErrConditionFailed) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("start directory load: write load states: %w", err)
	}
	for _, p := range s.providers {
		if err := s.send(ctx, LoadPayload{Provider: p.Name(), LoadID: loadID}); err != nil {
			return "", fmt.Errorf("start directory load: %w", err)
		}
	}
	s.log.InfoContext(ctx, "directory load started", "loadId", loadID, "providers", s.Providers())
	return loadID, nil
}

// LoadStatus returns the state of provider's latest load (ErrLoadNotFound
// if it was never loaded): one Get.
func (s *Service) LoadStatus(ctx context.Context, providerName string) (LoadState, error) {
	if _, ok := s.byName[providerName]; !ok {
		return LoadState{}, unknownProvider(providerName)
	}
	st, err := s.loadState(ctx, providerName)
	if errors.Is(err, store.ErrNotFound) {
		return LoadState{}, fault.Errorf(ErrLoadNotFound, "provider '%s' has never been loaded", providerName)
	}
	return st, err
}

// HandleJob is the directory-loader worker's handler (queue.Handler): it
// loads one page of a provider's directory, upserts its banks, and either
// enqueues the next page or, after the last page, marks the banks this
// load did not see inactive. A job that is not the page the provider's
// load state expects (a redelivery, a duplicate, a superseded load) is
// acknowledged without doing anything. Malformed jobs are queue.ErrPoison.
func (s *Service) HandleJob(ctx context.Context, job queue.Job) error {
	if job.Type != JobLoad {
		return fmt.Errorf("%w: directory-loader got job type %q", queue.ErrPoison, job.Type)
	}
	var p LoadPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("%w: decode %s payload: %v", queue.ErrPoison, job.Type, err)
	}
	if p.Provider == "" || p.LoadID == "" {
		return fmt.Errorf("%w: %s payload without provider or loadId", queue.ErrPoison, job.Type)
	}
	prov, ok := s.byName[p.Provider]
	if !ok {
		return fmt.Errorf("%w: %s for unconfigured provider %q", queue.ErrPoison, job.Type, p.Provider)
	}
	log := s.log.With("provider", p.Provider, "loadId", p.LoadID, "cursor", p.Cursor)

	st, err := s.loadState(ctx, p.Provider)
	if errors.Is(err, store.ErrNotFound) {
		log.WarnContext(ctx, "directory page dropped: provider has no load state")
		return nil
	}
	if err != nil {
		return err
	}
	if skip := stale(st, p); skip != "" {
		log.InfoContext(ctx, "directory page skipped", "reason", skip, "currentLoad", st.LoadID)
		return nil
	}

	page, err := prov.ListBanks(ctx, p.Cursor)
	if errors.Is(err, provider.ErrInvalid) {
		// The provider refuses this cursor: retrying cannot help.
		return fmt.Errorf("%w: list banks of %s at cursor %q: %v", queue.ErrPoison, p.Provider, p.Cursor, err)
	}
	if err != nil {
		return fmt.Errorf("list banks of %s at cursor %q: %w", p.Provider, p.Cursor, err)
	}
	written, already, err := s.upsert(ctx, p.Provider, p.LoadID, page.Banks)
	if err != nil {
		return err
	}
	st.Pages++
	st.Banks += len(page.Banks)
	st.Written += written + already

	if page.Next != "" {
		if page.Next == p.Cursor {
			return fmt.Errorf("%w: provider %s returned its own cursor %q as next page", queue.ErrPoison, p.Provider, p.Cursor)
		}
		// Enqueue before recording progress: a crash in between makes the
		// redelivered job enqueue the page again, and the state check drops
		// the duplicate; the other order could stall the load.
		if err := s.send(ctx, LoadPayload{Provider: p.Provider, LoadID: p.LoadID, Cursor: page.Next}); err != nil {
			return err
		}
		st.Cursor = page.Next
		return s.saveState(ctx, st, p)
	}

	inactivated, err := s.sweep(ctx, p.Provider, p.LoadID)
	if err != nil {
		return err
	}
	st.Inactivated += inactivated
	st.Done = true
	st.FinishedAt = s.clock.Now().UTC()
	if err := s.saveState(ctx, st, p); err != nil {
		return err
	}
	log.InfoContext(ctx, "directory load finished", "pages", st.Pages, "banks", st.Banks, "written", st.Written, "inactivated", st.Inactivated)
	return nil
}

// stale says why a job is not the page the load state expects ("" if it is).
func stale(st LoadState, p LoadPayload) string {
	switch {
	case st.LoadID != p.LoadID:
		return "superseded by another load"
	case st.Done:
		return "load already finished"
	case st.Cursor != p.Cursor:
		return "page already loaded"
	}
	return ""
}

// saveState records progress; if another delivery of the same page got
// there first, this one is a duplicate and ends quietly.
func (s *Service) saveState(ctx context.Context, st LoadState, p LoadPayload) error {
	it, err := loadItem(st)
	if err != nil {
		return err
	}
	_, err = s.store.Update(ctx, it)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("save load state of %s: %w", p.Provider, err)
	}
	cur, gerr := s.loadState(ctx, p.Provider)
	if gerr == nil && stale(cur, p) != "" {
		return nil
	}
	return fmt.Errorf("save load state of %s: %w", p.Provider, err)
}

func (s *Service) send(ctx context.Context, p LoadPayload) error {
	key := "directory:" + p.Provider + ":" + p.LoadID + ":" + p.Cursor
	job, err := queue.NewJob(JobLoad, key, p)
	if err != nil {
		return err
	}
	if err := s.queue.Send(ctx, queue.Directory, job, 0); err != nil {
		return fmt.Errorf("enqueue directory page %q of %s: %w", p.Cursor, p.Provider, err)
	}
	return nil
}

func (s *Service) loadState(ctx context.Context, providerName string) (LoadState, error) {
	it, err := s.store.Get(ctx, loadKey(providerName))
	if err != nil {
		return LoadState{}, fmt.Errorf("get load state of %s: %w", providerName, err)
	}
	var st LoadState
	if err := json.Unmarshal(it.Data, &st); err != nil {
		return LoadState{}, fmt.Errorf("decode load state of %s: %w", providerName, err)
	}
	st.Version = it.Version
	return st, nil
}

func loadKey(providerName string) store.Key {
	return store.Key{PK: ProviderPK(providerName), SK: LoadSK}
}

func loadItem(st LoadState) (store.Item, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode load state of %s: %w", st.Provider, err)
	}
	return store.Item{PK: ProviderPK(st.Provider), SK: LoadSK, Version: st.Version, Data: data}, nil
}

// loadIDTime is the fixed-width time prefix of a load id.
const loadIDTime = "20060102T150405.000000000Z"

// newLoadID returns an id that sorts by start time (UTC, fixed width) with
// a random suffix against two loads started in the same nanosecond.
func newLoadID(now time.Time) string {
	return now.UTC().Format(loadIDTime) + "-" + platform.RandomHex(4)
}

// loadIDAfter returns a load id sorting after prev (whose clock reads the
// same time or later than ours: clock skew, or a fake clock in tests).
func loadIDAfter(prev string) string {
	stamp, _, _ := strings.Cut(prev, "-")
	t, err := time.Parse(loadIDTime, stamp)
	if err != nil {
		return prev + "-" + platform.RandomHex(4) // longer, so it sorts after
	}
	return newLoadID(t.Add(time.Nanosecond))
}

// upsertAttempts bounds the re-read-and-retry rounds of one page when a
// transaction fails on a condition (a concurrent SetAccess, or an internal
// id collision to resolve).
const upsertAttempts = 6

// upsert writes the provider's banks of one page: one BatchGet of the
// stored records, then transactions of at most store.MaxTransactItems ops
// (one per provider page of up to 50 new or 100 known banks). Each record
// keeps its internal id, access flag and creation time; a record that
// would not change is not written, so a redelivered page writes nothing.
// It returns how many bank records it wrote and, in already, how many of
// the page's banks this load had written before (an earlier delivery of
// the page that failed after its writes): they count in LoadState.Written
// too, so that the state says the same whether or not a page was
// delivered again.
func (s *Service) upsert(ctx context.Context, providerName, loadID string, banks []provider.Bank) (written, already int, err error) {
	incoming := make(map[string]provider.Bank, len(banks))
	var order []string
	for _, pb := range banks {
		if !ValidCode(pb.Code) {
			s.log.WarnContext(ctx, "bank with unusable code skipped", "provider", providerName, "code", platform.Truncate(pb.Code, 64))
			continue
		}
		if _, dup := incoming[pb.Code]; !dup {
			order = append(order, pb.Code)
		}
		incoming[pb.Code] = pb // a repeated code: the last listing wins
	}
	probes := map[string]int{}   // code → internal id probe
	reuseID := map[string]bool{} // code → its pointer already names it
	pending := order
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == upsertAttempts {
			return written, already, fmt.Errorf("upsert banks of %s: still conflicting after %d attempts", providerName, upsertAttempts)
		}
		keys := make([]store.Key, len(pending))
		for i, code := range pending {
			keys[i] = store.Key{PK: ProviderPK(providerName), SK: BankSK(code)}
		}
		items, err := s.store.BatchGet(ctx, keys)
		if err != nil {
			return written, already, fmt.Errorf("upsert banks of %s: read: %w", providerName, err)
		}
		existing := make(map[string]Bank, len(items))
		for _, it := range items {
			b, err := decodeBank(it)
			if err != nil {
				return written, already, err
			}
			existing[b.Code] = b
		}
		now := s.clock.Now().UTC()
		var plans []plan
		for _, code := range pending {
			old, ok := existing[code]
			var oldp *Bank
			if ok {
				oldp = &old
			}
			pl, err := planUpsert(oldp, incoming[code], providerName, loadID, now, probes[code], reuseID[code])
			if err != nil {
				return written, already, err
			}
			if len(pl.ops) > 0 {
				plans = append(plans, pl)
			} else if pl.written {
				already++
			}
		}
		pending = nil
		chunks := chunkPlans(plans)
		for i, chunk := range chunks {
			err := s.store.Transact(ctx, flatten(chunk))
			if err == nil {
				written += len(chunk)
				continue
			}
			var txe *store.TxError
			if !errors.As(err, &txe) {
				return written, already, fmt.Errorf("upsert banks of %s: %w", providerName, err)
			}
			if err := s.resolveConflict(ctx, chunk, txe, probes, reuseID); err != nil {
				return written, already, err
			}
			// Retry this chunk and every later one on fresh reads.
			for _, rest := range chunks[i:] {
				for _, pl := range rest {
					pending = append(pending, pl.rec.Code)
				}
			}
			break
		}
	}
	return written, already, nil
}

// plan is the write of one bank: its record, then for a new bank its id
// pointer.
type plan struct {
	rec Bank
	ops []store.TxOp
	// written: nothing to write because this load already wrote the
	// record (a redelivered page); see upsert.
	written bool
}

// planUpsert builds the write of provider bank pb over the stored record
// old (nil for a new bank). No ops means nothing to write.
func planUpsert(old *Bank, pb provider.Bank, providerName, loadID string, now time.Time, probe int, reuseID bool) (plan, error) {
	if old != nil && old.LastSeenLoad > loadID {
		return plan{}, nil // a newer load already wrote this bank
	}
	rec := Bank{
		Code:                    pb.Code,
		Provider:                providerName,
		Name:                    pb.Name,
		CountryCode:             strings.ToUpper(pb.CountryCode),
		HomeURL:                 pb.HomeURL,
		LoginURL:                pb.LoginURL,
		LogoURL:                 pb.LogoURL,
		TimeZone:                pb.Timezone,
		Mode:                    pb.Mode,
		ProviderStatus:          pb.Status,
		SupportedAccountNatures: nonNil(pb.SupportedAccountNatures),
		SupportedFetchScopes:    nonNil(pb.SupportedFetchScopes),
		SupportedAccountTypes:   nonNil(pb.SupportedAccountTypes),
		MaxConsentDays:          pb.MaxConsentDays,
		Interactive:             pb.Interactive,
		LastSeenLoad:            loadID,
		ProviderUpdatedAt:       pb.UpdatedAt.UTC(),
	}
	if rec.ProviderStatus == "" {
		rec.ProviderStatus = StatusActive
	}
	if old != nil {
		rec.InternalID, rec.AccessEnabled, rec.CreatedAt, rec.UpdatedAt = old.InternalID, old.AccessEnabled, old.CreatedAt, old.UpdatedAt
		if sameRecord(*old, rec) {
			// The record already carries this load (LastSeenLoad is part
			// of it): an earlier delivery of this page wrote it.
			return plan{rec: rec, written: true}, nil
		}
		rec.UpdatedAt, rec.Version = now, old.Version+1
		it, err := bankItem(rec)
		if err != nil {
			return plan{}, err
		}
		return plan{rec: rec, ops: []store.TxOp{store.TxPut(it, store.IfVersion(old.Version))}}, nil
	}
	rec.InternalID = InternalID(providerName, pb.Code, probe)
	rec.AccessEnabled = true // new banks are enabled: see the package doc
	rec.CreatedAt, rec.UpdatedAt, rec.Version = now, now, 1
	it, err := bankItem(rec)
	if err != nil {
		return plan{}, err
	}
	ptr, err := idItem(rec)
	if err != nil {
		return plan{}, err
	}
	ptrCond := store.IfNotExists()
	if reuseID {
		ptrCond = store.Condition{}
	}
	return plan{rec: rec, ops: []store.TxOp{store.TxPut(it, store.IfNotExists()), store.TxPut(ptr, ptrCond)}}, nil
}

// sameRecord compares two records as stored, ignoring the version.
func sameRecord(a, b Bank) bool {
	a.Version, b.Version = 0, 0
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// resolveConflict handles the failed op of a chunk's transaction. A failed
// id pointer is an internal id collision: if the pointer already names this
// bank (a bank record lost after its pointer was written) it is reused,
// otherwise the bank moves to the next probe. A failed bank record means a
// concurrent writer; the caller re-reads and retries.
func (s *Service) resolveConflict(ctx context.Context, chunk []plan, txe *store.TxError, probes map[string]int, reuseID map[string]bool) error {
	i := txe.Index
	for _, pl := range chunk {
		if i >= len(pl.ops) {
			i -= len(pl.ops)
			continue
		}
		if i == 0 {
			return nil // the bank record: re-read
		}
		it, err := s.store.Get(ctx, store.Key{PK: IDPK(pl.rec.InternalID), SK: IDSK})
		if errors.Is(err, store.ErrNotFound) {
			return nil // gone meanwhile: retry as is
		}
		if err != nil {
			return fmt.Errorf("check bank id %s: %w", pl.rec.InternalID, err)
		}
		var ref idRef
		if err := json.Unmarshal(it.Data, &ref); err != nil {
			return fmt.Errorf("decode bank id %s: %w", pl.rec.InternalID, err)
		}
		if ref.Provider == pl.rec.Provider && ref.Code == pl.rec.Code {
			reuseID[pl.rec.Code] = true
			return nil
		}
		s.log.WarnContext(ctx, "internal bank id collision, probing the next id",
			"id", pl.rec.InternalID, "bank", pl.rec.Code, "provider", pl.rec.Provider, "holder", ref.Code, "holderProvider", ref.Provider)
		probes[pl.rec.Code]++
		return nil
	}
	return fmt.Errorf("transaction reported condition %d outside its %d ops: %w", txe.Index, len(flatten(chunk)), txe)
}

// chunkPlans groups plans into transactions of at most MaxTransactItems
// ops, never splitting one bank's ops.
func chunkPlans(plans []plan) [][]plan {
	var out [][]plan
	var cur []plan
	n := 0
	for _, pl := range plans {
		if n+len(pl.ops) > store.MaxTransactItems {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, pl)
		n += len(pl.ops)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func flatten(chunk []plan) []store.TxOp {
	var ops []store.TxOp
	for _, pl := range chunk {
		ops = append(ops, pl.ops...)
	}
	return ops
}

// sweepPage bounds one sweep query page (and so one transaction).
const sweepPage = store.MaxTransactItems

// sweep marks the provider's banks that load loadID did not list (and that
// no newer load listed) inactive, a query page at a time: memory stays flat
// whatever the directory's size. It is idempotent: a bank already inactive
// is not written again. It returns how many banks it marked.
func (s *Service) sweep(ctx context.Context, providerName, loadID string) (int, error) {
	q := store.Query{PK: ProviderPK(providerName), SKPrefix: BankSKPrefix, Limit: sweepPage}
	now := s.clock.Now().UTC()
	marked := 0
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return marked, fmt.Errorf("sweep banks of %s: %w", providerName, err)
		}
		var ops []store.TxOp
		for _, it := range page.Items {
			b, err := decodeBank(it)
			if err != nil {
				return marked, err
			}
			if b.LastSeenLoad >= loadID || b.ProviderStatus == StatusInactive {
				continue
			}
			old := b.Version
			b.ProviderStatus, b.UpdatedAt, b.Version = StatusInactive, now, old+1
			nit, err := bankItem(b)
			if err != nil {
				return marked, err
			}
			ops = append(ops, store.TxPut(nit, store.IfVersion(old)))
		}
		if len(ops) > 0 {
			// A concurrent SetAccess fails the transaction: the job is
			// retried and the sweep, being idempotent, runs again.
			if err := s.store.Transact(ctx, ops); err != nil {
				return marked, fmt.Errorf("sweep banks of %s: %w", providerName, err)
			}
			marked += len(ops)
		}
		if page.Next == "" {
			return marked, nil
		}
		q.Token = page.Next
	}
}
