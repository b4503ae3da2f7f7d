package obperr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/platform"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"OBP code as is", platform.Forbidden("OBP-20006", "User is missing one or more roles: X"), 403, "OBP-20006: User is missing one or more roles: X"},
		{"401 from auth", platform.Unauthorized("UNAUTHENTICATED", "send a token"), 401, "OBP-20001: User not logged in. Authentication is required! send a token"},
		{"routing 404", platform.NotFound("NOT_FOUND", "no route for GET /x"), 404, "OBP-10404: no route for GET /x"},
		{"routing 405", platform.Errorf(405, "METHOD_NOT_ALLOWED", "method PUT is not allowed"), 405, "OBP-10405: method PUT is not allowed"},
		{"body decoding", platform.BadRequest(platform.CodeMalformedJSON, "unknown field \"x\""), 400, "OBP-10001: Incorrect json format. unknown field \"x\""},
		{"internal", errors.New("disk on fire"), 500, "OBP-50000: Unknown Error."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			obperr.Write(rec, httptest.NewRequest(http.MethodGet, "/obp/v2.0.0/x", nil), slog.New(slog.NewJSONHandler(&logs, nil)), tc.err)
			var body obperr.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body.Code != tc.status || body.Message != tc.message {
				t.Fatalf("%d %s, want %d %q", rec.Code, rec.Body, tc.status, tc.message)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (got != "") != (tc.status == 401) {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if logged := strings.Contains(logs.String(), "disk on fire"); logged != (tc.status == 500) {
				t.Errorf("logged %v: %s", logged, logs.String())
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct{ A string }
	rec := httptest.NewRecorder()
	err := obperr.DecodeJSON(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"A":1}`)), &v)
	e := platform.AsError(err)
	if e.Status != 400 || e.Code != "OBP-10001" || !strings.HasPrefix(e.Message, "Incorrect json format. wrong type") {
		t.Fatalf("%+v", e)
	}
	if err := obperr.DecodeJSON(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"A":"x"}`)), &v); err != nil || v.A != "x" {
		t.Fatalf("%v %+v", err, v)
	}
}
