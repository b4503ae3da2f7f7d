package connection

import (
	"context"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/platform"
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

// reportChange reports the status change from prev (nil: a connection
// OpenAgg had no record of) to next, written just now.
func (s *Service) reportChange(ctx context.Context, prev *Connection, next Connection, activated bool) {
	switch {
	case activated:
		s.report(ctx, activity.ConnectionActivated, next, "activated/"+next.ImportRunID,
			fmt.Sprintf("Connected to %s through %s; the import of accounts and transactions is queued.", bankName(next), next.Provider), string(StatusActive), time.Time{})
	case prev != nil && prev.Status == next.Status:
	case next.Status == StatusFailed || next.Status == StatusInactive:
		s.report(ctx, activity.ConnectionFailed, next, "",
			fmt.Sprintf("The connection to %s is %s: %s", bankName(next), next.Status, platform.Truncate(orNone(next.LastError), 300)), string(next.Status), time.Time{})
	case next.Status == StatusRemoved:
		s.report(ctx, activity.ConnectionRemoved, next, "",
			fmt.Sprintf("The connection to %s was removed at %s: %s", bankName(next), next.Provider, platform.Truncate(orNone(next.LastError), 300)), string(StatusRemoved), time.Time{})
	}
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

// reportRefresh reports a refresh the provider made (the connection as
// written after it; lastRefresh the one before), and the consent's coming
// end when the refresh is the first inside the warning period.
func (s *Service) reportRefresh(ctx context.Context, jobKey string, c Connection, lastRefresh, now time.Time) {
	if c.Status != StatusActive {
		s.report(ctx, activity.ConnectionRefreshed, c, "refreshed/"+jobKey,
			fmt.Sprintf("The connection to %s was refreshed; %s reports it inactive: %s", bankName(c), c.Provider, platform.Truncate(orNone(c.LastError), 300)), string(c.Status), time.Time{})
		return
	}
	s.report(ctx, activity.ConnectionRefreshed, c, "refreshed/"+jobKey,
		fmt.Sprintf("The connection to %s was refreshed; the import of new data is queued.", bankName(c)), string(StatusActive), time.Time{})
	s.reportConsent(ctx, c, lastRefresh, now)
}
