package holdings

import (
	"context"
	"fmt"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/platform"
)

// reportImport tells the activity sink (Config.Activity, optional) how an
// import run ended; the channel is the one the import was asked through.
// It never fails the import.
func (s *Service) reportImport(ctx context.Context, req ImportRequest, kind activity.Kind, p ImportProgress) {
	bank := req.BankName
	if bank == "" {
		bank = req.BankCode
	}
	e := activity.Event{
		Kind: kind, Key: "import/" + req.PartyID + "/" + req.BankCode + "/" + req.RunID,
		UserID: req.OwnerSub, PartyID: req.PartyID, BankCode: req.BankCode, BankName: bank, Provider: req.Provider,
		At: s.clock.Now(), Result: p.State,
		Detail: fmt.Sprintf("Imported %d accounts and %d transactions from %s.", p.Accounts, p.Transactions, bank),
	}
	if kind == activity.ImportFailed {
		e.Detail = fmt.Sprintf("The import from %s failed: %s", bank, platform.Truncate(p.LastError, 300))
	}
	activity.Report(ctx, s.activity, s.log, e)
}
