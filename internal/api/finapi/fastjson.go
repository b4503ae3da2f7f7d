package finapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/category"
)

// The page of transactions is the group's hot path (issue 10's load
// figure): it is written by hand into one buffer, byte for byte what
// encoding/json writes for the same PageableTransactionList (a test holds
// them equal), without reflection, intermediate structs or per-field
// allocations.

// categoryJSON is each category's JSON as encoding/json writes it; the
// tree never changes, so it is computed once.
var categoryJSON = func() map[int64][]byte {
	m := map[int64][]byte{}
	for _, c := range category.All() {
		b, err := json.Marshal(categoryOf(c.ID))
		if err != nil {
			panic(err) // a Category of strings and ints always encodes
		}
		m[c.ID] = b
	}
	return m
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does (HTML-safe: <, >
// and & as \u escapes; U+2028 and U+2029 escaped; invalid UTF-8 as
// U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendOptString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendTimestamp appends t as a quoted TimeLayout in UTC: the calendar
// date from the day number (Hinnant's civil_from_days), so that no
// time.Time method runs more than once.
func appendTimestamp(b []byte, t time.Time) []byte {
	secs := t.Unix()
	days, sod := secs/86400, secs%86400
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	z := days + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if mp >= 10 {
		month = mp - 9
	}
	year := yoe + era*400
	if month <= 2 {
		year++
	}
	if year < 0 || year > 9999 {
		return appendJSONString(b, Timestamp(t))
	}
	b = append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), ' ')
	h, m, s, ms := sod/3600, sod/60%60, sod%60, int64(t.Nanosecond()/1e6)
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), '"')
}

// appendDecimal appends d as decimal.Decimal.String writes it, without its
// big-number arithmetic when the coefficient fits in an int64.
func appendDecimal(b []byte, d decimal.Decimal) []byte {
	exp := d.Exponent()
	if exp > 0 || exp < -18 || d.NumDigits() > 18 {
		return append(b, d.String()...)
	}
	c := d.CoefficientInt64()
	if exp == 0 {
		return strconv.AppendInt(b, c, 10)
	}
	if c < 0 {
		if c == -1<<63 {
			return append(b, d.String()...)
		}
		b, c = append(b, '-'), -c
	}
	var pow int64 = 1
	for range -exp {
		pow *= 10
	}
	intPart, frac := c/pow, c%pow
	b = strconv.AppendInt(b, intPart, 10)
	if frac == 0 {
		return b
	}
	digits := int(-exp)
	for frac%10 == 0 {
		frac /= 10
		digits--
	}
	b = append(b, '.')
	var tmp [20]byte
	fs := strconv.AppendInt(tmp[:0], frac, 10)
	for i := len(fs); i < digits; i++ {
		b = append(b, '0')
	}
	return append(b, fs...)
}

// appendTransaction appends the JSON of transactionOf(t).
func appendTransaction(b []byte, t bankconn.Transaction) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"parentId":null,"accountId":`...)
	b = strconv.AppendInt(b, t.AccountID, 10)
	b = append(b, `,"valueDate":`...)
	b = appendTimestamp(b, t.ValueDate)
	b = append(b, `,"bankBookingDate":`...)
	b = appendTimestamp(b, t.BookedAt)
	b = append(b, `,"finapiBookingDate":`...)
	b = appendTimestamp(b, t.BookedAt)
	b = append(b, `,"amount":`...)
	b = appendDecimal(b, t.Amount)
	b = append(b, `,"purpose":`...)
	b = appendOptString(b, t.Purpose)
	b = append(b, `,"counterpartName":`...)
	b = appendOptString(b, t.Counterparty)
	b = append(b, `,"counterpartAccountNumber":null,"counterpartIban":`...)
	b = appendOptString(b, t.IBAN)
	b = append(b, `,"counterpartBlz":null,"counterpartBic":null,"counterpartBankName":null,"type":`...)
	b = appendOptString(b, typeOfMode[t.Mode])
	b = append(b, `,"category":`...)
	if c, ok := categoryJSON[t.Category]; ok {
		b = append(b, c...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"labels":[],"isPotentialDuplicate":false,"isAdjustingEntry":false,"isNew":false,"importDate":`...)
	b = appendTimestamp(b, t.ImportedAt)
	return append(b, `,"children":[]}`...)
}

// appendTransactionPage appends the JSON of the PageableTransactionList of
// page.
func appendTransactionPage(b []byte, page bankconn.TxPage) []byte {
	b = slices.Grow(b, 200+900*len(page.Transactions)) // a transaction is 600 to 900 bytes
	b = append(b, `{"transactions":[`...)
	for i, t := range page.Transactions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTransaction(b, t)
	}
	p := paging(page.Page, page.Total)
	b = append(b, `],"paging":{"page":`...)
	b = strconv.AppendInt(b, int64(p.Page), 10)
	b = append(b, `,"perPage":`...)
	b = strconv.AppendInt(b, int64(p.PerPage), 10)
	b = append(b, `,"pageCount":`...)
	b = strconv.AppendInt(b, int64(p.PageCount), 10)
	b = append(b, `,"totalCount":`...)
	b = strconv.AppendInt(b, int64(p.TotalCount), 10)
	b = append(b, `},"income":`...)
	b = appendDecimal(b, page.Income)
	b = append(b, `,"spending":`...)
	b = appendDecimal(b, page.Spending)
	b = append(b, `,"balance":`...)
	b = appendDecimal(b, page.Balance())
	return append(b, '}')
}

// writeBytes writes a JSON body with status 200, as platform.WriteJSON
// does (a trailing newline).
func writeBytes(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
