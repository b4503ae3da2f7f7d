package platform

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBaseURLMiddleware(t *testing.T) {
	tests := []struct {
		name, host, proto, want string
	}{
		{"local", "127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{"api gateway", "abc.execute-api.eu-west-1.amazonaws.com", "https", "https://abc.execute-api.eu-west-1.amazonaws.com"},
		{"hostile host", "evil.example/x", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := BaseURLMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = BaseURL(r.Context()) }))
			r := httptest.NewRequest(http.MethodGet, "/connect/sessions", nil)
			r.Host = tc.host
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("BaseURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPublicURLFromRequest(t *testing.T) {
	cfg, err := LoadConfig(func(k string) string {
		if k == "OPENAGG_PUBLIC_URL" {
			return "request"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL != "" {
		t.Fatalf("PublicURL = %q, want empty (from request)", cfg.PublicURL)
	}
}
