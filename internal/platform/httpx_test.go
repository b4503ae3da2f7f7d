package platform

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

type decodeTarget struct {
	Name   string          `json:"name"`
	Count  int             `json:"count"`
	OK     bool            `json:"ok"`
	Tags   []string        `json:"tags"`
	Amount decimal.Decimal `json:"amount"`
	Inner  struct {
		Code string `json:"code"`
	} `json:"inner"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name       string
		body       io.Reader
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{name: "valid", body: strings.NewReader(`{"name":"a","count":2,"ok":true,"tags":["x"],"amount":"1.50","inner":{"code":"c"}}`)},
		{name: "valid with surrounding whitespace", body: strings.NewReader("\n {\"name\":\"a\"} \n")},
		{name: "syntax error with offset", body: strings.NewReader(`{"name": "a",}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "malformed JSON at offset 14"},
		{name: "not json", body: strings.NewReader(`<xml/>`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "malformed JSON at offset 1"},
		{name: "truncated", body: strings.NewReader(`{"name": "a"`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "unexpected end of input at offset 12"},
		{name: "unknown field", body: strings.NewReader(`{"name":"a","colour":"red"}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `unknown field "colour"`},
		{name: "unknown nested field", body: strings.NewReader(`{"inner":{"code":"c","x":1}}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `unknown field "inner.x" at offset 21`},
		{name: "wrong type string for number", body: strings.NewReader(`{"count":"two"}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `wrong type for field "count": expected number, got JSON string`},
		{name: "wrong type number for string", body: strings.NewReader(`{"name":5}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `wrong type for field "name": expected string, got JSON number`},
		{name: "wrong type for bool", body: strings.NewReader(`{"ok":"yes"}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `wrong type for field "ok": expected boolean, got JSON string`},
		{name: "wrong type for array", body: strings.NewReader(`{"tags":"x"}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `wrong type for field "tags": expected array, got JSON string`},
		{name: "wrong nested type", body: strings.NewReader(`{"inner":{"code":1}}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: `wrong type for field "inner.code": expected string`},
		{name: "wrong top-level type", body: strings.NewReader(`[1,2]`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "wrong type: expected object, got JSON array"},
		{name: "bad decimal", body: strings.NewReader(`{"amount":"abc"}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "malformed JSON"},
		{name: "trailing data", body: strings.NewReader(`{"name":"a"} {"name":"b"}`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "unexpected data after the JSON value"},
		{name: "trailing garbage", body: strings.NewReader(`{"name":"a"}xyz`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "unexpected data after the JSON value"},
		{name: "null body", body: strings.NewReader(`null`), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "the body is null"},
		{name: "null body with whitespace", body: strings.NewReader(" null\n"), wantStatus: 400, wantCode: CodeMalformedJSON, wantMsg: "the body is null"},
		{name: "empty body", body: strings.NewReader(``), wantStatus: 400, wantCode: CodeEmptyBody, wantMsg: "request body is required"},
		{name: "whitespace body", body: strings.NewReader(" \n\t"), wantStatus: 400, wantCode: CodeEmptyBody},
		{name: "no body", body: nil, wantStatus: 400, wantCode: CodeEmptyBody},
		{name: "too large", body: strings.NewReader(`{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`), wantStatus: 413, wantCode: CodeBodyTooLarge, wantMsg: "exceeds 1048576 bytes"},
		{name: "exactly at limit", body: strings.NewReader(`{"name":"` + strings.Repeat("a", MaxBodyBytes-12) + `"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", tc.body)
			if tc.body == nil {
				r.Body = http.NoBody
			}
			var dst decodeTarget
			err := DecodeJSON(httptest.NewRecorder(), r, &dst)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("want *platform.Error, got %T %v", err, err)
			}
			if pe.Status != tc.wantStatus || pe.Code != tc.wantCode {
				t.Errorf("got %d %s (%q), want %d %s", pe.Status, pe.Code, pe.Message, tc.wantStatus, tc.wantCode)
			}
			if !strings.Contains(pe.Message, tc.wantMsg) {
				t.Errorf("message %q does not contain %q", pe.Message, tc.wantMsg)
			}
		})
	}
}

func TestDecodeOptionalJSON(t *testing.T) {
	var dst decodeTarget
	present, err := DecodeOptionalJSON(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/x", nil), &dst)
	if err != nil || present {
		t.Fatalf("empty body: present=%v err=%v", present, err)
	}
	present, err = DecodeOptionalJSON(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/x", strings.NewReader(`{"name":"n"}`)), &dst)
	if err != nil || !present || dst.Name != "n" {
		t.Fatalf("body: present=%v err=%v dst=%+v", present, err, dst)
	}
	_, err = DecodeOptionalJSON(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/x", strings.NewReader(`{"nope":1}`)), &dst)
	if AsError(err).Status != 400 {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusCreated, map[string]string{"a": "b"})
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json; charset=utf-8" || w.Body.String() != "{\"a\":\"b\"}\n" {
		t.Fatalf("got %d %q %q", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, func() {})
	if w.Code != 500 || !strings.Contains(w.Body.String(), "internal error") {
		t.Fatalf("unencodable: %d %s", w.Code, w.Body)
	}
}

func TestMux(t *testing.T) {
	ok := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, 200, map[string]string{"route": name, "id": r.PathValue("id")})
		}
	}
	render := func(w http.ResponseWriter, r *http.Request, err error) {
		e := AsError(err)
		WriteJSON(w, e.Status, map[string]any{"dialect": "test", "code": e.Code})
	}
	h, err := Mux([]Route{
		{Method: "GET", Path: "/things", Handler: ok("list")},
		{Method: "POST", Path: "/things", Handler: ok("create")},
		{Method: "GET", Path: "/things/{id}", Handler: ok("get")},
		{Method: "DELETE", Path: "/things/{id}", Handler: ok("delete")},
	}, render)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		body         string
		allow        string
	}{
		{"GET", "/things", 200, `"route":"list"`, ""},
		{"POST", "/things", 200, `"route":"create"`, ""},
		{"GET", "/things/42", 200, `"id":"42"`, ""},
		{"DELETE", "/things/42", 200, `"route":"delete"`, ""},
		{"PUT", "/things/42", 405, `"code":"METHOD_NOT_ALLOWED"`, "GET, HEAD, DELETE"},
		{"DELETE", "/things", 405, `"dialect":"test"`, "GET, HEAD, POST"},
		{"GET", "/nothing", 404, `"code":"NOT_FOUND"`, ""},
		{"GET", "/things/42/more", 404, `"dialect":"test"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
				t.Fatalf("got %d %s, want %d containing %s", w.Code, w.Body, tc.status, tc.body)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}

	if _, err := Mux([]Route{{Method: "GET", Path: "/a", Handler: ok("a")}, {Method: "GET", Path: "/a", Handler: ok("b")}}, nil); err == nil {
		t.Error("duplicate route: want error")
	}
	if _, err := Mux([]Route{{Method: "GET", Path: "/a"}}, nil); err == nil {
		t.Error("nil handler: want error")
	}
}

func TestRenderErrorHidesInternal(t *testing.T) {
	w := httptest.NewRecorder()
	RenderError(w, httptest.NewRequest("GET", "/", nil), errors.New("dial tcp 10.0.0.1: secret detail"))
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if w.Code != 500 || body["code"] != "INTERNAL" || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}
