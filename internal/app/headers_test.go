package app

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/authn"
)

// TestResponsesAreNeverCached: every answer of every route, errors included,
// says Cache-Control: no-store and X-Content-Type-Options: nosniff (issue
// 12, finding 6): API answers carry account data, connect tokens and
// secrets, which no shared or browser cache may keep.
func TestResponsesAreNeverCached(t *testing.T) {
	a := newTestApp(t)
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	tok := token(t, a, authn.Claims{Sub: "alice"})
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, g := range groups(t, a) {
		for _, rt := range g.Routes {
			path := param.ReplaceAllString(rt.Path, "x")
			for _, bearer := range []string{"", tok} {
				r := httptest.NewRequest(rt.Method, path, strings.NewReader("{}"))
				r.Header.Set("Content-Type", "application/json")
				if bearer != "" {
					r.Header.Set("Authorization", "Bearer "+bearer)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if got := w.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("%s %s (token %v) → %d with Cache-Control %q", rt.Method, path, bearer != "", w.Code, got)
				}
				if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s %s → X-Content-Type-Options %q", rt.Method, path, got)
				}
			}
		}
	}
	// Outside every group too.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nowhere/at/all", nil))
	if w.Code != http.StatusNotFound || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("unknown path: %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
}

// TestConnectPageFraming: by default no site may frame the connect page
// (frame-ancestors 'none' and X-Frame-Options DENY); the configured origins
// may, and only they.
func TestConnectPageFraming(t *testing.T) {
	tests := []struct {
		name, env, ancestors string
		xfo                  string
	}{
		{"default", "", "frame-ancestors 'none'", "DENY"},
		{"allow-list", "https://app.example.com 'self'", "frame-ancestors https://app.example.com 'self'", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestApp(t, "OPENAGG_CONNECT_FRAME_ANCESTORS", tc.env)
			h, err := a.Handler("connect")
			if err != nil {
				t.Fatal(err)
			}
			h = checked(t, h)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/connect/sessions?token=nope", nil))
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.HasSuffix(csp, tc.ancestors) || w.Header().Get("X-Frame-Options") != tc.xfo {
				t.Fatalf("%d: CSP %q, X-Frame-Options %q; want ...%s and %q", w.Code, csp, w.Header().Get("X-Frame-Options"), tc.ancestors, tc.xfo)
			}
		})
	}
}
