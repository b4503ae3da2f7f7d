package connection

import (
	"context"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
)

// report tells the activity sink (Deps.Activity, optional) what happened
// to c; the channel comes from ctx. It never fails the caller's operation.
func (s *Service) report(ctx context.Context, kind activity.Kind, c Connection, key, detail, result string, scheduled time.Time) {
	activity.Report(ctx, s.activity, s.log, activity.Event{
		Kind: kind, Key: key, UserID: c.OwnerSub, PartyID: c.PartyID, BankCode: c.BankCode, BankName: c.BankName,
		Provider: c.Provider, Detail: detail, Result: result, At: s.now(), Scheduled: scheduled,
	})
}

// bankName is how an event names c's bank.
func bankName(c Connection) string {
	if c.BankName != "" {
		return c.BankName
	}
	return c.BankCode
}

// change is what a write of a connection did besides its fields.
type change struct {
	activated    bool   // it became active
	activationID string // that activation's id (activationID)
	imported     bool   // an import was queued with it
}

// reportChange reports the status change from prev (nil: a connection
// OpenAgg had no record of) to next, written just now.
func (s *Service) reportChange(ctx context.Context, prev *Connection, next Connection, ch change) {
	switch {
	case ch.activated && ch.imported:
		s.report(ctx, activity.ConnectionActivated, next, "activated/"+ch.activationID,
			fmt.Sprintf("Connected to %s through %s; the import of accounts and transactions is queued.", bankName(next), next.Provider), string(StatusActive), time.Time{})
	case ch.activated:
		s.report(ctx, activity.ConnectionActivated, next, "activated/"+ch.activationID,
			fmt.Sprintf("Connected to %s through %s; %s is fetching the accounts and transactions, and their import follows when it has finished.", bankName(next), next.Provider, next.Provider), string(StatusActive), time.Time{})
	case prev != nil && prev.Status == next.Status && prev.StopReason == next.StopReason:
	case next.StopReason != "":
		s.report(ctx, activity.ConnectionFailed, next, "",
			fmt.Sprintf("The connection to %s is %s: %s (%s). Connecting to the bank again renews the consent.", bankName(next), next.Status,
				stopText(next.StopReason), platform.Truncate(orNone(next.LastError), 300)), string(next.Status), time.Time{})
	case next.Status == StatusFailed || next.Status == StatusInactive:
		s.report(ctx, activity.ConnectionFailed, next, "",
			fmt.Sprintf("The connection to %s is %s: %s", bankName(next), next.Status, platform.Truncate(orNone(next.LastError), 300)), string(next.Status), time.Time{})
	case next.Status == StatusRemoved:
		s.report(ctx, activity.ConnectionRemoved, next, "",
			fmt.Sprintf("The connection to %s was removed at %s: %s", bankName(next), next.Provider, platform.Truncate(orNone(next.LastError), 300)), string(StatusRemoved), time.Time{})
	}
}

// stopText says a stop reason in words.
func stopText(reason string) string {
	switch reason {
	case provider.StopConsentExpired:
		return "the consent to share its data has expired"
	case provider.StopConsentRevoked:
		return "the consent to share its data was revoked at the bank"
	}
	return reason
}

func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// consentEnd is when the consent the user gave at the connect ends (zero
// when it has no end or OpenAgg did not ask for it).
func (c Connection) consentEnd() time.Time {
	if c.Consent.PeriodDays <= 0 || c.ConnectStartedAt.IsZero() {
		return time.Time{}
	}
	return c.ConnectStartedAt.AddDate(0, 0, c.Consent.PeriodDays)
}

// reportConsent reports, once, that c's consent ends within the warning
// period: on the first refresh inside it (the refresh before, at
// lastRefresh, was outside it).
func (s *Service) reportConsent(ctx context.Context, c Connection, lastRefresh, now time.Time) {
	end, warn := c.consentEnd(), s.cfg.ConsentWarning
	if end.IsZero() || !now.Before(end) || end.Sub(now) > warn || !lastRefresh.IsZero() && end.Sub(lastRefresh) <= warn {
		return
	}
	s.report(ctx, activity.ConsentExpiring, c, "consent/"+c.ConnectTokenHash+"/"+end.Format(time.RFC3339),
		fmt.Sprintf("The consent given to %s for %s ends on %s; the user must connect again to keep the data up to date.", c.Provider, bankName(c), end.UTC().Format("2006-01-02")),
		"renewal needed", end)
}

// reportRefresh reports a refresh the provider made or started (the
// connection as written after it; lastRefresh the one before; imported: its
// import is queued, else it comes with the provider's final callback), and
// the consent's coming end when the refresh is the first inside the
// warning period.
func (s *Service) reportRefresh(ctx context.Context, jobKey string, c Connection, lastRefresh, now time.Time, imported bool) {
	if c.Status != StatusActive {
		s.report(ctx, activity.ConnectionRefreshed, c, "refreshed/"+jobKey,
			fmt.Sprintf("The connection to %s was refreshed; %s reports it inactive: %s", bankName(c), c.Provider, platform.Truncate(orNone(c.LastError), 300)), string(c.Status), time.Time{})
		return
	}
	detail := fmt.Sprintf("The connection to %s was refreshed; the import of new data is queued.", bankName(c))
	if !imported {
		detail = fmt.Sprintf("The refresh of the connection to %s started; %s is fetching, and the import of new data follows when it has finished.", bankName(c), c.Provider)
	}
	s.report(ctx, activity.ConnectionRefreshed, c, "refreshed/"+jobKey, detail, string(StatusActive), time.Time{})
	s.reportConsent(ctx, c, lastRefresh, now)
}
