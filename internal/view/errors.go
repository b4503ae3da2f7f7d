package view

import (
	"fmt"
	"strings"

	"github.com/openagg/openagg/internal/platform"
)

// OBP error codes and texts (OBP-API's ErrorMessages numbering, the table in
// docs/api.md). A *platform.Error carries the code in Code and the text in
// Message; the OBP API renders {"code": Status, "message": Code + ": " + Message}.
const (
	CodeInvalidJSON         = "OBP-10001"
	CodeAllowedValues       = "OBP-10015"
	CodeSortDirection       = "OBP-10023"
	CodeOffset              = "OBP-10024"
	CodeLimit               = "OBP-10025"
	CodeDateFormat          = "OBP-10026"
	CodeSortBy              = "OBP-10042"
	CodeInvalidURI          = "OBP-10404"
	CodeMethodNotAllowed    = "OBP-10405"
	CodeNotLoggedIn         = "OBP-20001"
	CodeInvalidValueLength  = "OBP-20010"
	CodeInvalidCharacters   = "OBP-20011"
	CodeNoViewAccess        = "OBP-20017"
	CodeNoOwnerView         = "OBP-20019"
	CodeSystemView          = "OBP-20021"
	CodeBankNotFound        = "OBP-30001"
	CodeAccountNotFound     = "OBP-30003"
	CodeOtherAccountMissing = "OBP-30004"
	CodeViewNotFound        = "OBP-30005"
	CodeNoViewPermission    = "OBP-30022"
	CodeCannotGrant         = "OBP-30063"
	CodeCannotRevoke        = "OBP-30064"
	CodeAccessNotFound      = "OBP-30065"
	CodeTransactionNotFound = "OBP-30067"
	CodeInvalidBankID       = "OBP-30111"
	CodeViewExists          = "OBP-30252"
	CodeMetadataNotFound    = "OBP-30253"
	CodeNotAuthor           = "OBP-30254"
	CodeConflict            = "OBP-30255"
	CodeTooMuchMetadata     = "OBP-30256"
	CodeUnknown             = "OBP-50000"
)

// Texts of the codes above, as OBP-API words them where it has them.
const (
	TextInvalidJSON         = "Incorrect json format."
	TextNotLoggedIn         = "User not logged in. Authentication is required!"
	TextNoViewAccess        = "Current user does not have access to the view. Please specify a valid value for VIEW_ID."
	TextNoOwnerView         = "User does not have access to owner view."
	TextBankNotFound        = "Bank not found. Please specify a valid value for BANK_ID."
	TextAccountNotFound     = "Account not found. Please specify a valid value for ACCOUNT_ID."
	TextOtherAccountMissing = "Counterparty not found. Please specify a valid value for OTHER_ACCOUNT_ID."
	TextViewNotFound        = "View not found for Account. Please specify a valid value for VIEW_ID"
	TextNoViewPermission    = "The current view does not have the permission:"
	TextTransactionNotFound = "Transaction not found. Please specify a valid value for TRANSACTION_ID."
	TextInvalidBankID       = "Invalid Bank Id. The BANK_ID should only contain 0-9/a-z/A-Z/'-'/'.'/'_', the length should be smaller than 255."
	TextUnknown             = "Unknown Error."
)

// Error constructors shared by the view and metadata domains and the OBP API.

func ErrBankNotFound() error    { return platform.NotFound(CodeBankNotFound, TextBankNotFound) }
func ErrAccountNotFound() error { return platform.NotFound(CodeAccountNotFound, TextAccountNotFound) }
func ErrViewNotFound() error    { return platform.NotFound(CodeViewNotFound, TextViewNotFound) }
func ErrTransactionNotFound() error {
	return platform.NotFound(CodeTransactionNotFound, TextTransactionNotFound)
}
func ErrOtherAccountNotFound() error {
	return platform.NotFound(CodeOtherAccountMissing, TextOtherAccountMissing)
}
func ErrInvalidBankID() error { return platform.BadRequest(CodeInvalidBankID, TextInvalidBankID) }
func ErrNotLoggedIn() error   { return platform.Unauthorized(CodeNotLoggedIn, TextNotLoggedIn) }
func ErrNoViewAccess() error  { return platform.Forbidden(CodeNoViewAccess, TextNoViewAccess) }
func ErrNoOwnerView() error   { return platform.Forbidden(CodeNoOwnerView, TextNoOwnerView) }
func ErrNoPermission(action string) error {
	return platform.Forbidden(CodeNoViewPermission, "%s %s", TextNoViewPermission, action)
}

// ErrInvalidJSON is a 400 with OBP's json-format code and a detail.
func ErrInvalidJSON(format string, args ...any) error {
	return platform.BadRequest(CodeInvalidJSON, "%s %s", TextInvalidJSON, fmt.Sprintf(format, args...))
}

// ErrConflict reports a concurrent change that outlived the retries.
func ErrConflict() error {
	return platform.Conflict(CodeConflict, "The resource was changed by another request. Please retry.")
}

func errUnknownActions(names []string) error {
	return platform.BadRequest(CodeAllowedValues, "Allowed values are: the OBP 1.2 view actions. Unknown allowed_actions: %s", strings.Join(names, ", "))
}

func errActionNeeds(action, gate string) error {
	return platform.BadRequest(CodeInvalidJSON, "%s allowed_actions containing %s must also contain %s.", TextInvalidJSON, action, gate)
}
