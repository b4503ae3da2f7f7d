package connection

import (
	"testing"
	"time"

	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/provider"
)

func TestRefreshIndexKeys(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	c := Connection{PartyID: "p1", BankCode: "b1", Status: StatusActive, DailyRefresh: true, NextRefresh: now}
	it, err := c.Item()
	if err != nil {
		t.Fatal(err)
	}
	if it.GSI1PK != RefreshGSI1PK(RefreshShard("p1", "b1")) || it.GSI1SK != "2025-03-10T12:00:00.000Z#p1#b1" {
		t.Fatalf("index keys %q %q", it.GSI1PK, it.GSI1SK)
	}
	upTo := refreshUpTo(now)
	for _, tc := range []struct {
		next time.Time
		due  bool
	}{
		{now, true},
		{now.Add(-time.Millisecond), true},
		{now.Add(-48 * time.Hour), true},
		{now.Add(time.Millisecond), false},
		{now.Add(time.Hour), false},
	} {
		sk := RefreshGSI1SK(tc.next, "zzzz-party", "zzzz_bank")
		if (sk <= upTo) != tc.due {
			t.Errorf("next %s: due=%v, want %v", tc.next, sk <= upTo, tc.due)
		}
	}
	for _, s := range []Status{StatusPending, StatusFailed, StatusInactive, StatusRemoved, StatusRemoving} {
		c.Status = s
		if it, _ := c.Item(); it.GSI1PK != "" {
			t.Errorf("%s connection indexed", s)
		}
	}
	shards := map[int]bool{}
	for i := range 200 {
		shards[RefreshShard("party"+string(rune('a'+i%26))+string(rune('a'+i/26)), "bank")] = true
	}
	if len(shards) != RefreshShards {
		t.Errorf("connections spread over %d shards", len(shards))
	}
}

func TestReconcile(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	prof := party.Profile{PartyID: "p", Identifier: "GB0010001-p", OwnerSub: "owner"}
	pc := func(id, status, lastErr string, updated time.Time) provider.Connection {
		return provider.Connection{ID: id, CustomerID: "c1", BankCode: "b", BankName: "Bank", CountryCode: "GB", Status: status,
			DailyRefresh: true, LastError: lastErr, UpdatedAt: updated, CreatedAt: updated, NextRefreshPossibleAt: updated.Add(time.Hour)}
	}
	pending := &Connection{PartyID: "p", BankCode: "b", Status: StatusPending, DailyRefresh: true, ConnectStartedAt: now.Add(-time.Minute), ConnectTokenHash: "h"}
	active := &Connection{PartyID: "p", BankCode: "b", Status: StatusActive, DailyRefresh: true, ProviderConnectionID: "1",
		ProviderStatus: "active", NextRefresh: now.Add(time.Hour), Provider: "sandbox", CustomerID: "c1", BankName: "Bank", Country: "GB",
		NextRefreshPossibleAt: now.Add(-time.Hour)}
	reconnecting := &Connection{PartyID: "p", BankCode: "b", Status: StatusPending, DailyRefresh: true, ProviderConnectionID: "1",
		ConnectStartedAt: now.Add(-time.Minute)}

	for _, tc := range []struct {
		name        string
		rec         *Connection
		pc          provider.Connection
		fromConnect bool
		status      Status
		activated   bool
		changed     bool
	}{
		{"new from the provider", nil, pc("1", "active", "", now), false, StatusActive, true, true},
		{"new inactive", nil, pc("1", "inactive", "", now), false, StatusInactive, false, true},
		{"pending completed", pending, pc("1", "active", "", now), false, StatusActive, true, true},
		{"pending failed", pending, pc("1", "inactive", "InvalidCredentials", now), false, StatusFailed, false, true},
		{"reconnect: stale provider state ignored", reconnecting, pc("1", "inactive", "expired", now.Add(-time.Hour)), false, StatusPending, false, false},
		{"reconnect: completed after the session started", reconnecting, pc("1", "active", "", now), false, StatusActive, true, true},
		{"connect page wins", reconnecting, pc("1", "inactive", "", now.Add(-time.Hour)), true, StatusActive, true, true},
		{"active disabled at the provider", active, pc("1", "disabled", "", now), false, StatusInactive, false, true},
		{"active, new provider connection", active, pc("2", "active", "", now), false, StatusActive, true, true},
		{"removing is left alone", &Connection{PartyID: "p", BankCode: "b", Status: StatusRemoving}, pc("1", "active", "", now), false, StatusRemoving, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, activated, changed := reconcile(tc.rec, prof, "sandbox", "b", tc.pc, now, 24*time.Hour, tc.fromConnect)
			if next.Status != tc.status || activated != tc.activated || changed != tc.changed {
				t.Fatalf("status %s activated %v changed %v", next.Status, activated, changed)
			}
			if next.Status == StatusActive && (next.NextRefresh.IsZero() || next.LastError != "") {
				t.Fatalf("active without next refresh: %+v", next)
			}
			if next.Status != StatusActive && !next.NextRefresh.IsZero() {
				t.Fatalf("inactive with next refresh: %+v", next)
			}
			if changed {
				// Applying the same provider state again changes nothing.
				if _, a2, c2 := reconcile(&next, prof, "sandbox", "b", tc.pc, now.Add(time.Minute), 24*time.Hour, tc.fromConnect); c2 || a2 {
					t.Fatalf("second reconcile changed=%v activated=%v", c2, a2)
				}
			}
		})
	}
}
