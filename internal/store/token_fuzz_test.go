package store

import "testing"

// FuzzTokensOpen: any string a client sends as a page token either opens
// to the key it was sealed with (for the query it was made for) or fails
// with ErrInvalid; it never panics and never opens under another query.
func FuzzTokensOpen(f *testing.F) {
	tok := NewTokens([]byte("fuzz-secret-0123456789"))
	q := Query{PK: "ACC#1", SKPrefix: "TX#"}
	other := Query{PK: "ACC#2", SKPrefix: "TX#"}
	good := tok.Seal(q, map[string]string{"PK": "ACC#1", "SK": "TX#9"})
	for _, s := range []string{"", good, good[:len(good)-1], good + "A", "%%%", "AAAA", "eyJQSyI6IkFDQyMxIn0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := tok.Open(q, s)
		if err != nil {
			return
		}
		if s != good && key["SK"] != "TX#9" {
			t.Fatalf("a token that was never sealed opened: %q → %v", s, key)
		}
		if _, err := tok.Open(other, s); err == nil {
			t.Fatalf("token %q opened under another query", s)
		}
	})
}
