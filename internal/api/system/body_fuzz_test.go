package system

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/webhook"
)

// FuzzAccessRequest: the body of PUT /system/bank/{bankcode}/access never
// panics the decoder; it is accepted exactly when it is an object whose
// setAccess is "Yes" (enable) or "No" (disable); anything else is a 400
// (413 when too large) in the Aggregation error format.
func FuzzAccessRequest(f *testing.F) {
	for _, s := range []string{`{"setAccess":"Yes"}`, `{"setAccess":"No"}`, `{"setAccess":"yes"}`, `{"setAccess":null}`, `{}`, `null`, ``,
		`{"setAccess":true}`, `{"setAccess":"Yes","setAccess":"No"}`, `{"SetAccess":"Yes"}`, `{"setAccess":"Yes","x":1}`, `{"setAccess":"Y\u0065s"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		enabled, err := accessOf(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/system/bank/b/access", bytes.NewReader(body)))
		if err != nil {
			assertRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		var req map[string]string
		if json.Unmarshal(body, &req) != nil || len(req) != 1 {
			t.Fatalf("accepted %q", body)
		}
		if want := map[string]bool{AccessYes: true, AccessNo: false}; want[req["setAccess"]] != enabled || (req["setAccess"] != AccessYes && req["setAccess"] != AccessNo) {
			t.Fatalf("%q read as enabled %v", body, enabled)
		}
	})
}

// FuzzWebhookRequest: PUT /system/webhooks/{name}: the name is accepted
// exactly when it is 1 to 64 of [A-Za-z0-9_.-]; the body never panics the
// decoder, and an accepted one written back reads the same (the URL and
// events are the domain's checks, with the outbound policy's address
// lookups); a refused name or body is a 400 (413 when too large) in the
// Aggregation error format.
func FuzzWebhookRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"journey", `{"url":"https://93.184.215.14/openagg","events":["import.completed"]}`}, {"", `{}`}, {"a b", `null`},
		{"ok.name_1-2", `{"url":1}`}, {"x", `{"url":"u","events":null}`}, {"é", `{"URL":"u"}`}, {"x", `{"url":"u","url":"v"}`},
		{"0123456789012345678901234567890123456789012345678901234567890123", `{"events":[]}`}, {"x", `{"url":"u","events":["a"],"secret":"s"}`},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		if err := webhook.ValidateName(name); err != nil {
			assertRefused(t, err, http.StatusBadRequest)
		} else if !validName(name) {
			t.Fatalf("name %q accepted", name)
		}
		req, err := webhookRequest(body)
		if err != nil {
			assertRefused(t, err, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			return
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := webhookRequest(b)
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%q read as %+v; written back and read again %+v (%v)", body, req, again, err)
		}
	})
}

// webhookRequest decodes body as putWebhook does.
func webhookRequest(body []byte) (WebhookRequest, error) {
	var req WebhookRequest
	err := platform.DecodeJSON(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/system/webhooks/x", bytes.NewReader(body)), &req)
	return req, err
}

func validName(s string) bool {
	if s == "" || len(s) > webhook.MaxNameLength {
		return false
	}
	for _, r := range []byte(s) {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// assertRefused: err renders as the Aggregation error body with one of
// the statuses, a code and a message.
func assertRefused(t *testing.T, err error, statuses ...int) {
	t.Helper()
	w := httptest.NewRecorder()
	aggregation.WriteError(w, httptest.NewRequest(http.MethodPut, "/system/x", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), err)
	var body aggregation.ErrorBody
	if derr := json.Unmarshal(w.Body.Bytes(), &body); derr != nil {
		t.Fatalf("refusal %v: body %q: %v", err, w.Body.Bytes(), derr)
	}
	for _, s := range statuses {
		if w.Code == s && body.Error.Code != "" && body.Error.Message != "" {
			return
		}
	}
	t.Fatalf("refusal %v answered %d %s, want one of %v in the Aggregation format", err, w.Code, w.Body.Bytes(), statuses)
}
