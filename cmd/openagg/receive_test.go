package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/webhook"
)

// The local receiver verifies what it gets and, with --refuse-first,
// answers 503 to a message's first delivery only.
func TestReceiver(t *testing.T) {
	secret := webhook.NewSecret()
	key, err := webhook.SecretKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	h := receiver(&out, secret, true, func() time.Time { return now })
	body := []byte(`{"type":"import.completed","timestamp":"2026-03-01T11:59:00Z","data":{"partyId":"100100","bankCode":"b","counts":{"accounts":2,"transactions":60,"added":60,"modified":0,"removed":0}}}`)
	post := func(id string, ts time.Time, sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
		req.Header.Set(webhook.HeaderID, id)
		req.Header.Set(webhook.HeaderTimestamp, fmt.Sprint(ts.Unix()))
		req.Header.Set(webhook.HeaderSignature, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	for _, tc := range []struct {
		name   string
		id     string
		ts     time.Time
		sig    string
		status int
	}{
		{"first delivery", "msg_1", now, webhook.Sign(key, "msg_1", now, body), http.StatusServiceUnavailable},
		{"its retry", "msg_1", now, webhook.Sign(key, "msg_1", now, body), http.StatusNoContent},
		{"forged", "msg_2", now, "v1,AAAA", http.StatusUnauthorized},
		{"stale", "msg_3", now.Add(-time.Hour), webhook.Sign(key, "msg_3", now.Add(-time.Hour), body), http.StatusUnauthorized},
	} {
		if got := post(tc.id, tc.ts, tc.sig); got != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.status)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "import.completed party 100100, bank b, 2 accounts, 60 transactions (+60 ~0 -0): verified, answered 503") ||
		!strings.Contains(lines[1], "delivery 2 of this id") || !strings.Contains(lines[2], "REFUSED") || !strings.Contains(lines[3], "REFUSED") {
		t.Fatalf("output:\n%s", out.String())
	}
}
