package aggregation

import (
	"net/http"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/webhook"
)

// The Aggregation error codes (docs/api.md).
const (
	CodeInvalidPartyID         = "INVALID_PARTY_ID"
	CodePartyNotFound          = "PARTY_NOT_FOUND"
	CodePartyForbidden         = "PARTY_FORBIDDEN"
	CodeProfileExists          = "PROFILE_EXISTS"
	CodeProfileConflict        = "PROFILE_CONFLICT"
	CodeProviderRejected       = "PROVIDER_REJECTED"
	CodeProviderNotFound       = "PROVIDER_NOT_FOUND"
	CodeProviderUnavailable    = "PROVIDER_UNAVAILABLE"
	CodeRefreshTooEarly        = "REFRESH_TOO_EARLY"
	CodeInvalidRequest         = "INVALID_REQUEST"
	CodeInvalidDate            = "INVALID_DATE"
	CodeInvalidPeriod          = "INVALID_PERIOD"
	CodePeriodTooLong          = "PERIOD_TOO_LONG"
	CodeInvalidScope           = "INVALID_SCOPE"
	CodeUnsupportedScope       = "UNSUPPORTED_SCOPE"
	CodeUnsupportedAccountType = "UNSUPPORTED_ACCOUNT_TYPE"
	CodeCustomerMismatch       = "CUSTOMER_MISMATCH"
	CodeBankAccessDisabled     = "BANK_ACCESS_DISABLED"
	CodeBankUnavailable        = "BANK_UNAVAILABLE"
	CodeConnectionNotFound     = "CONNECTION_NOT_FOUND"
	CodeConnectionExists       = "CONNECTION_EXISTS"
	CodeConnectionRemoving     = "CONNECTION_REMOVING"
	CodeConnectionConflict     = "CONNECTION_CONFLICT"
	CodeConnectionNotActive    = "CONNECTION_NOT_ACTIVE"
	CodeBankNotFound           = "BANK_NOT_FOUND"
	CodeLoadNotFound           = "LOAD_NOT_FOUND"
	CodeInvalidBankCode        = "INVALID_BANK_CODE"
	CodeInvalidBankID          = "INVALID_BANK_ID"
	CodeInvalidCountryCode     = "INVALID_COUNTRY_CODE"
	CodeInvalidAccessValue     = "INVALID_ACCESS_VALUE"
	CodeBankBusy               = "BANK_BUSY"
	CodeAccountNotFound        = "ACCOUNT_NOT_FOUND"
	CodeTransactionNotFound    = "TRANSACTION_NOT_FOUND"
	CodeCounterpartyNotFound   = "COUNTERPARTY_NOT_FOUND"
	CodeImportNotFound         = "IMPORT_NOT_FOUND"
	CodeInvalidLimit           = "INVALID_LIMIT"
	CodeInvalidDateRange       = "INVALID_DATE_RANGE"
	CodeInvalidPageToken       = "INVALID_PAGE_TOKEN"
	CodeInvalidImportRequest   = "INVALID_IMPORT_REQUEST"
	CodeInvalidRemoval         = "INVALID_REMOVAL"
	CodeUnauthenticated        = "UNAUTHENTICATED"
	CodeInvalidToken           = "INVALID_TOKEN"
	CodeMissingRole            = "MISSING_ROLE"
	CodeInvalidRole            = "INVALID_ROLE"
	CodeBankRole               = "BANK_ROLE"
	CodeSystemRole             = "SYSTEM_ROLE"
	CodeInvalidUser            = "INVALID_USER"
	CodeEntitlementExists      = "ENTITLEMENT_EXISTS"
	CodeEntitlementNotFound    = "ENTITLEMENT_NOT_FOUND"
	CodeEntitlementOfOtherUser = "ENTITLEMENT_OF_OTHER_USER"
	CodeWebhookNotFound        = "WEBHOOK_NOT_FOUND"
	CodeInvalidWebhookName     = "INVALID_WEBHOOK_NAME"
	CodeInvalidWebhookURL      = "INVALID_WEBHOOK_URL"
	CodeInvalidWebhookEvents   = "INVALID_WEBHOOK_EVENTS"
	CodeWebhookConflict        = "WEBHOOK_CONFLICT"
	CodeServiceBusy            = "SERVICE_BUSY"
)

// Wire is how the dialect answers a kind of failure.
type Wire struct {
	Status int
	Code   string
}

