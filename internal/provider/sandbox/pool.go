package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
)

// party is a counterparty of the fixed pool: the same names and IBANs recur
// across accounts, customers and runs, as real payees do.
type party struct {
	Name     string
	IBAN     string
	Category string // Salt Edge-style category of payments to/from it
}

// Pools by role. All names are fictional.
var (
	merchants = newParties("GB", []string{
		"Greenleaf Grocers|groceries", "Cafe Aurora|restaurants", "Metro Transit|public_transportation",
		"Urban Fuel|gas_and_fuel", "Lumen Electronics|electronics", "Bluebird Books|books",
		"Harbour Pharmacy|pharmacy", "Skyline Cinemas|movies_and_music", "Cedar Home Supplies|home_supplies",
		"Northside Market|groceries", "Blue Lagoon Sushi|restaurants", "Pinewood Outfitters|clothing",
	})
	employers  = newParties("DE", []string{"Acme Widgets Ltd|salary", "Globex Corporation|salary", "Initech GmbH|salary", "Umbrella Logistics SARL|salary"})
	landlords  = newParties("GB", []string{"Oakridge Property Management|rent", "Maple Lettings|rent"})
	utilities  = newParties("FR", []string{"Contoso Energy|bills_and_utilities", "Fabrikam Telecom|bills_and_utilities", "Aqua Water Services|bills_and_utilities"})
	people     = newParties("LU", []string{"Alice Martin|transfer", "Bruno Keller|transfer", "Chloe Dubois|transfer", "David Okafor|transfer", "Elena Rossi|transfer", "Farid Haddad|transfer"})
	customers  = newParties("DE", []string{"Northwind Traders|income", "Wingtip Toys|income", "Tailspin Aviation|income", "Adventure Works|income", "Proseware Inc|income", "Litware Ltd|income"})
	suppliers  = newParties("FR", []string{"Coho Packaging|business_services", "Fourth Coffee|business_services", "Woodgrove Freight|shipping", "Trey Research|business_services"})
	holders    = []string{"Alex Morgan", "Sam Carter", "Jordan Lee", "Taylor Brooks", "Robin Schmidt", "Camille Laurent", "Luca Weber", "Mia Jansen"}
	cardCities = []string{"LONDON", "BERLIN", "PARIS", "LUXEMBOURG", "MANCHESTER", "LYON", "HAMBURG"}
)

func newParties(country string, specs []string) []party {
	out := make([]party, len(specs))
	for i, s := range specs {
		name, cat, _ := strings.Cut(s, "|")
		out[i] = party{Name: name, Category: cat, IBAN: makeIBAN(country, fixedHash("party", name))}
	}
	return out
}

// fixedHash is a seed-independent hash for the fixed pool.
func fixedHash(parts ...string) uint64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint64(h[:8])
}

// bbanDigits returns n decimal digits drawn from h (and its rehashes).
func bbanDigits(h uint64, n int) string {
	var b strings.Builder
	for b.Len() < n {
		s := strconv.FormatUint(h, 10)
		if b.Len()+len(s) > n {
			s = s[:n-b.Len()]
		}
		b.WriteString(s)
		h = h*6364136223846793005 + 1442695040888963407
	}
	return b.String()
}

// makeIBAN builds a checksum-valid IBAN (ISO 13616 mod 97) with the
// country's BBAN length; the bank and branch parts are made up.
func makeIBAN(country string, h uint64) string {
	var bban string
	switch country {
	case "GB": // 4-letter bank code, 6-digit sort code, 8-digit account
		letters := []byte("SBXA")
		letters[3] = byte('A' + h%26)
		bban = string(letters) + bbanDigits(h>>8, 14)
	case "DE": // 8-digit bank code, 10-digit account
		bban = bbanDigits(h, 18)
	case "FR": // 5 bank, 5 branch, 11 account, 2 key
		bban = bbanDigits(h, 23)
	case "LU": // 3 bank, 13 account
		bban = bbanDigits(h, 16)
	case "CH": // 5 bank, 12 account
		bban = bbanDigits(h, 17)
	default:
		return ""
	}
	return country + ibanCheck(country, bban) + bban
}

// ibanCheck computes the two check digits: 98 - (BBAN + country + "00"
// with letters as numbers) mod 97.
func ibanCheck(country, bban string) string {
	rem := 0
	for _, c := range bban + country + "00" {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	cd := 98 - rem
	if cd < 10 {
		return "0" + strconv.Itoa(cd)
	}
	return strconv.Itoa(cd)
}
