package finapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/platform"
)

// params reads a request's query parameters the way finAPI's clients send
// them: lists comma-separated (ids=1,2,3) or repeated (ids=1&ids=2), order
// as field[,asc|desc] values. The first malformed parameter is kept as err.
type params struct {
	v   url.Values
	err error
}

func newParams(u *url.URL) *params {
	v, err := url.ParseQuery(u.RawQuery)
	p := &params{v: v}
	if err != nil {
		p.fail("the query string is malformed: %v", err)
	}
	return p
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = platform.BadRequest("BAD_REQUEST", format, args...)
	}
}

// maxParam bounds a parameter's value quoted in a message.
const maxParam = 64

// list is every comma-separated element of every value of name (nil when
// the parameter is absent).
func (p *params) list(name string) []string {
	vals, ok := p.v[name]
	if !ok {
		return nil
	}
	out := []string{}
	for _, v := range vals {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// ids parses a list of ids (nil when absent). More than
// bankconn.MaxIDs is the domain's TOO_MANY_IDS.
func (p *params) ids(name string) []int64 {
	raw := p.list(name)
	if raw == nil {
		return nil
	}
	out := make([]int64, 0, len(raw))
	for _, s := range raw {
		id, ok := parseID(s)
		if !ok {
			p.fail("%s: %q is not an id", name, platform.Truncate(s, maxParam))
			return nil
		}
		out = append(out, id)
	}
	return out
}

func (p *params) ints(name string) []int {
	var out []int
	for _, s := range p.list(name) {
		n, err := strconv.Atoi(s)
		if err != nil {
			p.fail("%s: %q is not an integer", name, platform.Truncate(s, maxParam))
			return nil
		}
		out = append(out, n)
	}
	return out
}

// one is the single value of name ("" when absent).
func (p *params) one(name string) string {
	vals := p.v[name]
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return vals[0]
	}
	p.fail("%s is given %d times", name, len(vals))
	return ""
}

func (p *params) integer(name string) int {
	s := p.one(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		p.fail("%s: %q is not a non-negative integer", name, platform.Truncate(s, maxParam))
		return 0
	}
	return n
}

func (p *params) boolean(name string) *bool {
	switch s := p.one(name); s {
	case "":
		return nil
	case "true", "false":
		b := s == "true"
		return &b
	default:
		p.fail("%s: %q is not true or false", name, platform.Truncate(s, maxParam))
		return nil
	}
}

func (p *params) decimal(name string) *decimal.Decimal {
	s := p.one(name)
	if s == "" {
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil || len(s) > 32 {
		p.fail("%s: %q is not a number", name, platform.Truncate(s, maxParam))
		return nil
	}
	return &d
}

// date parses YYYY-MM-DD (UTC midnight).
func (p *params) date(name string) time.Time {
	s := p.one(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		p.fail("%s: %q is not a date YYYY-MM-DD", name, platform.Truncate(s, maxParam))
	}
	return t
}

// timestamp parses finAPI's yyyy-MM-dd HH:mm:ss.SSS.
func (p *params) timestamp(name string) time.Time {
	s := p.one(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		p.fail("%s: %q is not a time yyyy-MM-dd HH:mm:ss.SSS", name, platform.Truncate(s, maxParam))
	}
	return t
}

func (p *params) page() bankconn.Page {
	return bankconn.Page{Page: p.integer("page"), PerPage: p.integer("perPage")}
}

// order parses order=field[,asc|desc] (repeated, or several pairs in one
// value).
func (p *params) order() []bankconn.Order {
	var out []bankconn.Order
	for _, tok := range p.list("order") {
		switch strings.ToLower(tok) {
		case "asc", "desc":
			if len(out) == 0 {
				p.fail("order: %q follows no field", tok)
				return nil
			}
			out[len(out)-1].Desc = strings.EqualFold(tok, "desc")
		default:
			out = append(out, bankconn.Order{Field: platform.Truncate(tok, maxParam)})
		}
	}
	return out
}

// parseID reads a path or list id: digits, 1 to 2^53-1.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 16 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0 && n <= bankconn.MaxID
}

// pathIDs reads the {id} of a path: one id, or (the deprecated "get
// multiple" form) a comma-separated list; list reports the latter.
func pathIDs(raw string) (ids []int64, list bool, err error) {
	parts := strings.Split(raw, ",")
	for _, s := range parts {
		id, ok := parseID(strings.TrimSpace(s))
		if !ok {
			return nil, false, platform.BadRequest("BAD_REQUEST", "%q is not an id or a comma-separated list of ids", platform.Truncate(raw, maxParam))
		}
		ids = append(ids, id)
	}
	return ids, len(parts) > 1, nil
}
