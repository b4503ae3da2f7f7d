package platform

import "unicode/utf8"

// Truncate shortens s to at most n bytes for a message, cutting at a rune
// boundary (never inside a UTF-8 sequence) and marking the cut with "...".
// Messages quote what a caller sent; a long or hostile value must neither
// bloat the answer nor make it invalid UTF-8.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
