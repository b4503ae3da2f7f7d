// Package customer owns the Open Bank Project customers of a bank (OBP
// 1.4 / 2.0 / 2.1, shared/contracts/obp2-customers.md): the customer
// records, the links between users and customers, customers' social media
// handles and their CRM events. It knows nothing of HTTP or of OBP's wire
// codes (api/customers and api/obperr do).
//
// Storage (docs/data-model.md, section "Customers"):
//
//	customer         PK=OBPCUST#<customerId>  SK=#CUSTOMER
//	social handle    PK=OBPCUST#<customerId>  SK=#SMH#<id of type and handle>
//	CRM event        PK=OBPCUST#<customerId>  SK=CRM#<time>#<eventId>
//	                 GSI1PK=OBPCRM#<bankId>   GSI1SK=<time>#<eventId>
//	number claim     PK=OBPBANK#<bankId>      SK=CUSTNO#<customerNumber>   → customer id
//	link             PK=USER#<sub>            SK=OBPLINK#<customerId>
//	links at a bank  PK=USER#<sub>            SK=OBPLINKS#<bankId>         (versioned: the user's customers there)
//	user record      PK=USER#<sub>            SK=OBPUSER                   (OpenAgg has seen the user)
//
// A customer number is unique per bank and a user has one link per
// customer: both by conditional puts (IfNotExists) of the claim and the
// link, in the transaction that writes the customer or the link. The
// per-bank link list is the read model that lets a user's customers at a
// bank, and the bank itself, come in one BatchGet.
package customer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Bounds of a customer's fields (OBP-API's column sizes where it has them).
const (
	MaxNumberLen = 50   // customer_number
	MaxTextLen   = 255  // names, e-mail, statuses, rating, currency...
	MaxURLLen    = 2000 // face_image.url
	MaxDates     = 100  // dob_of_dependants
	MaxHandleLen = 255  // a social media handle and its type
)

// FaceImage is a customer's photo.
type FaceImage struct {
	URL  string    `json:"url"`
	Date time.Time `json:"date"`
}

// CreditRating is a customer's rating and who gave it.
type CreditRating struct {
	Rating string `json:"rating"`
	Source string `json:"source"`
}

// CreditLimit is an amount of money: Amount is an exact decimal string as
// the client sent it (never a float).
type CreditLimit struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// Profile is what describes a customer: the fields a client sends to
// create one (createCustomer) and reads back.
type Profile struct {
	Number                   string       `json:"number"`
	LegalName                string       `json:"legalName"`
	MobilePhoneNumber        string       `json:"mobilePhoneNumber"`
	Email                    string       `json:"email"`
	FaceImage                FaceImage    `json:"faceImage"`
	DateOfBirth              time.Time    `json:"dateOfBirth"`
	RelationshipStatus       string       `json:"relationshipStatus"`
	Dependants               int          `json:"dependants"`
	DobOfDependants          []time.Time  `json:"dobOfDependants"`
	CreditRating             CreditRating `json:"creditRating"`
	CreditLimit              CreditLimit  `json:"creditLimit"`
	HighestEducationAttained string       `json:"highestEducationAttained"`
	EmploymentStatus         string       `json:"employmentStatus"`
	KYCStatus                bool         `json:"kycStatus"`
	LastOKDate               time.Time    `json:"lastOkDate"`
}

// Customer is a customer of a bank.
type Customer struct {
	ID     string `json:"customerId"`
	BankID string `json:"bankId"`
	Profile
	CreatedBy string    `json:"createdBy"` // the sub of the user who created it
	CreatedAt time.Time `json:"createdAt"`
}

// NewCustomer is a createCustomer request: the profile and the user to
// link the new customer to (empty: the caller).
type NewCustomer struct {
	UserID string
	Profile
}

// Link is a user–customer link.
type Link struct {
	ID           string    `json:"linkId"`
	UserID       string    `json:"userId"`
	CustomerID   string    `json:"customerId"`
	BankID       string    `json:"bankId"`
	DateInserted time.Time `json:"dateInserted"`
	IsActive     bool      `json:"isActive"`
	CreatedBy    string    `json:"createdBy"`
}

// NewLink is a createUserCustomerLinks request.
type NewLink struct {
	UserID     string
	CustomerID string
}

