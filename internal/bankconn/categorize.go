package bankconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/category"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// The categorization job. After each download of a finAPI connection it
// builds the connection's transaction views: every booked holdings
// transaction of its accounts not yet viewed gets the next sequence number
// of its account (so an integer id), its category (package category) and a
// view item in its account's partition; then the account's sums are
// written. It is idempotent: what is viewed is read back from the store
// (the views hold their holdings id), so a redelivered or retried step
// continues where the last one stopped. A step writes at most its budget
// of views and queues the next step for the rest, so no
// invocation nears the Lambda time limit however long the history.

// DefaultBudget bounds the views one step writes (CategorizerDeps.Budget).
const DefaultBudget = 20000

// maxCatAttempts is the number of tries of a step before the
// categorization is given up (marked failed, so the connection is not busy
// for ever); the holdings queue's maxReceiveCount is 5.
const maxCatAttempts = 3

// HandleJob runs one step of a categorization (queue.Holdings, job type
// JobCategorize). A nil error acknowledges the message.
func (s *Categorizer) HandleJob(ctx context.Context, job queue.Job) error {
	if job.Type != JobCategorize {
		return fmt.Errorf("%w: the finAPI categorizer cannot handle job type %q", queue.ErrPoison, job.Type)
	}
	var j categorizeJob
	if err := json.Unmarshal(job.Payload, &j); err != nil {
		return fmt.Errorf("%w: decode categorization job %s: %v", queue.ErrPoison, job.Key, err)
	}
	if !IsPartyID(j.PartyID) || j.BankCode == "" || j.RunID == "" || j.Step < 0 {
		return fmt.Errorf("%w: categorization job %s lacks a finAPI party, bank or run", queue.ErrPoison, job.Key)
	}
	return s.categorize(ctx, j)
}

// loadCat reads a connection's categorization state.
func (s *core) loadCat(ctx context.Context, partyID, bankCode string) (catRecord, bool, error) {
	it, err := s.st.Get(ctx, catKey(partyID, bankCode))
	if errors.Is(err, store.ErrNotFound) {
		return catRecord{}, false, nil
	}
	if err != nil {
		return catRecord{}, false, fmt.Errorf("read categorization of %s/%s: %w", partyID, bankCode, err)
	}
	r, err := decode[catRecord](it)
	r.Version = it.Version
	return r, true, err
}

// saveCat writes the state if it is still at r.Version; false when it
// changed meanwhile (another run, a deletion).
func (s *core) saveCat(ctx context.Context, partyID, bankCode string, r *catRecord) (bool, error) {
	r.UpdatedAt = s.now()
	it, err := encode(catKey(partyID, bankCode), r, r.Version)
	if err != nil {
		return false, err
	}
	v, err := s.st.Update(ctx, it)
	if errors.Is(err, store.ErrConditionFailed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("save categorization of %s/%s: %w", partyID, bankCode, err)
	}
	r.Version = v
	return true, nil
}

func (s *core) categorize(ctx context.Context, j categorizeJob) error {
	log := s.log.With("party", j.PartyID, "bank", j.BankCode, "run", j.RunID, "step", j.Step)
	cat, ok, err := s.loadCat(ctx, j.PartyID, j.BankCode)
	switch {
	case err != nil:
		return err
	case !ok:
		log.InfoContext(ctx, "categorization of a deleted connection ignored")
		return nil
	case cat.RunID != j.RunID || cat.State == catDone || cat.State == catFailed:
		return nil // superseded by a newer download, or finished
	case cat.Step == j.Step+1:
		// This step ended but its continuation may not have been sent.
		return s.sendCategorize(ctx, categorizeJob{PartyID: j.PartyID, BankCode: j.BankCode, RunID: j.RunID, Step: cat.Step})
	case cat.Step != j.Step:
		return nil
	}
	cat.Attempts++
	if cat.Attempts > maxCatAttempts {
		cat.State = catFailed
		_, err := s.saveCat(ctx, j.PartyID, j.BankCode, &cat)
		log.ErrorContext(ctx, "categorization given up", "attempts", cat.Attempts-1)
		return err
	}
	cat.State = catRunning
	if claimed, err := s.saveCat(ctx, j.PartyID, j.BankCode, &cat); err != nil || !claimed {
		return err
	}
	accs, err := s.partyAccounts(ctx, j.PartyID)
	if err != nil {
		return err
	}
	budget := s.budget
	done := true
	for _, a := range accs {
		if a.BankCode != j.BankCode {
			continue
		}
		n, complete, err := s.categorizeAccount(ctx, j.PartyID, a, budget)
		if err != nil {
			return err // retried; the attempt is counted
		}
		budget -= n
		if !complete {
			done = false
			break
		}
	}
	if done {
		cat.State, cat.Attempts = catDone, 0
		if _, err := s.saveCat(ctx, j.PartyID, j.BankCode, &cat); err != nil {
			return err
		}
		log.InfoContext(ctx, "categorization done")
		return nil
	}
	cat.Step, cat.Attempts = cat.Step+1, 0
	if saved, err := s.saveCat(ctx, j.PartyID, j.BankCode, &cat); err != nil || !saved {
		return err
	}
	log.InfoContext(ctx, "categorization step done; continuing")
	return s.sendCategorize(ctx, categorizeJob{PartyID: j.PartyID, BankCode: j.BankCode, RunID: j.RunID, Step: cat.Step})
}

