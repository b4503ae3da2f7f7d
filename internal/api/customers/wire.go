package customers

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/platform"
)

// DateLayout is how OBP 1.4–2.1 write dates: "2013-01-21T23:08:00Z".
const DateLayout = "2006-01-02T15:04:05Z"

func formatDate(t time.Time) string { return t.UTC().Format(DateLayout) }

// FaceImageJSON is a customer's photo.
type FaceImageJSON struct {
	URL  string `json:"url"`
	Date string `json:"date"`
}

// CreditRatingJSON is a customer's credit rating.
type CreditRatingJSON struct {
	Rating string `json:"rating"`
	Source string `json:"source"`
}

// AmountJSON is OBP's amount of money: the amount is a decimal string.
type AmountJSON struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// CustomerJSON is OBP 2.1.0's customer.
type CustomerJSON struct {
	BankID                   string           `json:"bank_id"`
	CustomerID               string           `json:"customer_id"`
	CustomerNumber           string           `json:"customer_number"`
	LegalName                string           `json:"legal_name"`
	MobilePhoneNumber        string           `json:"mobile_phone_number"`
	Email                    string           `json:"email"`
	FaceImage                FaceImageJSON    `json:"face_image"`
	DateOfBirth              string           `json:"date_of_birth"`
	RelationshipStatus       string           `json:"relationship_status"`
	Dependants               int              `json:"dependants"`
	DobOfDependants          []string         `json:"dob_of_dependants"`
	CreditRating             CreditRatingJSON `json:"credit_rating"`
	CreditLimit              AmountJSON       `json:"credit_limit"`
	HighestEducationAttained string           `json:"highest_education_attained"`
	EmploymentStatus         string           `json:"employment_status"`
	KYCStatus                bool             `json:"kyc_status"`
	LastOKDate               string           `json:"last_ok_date"`
}

// CustomersJSON is OBP 2.1.0's list of customers.
type CustomersJSON struct {
	Customers []CustomerJSON `json:"customers"`
}

func customerJSON(c customer.Customer) CustomerJSON {
	dobs := make([]string, len(c.DobOfDependants))
	for i, d := range c.DobOfDependants {
		dobs[i] = formatDate(d)
	}
	return CustomerJSON{
		BankID: c.BankID, CustomerID: c.ID, CustomerNumber: c.Number, LegalName: c.LegalName,
		MobilePhoneNumber: c.MobilePhoneNumber, Email: c.Email,
		FaceImage:   FaceImageJSON{URL: c.FaceImage.URL, Date: formatDate(c.FaceImage.Date)},
		DateOfBirth: formatDate(c.DateOfBirth), RelationshipStatus: c.RelationshipStatus,
		Dependants: c.Dependants, DobOfDependants: dobs,
		CreditRating:             CreditRatingJSON{Rating: c.CreditRating.Rating, Source: c.CreditRating.Source},
		CreditLimit:              AmountJSON{Currency: c.CreditLimit.Currency, Amount: c.CreditLimit.Amount},
		HighestEducationAttained: c.HighestEducationAttained, EmploymentStatus: c.EmploymentStatus,
		KYCStatus: c.KYCStatus, LastOKDate: formatDate(c.LastOKDate),
	}
}

func customersJSON(cs []customer.Customer) CustomersJSON {
	out := CustomersJSON{Customers: make([]CustomerJSON, len(cs))}
	for i, c := range cs {
		out.Customers[i] = customerJSON(c)
	}
	return out
}

// UserCustomerLinkJSON is OBP 2.0.0's user–customer link.
type UserCustomerLinkJSON struct {
	UserCustomerLinkID string `json:"user_customer_link_id"`
	CustomerID         string `json:"customer_id"`
	UserID             string `json:"user_id"`
	DateInserted       string `json:"date_inserted"`
	IsActive           bool   `json:"is_active"`
}

// SocialMediaJSON is OBP 2.0.0's social media handle (request and answer).
type SocialMediaJSON struct {
	CustomerNumber string `json:"customer_number"`
	Type           string `json:"type"`
	Handle         string `json:"handle"`
	DateAdded      string `json:"date_added"`
	DateActivated  string `json:"date_activated"`
}

// SocialMediasJSON is OBP 2.0.0's list of handles: the key really is
// "checks".
type SocialMediasJSON struct {
	Checks []SocialMediaJSON `json:"checks"`
}

// SuccessJSON is OBP's {"success":"Success"}.
type SuccessJSON struct {
	Success string `json:"success"`
}

