package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// TestSystemWiring: the system group and the directory-loader worker, as
// `openagg serve` builds them on the embedded default, load the directory
// end to end.
func TestSystemWiring(t *testing.T) {
	cfg, err := platform.LoadConfig(func(k string) string {
		if k == "OPENAGG_DATA_DIR" {
			return t.TempDir()
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	h, err := a.Handler("system")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(a.JWTKey, auth.Claims{Sub: "admin", Roles: []string{bank.RoleManageDirectory}, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := call(http.MethodGet, "/system/banks"); rec.Code != http.StatusAccepted {
		t.Fatalf("load: %d %s", rec.Code, rec.Body)
	}
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := call(http.MethodGet, "/system/banks/"+sandbox.BankDefault+"/provider/sandbox")
	var b map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &b) != nil || b["bankCode"] != sandbox.BankDefault {
		t.Fatalf("bank after load: %d %s", rec.Code, rec.Body)
	}
	// Unknown paths under /system answer in the Aggregation error format.
	rec = call(http.MethodGet, "/system/nope")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code == "" {
		t.Errorf("404: %d %s", rec.Code, rec.Body)
	}
	var found bool
	for _, w := range a.Workers() {
		found = found || w.Name == "directory-loader"
	}
	if !found {
		t.Error("directory-loader worker not registered")
	}
}
