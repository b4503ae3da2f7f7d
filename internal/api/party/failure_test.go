package party_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/provider/saltedge/saltedgetest"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store"
)

// flakyStore is a real driver whose next transactions fail, as a store
// outage would.
type flakyStore struct {
	partytest.Store
	failTransact atomic.Int32
}

func (f *flakyStore) Transact(ctx context.Context, ops []store.TxOp) error {
	if f.failTransact.Add(-1) >= 0 {
		return errors.New("store unavailable (test)")
	}
	return f.Store.Transact(ctx, ops)
}

func flaky(t *testing.T) *flakyStore {
	t.Helper()
	return &flakyStore{Store: partytest.Bolt().Open(t)}
}

// A profile whose write fails leaves no customer at the provider: the
// retry creates the profile (instead of meeting the provider's duplicate,
// 409 for ever).
func TestProfileWriteFailureLeavesNoCustomer(t *testing.T) {
	st := flaky(t)
	e := partytest.New(t, partytest.Options{Store: st})
	tok := e.Token(alice)
	st.failTransact.Store(1)
	if r := e.Do(http.MethodPost, "/party/profiles/"+partyID, tok, "{}"); r.Status != http.StatusInternalServerError {
		t.Fatalf("profile during the outage: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodPost, "/party/profiles/"+partyID, tok, "{}"); r.Status != http.StatusOK {
		t.Fatalf("profile after the outage: %d %s", r.Status, r.Body)
	}
}

// A party's first connection at a second provider creates its customer
// there; when the connection is not stored, that customer goes again, and
// the retry connects (instead of 409 CONFLICT for ever).
func TestConnectionWriteFailureLeavesNoCustomer(t *testing.T) {
	clock := clocktest.New(partytest.Start)
	fake, err := saltedgetest.New(saltedgetest.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	client, err := saltedge.New(saltedge.Config{BaseURL: fake.URL, AppID: "test-app-id", Secret: "test-secret", HTTPClient: fake.Client(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	st := flaky(t)
	e := partytest.New(t, partytest.Options{Store: st, Clock: clock, Providers: []provider.Provider{client}, Primary: saltedge.Name})
	tok := e.Token(alice)
	e.CreateProfile(tok, partyID)
	path := "/party/profiles/" + partyID + "/banks/" + sandbox.BankDefault + "/connections"

	st.failTransact.Store(1)
	if r := e.Do(http.MethodPost, path, tok, partytest.ConnectBody(partyID)); r.Status != http.StatusInternalServerError {
		t.Fatalf("connection during the outage: %d %s", r.Status, r.Body)
	}
	if prof, err := e.Parties.Get(e.Ctx, partyID); err != nil || prof.Customers[sandbox.Name] != "" {
		t.Fatalf("profile after the failed creation %+v %v", prof, err)
	}
	// No customer is left at the sandbox: creating one works (and is
	// undone).
	probe, err := e.Sandbox.CreateCustomer(e.Ctx, partytest.Identifier(partyID))
	if err != nil {
		t.Fatalf("the sandbox keeps the customer of the failed creation: %v", err)
	}
	if err := e.Sandbox.DeleteCustomer(e.Ctx, probe.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.Do(http.MethodPost, path, tok, partytest.ConnectBody(partyID)); r.Status != http.StatusOK {
		t.Fatalf("connection after the outage: %d %s", r.Status, r.Body)
	}
	if prof, err := e.Parties.Get(e.Ctx, partyID); err != nil || prof.Customers[sandbox.Name] == "" {
		t.Fatalf("profile %+v %v", prof, err)
	}
}
