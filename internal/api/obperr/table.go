package obperr

import "github.com/openagg/openagg/internal/fault"

// Row is how OBP shows one kind of domain failure: the HTTP status, the
// OBP code and OBP's fixed text (empty: the domain's message).
type Row struct {
	Status int
	Code   string
	Text   string
}

// table maps domain failure kinds to OBP rows, built from the domains'
// row maps (rows_<domain>.go).
var table = fault.Table[Row]{Kinds: customerRows}

// fromFault renders a domain failure that has a row; ok is false for any
// other error.
func fromFault(err error) (status int, code, message string, ok bool) {
	row, msg, ok := table.Lookup(err)
	if !ok {
		return 0, "", "", false
	}
	if row.Text != "" {
		msg = row.Text
	}
	return row.Status, row.Code, msg, true
}
