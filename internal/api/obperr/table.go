package obperr

import (
	"fmt"

	"github.com/openagg/openagg/internal/fault"
)

// Row is how OBP shows one kind of failure: the HTTP status (also the
// body's "code") and the OBP code that starts the message, followed by
// Text, OBP's fixed text for the code, or by the domain's message when Text
// is empty. With Detail the domain's message follows Text (OBP's text, then
// what is wrong).
type Row struct {
	Status int
	Code   string
	Text   string
	Detail bool
}

// message is the body's message for a failure with the domain's message m.
func (r Row) message(m string) string {
	switch {
	case r.Text == "":
		return r.Code + ": " + m
	case r.Detail:
		return r.Code + ": " + r.Text + " " + m
	}
	return r.Code + ": " + r.Text
}

// Table is the OBP dialects' one mapping of domain failures: a row per
// kind, one file of rows per domain (rows_<domain>.go), and a row per
// class for a kind without one (a test checks that every kind the OBP
// groups can meet has its own).
var Table = fault.Table[Row]{
	Kinds: merge(viewRows, metadataRows, accountRows, bankRows, holdingsRows, authRows, customerRows),
	Classes: map[fault.Class]Row{
		fault.Invalid:         {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
		fault.NotFound:        {Status: 404, Code: CodeInvalidURI},
		fault.Unauthenticated: {Status: 401, Code: CodeNotLoggedIn, Text: TextNotLoggedIn, Detail: true},
		// The database refused for load past its retries: OBP's unknown
		// error, as a 503 with Retry-After (OBP-API has no code of its own).
		fault.Busy: {Status: 503, Code: CodeUnknown, Text: TextUnknown},
	},
}

// merge joins the per-domain rows; a kind in two of them is a programming
// error, caught when the package loads.
func merge(parts ...map[*fault.Kind]Row) map[*fault.Kind]Row {
	out := map[*fault.Kind]Row{}
	for _, rows := range parts {
		for k, r := range rows {
			if _, dup := out[k]; dup {
				panic(fmt.Sprintf("obperr: two rows for %q", k))
			}
			out[k] = r
		}
	}
	return out
}
