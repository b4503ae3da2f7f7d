package holdings

import "github.com/shopspring/decimal"

// minorUnits are the ISO 4217 exponents that differ from 2.
var minorUnits = map[string]int32{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// Amount renders money as a decimal string with the currency's minor units
// ("2150.70 GBP", "1500 JPY"), never dropping digits the value really has.
// Banks and OBP-API show amounts this way; decimal.String would print "2150.7".
func Amount(d decimal.Decimal, currency string) string {
	places, ok := minorUnits[currency]
	if !ok {
		places = 2
	}
	if exp := -d.Exponent(); exp > places {
		// More precision than the currency's minor unit (FX rates, crypto):
		// keep it, but without trailing zeros beyond the minor unit.
		s := d.String()
		if fixed := d.StringFixed(places); len(s) < len(fixed) {
			return fixed
		}
		return s
	}
	return d.StringFixed(places)
}
