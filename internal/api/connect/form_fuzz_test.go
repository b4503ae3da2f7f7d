package connect_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// FuzzConnectForm: whatever a browser (or anything else) posts to the
// connect page's forms — any content type, any body, the real session
// token or another — the page answers with a page: never a 5xx, only the
// statuses the page has (200 a stage, 400 a bad form or a session over,
// 404 an unknown token, 409 a session waiting for another step, 410 an
// expired one, 413 too large), the HTML page with its
// data-stage (or its JSON form when asked), and no part of the input shown
// unescaped in the HTML.
func FuzzConnectForm(f *testing.F) {
	e := partytest.New(f, partytest.Options{})
	tok := e.Token(alice)
	e.CreateProfile(tok, partyID)
	token := e.CreateConnection(tok, partyID, sandbox.BankChallenge)
	paths := []string{"/connect/sessions", "/connect/sessions/challenge", "/connect/sessions/cancel"}
	for _, s := range []struct {
		path        uint8
		contentType string
		body        string
		realToken   bool
		json        bool
	}{
		{0, "application/x-www-form-urlencoded", "username=alice&password=wrong", true, false},
		{1, "application/x-www-form-urlencoded", "answer=000000", true, true},
		{0, "application/x-www-form-urlencoded", "token=abc&username=%3Cscript%3E&password=x", false, false},
		{0, "application/x-www-form-urlencoded", "username=a%3C1&password=wrong", true, false},
		{0, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nabc\r\n--x--\r\n", false, false},
		{0, "multipart/form-data", "--x--", false, false},
		{2, "application/json", `{"token":"abc"}`, false, true},
		{0, "application/x-www-form-urlencoded", "%zz=1", false, false},
		{1, "", "", false, false},
	} {
		f.Add(s.path, s.contentType, []byte(s.body), s.realToken, s.json)
	}
	f.Fuzz(func(t *testing.T, path uint8, contentType string, body []byte, realToken, asJSON bool) {
		b := string(body)
		if realToken {
			b = "token=" + token + "&" + b
		}
		req := httptest.NewRequest(http.MethodPost, paths[int(path)%len(paths)], strings.NewReader(b))
		req.Header.Set("Content-Type", contentType)
		if asJSON {
			req.Header.Set("Accept", "application/json")
		}
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusGone, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("POST %s (%q) %q: status %d: %s", req.URL.Path, contentType, b, rec.Code, rec.Body)
		}
		if asJSON {
			var p pageJSON
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Stage == "" {
				t.Fatalf("POST %s %q: JSON page %s: %v", req.URL.Path, b, rec.Body, err)
			}
			return
		}
		page := rec.Body.String()
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || !stageRE.MatchString(page) {
			t.Fatalf("POST %s %q: %s page %s", req.URL.Path, b, ct, page)
		}
		// What the client sent is shown escaped: a '<' followed by what
		// starts no tag of the page's own markup (a digit, a space, a
		// second '<') is never in the page as sent.
		// (The page's own script, which shows nothing of the input, has
		// comparisons: only the markup before it is looked at.)
		markup, _, _ := strings.Cut(page, "<script>")
		values, _ := url.ParseQuery(b)
		for _, vs := range values {
			for _, v := range vs {
				for i := 0; i+1 < len(v); i++ {
					if c := v[i+1]; v[i] == '<' && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!') && strings.Contains(markup, v[i:i+2]) {
						t.Fatalf("POST %s %q: the page shows %q unescaped", req.URL.Path, b, v[i:i+2])
					}
				}
			}
		}
	})
}
