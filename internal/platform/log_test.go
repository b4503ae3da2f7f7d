package platform

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRequestIDMiddleware(t *testing.T) {
	var seen string
	h := RequestIDMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
	}))
	tests := []struct {
		name   string
		header string
		reuse  bool
	}{
		{"none", "", false},
		{"sane", "req-123_abc.DEF:9", true},
		{"uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"spaces", "a b", false},
		{"newline injection", "abc\r\nSet-Cookie: x", false},
		{"too long", strings.Repeat("a", 129), false},
		{"quotes", `"x"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set(RequestIDHeader, tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			echoed := w.Header().Get(RequestIDHeader)
			if echoed == "" || echoed != seen {
				t.Fatalf("echoed %q, context %q", echoed, seen)
			}
			if tc.reuse && echoed != tc.header {
				t.Errorf("want reuse of %q, got %q", tc.header, echoed)
			}
			if !tc.reuse && (echoed == tc.header || !isHexID(echoed)) {
				t.Errorf("want a fresh id, got %q", echoed)
			}
		})
	}
}

func TestAccessLogAndRecover(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h, err := Mux([]Route{
		{Method: "GET", Path: "/items/{id}", Handler: func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, "ok") }},
		{Method: "GET", Path: "/boom", Handler: func(w http.ResponseWriter, r *http.Request) { panic("secret stack detail") }},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h = Chain(h, RequestIDMiddleware, AccessLog(log, "test"), Recover(log, nil))

	r := httptest.NewRequest("GET", "/items/acc-123", nil)
	r.Header.Set("Authorization", "Bearer SECRET-TOKEN")
	r.Header.Set(RequestIDHeader, "rid-1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") || !strings.Contains(w.Body.String(), `"INTERNAL"`) {
		t.Fatalf("panic answer: %d %s", w.Code, w.Body)
	}
	if w.Header().Get(RequestIDHeader) == "" {
		t.Error("panic answer lost the request id")
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if strings.Contains(buf.String(), "SECRET-TOKEN") || strings.Contains(buf.String(), "acc-123") {
		t.Errorf("log leaks the token or the raw path: %s", buf.String())
	}
	first := lines[0]
	if first["msg"] != "request" || first["route"] != "GET /items/{id}" || first["status"] != 200.0 || first["requestId"] != "rid-1" || first["method"] != "GET" || first["group"] != "test" {
		t.Errorf("access line: %v", first)
	}
	if _, ok := first["durationMs"]; !ok {
		t.Errorf("no duration: %v", first)
	}
	var sawPanic, saw500 bool
	for _, l := range lines[1:] {
		if l["msg"] == "panic serving request" && l["panic"] == "secret stack detail" && l["stack"] != "" {
			sawPanic = true
		}
		if l["msg"] == "request" && l["status"] == 500.0 && l["route"] == "GET /boom" && l["level"] == "ERROR" {
			saw500 = true
		}
	}
	if !sawPanic || !saw500 {
		t.Errorf("want panic and 500 access lines, got %v", lines[1:])
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "k.key")
	k1, err := LoadOrCreateKeyFile(path, 32)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %v %d", err, len(k1))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", err, fi.Mode())
	}
	k2, err := LoadOrCreateKeyFile(path, 32)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v", err)
	}
	if _, err := LoadOrCreateKeyFile(path, 16); err == nil || !strings.Contains(err.Error(), "want 16 bytes") {
		t.Fatalf("wrong size: %v", err)
	}
	// Concurrent first runs agree on one key.
	path = filepath.Join(dir, "race.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], _ = LoadOrCreateKeyFile(path, 32)
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) || len(k) != 32 {
			t.Fatal("concurrent creators got different keys")
		}
	}
}

func TestIDs(t *testing.T) {
	if a, b := NewID(), NewID(); a == b || !isHexID(a) {
		t.Errorf("NewID %q %q", a, b)
	}
	u := NewUUID()
	if len(u) != 36 || u[14] != '4' || !strings.ContainsAny(u[19:20], "89ab") {
		t.Errorf("uuid %q", u)
	}
	first, again := DeterministicID("x", "y"), DeterministicID("x", "y")
	if DeterministicID("ab", "c") == DeterministicID("a", "bc") || first != again || !isHexID(first) {
		t.Error("DeterministicID not injective/stable")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoggerAddsRequestID: every record logged with a request's context
// carries its id once, also when the call site names it itself.
func TestLoggerAddsRequestID(t *testing.T) {
	var buf syncBuffer
	log := NewLogger(&buf, slog.LevelInfo)
	var requestID string
	h := RequestIDMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID = RequestID(r.Context())
		log.InfoContext(r.Context(), "in handler", "k", "v")
		log.With("group", "g").WarnContext(r.Context(), "with attrs")
		log.ErrorContext(r.Context(), "explicit", "requestId", RequestID(r.Context()))
		log.Info("no context")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 log lines, got %d:\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, line)
		}
		if n := strings.Count(line, `"requestId"`); rec["msg"] == "no context" {
			if n != 0 {
				t.Errorf("record without a request context has a requestId: %s", line)
			}
		} else if n != 1 || rec["requestId"] != requestID {
			t.Errorf("record %q: %d requestId attributes, value %v, want exactly one %q: %s", rec["msg"], n, rec["requestId"], requestID, line)
		}
	}
}

// isHexID reports whether s looks like an id made by NewID/DeterministicID.
func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') }) < 0
}
