package finapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/bankconn"
)

// TestFastPageIsEncodingJSON: the hand-written page is byte for byte what
// encoding/json writes for the same model, with every kind of string,
// amount, time and category.
func TestFastPageIsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 11, 12, 345_678_000, time.UTC)
	strs := []string{"", "REWE SAGT DANKE", `quote " backslash \ slash /`, "<b>&amp;</b>", "ctl \x00\x01\b\f\n\r\t\x1f\x7f",
		"ünï€😀", "bad \xff\xfe utf8", "line\u2028sep\u2029", "Überweisung"}
	var txs []bankconn.Transaction
	for i, s := range strs {
		txs = append(txs, bankconn.Transaction{
			ID: int64(134217728 + i), AccountID: 1, Amount: decimal.New(int64(-5423*i+1), -2), Currency: "EUR",
			ValueDate: at.Truncate(24 * time.Hour), BookedAt: at.Add(time.Duration(i) * time.Hour), ImportedAt: at.Add(time.Minute),
			Purpose: s, Counterparty: strs[len(strs)-1-i], IBAN: s, Mode: []string{"normal", "transfer", "fee", ""}[i%4],
			Category: []int64{301, 101, 1101, 0, 42}[i%5],
		})
	}
	txs = append(txs, bankconn.Transaction{ID: 1, Amount: decimal.RequireFromString("12345678901234567890.12"), ValueDate: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)})
	for _, page := range []bankconn.TxPage{
		{Transactions: txs, Page: bankconn.Page{Page: 2, PerPage: 10}, Total: 25, Income: decimal.RequireFromString("2515"), Spending: decimal.RequireFromString("-1596.46")},
		{Transactions: []bankconn.Transaction{}, Page: bankconn.Page{Page: 1, PerPage: 20}, Income: decimal.Zero, Spending: decimal.Zero},
	} {
		want := PageableTransactionList{Transactions: []Transaction{}, Paging: paging(page.Page, page.Total),
			Income: Money(page.Income), Spending: Money(page.Spending), Balance: Money(page.Balance())}
		for _, tx := range page.Transactions {
			want.Transactions = append(want.Transactions, transactionOf(tx))
		}
		wb, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got := appendTransactionPage(nil, page)
		if !bytes.Equal(got, wb) {
			for i := range min(len(got), len(wb)) {
				if got[i] != wb[i] {
					t.Fatalf("differs at %d:\n got %s\nwant %s", i, got[max(i-80, 0):min(i+80, len(got))], wb[max(i-80, 0):min(i+80, len(wb))])
				}
			}
			t.Fatalf("lengths %d, want %d", len(got), len(wb))
		}
		mustConform(t, "PageableTransactionList", got)
	}
}

func TestAppendDecimalAndTimestamp(t *testing.T) {
	for _, v := range []string{"0", "-0", "1", "-1", "0.1", "-0.3", "12.50", "-54.23", "1500", "0.001", "-0.0010", "2515.00",
		"9223372036854775807", "-9223372036854775808", "92233720368547758.07", "1e3", "1.5e-20", "123456789012345678901234567890.12"} {
		d := decimal.RequireFromString(v)
		if got := string(appendDecimal(nil, d)); got != d.String() {
			t.Errorf("%s: %s, want %s", v, got, d.String())
		}
	}
	for _, d := range []decimal.Decimal{decimal.New(-1<<63, -2), decimal.New(5, 2), decimal.New(123, -18), decimal.New(-7, -19)} {
		if got := string(appendDecimal(nil, d)); got != d.String() {
			t.Errorf("%v: %s, want %s", d, got, d.String())
		}
	}
	base := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tm := range []time.Time{base, time.Unix(0, 0), time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 10, 11, 12, 345_678_901, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		want := `"` + Timestamp(tm) + `"`
		if got := string(appendTimestamp(nil, tm)); got != want {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
	for d := range 200_000 { // every day from 1970 on, and before
		tm := time.Unix(int64(d-100_000)*86400+45296, 7_000_000).UTC()
		if got, want := string(appendTimestamp(nil, tm)), `"`+Timestamp(tm)+`"`; got != want {
			t.Fatalf("%v: %s, want %s", tm, got, want)
		}
	}
}
