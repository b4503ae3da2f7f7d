package finapi

import (
	"time"

	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/fault"
)

func missing(field string) error {
	return fault.Errorf(bankconn.ErrMissingField, "%s is required", field)
}

func illegal(format string, args ...any) error {
	return fault.Errorf(bankconn.ErrInvalidField, format, args...)
}

// ids0 is ids where 0 is allowed too (categoryIds: 0 = no category).
func (p *params) ids0(name string) []int64 {
	raw := p.list(name)
	if raw == nil {
		return nil
	}
	out := make([]int64, 0, len(raw))
	for _, s := range raw {
		if s == "0" {
			out = append(out, 0)
			continue
		}
		id, ok := parseID(s)
		if !ok {
			p.fail("%s: %q is not an id", name, s)
			return nil
		}
		out = append(out, id)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func paging(p bankconn.Page, total int) Paging {
	count := (total + p.PerPage - 1) / p.PerPage
	return Paging{Page: p.Page, PerPage: p.PerPage, PageCount: max(count, 1), TotalCount: total}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := Timestamp(t)
	return &s
}

func bankOf(b bankconn.BankInfo) Bank {
	out := Bank{ID: b.ID, Name: b.Name, LoginHint: optional(b.LoginHint), BIC: optional(b.BIC), BLZ: b.BLZ, BLZs: []string{},
		LoginFieldUserID: optional(b.LoginFieldUserID), LoginFieldCustomerID: optional(b.LoginFieldCustomerID),
		LoginFieldPIN: optional(b.LoginFieldPIN), IsSupported: b.Supported, SupportedDataSources: []string{b.DataSource()},
		City: optional(b.City), IsTestBank: b.Test, LastSuccessfulCommunication: optTime(b.UpdatedAt)}
	if b.BLZ != "" {
		out.BLZs = []string{b.BLZ}
	}
	if len(b.Country) == 2 && b.Country != "XF" { // XF is Salt Edge's fake country, not ISO 3166
		out.Location = &b.Country
	}
	if b.Listed {
		out.Health = 100
	}
	out.LastCommunicationAttempt = out.LastSuccessfulCommunication
	return out
}

func updateOf(u *bankconn.UpdateResult) *UpdateResult {
	if u == nil {
		return nil
	}
	out := &UpdateResult{Result: string(u.Result), Timestamp: Timestamp(u.At)}
	if u.Result != bankconn.OutcomeOK {
		out.ErrorMessage = optional(u.Message)
		t := Business
		if u.Technical {
			t = Technical
		}
		out.ErrorType = &t
	}
	return out
}

func connectionOf(c bankconn.Connection) BankConnection {
	out := BankConnection{ID: c.ID, BankID: c.Bank.ID, Bank: bankOf(c.Bank), Name: c.Name, BankingUserID: c.UserID,
		BankingCustomerID: c.CustomerNo, BankingPIN: c.MaskedPIN, Type: "ONLINE", UpdateStatus: string(c.UpdateStatus),
		CategorizationStatus: string(c.CategorizationStatus), LastManualUpdate: updateOf(c.LastManual),
		LastAutoUpdate: updateOf(c.LastAuto), TwoStepProcedures: []TwoStepProcedure{},
		DefaultTwoStepProcedureID: c.DefaultTwoStep, AccountIDs: c.AccountIDs}
	if c.Demo {
		out.Type = "DEMO"
	}
	if out.AccountIDs == nil {
		out.AccountIDs = []int64{}
	}
	return out
}

func accountOf(a bankconn.Account) Account {
	balance, available := Money(a.Balance), Money(a.Available)
	return Account{ID: a.ID, BankConnectionID: a.ConnectionID, AccountName: optional(a.Name), AccountNumber: a.Number,
		IBAN: optional(a.IBAN), AccountHolderName: optional(a.Holder), AccountCurrency: optional(a.Currency),
		AccountTypeID: a.TypeID, AccountTypeName: bankconn.TypeNames[a.TypeID], Balance: &balance, AvailableFunds: &available,
		LastSuccessfulUpdate: optTime(a.UpdatedAt), LastUpdateAttempt: optTime(a.UpdatedAt), Status: a.Status,
		SupportedOrders: []string{}}
}

// typeOfMode is the booking text of a transaction kind.
var typeOfMode = map[string]string{"transfer": "Überweisung", "fee": "Entgelt"}

func transactionOf(t bankconn.Transaction) Transaction {
	booked := Timestamp(t.BookedAt)
	out := Transaction{ID: t.ID, AccountID: t.AccountID, ValueDate: Timestamp(t.ValueDate), BankBookingDate: booked,
		FinapiBookingDate: booked, Amount: Money(t.Amount), Purpose: optional(t.Purpose), CounterpartName: optional(t.Counterparty),
		CounterpartIBAN: optional(t.IBAN), Type: optional(typeOfMode[t.Mode]), Category: categoryOf(t.Category),
		Labels: []Label{}, ImportDate: Timestamp(t.ImportedAt), Children: []int64{}}
	return out
}
