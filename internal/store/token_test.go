package store

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestTokensHideKeysAndBindTheQuery(t *testing.T) {
	tok := NewTokens([]byte("a secret of some length"))
	q := Query{PK: "PARTY#alice", SKPrefix: "CONN#"}
	key := map[string]string{"PK": "PARTY#alice", "SK": "CONN#bank_of_x"}
	sealed := tok.Seal(q, key)

	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"alice", "PARTY", "bank_of_x", "CONN"} {
		if strings.Contains(string(raw), secret) || strings.Contains(sealed, secret) {
			t.Fatalf("token reveals %q", secret)
		}
	}
	if tok.Seal(q, key) == sealed {
		t.Fatal("two seals of the same key are equal: nonce not random")
	}

	got, err := tok.Open(q, sealed)
	if err != nil || got["SK"] != "CONN#bank_of_x" || got["PK"] != "PARTY#alice" {
		t.Fatalf("Open = %v, %v", got, err)
	}

	tests := []struct {
		name  string
		q     Query
		token string
		codec *Tokens
	}{
		{"other partition", Query{PK: "PARTY#bob", SKPrefix: "CONN#"}, sealed, tok},
		{"other direction", Query{PK: "PARTY#alice", SKPrefix: "CONN#", Desc: true}, sealed, tok},
		{"other index", Query{Index: IndexGSI1, PK: "PARTY#alice", SKPrefix: "CONN#"}, sealed, tok},
		{"other secret", q, sealed, NewTokens([]byte("another secret"))},
		{"flipped byte", q, flip(sealed), tok},
		{"truncated", q, sealed[:10], tok},
		{"garbage", q, "not a token!", tok},
		{"empty", q, "", tok},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.codec.Open(tc.q, tc.token); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Open = %v, want ErrInvalidToken", err)
			}
		})
	}
	// A different page size is the same query.
	if _, err := tok.Open(Query{PK: "PARTY#alice", SKPrefix: "CONN#", Limit: 7}, sealed); err != nil {
		t.Fatalf("limit change refused: %v", err)
	}
}

func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
