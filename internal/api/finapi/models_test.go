package finapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// golden compares got (indented) with testdata/<name>.golden.json.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: %v in %s", name, err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from %s:\n%s", name, path, buf.Bytes())
	}
}

func str(s string) *string { return &s }

// TestWireModelsGolden renders one example of each model the way the
// handlers fill them, and checks the bytes (golden) and the contract
// (required fields, kinds, enums, formats).
func TestWireModelsGolden(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	demo := Bank{
		ID: 1527886287, Name: "finAPI Demo Bank (Sandbox)", BIC: str("DEMODEM1XXX"), BLZ: "00000000", BLZs: []string{"00000000"},
		LoginFieldUserID: str("Login"), LoginFieldPIN: str("PIN"), IsSupported: true, SupportedDataSources: []string{"WEB_SCRAPER"},
		Location: str("DE"), City: str("München"), IsTestBank: true, Popularity: 0, Health: 100,
		LastCommunicationAttempt: str(Timestamp(at)), LastSuccessfulCommunication: str(Timestamp(at)),
	}
	conn := BankConnection{
		ID: 1, BankID: demo.ID, Bank: demo, Name: str("MSA"), BankingUserID: str("demo"), BankingPIN: str("XXXXXX"),
		Type: "DEMO", UpdateStatus: "READY", CategorizationStatus: "READY",
		LastManualUpdate:  &UpdateResult{Result: "OK", Timestamp: Timestamp(at)},
		LastAutoUpdate:    &UpdateResult{Result: "BANK_SERVER_REJECTION", ErrorMessage: str("Wrong PIN"), ErrorType: str("BUSINESS"), Timestamp: Timestamp(at)},
		TwoStepProcedures: []TwoStepProcedure{}, AccountIDs: []int64{7},
	}
	food := Category{ID: 201, Name: "Groceries", ParentID: ptr(int64(200)), ParentName: str("Food & Drink"), Children: []int64{}}
	tx := Transaction{
		ID: 939524097, AccountID: 7, ValueDate: Timestamp(at), BankBookingDate: Timestamp(at), FinapiBookingDate: Timestamp(at),
		Amount: Money(decimal.RequireFromString("-54.20")), Purpose: str("REWE SAGT DANKE"), CounterpartName: str("REWE Markt"),
		CounterpartIBAN: str("DE02120300000000202051"), Category: &food, Labels: []Label{}, ImportDate: Timestamp(at), Children: []int64{},
	}
	cases := []struct {
		name, model string
		v           any
	}{
		{"bank_connection", "BankConnection", conn},
		{"bank_connection_list", "BankConnectionList", BankConnectionList{Connections: []BankConnection{conn}}},
		{"identifier_list", "IdentifierList", IdentifierList{Identifiers: []int64{1, 2}}},
		{"pageable_bank_list", "PageableBankList", PageableBankList{Banks: []Bank{demo}, Paging: Paging{Page: 1, PerPage: 20, PageCount: 1, TotalCount: 1}}},
		{"account", "Account", Account{
			ID: 7, BankConnectionID: 1, AccountName: str("Girokonto"), AccountNumber: "0000202051", IBAN: str("DE02120300000000202051"),
			AccountHolderName: str("Max Mustermann"), AccountCurrency: str("EUR"), AccountTypeID: 1, AccountTypeName: "Checking",
			Balance: &Amount{decimal.RequireFromString("1234.5")}, AvailableFunds: &Amount{decimal.RequireFromString("1234.50")},
			LastSuccessfulUpdate: str(Timestamp(at)), LastUpdateAttempt: str(Timestamp(at)), Status: "UPDATED", SupportedOrders: []string{},
		}},
		{"pageable_transaction_list", "PageableTransactionList", PageableTransactionList{
			Transactions: []Transaction{tx}, Paging: Paging{Page: 1, PerPage: 20, PageCount: 1, TotalCount: 1},
			Income: Money(decimal.Zero), Spending: Money(decimal.RequireFromString("-54.20")), Balance: Money(decimal.RequireFromString("-54.20")),
		}},
		{"pageable_category_list", "PageableCategoryList", PageableCategoryList{Categories: []Category{food}, Paging: Paging{Page: 1, PerPage: 20, PageCount: 1, TotalCount: 1}}},
		{"error_message", "ErrorMessage", ErrorMessage{Errors: []ErrorDetails{{Message: "Enter the code", Code: "ADDITIONAL_AUTHENTICATION_REQUIRED", Type: "BUSINESS"}},
			Date: Timestamp(at), RequestID: "req-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			mustConform(t, tc.model, b)
			golden(t, tc.name, b)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestAmountIsExact: amounts are written from the decimal, never through a
// float, and read back exactly.
func TestAmountIsExact(t *testing.T) {
	for _, s := range []string{"0.1", "-0.3", "12345678901234.56", "-54.2", "1500"} {
		b, err := json.Marshal(Money(decimal.RequireFromString(s)))
		if err != nil || string(b) != s {
			t.Errorf("%s: %s %v", s, b, err)
		}
		var a Amount
		if err := json.Unmarshal(b, &a); err != nil || !a.Equal(decimal.RequireFromString(s)) {
			t.Errorf("read back %s: %v %v", s, a, err)
		}
	}
}
