package finapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestDemoImportFlow: the import answers before the download ends
// (IN_PROGRESS / PENDING), the holdings workers download, the
// categorization follows, and the connection ends READY / READY with the
// demo account; every answer is a valid BankConnection.
func TestDemoImportFlow(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	bankID := e.demoBankID(alice)
	r := e.do("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"name":"Demo"}`, bankID))
	var c connection
	r.json(t, http.StatusCreated, &c)
	mustConformTo(t, "BankConnection", r.body)
	if c.ID <= 0 || c.BankID != bankID || c.Type != "DEMO" || c.UpdateStatus != "IN_PROGRESS" || c.CategorizationStatus != "PENDING" ||
		len(c.AccountIDs) != 0 || c.Name == nil || *c.Name != "Demo" || c.LastManualUpdate == nil || c.LastManualUpdate.Result != "OK" {
		t.Fatalf("import answer %+v", c)
	}
	if got := e.get(alice, c.ID); got.UpdateStatus != "IN_PROGRESS" || got.CategorizationStatus != "PENDING" {
		t.Errorf("before the workers ran: %+v", got)
	}
	e.drain()
	got := e.get(alice, c.ID)
	if got.UpdateStatus != "READY" || got.CategorizationStatus != "READY" || len(got.AccountIDs) != 1 {
		t.Fatalf("after the workers: %+v", got)
	}
}
