package finapi_test

import (
	"fmt"
	"testing"
)

// TestStoreCalls holds each operation to its store budget (round trips of
// the request, reads and writes; the sandbox provider's own calls are in
// the same store and counted too). docs/data-model.md lists them.
func TestStoreCalls(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	demoID := e.demoBankID(alice)
	e.importDemo(e.token("warmup")) // the first import of an App builds nothing more, but measure a steady state
	uk := e.bankID(alice, "Sandbox Bank UK")
	type budget struct{ reads, writes int64 }
	measure := func(name string, want budget, method, path, body string) resp {
		t.Helper()
		r := e.do(method, path, alice, body)
		if r.code >= 300 {
			t.Fatalf("%s: %d %s", name, r.code, r.body)
		}
		t.Logf("%-28s %d reads %d writes", name, r.reads, r.writes)
		if r.reads > want.reads || r.writes > want.writes {
			t.Errorf("%s: %d reads %d writes, budget %d and %d", name, r.reads, r.writes, want.reads, want.writes)
		}
		return r
	}
	var c connection
	r := measure("first import (profile too)", budget{9, 6}, "POST", "/api/v1/bankConnections/import", fmt.Sprintf(`{"bankId":%d,"bankingUserId":"m","bankingPin":"secret","storePin":true}`, uk))
	r.json(t, 201, &c)
	e.drain()
	measure("import", budget{7, 4}, "POST", "/api/v1/bankConnections/import", fmt.Sprintf(`{"bankId":%d}`, demoID))
	e.drain()
	id := fmt.Sprint(c.ID)
	measure("update (stored PIN)", budget{3, 3}, "POST", "/api/v1/bankConnections/update", `{"bankConnectionId":`+id+`}`)
	e.drain()
	measure("edit", budget{1, 1}, "PATCH", "/api/v1/bankConnections/"+id, `{"name":"x"}`)
	measure("get one", budget{1, 0}, "GET", "/api/v1/bankConnections/"+id, "")
	measure("get many", budget{1, 0}, "GET", "/api/v1/bankConnections/"+id+",1", "")
	measure("get all", budget{1, 0}, "GET", "/api/v1/bankConnections", "")
	measure("accounts", budget{2, 0}, "GET", "/api/v1/accounts", "")
	measure("transactions", budget{2, 0}, "GET", "/api/v1/transactions?view=bankView", "")
	measure("banks", budget{1, 0}, "GET", "/api/v1/banks", "")
	measure("bank", budget{2, 0}, "GET", fmt.Sprintf("/api/v1/banks/%d", demoID), "")
	measure("categories", budget{0, 0}, "GET", "/api/v1/categories", "")
}
