// Package finapi is the finAPI v1 API group (shared/contracts/finapi.md):
// bank connections, banks, accounts, transactions and categories over the
// same data as the other dialects.
package finapi

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// The wire models of finAPI API v1.42.1 (shared/contracts/finapi.md), with
// the names of the generated clients' JSON. A field without omitempty is
// required by those clients: it is always present and never null (a
// generated client rejects a response otherwise). Optional fields are
// pointers or omitempty and are left out when unknown.

// TimeLayout is finAPI's timestamp format (yyyy-MM-dd HH:mm:ss.SSS). OpenAgg
// renders every timestamp in UTC.
const TimeLayout = "2006-01-02 15:04:05.000"

// Timestamp renders t in TimeLayout (UTC).
func Timestamp(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Amount is money as finAPI writes it: a JSON number, rendered from the
// exact decimal (never through a float), with the digits the value has
// (at most the currency's minor units: two for EUR).
type Amount struct{ decimal.Decimal }

// MarshalJSON writes the exact decimal as a JSON number.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number exactly (tests read answers back).
func (a *Amount) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	d, err := decimal.NewFromString(n.String())
	if err != nil {
		return err
	}
	a.Decimal = d
	return nil
}

// Money wraps d.
func Money(d decimal.Decimal) Amount { return Amount{d} }

// BankConnection is a user's connection to one bank.
type BankConnection struct {
	ID     int64   `json:"id"`
	BankID int64   `json:"bankId"` // deprecated copy of Bank.ID
	Bank   Bank    `json:"bank"`
	Name   *string `json:"name"`
	// BankingUserID and BankingCustomerID are the stored login names;
	// BankingPIN is the stored PIN masked (one X per character), null when
	// none is stored.
	BankingUserID                    *string            `json:"bankingUserId"`
	BankingCustomerID                *string            `json:"bankingCustomerId"`
	BankingPIN                       *string            `json:"bankingPin"`
	Type                             string             `json:"type"`                 // ONLINE, DEMO
	UpdateStatus                     string             `json:"updateStatus"`         // IN_PROGRESS, READY
	CategorizationStatus             string             `json:"categorizationStatus"` // IN_PROGRESS, PENDING, READY
	LastManualUpdate                 *UpdateResult      `json:"lastManualUpdate"`
	LastAutoUpdate                   *UpdateResult      `json:"lastAutoUpdate"`
	TwoStepProcedures                []TwoStepProcedure `json:"twoStepProcedures"`
	IBANOnlyMoneyTransferSupported   bool               `json:"ibanOnlyMoneyTransferSupported"`
	IBANOnlyDirectDebitSupported     bool               `json:"ibanOnlyDirectDebitSupported"`
	CollectiveMoneyTransferSupported bool               `json:"collectiveMoneyTransferSupported"`
	DefaultTwoStepProcedureID        *string            `json:"defaultTwoStepProcedureId"`
	AccountIDs                       []int64            `json:"accountIds"`
}

// Bank is a bank of the directory as finAPI shows it.
type Bank struct {
	ID                          int64    `json:"id"`
	Name                        string   `json:"name"`
	LoginHint                   *string  `json:"loginHint"`
	BIC                         *string  `json:"bic"`
	BLZ                         string   `json:"blz"`
	BLZs                        []string `json:"blzs"`
	LoginFieldUserID            *string  `json:"loginFieldUserId"`
	LoginFieldCustomerID        *string  `json:"loginFieldCustomerId"`
	LoginFieldPIN               *string  `json:"loginFieldPin"`
	IsSupported                 bool     `json:"isSupported"`
	SupportedDataSources        []string `json:"supportedDataSources"`
	PINsAreVolatile             bool     `json:"pinsAreVolatile"`
	Location                    *string  `json:"location"`
	City                        *string  `json:"city"`
	IsTestBank                  bool     `json:"isTestBank"`
	Popularity                  int      `json:"popularity"`
	Health                      int      `json:"health"`
	LastCommunicationAttempt    *string  `json:"lastCommunicationAttempt"`
	LastSuccessfulCommunication *string  `json:"lastSuccessfulCommunication"`
}