// readViews reads an account's transaction views, in sequence order (one
// query per 1 MB of chunks).
func (s *core) readViews(ctx context.Context, accountID string, visit func(v txView) error) error {
	q := store.Query{PK: holdings.AccountPK(accountID), From: chunkSK(0), To: lastChunkSK()}
	var views []txView
	for {
		page, err := s.st.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("read transaction views of account %s: %w", accountID, err)
		}
		for _, it := range page.Items {
			if views, err = chunkViews(it, 0, maxSeq+1, views[:0]); err != nil {
				return err
			}
			for _, v := range views {
				if err := visit(v); err != nil {
					return err
				}
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Token = page.Next
	}
}

// flushChunks is the number of full chunks buffered per BatchWrite.
const flushChunks = 8

// categorizeAccount views the account's booked transactions that have no
// view yet, up to budget, and writes the account's sums. It returns how
// many it wrote and whether the account is complete.
func (s *core) categorizeAccount(ctx context.Context, partyID string, a *accRecord, budget int) (int, bool, error) {
	seen := map[string]bool{}
	next := int64(0)
	var open []txView // the views of the last chunk, when it is not full
	income, spending := decimal.Zero, decimal.Zero
	add := func(amount decimal.Decimal) {
		if amount.IsPositive() {
			income = income.Add(amount)
		} else {
			spending = spending.Add(amount)
		}
	}
	err := s.readViews(ctx, a.AccountID, func(v txView) error {
		if v.Seq != next {
			return fmt.Errorf("transaction views of account %s: sequence %d where %d was expected", a.AccountID, v.Seq, next)
		}
		seen[v.HoldingsID] = true
		next++
		add(v.Amount)
		if v.Seq%chunkSize == 0 {
			open = open[:0]
		}
		open = append(open, v)
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	if next%chunkSize == 0 {
		open = nil
	}
	now := s.now()
	var buf []store.Item
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := s.st.BatchWrite(ctx, buf, nil); err != nil {
			return fmt.Errorf("write transaction views of account %s: %w", a.AccountID, err)
		}
		buf = buf[:0]
		return nil
	}
	// put buffers the open chunk's item (rewritten whole: it gained views).
	put := func() {
		if len(open) > 0 {
			buf = append(buf, encodeChunk(a.AccountID, chunkOf(open[0].Seq), open))
		}
	}
	written, complete := 0, true
	q := holdings.TxQuery{Limit: holdings.MaxTxLimit}
pages:
	for {
		page, err := s.holdings.Transactions(ctx, a.AccountID, q)
		if err != nil {
			return written, false, fmt.Errorf("read transactions of account %s: %w", a.AccountID, err)
		}
		for _, t := range page.Transactions {
			if t.Status != "posted" || t.PostedAt.IsZero() || seen[t.ID] {
				continue // pending ones are viewed once booked
			}
			if written == budget {
				complete = false
				break pages
			}
			if next > maxSeq {
				return written, false, fmt.Errorf("account %s has more than %d transactions", a.AccountID, maxSeq+1)
			}
			v := txView{Seq: next, HoldingsID: t.ID, Amount: t.Amount, Currency: t.Currency, ValueDate: t.MadeOn,
				BookedAt: t.PostedAt, ImportedAt: now, Purpose: t.Description, Counterparty: t.CounterpartyName,
				IBAN: t.CounterpartyIBAN, Mode: t.Mode,
				Category: category.Categorize(category.Input{Amount: t.Amount, Counterparty: t.CounterpartyName, Purpose: t.Description, Mode: t.Mode})}
			open = append(open, v)
			seen[t.ID] = true
			add(v.Amount)
			next++
			written++
			if len(open) == chunkSize {
				put()
				open = nil
				if len(buf) == flushChunks {
					if err := flush(); err != nil {
						return written, false, err
					}
				}
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	if written > 0 {
		put()
	}
	if err := flush(); err != nil {
		return written, false, err
	}
	return written, complete, s.saveSums(ctx, partyID, a, next, income, spending)
}

// saveSums writes an account's count and sums (version-guarded; the record
// is read again when it changed meanwhile).
func (s *core) saveSums(ctx context.Context, partyID string, a *accRecord, count int64, income, spending decimal.Decimal) error {
	for range idAttempts {
		if a.Count == count && a.Income.Equal(income) && a.Spending.Equal(spending) {
			return nil
		}
		a.Count, a.Income, a.Spending = count, income, spending
		it, err := encode(accKey(partyID, a.AccountID), a, a.Version)
		if err != nil {
			return err
		}
		v, err := s.st.Update(ctx, it)
		if err == nil {
			a.Version = v
			return nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return fmt.Errorf("save sums of account %s: %w", a.AccountID, err)
		}
		cur, err := s.st.Get(ctx, accKey(partyID, a.AccountID))
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("read finAPI account %s: %w", a.AccountID, err)
		}
		fresh, err := decode[accRecord](cur)
		if err != nil {
			return err
		}
		fresh.Version = cur.Version
		*a = fresh
		a.Count = -1 // force the write on the fresh version
	}
	return fmt.Errorf("save sums of account %s: too many concurrent changes", a.AccountID)
}
