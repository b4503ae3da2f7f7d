package obperr

import (
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
)

// holdingsRows: imported accounts and transactions, which the OBP groups
// read through the account query and the counterparty directory.
var holdingsRows = map[*fault.Kind]Row{
	holdings.ErrAccountNotFound:      {Status: 404, Code: CodeAccountNotFound, Text: TextAccountNotFound},
	holdings.ErrTransactionNotFound:  {Status: 404, Code: CodeTransactionNotFound, Text: TextTransactionNotFound},
	holdings.ErrCounterpartyNotFound: {Status: 404, Code: CodeOtherAccountMissing, Text: TextOtherAccountMissing},
	holdings.ErrImportNotFound:       {Status: 404, Code: CodeInvalidURI},
	holdings.ErrInvalidLimit:         {Status: 400, Code: CodeLimit},
	holdings.ErrInvalidDate:          {Status: 400, Code: CodeDateFormat},
	holdings.ErrInvalidDateRange:     {Status: 400, Code: CodeDateFormat},
	holdings.ErrInvalidPageToken:     {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	holdings.ErrInvalidImport:        {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	holdings.ErrInvalidRemoval:       {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	holdings.ErrConnectionRemoving:   {Status: 409, Code: CodeConflict},
}