// UpdateResult is the outcome of a connection's last manual or automatic
// update.
type UpdateResult struct {
	Result       string  `json:"result"` // OK, BANK_SERVER_REJECTION, INTERNAL_SERVER_ERROR
	ErrorMessage *string `json:"errorMessage"`
	ErrorType    *string `json:"errorType"` // BUSINESS, TECHNICAL
	Timestamp    string  `json:"timestamp"`
}

// TwoStepProcedure is a TAN procedure of a bank connection.
type TwoStepProcedure struct {
	ProcedureID            string  `json:"procedureId"`
	ProcedureName          string  `json:"procedureName"`
	ProcedureChallengeType *string `json:"procedureChallengeType"`
	ImplicitExecute        bool    `json:"implicitExecute"`
}

// BankConnectionList is a list of bank connections.
type BankConnectionList struct {
	Connections []BankConnection `json:"connections"`
}

// IdentifierList lists ids (delete all).
type IdentifierList struct {
	Identifiers []int64 `json:"identifiers"`
}

// Paging describes one page of a list.
type Paging struct {
	Page       int `json:"page"`
	PerPage    int `json:"perPage"`
	PageCount  int `json:"pageCount"`
	TotalCount int `json:"totalCount"`
}

// PageableBankList is a page of banks.
type PageableBankList struct {
	Banks  []Bank `json:"banks"`
	Paging Paging `json:"paging"`
}

// BankList is a list of banks (the deprecated get multiple banks).
type BankList struct {
	Banks []Bank `json:"banks"`
}

// CategoryList is a list of categories (the deprecated get multiple
// categories).
type CategoryList struct {
	Categories []Category `json:"categories"`
}

// Account is an imported bank account.
type Account struct {
	ID                   int64    `json:"id"`
	BankConnectionID     int64    `json:"bankConnectionId"`
	AccountName          *string  `json:"accountName"`
	AccountNumber        string   `json:"accountNumber"`
	SubAccountNumber     *string  `json:"subAccountNumber"`
	IBAN                 *string  `json:"iban"`
	AccountHolderName    *string  `json:"accountHolderName"`
	AccountHolderID      *string  `json:"accountHolderId"`
	AccountCurrency      *string  `json:"accountCurrency"`
	AccountTypeID        int      `json:"accountTypeId"`
	AccountTypeName      string   `json:"accountTypeName"`
	Balance              *Amount  `json:"balance"`
	Overdraft            *Amount  `json:"overdraft"`
	OverdraftLimit       *Amount  `json:"overdraftLimit"`
	AvailableFunds       *Amount  `json:"availableFunds"`
	LastSuccessfulUpdate *string  `json:"lastSuccessfulUpdate"`
	LastUpdateAttempt    *string  `json:"lastUpdateAttempt"`
	IsNew                bool     `json:"isNew"`
	Status               string   `json:"status"` // UPDATED, UPDATED_FIXED, DOWNLOAD_IN_PROGRESS, DOWNLOAD_FAILED, DEPRECATED
	SupportedOrders      []string `json:"supportedOrders"`
}

// AccountList is a list of accounts.
type AccountList struct {
	Accounts []Account `json:"accounts"`
}

