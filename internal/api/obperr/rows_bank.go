package obperr

import (
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
)

// bankRows: the bank directory. An OBP BANK_ID is a directory bank code
// with access enabled; whatever the directory cannot find is OBP-30001.
var bankRows = map[*fault.Kind]Row{
	bank.ErrNotFound:        {Status: 404, Code: CodeBankNotFound, Text: TextBankNotFound},
	bank.ErrUnknownProvider: {Status: 404, Code: CodeBankNotFound, Text: TextBankNotFound},
	bank.ErrInvalidCode:     {Status: 400, Code: CodeInvalidBankID, Text: TextInvalidBankID},
	bank.ErrInvalidID:       {Status: 400, Code: CodeInvalidBankID, Text: TextInvalidBankID},
	bank.ErrLoadNotFound:    {Status: 404, Code: CodeInvalidURI},
	bank.ErrInvalidCountry:  {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	bank.ErrInvalidAccess:   {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	bank.ErrBusy:            {Status: 409, Code: CodeConflict},
}
