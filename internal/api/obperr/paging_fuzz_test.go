package obperr

import (
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/openagg/openagg/internal/platform"
)

// FuzzPageHeaders: whatever a client sends as obp_limit and obp_offset,
// PageHeaders never panics; it accepts exactly the decimal integers in
// range (1 to MaxLimit, 0 to MaxOffset; absent: the defaults) and refuses
// the rest with the OBP code of the header at fault, a 400.
func FuzzPageHeaders(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"50", "0"}, {"500", "10000"}, {"0", "-1"}, {"501", "10001"}, {"+5", " 5"}, {"abc", "1e3"}, {"99999999999999999999", "0x10"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, limit, offset string) {
		h := http.Header{}
		if limit != "" {
			h.Set("obp_limit", limit)
		}
		if offset != "" {
			h.Set("obp_offset", offset)
		}
		l, o, err := PageHeaders(h)
		// What the header holds after Set (a header value is stored as given).
		wantL, errL := want(h.Get("obp_limit"), DefaultLimit, 1, MaxLimit)
		wantO, errO := want(h.Get("obp_offset"), 0, 0, MaxOffset)
		switch {
		case errL:
			assertRefused(t, err, CodeLimit)
		case errO:
			assertRefused(t, err, CodeOffset)
		case err != nil:
			t.Fatalf("limit %q offset %q refused: %v", limit, offset, err)
		case l != wantL || o != wantO:
			t.Fatalf("limit %q offset %q read as %d, %d; want %d, %d", limit, offset, l, o, wantL, wantO)
		}
	})
}

// want is what a header value must read as: def when absent, else a
// decimal integer in [lo, hi] (bad reports anything else).
func want(v string, def, lo, hi int) (n int, bad bool) {
	if v == "" {
		return def, false
	}
	n, err := strconv.Atoi(v)
	return n, err != nil || n < lo || n > hi
}

func assertRefused(t *testing.T, err error, code string) {
	t.Helper()
	var e *platform.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != code || e.Message == "" {
		t.Fatalf("refusal %v, want a 400 %s", err, code)
	}
}
