package holdings

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/store"
)

// removePageSize is the number of items read (and then batch-deleted) per
// query of an account partition.
const removePageSize = 1000

// RemoveConnectionData deletes everything imported for a party's
// connection at a bank: for each of the party's accounts at that bank, the
// whole ACC#<acc> partition (transactions and whatever other packages keep
// there: views, grants, metadata) in pages of batch deletes, the account
// item last; and the import state.
//
// The accounts are those the import state lists (every account the
// connection's imports stored, even if the index does not show it yet)
// and those the party's account index lists under the bank.
//
// It is safe to re-run after a partial failure: the import state goes
// first (a running import then stops at its next checkpoint write and
// sweeps what it wrote meanwhile), and an account stays findable through
// its index entry until its partition is empty.
//
// The import state is replaced by a tombstone (which keeps the account ids
// for a re-run), not deleted: no job can start a run against it, so
// nothing is imported again between this removal and the deletion of the
// connection. The caller deletes the state item with the connection.
// tombstoneVersion is the version of a removal's tombstone: no job ever
// holds it (a create gives 0, an update a higher number), so a running
// job's version-guarded checkpoint write fails against it.
const tombstoneVersion = -1

func (s *Service) RemoveConnectionData(ctx context.Context, partyID, bankCode string) error {
	if partyID == "" || bankCode == "" {
		return fault.Errorf(ErrInvalidRemoval, "removing connection data needs a party and a bank")
	}
	// The accounts the import state knows, in case the index does not
	// show them yet (eventually consistent on DynamoDB).
	st, _, err := s.loadRawState(ctx, partyID, bankCode)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove data of party %s at %s: %w", partyID, bankCode, err)
	}
	known := st.Checkpoint.AccountIDs
	tomb, err := s.stateItem(partyID, bankCode, importState{
		Progress:   st.Progress,
		Checkpoint: Checkpoint{RunID: "removed", AccountIDs: known},
		Removed:    true,
	}, tombstoneVersion)
	if err != nil {
		return err
	}
	if err := s.store.Put(ctx, tomb, store.Condition{}); err != nil {
		return fmt.Errorf("remove import state of party %s at %s: %w", partyID, bankCode, err)
	}
	// Each account's transactions are logged as removed before they go.
	sl := s.newSyncLog(partyID)
	defer s.reportRemoval(ctx, sl, partyID, bankCode)
	done := make(map[string]bool, len(known))
	for _, id := range known {
		if err := s.removeAccount(ctx, sl, id); err != nil {
			return fmt.Errorf("remove data of party %s at %s: %w", partyID, bankCode, err)
		}
		done[id] = true
	}
	q := store.Query{Index: store.IndexGSI1, PK: PartyAccountsGSI1PK(partyID), SKPrefix: bankCode + "#"}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("list accounts of party %s at %s: %w", partyID, bankCode, err)
		}
		for _, it := range page.Items {
			accountID, ok := strings.CutPrefix(it.PK, AccountPK(""))
			if !ok || it.SK != AccountSK || done[accountID] {
				continue
			}
			if err := s.removeAccount(ctx, sl, accountID); err != nil {
				return fmt.Errorf("remove data of party %s at %s: %w", partyID, bankCode, err)
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Token = page.Next
	}
}

// reportRemoval tells the activity sink that a removal logged changes
// (keyed by the last commit, so that a re-run that logs nothing more
// reports nothing again).
func (s *Service) reportRemoval(ctx context.Context, sl *syncLog, partyID, bankCode string) {
	if sl.counts.Total() == 0 {
		return
	}
	s.reportSync(ctx, "sync/remove/"+partyID+"/"+strconv.FormatInt(sl.seq, 10), "", partyID, bankCode, "", "", sl.changedAccounts())
}

// removeAccount empties the partition ACC#<acc>: it logs the removal of
// every transaction the party's change log announced (deleting the
// account's digest buckets in the same commits), then deletes every item
// but the account record in batches, then the account record (which holds
// the index entry a re-run finds the account by).
func (s *Service) removeAccount(ctx context.Context, sl *syncLog, accountID string) error {
	if err := sl.removeAccount(ctx, accountID); err != nil {
		return err
	}
	q := store.Query{PK: AccountPK(accountID), Limit: removePageSize}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("list items of account %s: %w", accountID, err)
		}
		keys := make([]store.Key, 0, len(page.Items))
		for _, it := range page.Items {
			if it.SK != AccountSK {
				keys = append(keys, it.Key())
			}
		}
		if err := s.store.BatchWrite(ctx, nil, keys); err != nil {
			return fmt.Errorf("delete %d items of account %s: %w", len(keys), accountID, err)
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	if err := s.store.Delete(ctx, store.Key{PK: AccountPK(accountID), SK: AccountSK}, store.Condition{}); err != nil {
		return fmt.Errorf("delete account %s: %w", accountID, err)
	}
	return nil
}
