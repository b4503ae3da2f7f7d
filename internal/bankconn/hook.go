package bankconn

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// The Categorizer is a holdings.RunHook: the holdings importer tells it about
// the accounts of every import (it gives finAPI accounts their integer
// ids as soon as they are stored) and about the end of every download (it
// queues the categorization). Accounts of parties that are not finAPI
// parties are none of its business.
var _ interface {
	holdings.AccountHook
	holdings.RunHook
} = (*Categorizer)(nil)

// AccountsImported implements holdings.AccountHook: each finAPI account
// without an integer id gets one (one BatchGet to see which; for new ones
// one Get of the counter and one transaction).
func (s *Categorizer) AccountsImported(ctx context.Context, accounts []holdings.Account) error {
	byParty := map[string][]holdings.Account{}
	for _, a := range accounts {
		if IsPartyID(a.PartyID) {
			byParty[a.PartyID] = append(byParty[a.PartyID], a)
		}
	}
	for partyID, accs := range byParty {
		if err := s.numberAccounts(ctx, partyID, accs); err != nil {
			return err
		}
	}
	return nil
}

// numberAccounts gives integer ids to a party's accounts that have none.
func (s *core) numberAccounts(ctx context.Context, partyID string, accs []holdings.Account) error {
	for range idAttempts {
		keys := make([]store.Key, len(accs))
		for i, a := range accs {
			keys[i] = accKey(partyID, a.ID)
		}
		items, err := s.st.BatchGet(ctx, keys)
		if err != nil {
			return fmt.Errorf("read finAPI accounts of %s: %w", partyID, err)
		}
		have := map[store.Key]bool{}
		for _, it := range items {
			have[it.Key()] = true
		}
		var missing []holdings.Account
		for _, a := range accs {
			if !have[accKey(partyID, a.ID)] {
				missing = append(missing, a)
			}
		}
		// One transaction holds the counter and up to 99 accounts.
		if len(missing) > store.MaxTransactItems-1 {
			missing = missing[:store.MaxTransactItems-1]
		}
		if len(missing) == 0 {
			return nil
		}
		first, op, err := s.reserve(ctx, "acc", int64(len(missing)))
		if err != nil {
			return err
		}
		ops := []store.TxOp{op}
		for i, a := range missing {
			r := accRecord{ID: first + int64(i), AccountID: a.ID, BankCode: a.BankCode, TypeID: typeOfNature(a.Nature),
				Income: decimal.Zero, Spending: decimal.Zero}
			it, err := encode(accKey(partyID, a.ID), r, 1)
			if err != nil {
				return err
			}
			ops = append(ops, store.TxPut(it, store.IfNotExists()))
		}
		err = s.st.Transact(ctx, ops)
		if err != nil && !errors.Is(err, store.ErrConditionFailed) {
			return fmt.Errorf("number finAPI accounts of %s: %w", partyID, err)
		}
		// Numbered (look again for more), or a race lost: look again.
	}
	return fmt.Errorf("number finAPI accounts of %s: too many concurrent changes", partyID)
}

// JobCategorize is the queue.Holdings job that categorizes a finAPI
// connection's downloaded transactions (the holdings-importer worker runs
// it); its payload is a categorizeJob.
const JobCategorize = "finapi.categorize"

type categorizeJob struct {
	PartyID  string `json:"partyId"`
	BankCode string `json:"bankCode"`
	RunID    string `json:"runId"`
	Step     int    `json:"step,omitempty"`
}

func (j categorizeJob) key() string {
	return fmt.Sprintf("finapi/categorize/%s/%s/%s/%d", j.PartyID, j.BankCode, j.RunID, j.Step)
}

func (s *core) sendCategorize(ctx context.Context, j categorizeJob) error {
	job, err := queue.NewJob(JobCategorize, j.key(), j)
	if err != nil {
		return err
	}
	if err := s.q.Send(ctx, queue.Holdings, job, 0); err != nil {
		return fmt.Errorf("queue categorization %s: %w", j.key(), err)
	}
	return nil
}

// ImportFinished implements holdings.RunHook: a finAPI connection's
// download is written, so its categorization becomes pending and its job
// is queued. A second call for the same run changes nothing once the job
// has started.
func (s *Categorizer) ImportFinished(ctx context.Context, req holdings.ImportRequest, _ []holdings.Account) error {
	if !IsPartyID(req.PartyID) {
		return nil
	}
	k := catKey(req.PartyID, req.BankCode)
	for range idAttempts {
		it, err := s.st.Get(ctx, k)
		cond := store.IfNotExists()
		version := int64(1)
		switch {
		case err == nil:
			cur, err := decode[catRecord](it)
			if err != nil {
				return err
			}
			if cur.RunID == req.RunID && cur.State != catPending {
				return nil // this run's job already started (a redelivered step)
			}
			cond, version = store.IfVersion(it.Version), it.Version+1
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("read categorization of %s/%s: %w", req.PartyID, req.BankCode, err)
		}
		rec := catRecord{State: catPending, RunID: req.RunID, UpdatedAt: s.now()}
		nit, err := encode(k, rec, version)
		if err != nil {
			return err
		}
		err = s.st.Put(ctx, nit, cond)
		if errors.Is(err, store.ErrConditionFailed) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mark categorization of %s/%s pending: %w", req.PartyID, req.BankCode, err)
		}
		return s.sendCategorize(ctx, categorizeJob{PartyID: req.PartyID, BankCode: req.BankCode, RunID: req.RunID})
	}
	return fmt.Errorf("mark categorization of %s/%s pending: too many concurrent changes", req.PartyID, req.BankCode)
}

// partyAccounts reads a party's finAPI account records (one query of the
// partition's FINAPI#ACC# range), by id.
func (s *core) partyAccounts(ctx context.Context, partyID string) ([]*accRecord, error) {
	var out []*accRecord
	q := store.Query{PK: holdings.PartyPK(partyID), SKPrefix: accSKPrefix}
	for {
		page, err := s.st.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read finAPI accounts of %s: %w", partyID, err)
		}
		for _, it := range page.Items {
			r, err := decode[accRecord](it)
			if err != nil {
				return nil, err
			}
			r.Version = it.Version
			out = append(out, &r)
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	slices.SortFunc(out, func(a, b *accRecord) int { return cmpInt(a.ID, b.ID) })
	return out, nil
}
