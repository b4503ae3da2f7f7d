package holdings

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestAmount(t *testing.T) {
	tests := []struct {
		in, cur, want string
	}{
		{"2150.7", "GBP", "2150.70"},
		{"-1.45", "EUR", "-1.45"},
		{"0", "USD", "0.00"},
		{"1500", "JPY", "1500"},
		{"12.5", "KWD", "12.500"},
		{"0.12345", "EUR", "0.12345"},
		{"0.12300", "EUR", "0.123"},
		{"7", "XXX", "7.00"},
	}
	for _, tc := range tests {
		t.Run(tc.in+tc.cur, func(t *testing.T) {
			if got := Amount(decimal.RequireFromString(tc.in), tc.cur); got != tc.want {
				t.Fatalf("Amount(%s, %s) = %s, want %s", tc.in, tc.cur, got, tc.want)
			}
		})
	}
}
