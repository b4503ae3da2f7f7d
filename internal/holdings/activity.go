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
		Detail: fmt.Sprintf("Imported %s and %s from %s.", count(int64(p.Accounts), "account"), count(p.Transactions, "transaction"), bank),
	}
	if kind == activity.ImportFailed {
		e.Detail = fmt.Sprintf("The import from %s failed: %s", bank, platform.Truncate(p.LastError, 300))
	}
	activity.Report(ctx, s.activity, s.log, e)
}

func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
