package obperr

import (
	"testing"
)

// TestRowMessages: a row shows OBP's fixed text, the domain's message, or
// OBP's text followed by the domain's message (Detail).
func TestRowMessages(t *testing.T) {
	for _, tc := range []struct {
		row  Row
		want string
	}{
		{Row{Status: 404, Code: CodeBankNotFound, Text: TextBankNotFound}, "OBP-30001: " + TextBankNotFound},
		{Row{Status: 400, Code: CodeInvalidValueLength}, "OBP-20010: the domain's words"},
		{Row{Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true}, "OBP-10001: Incorrect json format. the domain's words"},
	} {
		if got := tc.row.message("the domain's words"); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.row, got, tc.want)
		}
	}
}
