package holdings

import (
	"context"
	"fmt"
	"slices"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/platform"
)

// reportImport tells the activity sink (Config.Activity, optional) how an
// import run ended; the channel is the one the import was asked through.
// It never fails the import.
func (s *Service) reportImport(ctx context.Context, req ImportRequest, kind activity.Kind, p ImportProgress, changes SyncCounts) {
	bank := req.BankName
	if bank == "" {
		bank = req.BankCode
	}
	e := activity.Event{
		Kind: kind, Key: "import/" + req.PartyID + "/" + req.BankCode + "/" + req.RunID,
		UserID: req.OwnerSub, PartyID: req.PartyID, BankCode: req.BankCode, BankName: bank, Provider: req.Provider,
		At: s.clock.Now(), Result: p.State,
		Detail: fmt.Sprintf("Imported %s and %s from %s.", count(int64(p.Accounts), "account"), count(p.Transactions, "transaction"), bank),
	}
	if kind == activity.ImportFailed {
		e.Detail = fmt.Sprintf("The import from %s failed: %s", bank, platform.Truncate(p.LastError, 300))
	} else {
		e.Counts = &activity.Counts{Accounts: p.Accounts, Transactions: p.Transactions, Added: changes.Added, Modified: changes.Modified, Removed: changes.Removed}
	}
	activity.Report(ctx, s.activity, s.log, e)
}

// reportRunChanges tells the activity sink that a finished run logged
// changes to the party's transactions (the accounts it logged them for),
// or may have (a step was tried again after a crash: the run's accounts).
func (s *Service) reportRunChanges(ctx context.Context, req ImportRequest, cp Checkpoint, accounts []AccountCursor) {
	ids := slices.Clone(cp.Changed)
	if len(ids) == 0 && cp.Retried {
		for _, ac := range accounts {
			ids = append(ids, ac.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	s.reportSync(ctx, "sync/import/"+req.PartyID+"/"+req.BankCode+"/"+req.RunID, req.OwnerSub, req.PartyID, req.BankCode, req.BankName, req.Provider, ids)
}

// reportSync tells the activity sink that the party has changes to sync.
func (s *Service) reportSync(ctx context.Context, key, userID, partyID, bankCode, bankName, providerName string, accountIDs []string) {
	activity.Report(ctx, s.activity, s.log, activity.Event{
		Kind: activity.TransactionsChanged, Key: key, UserID: userID, PartyID: partyID, BankCode: bankCode, BankName: bankName,
		Provider: providerName, At: s.clock.Now(), AccountIDs: accountIDs,
		Detail: fmt.Sprintf("Transaction changes of %s to sync.", count(int64(len(accountIDs)), "account")),
	})
}

func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
