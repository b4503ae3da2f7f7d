package app

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// TestSystemWiring: the system group and the directory-loader worker, as
// `openagg serve` builds them on the embedded default, load the directory
// end to end.
func TestSystemWiring(t *testing.T) {
	a := newTestApp(t)
	h, err := a.Handler("system")
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	tok := token(t, a, authn.Claims{Sub: "admin", Roles: []string{bank.RoleManageDirectory}})
	if code, body := serve(h, http.MethodGet, "/system/banks", tok, "", ""); code != http.StatusAccepted {
		t.Fatalf("load: %d %s", code, body)
	}
	drain(t, a)
	code, body := serve(h, http.MethodGet, "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", tok, "", "")
	var b map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &b) != nil || b["bankCode"] != sandbox.BankDefault {
		t.Fatalf("bank after load: %d %s", code, body)
	}
	// Unknown paths under /system answer in the Aggregation error format.
	code, body = serve(h, http.MethodGet, "/system/nope", tok, "", "")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if code != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" {
		t.Errorf("404: %d %s", code, body)
	}
	var found bool
	for _, w := range workers(t, a) {
		found = found || w.Name == "directory-loader"
	}
	if !found {
		t.Error("directory-loader worker not registered")
	}
}
