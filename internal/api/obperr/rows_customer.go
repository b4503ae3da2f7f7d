package obperr

import (
	"net/http"

	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/view"
)

// customerRows map the customer domain's kinds to OBP-API's codes and texts
// (shared/contracts/obp2-customers.md). An empty Text shows the domain's
// message: the missing roles named after OBP-20006's text, and what is
// wrong with a request the domain refuses.
var customerRows = map[*fault.Kind]Row{
	customer.ErrBankNotFound:     {http.StatusNotFound, view.CodeBankNotFound, view.TextBankNotFound},
	customer.ErrMissingRoles:     {http.StatusForbidden, "OBP-20006", ""},
	customer.ErrNumberExists:     {http.StatusBadRequest, "OBP-30006", "Customer Number already exists. Please specify a different value for BANK_ID or CUSTOMER_NUMBER."},
	customer.ErrUserNotFound:     {http.StatusNotFound, "OBP-20005", "User not found. Please specify a valid value for USER_ID."},
	customer.ErrLinkExists:       {http.StatusBadRequest, "OBP-30007", "The User is already linked to a Customer at the bank specified by BANK_ID"},
	customer.ErrCustomerNotFound: {http.StatusNotFound, "OBP-30046", "Customer not found. Please specify a valid value for CUSTOMER_ID."},
	customer.ErrInvalid:          {http.StatusBadRequest, view.CodeInvalidJSON, ""},
	customer.ErrConflict:         {http.StatusConflict, view.CodeConflict, ""},
}
