package customer_test

import (
	"context"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/storetest"
)

type oneBank struct{}

func (oneBank) CodeKeys(code string) []store.Key { return []store.Key{{PK: "TESTBANK", SK: code}} }
func (oneBank) EnabledIn(code string, _ map[store.Key]store.Item) (bank.Bank, bool, error) {
	return bank.Bank{Code: code, AccessEnabled: true}, code == "bank", nil
}

// TestRecordCost holds the activity sink to its store calls, which the
// connection and holdings domains pay at each lifecycle point: one
// BatchGet, plus one write when there is something to write (events of the
// user's customers at the bank, or the user's first record), whatever the
// number of customers; and a repeated report (same key) is one event.
func TestRecordCost(t *testing.T) {
	st := &storetest.Counter{Store: storetest.Drivers("customer", []byte("customer-test-secret-0123456789ab"))[0].Open(t)}
	clock := clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	svc := customer.New(customer.Deps{Store: st, Roles: auth.NewEntitlements(auth.EntitlementsDeps{Store: st}), Banks: oneBank{}, Clock: clock})
	ctx := context.Background()
	ev := func(user, key string) activity.Event {
		return activity.Event{Kind: activity.ConnectionActivated, Key: key, UserID: user, BankCode: "bank", Detail: "d", Result: "active", At: clock.Now()}
	}
	cost := func(name string, e activity.Event, reads, writes int64) {
		t.Helper()
		st.Reset()
		if err := svc.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
		if r, w := st.Reads.Load(), st.Writes.Load(); r != reads || w != writes {
			t.Errorf("%s: %d reads %d writes, want %d and %d", name, r, w, reads, writes)
		}
	}
	cost("a user seen for the first time", ev("alice", ""), 1, 1)
	cost("a known user without customers", ev("alice", ""), 1, 0)

	teller := auth.Principal{Subject: "teller", Roles: []string{auth.RoleCanCreateCustomer, auth.RoleCanCreateUserCustomerLink}}
	for _, n := range []string{"c-1", "c-2", "c-3"} {
		nc := customer.NewCustomer{UserID: "alice", Profile: customer.Profile{Number: n, LegalName: "Alice"}}
		if _, err := svc.Create(ctx, teller, "bank", customer.Input[customer.NewCustomer]{Value: nc}); err != nil {
			t.Fatal(err)
		}
	}
	cost("three customers at the bank", ev("alice", "k1"), 1, 1)
	cost("the same report again", ev("alice", "k1"), 1, 1)
	alice := auth.Principal{Subject: "alice"}
	evs, err := svc.Events(ctx, alice, "bank", customer.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events, want one per customer (the repeated report is the same events)", len(evs))
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.CustomerNumber] = true
	}
	if len(seen) != 3 {
		t.Fatalf("events of %v", seen)
	}
	cost("another bank", activity.Event{Kind: activity.ImportCompleted, UserID: "alice", BankCode: "other"}, 1, 0)
	cost("no user", activity.Event{Kind: activity.ImportCompleted, BankCode: "bank"}, 0, 0)
}
