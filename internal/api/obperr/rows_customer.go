package obperr

import (
	"net/http"

	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/fault"
)

// customerRows map the customer domain's kinds to OBP-API's codes and texts
// (shared/contracts/obp2-customers.md). An empty Text shows the domain's
// message: the missing roles named after OBP-20006's text, and what is
// wrong with a request the domain refuses.
var customerRows = map[*fault.Kind]Row{
	customer.ErrBankNotFound:     {Status: http.StatusNotFound, Code: CodeBankNotFound, Text: TextBankNotFound},
	customer.ErrMissingRoles:     {Status: http.StatusForbidden, Code: CodeMissingRoles},
	customer.ErrNumberExists:     {Status: http.StatusBadRequest, Code: "OBP-30006", Text: "Customer Number already exists. Please specify a different value for BANK_ID or CUSTOMER_NUMBER."},
	customer.ErrUserNotFound:     {Status: http.StatusNotFound, Code: "OBP-20005", Text: "User not found. Please specify a valid value for USER_ID."},
	customer.ErrLinkExists:       {Status: http.StatusBadRequest, Code: "OBP-30007", Text: "The User is already linked to a Customer at the bank specified by BANK_ID"},
	customer.ErrCustomerNotFound: {Status: http.StatusNotFound, Code: "OBP-30046", Text: "Customer not found. Please specify a valid value for CUSTOMER_ID."},
	customer.ErrInvalid:          {Status: http.StatusBadRequest, Code: CodeInvalidJSON},
	customer.ErrConflict:         {Status: http.StatusConflict, Code: CodeConflict},
}
