package sandbox

// validIBAN reports whether s has a correct ISO 13616 checksum: the
// generated IBANs must be real ones.
func validIBAN(s string) bool {
	if len(s) < 5 {
		return false
	}
	rem := 0
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}
