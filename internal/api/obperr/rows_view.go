package obperr

import (
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/view"
)

// viewRows: views and grants (OBP 1.2).
var viewRows = map[*fault.Kind]Row{
	view.ErrNotFound:          {Status: 404, Code: CodeViewNotFound, Text: TextViewNotFound},
	view.ErrLoginRequired:     {Status: 401, Code: CodeNotLoggedIn, Text: TextNotLoggedIn},
	view.ErrNoAccess:          {Status: 403, Code: CodeNoViewAccess, Text: TextNoViewAccess},
	view.ErrNotOwner:          {Status: 403, Code: CodeNoOwnerView, Text: TextNoOwnerView},
	view.ErrNoPermission:      {Status: 403, Code: CodeNoViewPermission, Text: TextNoViewPermission, Detail: true},
	view.ErrInvalid:           {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	view.ErrNotAllowedValue:   {Status: 400, Code: CodeAllowedValues},
	view.ErrTooLong:           {Status: 400, Code: CodeInvalidValueLength},
	view.ErrInvalidCharacters: {Status: 400, Code: CodeInvalidCharacters},
	view.ErrSystemView:        {Status: 400, Code: CodeSystemView},
	view.ErrExists:            {Status: 400, Code: CodeViewExists},
	view.ErrCannotGrant:       {Status: 400, Code: CodeCannotGrant},
	view.ErrCannotRevoke:      {Status: 400, Code: CodeCannotRevoke},
	view.ErrGrantNotFound:     {Status: 404, Code: CodeAccessNotFound},
	view.ErrConflict:          {Status: 409, Code: CodeConflict},
}