// CrmEventJSON is OBP 1.4.0's CRM event.
type CrmEventJSON struct {
	ID             string `json:"id"`
	BankID         string `json:"bank_id"`
	CustomerName   string `json:"customer_name"`
	CustomerNumber string `json:"customer_number"`
	Category       string `json:"category"`
	Detail         string `json:"detail"`
	Channel        string `json:"channel"`
	ScheduledDate  string `json:"scheduled_date"`
	ActualDate     string `json:"actual_date"`
	Result         string `json:"result"`
}

// CrmEventsJSON is OBP 1.4.0's list of CRM events.
type CrmEventsJSON struct {
	CrmEvents []CrmEventJSON `json:"crm_events"`
}

// Request bodies: pointers tell a missing field (or null) from an empty one.

type postFaceImage struct {
	URL  *string `json:"url"`
	Date *string `json:"date"`
}

type postCreditRating struct {
	Rating *string `json:"rating"`
	Source *string `json:"source"`
}

type postAmount struct {
	Currency *string `json:"currency"`
	Amount   *string `json:"amount"`
}

// postCustomerJSON is OBP 2.1.0's PostCustomerJsonV210: every field is
// required (OBP-API's extraction fails on a missing one); user_id may be
// empty (the caller).
type postCustomerJSON struct {
	UserID                   *string           `json:"user_id"`
	CustomerNumber           *string           `json:"customer_number"`
	LegalName                *string           `json:"legal_name"`
	MobilePhoneNumber        *string           `json:"mobile_phone_number"`
	Email                    *string           `json:"email"`
	FaceImage                *postFaceImage    `json:"face_image"`
	DateOfBirth              *string           `json:"date_of_birth"`
	RelationshipStatus       *string           `json:"relationship_status"`
	Dependants               *int              `json:"dependants"`
	DobOfDependants          *[]string         `json:"dob_of_dependants"`
	CreditRating             *postCreditRating `json:"credit_rating"`
	CreditLimit              *postAmount       `json:"credit_limit"`
	HighestEducationAttained *string           `json:"highest_education_attained"`
	EmploymentStatus         *string           `json:"employment_status"`
	KYCStatus                *bool             `json:"kyc_status"`
	LastOKDate               *string           `json:"last_ok_date"`
}

type postLinkJSON struct {
	UserID     *string `json:"user_id"`
	CustomerID *string `json:"customer_id"`
}

type postSocialMediaJSON struct {
	CustomerNumber *string `json:"customer_number"`
	Type           *string `json:"type"`
	Handle         *string `json:"handle"`
	DateAdded      *string `json:"date_added"`
	DateActivated  *string `json:"date_activated"`
}

// fields reads required fields, remembering the first problem: OBP-10001
// "Incorrect json format." followed by what is wrong.
type fields struct{ err error }

func (f *fields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = obperr.InvalidJSON(format, args...)
	}
}

// text reads a required string of at most maxLen bytes.
func (f *fields) text(name string, v *string, maxLen int) string {
	switch {
	case v == nil:
		f.fail("%s is required.", name)
		return ""
	case len(*v) > maxLen:
		f.fail("%s is longer than %d bytes.", name, maxLen)
	}
	return *v
}

// date reads a required date written as OBP writes them.
func (f *fields) date(name string, v *string) time.Time {
	if v == nil {
		f.fail("%s is required.", name)
		return time.Time{}
	}
	t, err := time.Parse(DateLayout, *v)
	if err != nil {
		f.fail("%s %q is not a date like 2013-01-21T23:08:00Z.", name, platform.Truncate(*v, 40))
	}
	return t
}

func (f *fields) object(name string, present bool) bool {
	if !present {
		f.fail("%s is required.", name)
	}
	return present
}

