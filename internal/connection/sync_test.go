package connection

import (
	"testing"
	"time"

	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider"
)

// A callback's ended consent stops the connection it names, unless it is
// older than the connect session the connection went through since.
func TestCallbackOverlay(t *testing.T) {
	started := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	listed := provider.Connection{ID: "c1", Status: "active", Fetching: true}
	rec := &Connection{ConnectStartedAt: started}
	for _, tc := range []struct {
		name string
		job  LoadJob
		rec  *Connection
		want provider.Connection
	}{
		{"no stop", LoadJob{Kind: "success", SentAt: started.Add(time.Hour)}, rec, listed},
		{"consent expired", LoadJob{Kind: "fail", StopReason: provider.StopConsentExpired, Error: "ConsentExpired: m", SentAt: started.Add(time.Hour)}, rec,
			provider.Connection{ID: "c1", Status: "inactive", StopReason: provider.StopConsentExpired, LastError: "ConsentExpired: m"}},
		{"unknown connection", LoadJob{Kind: "fail", StopReason: provider.StopConsentRevoked}, nil,
			provider.Connection{ID: "c1", Status: "inactive", StopReason: provider.StopConsentRevoked}},
		{"before the session", LoadJob{Kind: "fail", StopReason: provider.StopConsentExpired, SentAt: started.Add(-time.Second)}, rec, listed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.job.overlay(listed, tc.rec); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A pending connection ignores what the provider says of the same
// connection from before its connect session: an older update, or a
// failure of an attempt that started before it (a reconnect).
func TestPendingIgnoresTheOldState(t *testing.T) {
	started := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	prof := party.Profile{PartyID: "p1", Identifier: "GB0010001-p1"}
	rec := &Connection{PartyID: "p1", BankCode: "b1", Provider: "saltedge", ProviderConnectionID: "c1", Status: StatusPending, ConnectStartedAt: started}
	for _, tc := range []struct {
		name    string
		pc      provider.Connection
		changed bool
		status  Status
	}{
		{"updated before", provider.Connection{ID: "c1", Status: "inactive", UpdatedAt: started.Add(-time.Minute), LastError: "ConsentExpired: m"}, false, StatusPending},
		{"old attempt failed", provider.Connection{ID: "c1", Status: "inactive", UpdatedAt: started.Add(time.Minute), AttemptAt: started.Add(-time.Hour), LastError: "ConsentExpired: m"}, false, StatusPending},
		{"new attempt failed", provider.Connection{ID: "c1", Status: "inactive", UpdatedAt: started.Add(time.Minute), AttemptAt: started.Add(time.Minute), LastError: "InvalidCredentials: m"}, true, StatusFailed},
		{"active again", provider.Connection{ID: "c1", Status: "active", UpdatedAt: started.Add(time.Minute), AttemptAt: started.Add(time.Minute), Fetching: true}, true, StatusActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, _, changed := reconcile(rec, prof, "saltedge", "b1", tc.pc, started.Add(2*time.Minute), 24*time.Hour, false)
			if changed != tc.changed || next.Status != tc.status {
				t.Errorf("changed %t, status %s", changed, next.Status)
			}
		})
	}
}