// Transaction is one booked transaction of an account.
type Transaction struct {
	ID                       int64     `json:"id"`
	ParentID                 *int64    `json:"parentId"`
	AccountID                int64     `json:"accountId"`
	ValueDate                string    `json:"valueDate"`
	BankBookingDate          string    `json:"bankBookingDate"`
	FinapiBookingDate        string    `json:"finapiBookingDate"`
	Amount                   Amount    `json:"amount"`
	Purpose                  *string   `json:"purpose"`
	CounterpartName          *string   `json:"counterpartName"`
	CounterpartAccountNumber *string   `json:"counterpartAccountNumber"`
	CounterpartIBAN          *string   `json:"counterpartIban"`
	CounterpartBLZ           *string   `json:"counterpartBlz"`
	CounterpartBIC           *string   `json:"counterpartBic"`
	CounterpartBankName      *string   `json:"counterpartBankName"`
	Type                     *string   `json:"type"`
	Category                 *Category `json:"category"`
	Labels                   []Label   `json:"labels"`
	IsPotentialDuplicate     bool      `json:"isPotentialDuplicate"`
	IsAdjustingEntry         bool      `json:"isAdjustingEntry"`
	IsNew                    bool      `json:"isNew"`
	ImportDate               string    `json:"importDate"`
	Children                 []int64   `json:"children"`
}

// Label is a user's label of transactions (OpenAgg has none yet: every
// transaction's labels are []).
type Label struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// TransactionList is a list of transactions.
type TransactionList struct {
	Transactions []Transaction `json:"transactions"`
}

// PageableTransactionList is a page of transactions with the sums over
// every transaction the query selects (not only the page).
type PageableTransactionList struct {
	Transactions []Transaction `json:"transactions"`
	Paging       Paging        `json:"paging"`
	Income       Amount        `json:"income"`
	Spending     Amount        `json:"spending"`
	Balance      Amount        `json:"balance"`
}

// Category is a transaction category.
type Category struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	ParentID   *int64  `json:"parentId"`
	ParentName *string `json:"parentName"`
	IsCustom   bool    `json:"isCustom"`
	Children   []int64 `json:"children"`
}

// PageableCategoryList is a page of categories.
type PageableCategoryList struct {
	Categories []Category `json:"categories"`
	Paging     Paging     `json:"paging"`
}

// Request bodies. Every field is optional on the wire; the handlers say
// which are required (MISSING_FIELD). Pointers tell "not sent" from a zero
// value.

// ImportBankConnectionParams is the body of POST /bankConnections/import.
type ImportBankConnectionParams struct {
	BankID                *int64  `json:"bankId"`
	BankingUserID         *string `json:"bankingUserId"`
	BankingCustomerID     *string `json:"bankingCustomerId"`
	BankingPIN            *string `json:"bankingPin"`
	StorePIN              *bool   `json:"storePin"`
	Name                  *string `json:"name"`
	SkipPositionsDownload *bool   `json:"skipPositionsDownload"`
	MaxDaysForDownload    *int    `json:"maxDaysForDownload"`
	AccountTypeIDs        []int   `json:"accountTypeIds"`
	ChallengeResponse     *string `json:"challengeResponse"`
}

// UpdateBankConnectionParams is the body of POST /bankConnections/update.
type UpdateBankConnectionParams struct {
	BankConnectionID      *int64  `json:"bankConnectionId"`
	BankingPIN            *string `json:"bankingPin"`
	ImportNewAccounts     *bool   `json:"importNewAccounts"`
	SkipPositionsDownload *bool   `json:"skipPositionsDownload"`
	ChallengeResponse     *string `json:"challengeResponse"`
}

// EditBankConnectionParams is the body of PATCH /bankConnections/{id}:
// an absent field is unchanged, "" clears it.
type EditBankConnectionParams struct {
	BankingUserID             *string `json:"bankingUserId"`
	BankingCustomerID         *string `json:"bankingCustomerId"`
	BankingPIN                *string `json:"bankingPin"`
	DefaultTwoStepProcedureID *string `json:"defaultTwoStepProcedureId"`
	Name                      *string `json:"name"`
}

// ErrorMessage is finAPI's error body.
type ErrorMessage struct {
	Errors    []ErrorDetails `json:"errors"`
	Date      string         `json:"date"`
	RequestID string         `json:"requestId"`
}

// ErrorDetails is one error of an ErrorMessage.
type ErrorDetails struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Type    string `json:"type"` // BUSINESS, TECHNICAL
}
