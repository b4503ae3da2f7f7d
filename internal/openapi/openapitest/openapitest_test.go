package openapitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The checks themselves: what passes, and each kind of mismatch they
// must catch.
func TestCheck(t *testing.T) {
	jsonH := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	htmlH := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	detail := `{"connections":[{"DigitalProfileID":"GB0010001-1","provider":"sandbox","bankCode":"b","bankName":"B","NextRefresh":"",` +
		`"CreatedAt":"2025-03-10T12:00:00Z","status":"pending","providerConnectionStatus":"","CountryCode":"GB"}]}`
	for _, tc := range []struct {
		name         string
		method, path string
		body         string
		status       int
		header       http.Header
		answer       string
		wantErr      string // "" when the exchange agrees with the documents
	}{
		{"a documented answer", "GET", "/party/profiles/100/connectionDetails", "", 200, jsonH, detail, ""},
		{"a field the document does not know", "GET", "/party/profiles/100/connectionDetails", "", 200, jsonH,
			strings.Replace(detail, `"CountryCode":"GB"`, `"CountryCode":"GB","colour":"red"`, 1), "colour"},
		{"a required field missing", "GET", "/party/profiles/100/connectionDetails", "", 200, jsonH,
			strings.Replace(detail, `"CountryCode":"GB"`, `"CountryCod":"GB"`, 1), "does not match"},
		{"a wrong type", "GET", "/party/profiles/100/connectionDetails", "", 200, jsonH,
			strings.Replace(detail, `"bankName":"B"`, `"bankName":7`, 1), "does not match"},
		{"a status the operation does not document", "GET", "/party/profiles/100/connectionDetails", "", 418, jsonH,
			`{"error":{"code":"TEAPOT","message":"no"}}`, "status is not supported"},
		{"a documented error", "GET", "/party/profiles/100/connectionDetails", "", 404, jsonH,
			`{"error":{"code":"PARTY_NOT_FOUND","message":"no","requestId":"r"}}`, ""},
		{"an error in another dialect's body", "GET", "/party/profiles/100/connectionDetails", "", 404, jsonH,
			`{"code":404,"message":"OBP-30001"}`, "does not match"},
		{"a refused request answered 2xx", "GET", "/holdings/profiles/100/accounts/a/transactions?limit=0", "", 200, jsonH,
			`{"transactions":[]}`, "refuses the request"},
		{"a refused request answered 400", "GET", "/holdings/profiles/100/accounts/a/transactions?limit=0", "", 400, jsonH,
			`{"error":{"code":"INVALID_LIMIT","message":"no"}}`, ""},
		{"a body the document refuses, answered 200", "PUT", "/system/bank/b/access", `{"setAccess":"Maybe"}`, 200, jsonH,
			`{"Status":"ok"}`, "refuses the request"},
		{"an unknown route's 404", "GET", "/nowhere", "", 404, jsonH, `{"code":"NOT_FOUND","message":"no route"}`, ""},
		{"an unknown route answered 200", "GET", "/nowhere", "", 200, jsonH, `{}`, "no operation matches"},
		{"another method's 405", "DELETE", "/party/profiles/100/connectionDetails", "", 405, jsonH,
			`{"error":{"code":"METHOD_NOT_ALLOWED","message":"no"}}`, ""},
		{"an answer without its body", "GET", "/party/profiles/100/connectionDetails", "", 200, jsonH, ``, "does not match"},
		{"HTML where JSON is documented", "GET", "/party/profiles/100/connectionDetails", "", 200, htmlH, `<p>`, "Content-Type"},
		{"the connect page", "GET", "/connect/sessions?token=x", "", 404, htmlH, `<main data-stage="invalid">`, ""},
		{"a literal path beats a parameter", "GET", "/obp/v1.2/banks/b/accounts/private", "", 401, jsonH,
			`{"code":401,"message":"OBP-20001: User not logged in. Authentication is required!"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			err := Check(r, []byte(tc.body), tc.status, tc.header, []byte(tc.answer))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatal("accepted")
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %v, want one about %q", err, tc.wantErr)
			}
		})
	}
}
