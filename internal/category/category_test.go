package category

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

func TestTree(t *testing.T) {
	seen := map[int64]bool{}
	for i, c := range All() {
		if c.ID <= 0 || seen[c.ID] || c.Name == "" {
			t.Errorf("category %d: %+v", i, c)
		}
		seen[c.ID] = true
		if c.ParentID != 0 && !seen[c.ParentID] {
			t.Errorf("%d's parent %d is not listed before it", c.ID, c.ParentID)
		}
		if p, ok := ByID(c.ParentID); c.ParentID != 0 && (!ok || p.ParentID != 0) {
			t.Errorf("%d: parent %+v is not a top-level category", c.ID, p)
		}
	}
	for _, r := range Rules {
		if c, ok := ByID(r.Category); !ok || c.ParentID == 0 {
			t.Errorf("rule %+v assigns %d, not a leaf category", r, r.Category)
		}
	}
	if got := Children(Food); !slices.Equal(got, []int64{Groceries, Restaurants}) {
		t.Errorf("children of Food: %v", got)
	}
	if got := WithDescendants(Income); !slices.Equal(got, []int64{Income, Salary, Refunds, Interest, TransfersIn, OtherIncome}) {
		t.Errorf("Income and below: %v", got)
	}
	if got := Children(Salary); len(got) != 0 {
		t.Errorf("a leaf has children %v", got)
	}
	if _, ok := ByID(42); ok {
		t.Error("unknown id found")
	}
}

func TestCategorize(t *testing.T) {
	cases := []struct {
		name, purpose, counterparty, mode, amount string
		want                                      int64
	}{
		// The sandbox's generated transactions (provider/sandbox data.go).
		{"card groceries", "CARD PAYMENT TO GREENLEAF GROCERS LONDON CARD *1234", "Greenleaf Grocers", "normal", "-12.30", Groceries},
		{"card market", "CARD PAYMENT TO NORTHSIDE MARKET BERLIN CARD *0042", "Northside Market", "normal", "-40.00", Groceries},
		{"card cafe", "CARD PAYMENT TO CAFE AURORA PARIS CARD *1111", "Cafe Aurora", "normal", "-4.50", Restaurants},
		{"card transit", "CARD PAYMENT TO METRO TRANSIT LYON CARD *1", "Metro Transit", "normal", "-2.80", PublicTransport},
		{"card fuel", "CARD PAYMENT TO URBAN FUEL HAMBURG CARD *9", "Urban Fuel", "normal", "-60.00", Fuel},
		{"card cinema", "CARD PAYMENT TO SKYLINE CINEMAS LONDON CARD *9", "Skyline Cinemas", "normal", "-11.00", Entertainment},
		{"card books", "CARD PAYMENT TO BLUEBIRD BOOKS LONDON CARD *9", "Bluebird Books", "normal", "-19.99", Books},
		{"refund", "REFUND FROM PINEWOOD OUTFITTERS CARD *9", "Pinewood Outfitters", "normal", "30.00", Refunds},
		{"salary", "SALARY ACME WIDGETS LTD MAR 2026", "Acme Widgets Ltd", "normal", "2500.00", Salary},
		{"rent", "STANDING ORDER OAKRIDGE PROPERTY MANAGEMENT RENT", "Oakridge Property Management", "normal", "-1200", Rent},
		{"energy", "DIRECT DEBIT CONTOSO ENERGY MANDATE 0042", "Contoso Energy", "normal", "-80", Utilities},
		{"telecom", "DIRECT DEBIT FABRIKAM TELECOM MANDATE 0042", "Fabrikam Telecom", "normal", "-30", Telecom},
		{"to savings", "TRANSFER TO INSTANT SAVER", "Sam Carter", "transfer", "-300", OwnAccounts},
		{"fee", "MONTHLY ACCOUNT FEE", "", "fee", "-5.00", BankFees},
		{"transfer in", "TRANSFER FROM ALICE MARTIN", "Alice Martin", "normal", "45.00", TransfersIn},
		{"transfer out", "TRANSFER TO BRUNO KELLER", "Bruno Keller", "normal", "-20.00", TransfersOut},
		{"interest", "INTEREST PAID", "", "normal", "1.23", Interest},
		{"deposit", "TRANSFER FROM CURRENT ACCOUNT", "Sam Carter", "transfer", "300", OwnAccounts},
		{"card repayment", "PAYMENT RECEIVED - THANK YOU", "Sam Carter", "transfer", "250", OwnAccounts},
		{"customer", "PAYMENT FROM NORTHWIND TRADERS INV-12345", "Northwind Traders", "normal", "900", CustomerPay},
		{"supplier", "PAYMENT TO WOODGROVE FREIGHT INV-123", "Woodgrove Freight", "normal", "-300", SupplierPay},
		// The demo bank (provider/sandbox demo.go), German wording.
		{"gehalt", "GEHALT / SALARY ACME SOFTWARE", "ACME Software GmbH", "transfer", "2500", Salary},
		{"miete", "MIETE WOHNUNG / RENT", "Hausverwaltung Schneider", "transfer", "-850", Rent},
		{"umbuchung", "UMBUCHUNG SPARKONTO / TO SAVINGS", "Max Mustermann", "transfer", "-200", OwnAccounts},
		{"gebuehr", "KONTOFUEHRUNGSGEBUEHR / ACCOUNT FEE", "", "fee", "-9.90", BankFees},
		{"umlaut", "Kontoführungsgebühr", "", "normal", "-9.90", BankFees},
		{"geldautomat", "BARGELDAUSZAHLUNG GELDAUTOMAT / ATM WITHDRAWAL", "", "normal", "-120", Cash},
		{"rueckzahlung", "RUECKZAHLUNG PIZZA", "Max Mustermann", "transfer", "15", Refunds},
		{"netflix", "NETFLIX.COM MONTHLY SUBSCRIPTION", "Netflix International B.V.", "normal", "-12.99", Subscriptions},
		{"bahn", "DB FAHRKARTE / TRAIN TICKET", "Deutsche Bahn AG", "normal", "-45", PublicTransport},
		{"apotheke", "APOTHEKE / PHARMACY", "Apotheke am Markt", "normal", "-18.60", Pharmacy},
		{"marketplace is not a market", "AMAZON MARKETPLACE ORDER", "Amazon EU S.a.r.l.", "normal", "-34.50", OnlineShopping},
		// Sign and word boundaries.
		{"salary word on a debit", "SALARY ADVANCE REPAID", "Acme", "normal", "-100", OtherExpenses},
		{"ATM inside a word", "FORMAT PRINTING", "Batman Prints", "normal", "-10", OtherExpenses},
		{"nothing known, money in", "XYZ", "Q", "normal", "1", OtherIncome},
		{"nothing known, money out", "XYZ", "Q", "normal", "-1", OtherExpenses},
		{"zero is not income", "XYZ", "Q", "normal", "0", OtherExpenses},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Categorize(Input{Amount: decimal.RequireFromString(tc.amount), Purpose: tc.purpose, Counterparty: tc.counterparty, Mode: tc.mode})
			if got != tc.want {
				c, _ := ByID(got)
				t.Errorf("got %d (%s), want %d", got, c.Name, tc.want)
			}
		})
	}
}