// Input is a request body as its dialect decoded it. Err, when set, is
// the dialect's own refusal of the body; the service answers it at the
// body's place in the order of checks (after the bank), so a client sees
// the first failing check as OBP-API orders them.
type Input[T any] struct {
	Value T
	Err   error
}

// Key functions: the only place this package's key strings are built.

const (
	customerPKPrefix = "OBPCUST#"
	// CustomerSK is the sort key of the customer record in its partition.
	CustomerSK      = "#CUSTOMER"
	handleSKPrefix  = "#SMH#"
	eventSKPrefix   = "CRM#"
	linkSKPrefix    = "OBPLINK#"
	linkSetSKPrefix = "OBPLINKS#"
	userSK          = "OBPUSER"
)

// CustomerPK is the partition of a customer: its record, handles and CRM
// events.
func CustomerPK(customerID string) string { return customerPKPrefix + customerID }

// CustomerKey is the key of a customer record.
func CustomerKey(customerID string) store.Key {
	return store.Key{PK: CustomerPK(customerID), SK: CustomerSK}
}

// NumberKey is the key of the claim of a customer number at a bank.
func NumberKey(bankID, number string) store.Key {
	return store.Key{PK: "OBPBANK#" + bankID, SK: "CUSTNO#" + number}
}

// LinkKey is the key of the link of a user to a customer (in the user's
// partition, auth.UserPK, beside their entitlements).
func LinkKey(userID, customerID string) store.Key {
	return store.Key{PK: auth.UserPK(userID), SK: linkSKPrefix + customerID}
}

// LinkSetKey is the key of the list of a user's customers at a bank.
func LinkSetKey(userID, bankID string) store.Key {
	return store.Key{PK: auth.UserPK(userID), SK: linkSetSKPrefix + bankID}
}

// UserKey is the key of the record saying OpenAgg has seen a user.
func UserKey(userID string) store.Key {
	return store.Key{PK: auth.UserPK(userID), SK: userSK}
}

// HandleKey is the key of a customer's handle: one record per type and
// handle (adding it again replaces its dates).
func HandleKey(customerID, typ, handle string) store.Key {
	return store.Key{PK: CustomerPK(customerID), SK: handleSKPrefix + platform.DeterministicID(typ, handle)}
}

// EventKey is the key of a CRM event of a customer; the customer's events
// sort by time.
func EventKey(customerID string, at time.Time, eventID string) store.Key {
	return store.Key{PK: CustomerPK(customerID), SK: eventSKPrefix + sortTime(at) + "#" + eventID}
}

// EventGSI1PK is the index partition of a bank's CRM events.
func EventGSI1PK(bankID string) string { return "OBPCRM#" + bankID }

// EventGSI1SK orders a bank's CRM events by time.
func EventGSI1SK(at time.Time, eventID string) string { return sortTime(at) + "#" + eventID }

// sortTime is fixed-width UTC with microseconds, so keys sort by time.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// ValidCustomerID reports whether id can be a customer id: the UUIDs this
// package makes (36 characters of lower-case hex and dashes). Anything else
// names no customer and is never used in a key.
func ValidCustomerID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, r := range id {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
				return false
			}
		}
	}
	return true
}

// linked is one customer in a user's link list at a bank, with what a CRM
// event shows of it (a customer's number and name never change).
type linked struct {
	CustomerID string    `json:"customerId"`
	Number     string    `json:"number"`
	LegalName  string    `json:"legalName"`
	LinkID     string    `json:"linkId"`
	Since      time.Time `json:"since"`
}

// linkSet is the list of a user's customers at a bank.
type linkSet struct {
	UserID    string   `json:"userId"`
	BankID    string   `json:"bankId"`
	Customers []linked `json:"customers"`
	Version   int64    `json:"-"`
}

// userRecord says OpenAgg has seen a user, since when and how.
type userRecord struct {
	UserID string    `json:"userId"`
	Since  time.Time `json:"since"`
	Via    string    `json:"via"`
}

func encode(k store.Key, v any) (store.Item, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode %s: %w", k, err)
	}
	return store.Item{PK: k.PK, SK: k.SK, Data: b}, nil
}

func decode[T any](it store.Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s|%s: %w", it.PK, it.SK, err)
	}
	return v, nil
}