// decimalAmount is an amount of money: digits with an optional fraction.
var decimalAmount = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,10})?$`)

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// newCustomer validates a createCustomer body.
func newCustomer(b postCustomerJSON) (customer.NewCustomer, error) {
	var f fields
	var nc customer.NewCustomer
	nc.UserID = f.text("user_id", b.UserID, 255)
	nc.Number = f.text("customer_number", b.CustomerNumber, customer.MaxNumberLen)
	switch {
	case f.err != nil:
	case nc.Number == "":
		f.fail("customer_number must not be empty.")
	case strings.Contains(nc.Number, "::::"):
		f.fail("customer_number must not contain \"::::\".")
	case hasControl(nc.Number):
		f.fail("customer_number must not contain control characters.")
	}
	nc.LegalName = f.text("legal_name", b.LegalName, customer.MaxTextLen)
	nc.MobilePhoneNumber = f.text("mobile_phone_number", b.MobilePhoneNumber, customer.MaxTextLen)
	nc.Email = f.text("email", b.Email, customer.MaxTextLen)
	if f.object("face_image", b.FaceImage != nil) {
		nc.FaceImage.URL = f.text("face_image.url", b.FaceImage.URL, customer.MaxURLLen)
		nc.FaceImage.Date = f.date("face_image.date", b.FaceImage.Date)
	}
	nc.DateOfBirth = f.date("date_of_birth", b.DateOfBirth)
	nc.RelationshipStatus = f.text("relationship_status", b.RelationshipStatus, customer.MaxTextLen)
	switch {
	case b.Dependants == nil:
		f.fail("dependants is required.")
	case *b.Dependants < 0 || *b.Dependants > customer.MaxDates:
		f.fail("dependants must be 0 to %d.", customer.MaxDates)
	default:
		nc.Dependants = *b.Dependants
	}
	switch {
	case b.DobOfDependants == nil:
		f.fail("dob_of_dependants is required.")
	case len(*b.DobOfDependants) > customer.MaxDates:
		f.fail("dob_of_dependants has more than %d dates.", customer.MaxDates)
	default:
		nc.DobOfDependants = make([]time.Time, 0, len(*b.DobOfDependants))
		for i, d := range *b.DobOfDependants {
			nc.DobOfDependants = append(nc.DobOfDependants, f.date(fmt.Sprintf("dob_of_dependants[%d]", i), &d))
		}
	}
	if f.object("credit_rating", b.CreditRating != nil) {
		nc.CreditRating.Rating = f.text("credit_rating.rating", b.CreditRating.Rating, customer.MaxTextLen)
		nc.CreditRating.Source = f.text("credit_rating.source", b.CreditRating.Source, customer.MaxTextLen)
	}
	if f.object("credit_limit", b.CreditLimit != nil) {
		nc.CreditLimit.Currency = f.text("credit_limit.currency", b.CreditLimit.Currency, customer.MaxTextLen)
		nc.CreditLimit.Amount = f.text("credit_limit.amount", b.CreditLimit.Amount, 64)
		if f.err == nil && !decimalAmount.MatchString(nc.CreditLimit.Amount) {
			f.fail("credit_limit.amount %q is not a decimal amount like \"5000\" or \"5000.00\".", platform.Truncate(nc.CreditLimit.Amount, 40))
		}
	}
	nc.HighestEducationAttained = f.text("highest_education_attained", b.HighestEducationAttained, customer.MaxTextLen)
	nc.EmploymentStatus = f.text("employment_status", b.EmploymentStatus, customer.MaxTextLen)
	if b.KYCStatus == nil {
		f.fail("kyc_status is required.")
	} else {
		nc.KYCStatus = *b.KYCStatus
	}
	nc.LastOKDate = f.date("last_ok_date", b.LastOKDate)
	return nc, f.err
}

// newLink validates a createUserCustomerLinks body.
func newLink(b postLinkJSON) (customer.NewLink, error) {
	var f fields
	nl := customer.NewLink{UserID: f.text("user_id", b.UserID, 255), CustomerID: f.text("customer_id", b.CustomerID, 255)}
	switch {
	case f.err != nil:
	case nl.UserID == "":
		f.fail("Field user_id is not defined in the posted json!")
	case nl.CustomerID == "":
		f.fail("Field customer_id is not defined in the posted json!")
	}
	return nl, f.err
}

// newHandle validates an addSocialMediaHandle body.
func newHandle(b postSocialMediaJSON) (customer.Handle, error) {
	var f fields
	h := customer.Handle{
		CustomerNumber: f.text("customer_number", b.CustomerNumber, customer.MaxNumberLen),
		Type:           f.text("type", b.Type, customer.MaxHandleLen),
		Handle:         f.text("handle", b.Handle, customer.MaxHandleLen),
		DateAdded:      f.date("date_added", b.DateAdded),
		DateActivated:  f.date("date_activated", b.DateActivated),
	}
	switch {
	case f.err != nil:
	case h.Type == "":
		f.fail("type must not be empty.")
	case h.Handle == "":
		f.fail("handle must not be empty.")
	}
	return h, f.err
}
