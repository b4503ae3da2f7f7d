package party

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"100100", true},
		{"a", true},
		{"A.b_c-9", true},
		{strings.Repeat("x", MaxIDLength), true},
		{"", false},
		{strings.Repeat("x", MaxIDLength+1), false},
		{"with space", false},
		{"slash/inside", false},
		{"hash#inside", false}, // would break the key layout
		{"é", false},
	} {
		if err := ValidateID(tc.id); (err == nil) != tc.ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}

func TestKeys(t *testing.T) {
	if k := ProfileKey("100100"); k.PK != "PARTY#100100" || k.SK != "#PROFILE" {
		t.Fatalf("profile key %v", k)
	}
	if k := CustomerKey("sandbox", "42"); k.PK != "CUSTOMER#sandbox#42" || k.SK != "#CUSTOMER" {
		t.Fatalf("customer key %v", k)
	}
}
