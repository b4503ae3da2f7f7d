package platform

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"ascii cut", "abcdef", 3, "abc..."},
		{"inside a rune", "aé€x", 3, "aé..."},      // é is 2 bytes: a|é ends at 3
		{"inside a 3-byte rune", "a€x", 2, "a..."}, // € is 3 bytes
		{"zero", "€", 0, "..."},
		{"invalid input cut after its bytes", "ab\xffcd", 3, "ab\xff..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Truncate(tc.s, tc.n)
			if got != tc.want {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
			if utf8.ValidString(tc.s) && !utf8.ValidString(got) {
				t.Fatalf("Truncate(%q, %d) = %q is not UTF-8", tc.s, tc.n, got)
			}
		})
	}
}