// Errors is the dialect's one mapping of domain failures: a row for every
// kind of the domains the Aggregation groups use (party, connection, bank,
// holdings, auth, webhook; internal/app's dialects test holds it to that), and
// one class row, a busy database (503); any other kind without a row is a
// 500, logged, without detail.
var Errors = fault.Table[Wire]{Kinds: map[*fault.Kind]Wire{
	party.ErrInvalidID:           {http.StatusBadRequest, CodeInvalidPartyID},
	party.ErrNotFound:            {http.StatusNotFound, CodePartyNotFound},
	party.ErrForbidden:           {http.StatusForbidden, CodePartyForbidden},
	party.ErrProfileExists:       {http.StatusConflict, CodeProfileExists},
	party.ErrCustomerConflict:    {http.StatusConflict, CodeProfileConflict},
	party.ErrProviderRejected:    {http.StatusBadRequest, CodeProviderRejected},
	party.ErrProviderNotFound:    {http.StatusNotFound, CodeProviderNotFound},
	party.ErrProviderTooEarly:    {http.StatusConflict, CodeRefreshTooEarly},
	party.ErrProviderUnavailable: {http.StatusBadGateway, CodeProviderUnavailable},

	connection.ErrInvalidRequest:         {http.StatusBadRequest, CodeInvalidRequest},
	connection.ErrInvalidDate:            {http.StatusBadRequest, CodeInvalidDate},
	connection.ErrInvalidPeriod:          {http.StatusBadRequest, CodeInvalidPeriod},
	connection.ErrPeriodTooLong:          {http.StatusBadRequest, CodePeriodTooLong},
	connection.ErrInvalidScope:           {http.StatusBadRequest, CodeInvalidScope},
	connection.ErrUnsupportedScope:       {http.StatusBadRequest, CodeUnsupportedScope},
	connection.ErrUnsupportedAccountType: {http.StatusBadRequest, CodeUnsupportedAccountType},
	connection.ErrCustomerMismatch:       {http.StatusBadRequest, CodeCustomerMismatch},
	connection.ErrBankDisabled:           {http.StatusForbidden, CodeBankAccessDisabled},
	connection.ErrBankUnavailable:        {http.StatusConflict, CodeBankUnavailable},
	connection.ErrNotFound:               {http.StatusNotFound, CodeConnectionNotFound},
	connection.ErrExists:                 {http.StatusConflict, CodeConnectionExists},
	connection.ErrRemoving:               {http.StatusConflict, CodeConnectionRemoving},
	connection.ErrBusy:                   {http.StatusConflict, CodeConnectionConflict},
	connection.ErrNotActive:              {http.StatusConflict, CodeConnectionNotActive},
	connection.ErrRefreshTooEarly:        {http.StatusConflict, CodeRefreshTooEarly},
	// Only the connect page meets it, and answers with a page; a
	// session naming no connection is a connection not found.
	connection.ErrUnknownSession: {http.StatusNotFound, CodeConnectionNotFound},

	bank.ErrNotFound:        {http.StatusNotFound, CodeBankNotFound},
	bank.ErrUnknownProvider: {http.StatusNotFound, CodeProviderNotFound},
	bank.ErrLoadNotFound:    {http.StatusNotFound, CodeLoadNotFound},
	bank.ErrInvalidCode:     {http.StatusBadRequest, CodeInvalidBankCode},
	bank.ErrInvalidID:       {http.StatusBadRequest, CodeInvalidBankID},
	bank.ErrInvalidCountry:  {http.StatusBadRequest, CodeInvalidCountryCode},
	bank.ErrInvalidAccess:   {http.StatusBadRequest, CodeInvalidAccessValue},
	bank.ErrBusy:            {http.StatusConflict, CodeBankBusy},

	holdings.ErrAccountNotFound:      {http.StatusNotFound, CodeAccountNotFound},
	holdings.ErrTransactionNotFound:  {http.StatusNotFound, CodeTransactionNotFound},
	holdings.ErrCounterpartyNotFound: {http.StatusNotFound, CodeCounterpartyNotFound},
	holdings.ErrImportNotFound:       {http.StatusNotFound, CodeImportNotFound},
	holdings.ErrInvalidLimit:         {http.StatusBadRequest, CodeInvalidLimit},
	holdings.ErrInvalidDate:          {http.StatusBadRequest, CodeInvalidDate},
	holdings.ErrInvalidDateRange:     {http.StatusBadRequest, CodeInvalidDateRange},
	holdings.ErrInvalidPageToken:     {http.StatusBadRequest, CodeInvalidPageToken},
	holdings.ErrInvalidImport:        {http.StatusBadRequest, CodeInvalidImportRequest},
	holdings.ErrInvalidRemoval:       {http.StatusBadRequest, CodeInvalidRemoval},
	holdings.ErrConnectionRemoving:   {http.StatusConflict, CodeConnectionRemoving},

	auth.ErrNoToken:                {http.StatusUnauthorized, CodeUnauthenticated},
	auth.ErrInvalidToken:           {http.StatusUnauthorized, CodeInvalidToken},
	auth.ErrNotAllowed:             {http.StatusForbidden, CodeMissingRole},
	auth.ErrInvalidRole:            {http.StatusBadRequest, CodeInvalidRole},
	auth.ErrBankRole:               {http.StatusBadRequest, CodeBankRole},
	auth.ErrSystemRole:             {http.StatusBadRequest, CodeSystemRole},
	auth.ErrInvalidUser:            {http.StatusBadRequest, CodeInvalidUser},
	auth.ErrEntitlementExists:      {http.StatusConflict, CodeEntitlementExists},
	auth.ErrEntitlementNotFound:    {http.StatusNotFound, CodeEntitlementNotFound},
	auth.ErrEntitlementOfOtherUser: {http.StatusBadRequest, CodeEntitlementOfOtherUser},

	webhook.ErrNotFound:      {http.StatusNotFound, CodeWebhookNotFound},
	webhook.ErrInvalidName:   {http.StatusBadRequest, CodeInvalidWebhookName},
	webhook.ErrInvalidURL:    {http.StatusBadRequest, CodeInvalidWebhookURL},
	webhook.ErrInvalidEvents: {http.StatusBadRequest, CodeInvalidWebhookEvents},
	webhook.ErrInvalidLimit:  {http.StatusBadRequest, CodeInvalidLimit},
	webhook.ErrConflict:      {http.StatusConflict, CodeWebhookConflict},
}, Classes: map[fault.Class]Wire{
	// The database refused for load past its retries (store.ErrBusy).
	fault.Busy: {http.StatusServiceUnavailable, CodeServiceBusy},
}}

// Resolve is what WriteError answers for err: a domain failure's row in
// Errors with the domain's message; else the platform's own error (body
// decoding, routing, authentication) as it is; else 500 INTERNAL.
func Resolve(err error) (status int, code, message string) {
	if w, message, ok := Errors.Lookup(err); ok {
		return w.Status, w.Code, message
	}
	e := platform.AsError(err)
	return e.Status, e.Code, e.Message
}
