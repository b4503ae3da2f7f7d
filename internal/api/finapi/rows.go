package finapi

import (
	"net/http"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
)

// sharedRows map the failures of the domains finAPI's bank connections are
// built on (auth, party, connection, holdings, bank): a bank connection is
// a connection of the user's party, so their kinds can reach the dialect.
// A provider that is down is not the bank rejecting anything: 503
// UNEXPECTED_ERROR, for the client to retry.
var sharedRows = map[*fault.Kind]Wire{
	auth.ErrNoToken:                {http.StatusUnauthorized, "UNAUTHORIZED_ACCESS", Technical},
	auth.ErrInvalidToken:           {http.StatusUnauthorized, "INVALID_TOKEN", Technical},
	auth.ErrNotAllowed:             {http.StatusForbidden, "FORBIDDEN", Business},
	auth.ErrInvalidRole:            {http.StatusBadRequest, "BAD_REQUEST", Technical},
	auth.ErrBankRole:               {http.StatusBadRequest, "BAD_REQUEST", Technical},
	auth.ErrSystemRole:             {http.StatusBadRequest, "BAD_REQUEST", Technical},
	auth.ErrInvalidUser:            {http.StatusBadRequest, "BAD_REQUEST", Technical},
	auth.ErrEntitlementExists:      {http.StatusUnprocessableEntity, "ENTITY_EXISTS", Business},
	auth.ErrEntitlementNotFound:    {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	auth.ErrEntitlementOfOtherUser: {http.StatusBadRequest, "BAD_REQUEST", Technical},

	party.ErrInvalidID:           {http.StatusBadRequest, "BAD_REQUEST", Technical},
	party.ErrNotFound:            {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	party.ErrForbidden:           {http.StatusForbidden, "FORBIDDEN", Business},
	party.ErrProfileExists:       {http.StatusUnprocessableEntity, "ENTITY_EXISTS", Business},
	party.ErrCustomerConflict:    {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	party.ErrProviderRejected:    {http.StatusUnprocessableEntity, "BANK_SERVER_REJECTION", Business},
	party.ErrProviderNotFound:    {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	party.ErrProviderTooEarly:    {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	party.ErrProviderUnavailable: {http.StatusServiceUnavailable, "UNEXPECTED_ERROR", Technical},

	connection.ErrInvalidRequest:         {http.StatusBadRequest, "BAD_REQUEST", Technical},
	connection.ErrInvalidDate:            {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	connection.ErrInvalidPeriod:          {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	connection.ErrPeriodTooLong:          {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	connection.ErrInvalidScope:           {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	connection.ErrUnsupportedScope:       {http.StatusUnprocessableEntity, "UNSUPPORTED_BANK", Business},
	connection.ErrUnsupportedAccountType: {http.StatusUnprocessableEntity, "NO_ACCOUNTS_FOR_TYPE_LIST", Business},
	connection.ErrCustomerMismatch:       {http.StatusBadRequest, "BAD_REQUEST", Technical},
	connection.ErrBankDisabled:           {http.StatusUnprocessableEntity, "UNSUPPORTED_BANK", Business},
	connection.ErrBankUnavailable:        {http.StatusUnprocessableEntity, "UNSUPPORTED_BANK", Business},
	connection.ErrNotFound:               {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	connection.ErrExists:                 {http.StatusUnprocessableEntity, "ENTITY_EXISTS", Business},
	connection.ErrRemoving:               {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	connection.ErrBusy:                   {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	connection.ErrNotActive:              {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	connection.ErrRefreshTooEarly:        {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
	connection.ErrUnknownSession:         {http.StatusNotFound, "UNKNOWN_ENTITY", Business},

	holdings.ErrAccountNotFound:      {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	holdings.ErrTransactionNotFound:  {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	holdings.ErrCounterpartyNotFound: {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	holdings.ErrImportNotFound:       {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	holdings.ErrInvalidLimit:         {http.StatusBadRequest, "ILLEGAL_PAGE_SIZE", Business},
	holdings.ErrInvalidDate:          {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	holdings.ErrInvalidDateRange:     {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	holdings.ErrInvalidPageToken:     {http.StatusBadRequest, "BAD_REQUEST", Technical},
	holdings.ErrInvalidImport:        {http.StatusBadRequest, "BAD_REQUEST", Technical},
	holdings.ErrInvalidRemoval:       {http.StatusBadRequest, "BAD_REQUEST", Technical},
	holdings.ErrConnectionRemoving:   {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},

	bank.ErrNotFound:        {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	bank.ErrUnknownProvider: {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	bank.ErrLoadNotFound:    {http.StatusNotFound, "UNKNOWN_ENTITY", Business},
	bank.ErrInvalidCode:     {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	bank.ErrInvalidID:       {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	bank.ErrInvalidCountry:  {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	bank.ErrInvalidAccess:   {http.StatusBadRequest, "ILLEGAL_FIELD_VALUE", Business},
	bank.ErrBusy:            {http.StatusUnprocessableEntity, "ILLEGAL_ENTITY_STATE", Business},
}
