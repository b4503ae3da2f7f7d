package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openagg/openagg/internal/authn"
)

// BenchmarkStack measures the platform's per-request cost: top-level mux,
// request id, access log (discarded), recovery, HS256 verification, group
// mux, and a store Get (health) or the principal echo (whoami).
func BenchmarkStack(b *testing.B) {
	a := newTestApp(b)
	a.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	a.handlers = map[string]http.Handler{}
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := authn.Mint(a.JWTKey, authn.Claims{Sub: "alice", Roles: []string{"R"}, Issuer: a.Config.JWTIssuer, Audience: a.Config.JWTAudience})
	for _, bc := range []struct{ name, path, token string }{
		{"health", "/health", ""},
		{"whoami_hs256", "/whoami", tok},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", bc.path, nil)
				if bc.token != "" {
					r.Header.Set("Authorization", "Bearer "+bc.token)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", bc.path, w.Code, w.Body)
				}
			}
		})
	}
}
