package obperr

import (
	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/fault"
)

// accountRows: the account query (an account as seen through a view).
var accountRows = map[*fault.Kind]Row{
	account.ErrInvalidBankID:        {Status: 400, Code: CodeInvalidBankID, Text: TextInvalidBankID},
	account.ErrNotFound:             {Status: 404, Code: CodeAccountNotFound, Text: TextAccountNotFound},
	account.ErrTransactionNotFound:  {Status: 404, Code: CodeTransactionNotFound, Text: TextTransactionNotFound},
	account.ErrOtherAccountNotFound: {Status: 404, Code: CodeOtherAccountMissing, Text: TextOtherAccountMissing},
}
