package obp

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/platform"
)

// FuzzTxHeaders: whatever a client sends in the OBP 1.2 transaction list
// headers, txHeaders never panics; what it accepts is what the headers
// say (the only sort field, a direction, paging in range, dates in one of
// OBP's two formats), and what it refuses is a 400 with an OBP code.
func FuzzTxHeaders(f *testing.F) {
	for _, s := range [][6]string{
		{"", "", "", "", "", ""},
		{"completed", "ASC", "10", "5", "2025-01-01T00:00:00.000Z", "2025-12-31T23:59:59.999Z"},
		{"", "desc", "", "", "2025-12-06T22:51:49.421+0000", ""},
		{"amount", "", "", "", "", ""},
		{"", "sideways", "0", "-1", "2025-13-01T00:00:00.000Z", "garbage"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	f.Fuzz(func(t *testing.T, sortBy, dir, limit, offset, from, to string) {
		h := http.Header{}
		for k, v := range map[string]string{"obp_sort_by": sortBy, "obp_sort_direction": dir, "obp_limit": limit,
			"obp_offset": offset, "obp_from_date": from, "obp_to_date": to} {
			if v != "" {
				h.Set(k, v)
			}
		}
		p, err := txHeaders(h)
		if err != nil {
			var e *platform.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.HasPrefix(e.Code, "OBP-") || e.Message == "" {
				t.Fatalf("refusal %#v, want a 400 with an OBP code", err)
			}
			return
		}
		if sortBy != "" && sortBy != "completed" {
			t.Fatalf("sort field %q accepted", sortBy)
		}
		if d := strings.ToUpper(dir); d != "" && d != "ASC" && d != "DESC" || p.desc != (d != "ASC") {
			t.Fatalf("direction %q read as desc=%v", dir, p.desc)
		}
		if p.limit < 1 || p.limit > obperr.MaxLimit || p.offset < 0 || p.offset > obperr.MaxOffset {
			t.Fatalf("paging %q/%q read as %d/%d", limit, offset, p.limit, p.offset)
		}
		for _, d := range []struct {
			raw string
			got time.Time
		}{{from, p.from}, {to, p.to}} {
			if d.raw == "" != d.got.IsZero() {
				t.Fatalf("date %q read as %v", d.raw, d.got)
			}
			if d.raw == "" {
				continue
			}
			// Taken in one of OBP's two formats, as that format reads it.
			a, errA := time.Parse(obpDateLayout, d.raw)
			b, errB := time.Parse(obpDateFallback, d.raw)
			if !(errA == nil && a.Equal(d.got)) && !(errA != nil && errB == nil && b.Equal(d.got)) {
				t.Fatalf("date %q read as %v, not as either format reads it", d.raw, d.got)
			}
		}
	})
}
