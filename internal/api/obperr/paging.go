package obperr

import (
	"net/http"
	"strconv"

	"github.com/openagg/openagg/internal/platform"
)

// Paging bounds of OBP's list headers, for every OBP group.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	// MaxOffset bounds how far a client may page by offset: every skipped
	// item is read.
	MaxOffset = 10_000
)

// PageHeaders reads OBP's paging headers obp_limit (default 50, 1 to 500)
// and obp_offset (default 0, 0 to 10,000); bad values are 400 OBP-10025 /
// OBP-10024.
func PageHeaders(h http.Header) (limit, offset int, err error) {
	limit = DefaultLimit
	if v := h.Get("obp_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, 0, platform.BadRequest(CodeLimit, "wrong value for obp_limit parameter. Please send a positive integer (=>1) not above %d!", MaxLimit)
		}
		limit = n
	}
	if v := h.Get("obp_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxOffset {
			return 0, 0, platform.BadRequest(CodeOffset, "wrong value for obp_offset parameter. Please send a positive integer (=>0) not above %d!", MaxOffset)
		}
		offset = n
	}
	return limit, offset, nil
}
