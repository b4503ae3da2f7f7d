// Package category is OpenAgg's transaction categorizer: a fixed tree of
// categories with integer ids (docs/api.md, "finAPI categories") and an
// ordered list of rules on a transaction's counterparty, purpose text,
// amount sign and kind (fee, transfer). Every transaction gets a category:
// the first rule that matches, else "Other income" or "Other expenses" by
// the amount's sign. It is pure: no store, no clock; the finAPI bank
// connections' categorization job (internal/bankconn) runs it after each
// download.
package category

import (
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// Category is one node of the tree. ParentID is 0 for a top-level
// category.
type Category struct {
	ID       int64
	Name     string
	ParentID int64
}

// The categories' ids (stable: stored with every categorized transaction).
const (
	Income          int64 = 100
	Salary          int64 = 101
	Refunds         int64 = 102
	Interest        int64 = 103
	TransfersIn     int64 = 104
	OtherIncome     int64 = 109
	Housing         int64 = 200
	Rent            int64 = 201
	Utilities       int64 = 202
	Telecom         int64 = 203
	Food            int64 = 300
	Groceries       int64 = 301
	Restaurants     int64 = 302
	Transport       int64 = 400
	PublicTransport int64 = 401
	Fuel            int64 = 402
	Taxi            int64 = 403
	Shopping        int64 = 500
	OnlineShopping  int64 = 501
	Clothing        int64 = 502
	Electronics     int64 = 503
	Books           int64 = 504
	Health          int64 = 600
	Pharmacy        int64 = 601
	Medical         int64 = 602
	Leisure         int64 = 700
	Subscriptions   int64 = 701
	Travel          int64 = 702
	Sports          int64 = 703
	Entertainment   int64 = 704
	CashTransfers   int64 = 800
	Cash            int64 = 801
	OwnAccounts     int64 = 802
	TransfersOut    int64 = 803
	Fees            int64 = 900
	BankFees        int64 = 901
	Business        int64 = 1000
	CustomerPay     int64 = 1001
	SupplierPay     int64 = 1002
	Other           int64 = 1100
	OtherExpenses   int64 = 1101
)

// tree is every category, parents before their children, each level in
// id order.
var tree = []Category{
	{Income, "Income", 0},
	{Salary, "Salary", Income},
	{Refunds, "Refunds & reimbursements", Income},
	{Interest, "Interest & dividends", Income},
	{TransfersIn, "Transfers in", Income},
	{OtherIncome, "Other income", Income},
	{Housing, "Housing", 0},
	{Rent, "Rent", Housing},
	{Utilities, "Energy & water", Housing},
	{Telecom, "Internet & phone", Housing},
	{Food, "Food & drink", 0},
	{Groceries, "Groceries", Food},
	{Restaurants, "Restaurants & cafés", Food},
	{Transport, "Transport", 0},
	{PublicTransport, "Public transport", Transport},
	{Fuel, "Fuel", Transport},
	{Taxi, "Taxi & ride sharing", Transport},
	{Shopping, "Shopping", 0},
	{OnlineShopping, "Online shopping", Shopping},
	{Clothing, "Clothing", Shopping},
	{Electronics, "Electronics & home", Shopping},
	{Books, "Books & media", Shopping},
	{Health, "Health", 0},
	{Pharmacy, "Pharmacy", Health},
	{Medical, "Doctors & care", Health},
	{Leisure, "Leisure", 0},
	{Subscriptions, "Subscriptions & streaming", Leisure},
	{Travel, "Travel", Leisure},
	{Sports, "Sports & fitness", Leisure},
	{Entertainment, "Cinema & events", Leisure},
	{CashTransfers, "Cash & transfers", 0},
	{Cash, "Cash withdrawal", CashTransfers},
	{OwnAccounts, "Savings & own accounts", CashTransfers},
	{TransfersOut, "Transfers out", CashTransfers},
	{Fees, "Fees & charges", 0},
	{BankFees, "Bank fees", Fees},
	{Business, "Business", 0},
	{CustomerPay, "Customer payments", Business},
	{SupplierPay, "Supplier payments", Business},
	{Other, "Other", 0},
	{OtherExpenses, "Other expenses", Other},
}

var byID = func() map[int64]int {
	m := make(map[int64]int, len(tree))
	for i, c := range tree {
		m[c.ID] = i
	}
	return m
}()

// All returns every category, parents before their children.
func All() []Category { return slices.Clone(tree) }

// ByID returns the category with id.
func ByID(id int64) (Category, bool) {
	i, ok := byID[id]
	if !ok {
		return Category{}, false
	}
	return tree[i], true
}

// Children lists the ids of id's direct children, ascending.
func Children(id int64) []int64 {
	out := []int64{}
	for _, c := range tree {
		if c.ParentID == id && id != 0 {
			out = append(out, c.ID)
		}
	}
	return out
}

// WithDescendants is id and every category below it.
func WithDescendants(id int64) []int64 {
	out := []int64{id}
	for _, c := range Children(id) {
		out = append(out, WithDescendants(c)...)
	}
	return out
}

// Sign selects the transactions a rule applies to.
type Sign int

const (
	Any    Sign = iota
	Credit      // money in (amount > 0)
	Debit       // money out (amount < 0)
)

// Rule assigns Category to a transaction whose sign matches and whose
// purpose or counterparty (upper case, umlauts spelt out) contains one of
// Words, or whose kind (Mode: fee, transfer) is Mode.
type Rule struct {
	Category int64
	Sign     Sign
	Words    []string
	Mode     string
}

// Rules are tried in order; the first match wins. Specific wording comes
// before general ("TRANSFER TO INSTANT SAVER" before "TRANSFER TO").
var Rules = []Rule{
	{Category: BankFees, Sign: Debit, Mode: "fee"},
	{Category: BankFees, Sign: Debit, Words: []string{"ACCOUNT FEE", "GEBUEHR", "ENTGELT", "KONTOFUEHRUNG", "OVERDRAFT CHARGE"}},
	{Category: Salary, Sign: Credit, Words: []string{"SALARY", "GEHALT", "LOHN", "PAYROLL", "BEZUEGE"}},
	{Category: Interest, Sign: Credit, Words: []string{"INTEREST", "ZINSEN", "DIVIDEND"}},
	{Category: CustomerPay, Sign: Credit, Words: []string{"INV-", "INVOICE", "RECHNUNG NR"}},
	{Category: SupplierPay, Sign: Debit, Words: []string{"INV-", "INVOICE NO", "FREIGHT", "PACKAGING"}},
	{Category: OwnAccounts, Words: []string{"INSTANT SAVER", "SPARKONTO", "SAVINGS", "UMBUCHUNG", "FROM CURRENT ACCOUNT", "THANK YOU"}},
	{Category: Refunds, Sign: Credit, Words: []string{"REFUND", "RUECKZAHLUNG", "ERSTATTUNG", "GUTSCHRIFT", "RUECKERSTATTUNG"}},
	{Category: Cash, Sign: Debit, Words: []string{"ATM", "GELDAUTOMAT", "BARGELD", "CASH WITHDRAWAL"}},
	{Category: Rent, Sign: Debit, Words: []string{"RENT", "MIETE", "LETTINGS", "PROPERTY MANAGEMENT", "HAUSVERWALTUNG"}},
	{Category: Telecom, Sign: Debit, Words: []string{"TELECOM", "TELEKOM", "MOBILFUNK", "VODAFONE", "PHONE BILL", "INTERNET"}},
	{Category: Utilities, Sign: Debit, Words: []string{"ENERGY", "STROM", "STADTWERKE", "WATER", "ELECTRICITY", "GAS BILL"}},
	{Category: Subscriptions, Sign: Debit, Words: []string{"NETFLIX", "SPOTIFY", "SUBSCRIPTION", "DISNEY", "ABONNEMENT"}},
	{Category: OnlineShopping, Sign: Debit, Words: []string{"AMAZON", "MARKETPLACE", "ZALANDO", "EBAY", "PAYPAL"}},
	{Category: Groceries, Sign: Debit, Words: []string{"GROCER", "MARKET", "REWE", "EDEKA", "ALDI", "LIDL", "SUPERMARKT", "EINKAUF"}},
	{Category: Restaurants, Sign: Debit, Words: []string{"RESTAURANT", "CAFE", "SUSHI", "PIZZERIA", "BISTRO", "COFFEE"}},
	{Category: Fuel, Sign: Debit, Words: []string{"FUEL", "TANKSTELLE", "SHELL", "ARAL", "ESSO"}},
	{Category: PublicTransport, Sign: Debit, Words: []string{"TRANSIT", "BAHN", "FAHRKARTE", "TRAIN", "METRO", "BVG", "MVG"}},
	{Category: Taxi, Sign: Debit, Words: []string{"TAXI", "UBER", "FREE NOW"}},
	{Category: Clothing, Sign: Debit, Words: []string{"OUTFITTERS", "CLOTHING", "FASHION", "H&M", "ZARA"}},
	{Category: Electronics, Sign: Debit, Words: []string{"ELECTRONICS", "HOME SUPPLIES", "MEDIAMARKT", "SATURN", "IKEA"}},
	{Category: Books, Sign: Debit, Words: []string{"BOOKS", "BUCHHANDLUNG", "THALIA"}},
	{Category: Pharmacy, Sign: Debit, Words: []string{"PHARMACY", "APOTHEKE", "DROGERIE"}},
	{Category: Medical, Sign: Debit, Words: []string{"ARZT", "DOCTOR", "PRAXIS", "DENTAL", "ZAHNARZT"}},
	{Category: Entertainment, Sign: Debit, Words: []string{"CINEMA", "KINO", "THEATER", "TICKETMASTER", "EVENTIM"}},
	{Category: Travel, Sign: Debit, Words: []string{"HOTEL", "AIRLINE", "LUFTHANSA", "BOOKING.COM", "AIRBNB"}},
	{Category: Sports, Sign: Debit, Words: []string{"FITNESS", "GYM", "SPORT"}},
	{Category: TransfersIn, Sign: Credit, Mode: "transfer"},
	{Category: TransfersIn, Sign: Credit, Words: []string{"TRANSFER FROM", "UEBERWEISUNG VON"}},
	{Category: TransfersOut, Sign: Debit, Mode: "transfer"},
	{Category: TransfersOut, Sign: Debit, Words: []string{"TRANSFER TO", "UEBERWEISUNG AN"}},
}

// Input is what the rules look at.
type Input struct {
	Amount       decimal.Decimal
	Counterparty string
	Purpose      string
	Mode         string // the bank's kind: normal, fee, transfer
}

// fold upper-cases s and spells out German umlauts, so "Gebühr" matches
// GEBUEHR.
var fold = strings.NewReplacer("Ä", "AE", "Ö", "OE", "Ü", "UE", "ß", "SS")

// Categorize returns the category of a transaction: the first rule that
// matches, else OtherIncome (money in) or OtherExpenses.
func Categorize(in Input) int64 {
	text := fold.Replace(strings.ToUpper(in.Purpose + " | " + in.Counterparty))
	sign := Debit
	if in.Amount.IsPositive() {
		sign = Credit
	}
	for _, r := range Rules {
		if r.Sign != Any && r.Sign != sign {
			continue
		}
		if r.Mode != "" {
			if in.Mode == r.Mode {
				return r.Category
			}
			continue
		}
		for _, w := range r.Words {
			if contains(text, w) {
				return r.Category
			}
		}
	}
	if sign == Credit {
		return OtherIncome
	}
	return OtherExpenses
}

// contains reports whether text holds w; a short word (four characters or
// fewer: ATM, BAHN, GYM) only as a word of its own, so ATM does not match
// FORMAT (one ending in punctuation, INV-, may run into what follows).
func contains(text, w string) bool {
	if len(w) > 4 {
		return strings.Contains(text, w)
	}
	for i := 0; ; {
		j := strings.Index(text[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isAlnum(text[start-1])) && (end == len(text) || !isAlnum(text[end]) || !isAlnum(w[len(w)-1])) {
			return true
		}
		i = start + 1
	}
}

func isAlnum(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 }
