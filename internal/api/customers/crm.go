package customers

import (
	"net/http"
	"strconv"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/platform"
)

// Paging of the CRM events: OBP's headers, with the OBP 1.2 group's bounds.
const (
	defaultLimit = 50
	maxLimit     = 500
	maxOffset    = 10_000
)

// pageHeaders reads obp_limit (default 50, 1 to 500) and obp_offset
// (default 0, 0 to 10,000); bad values are 400 OBP-10025 / OBP-10024.
func pageHeaders(h http.Header) (customer.Page, error) {
	pg := customer.Page{Limit: defaultLimit}
	if v := h.Get("obp_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return customer.Page{}, platform.BadRequest(obperr.CodeLimit, "wrong value for obp_limit parameter. Please send a positive integer (=>1) not above %d!", maxLimit)
		}
		pg.Limit = n
	}
	if v := h.Get("obp_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return customer.Page{}, platform.BadRequest(obperr.CodeOffset, "wrong value for obp_offset parameter. Please send a positive integer (=>0) not above %d!", maxOffset)
		}
		pg.Offset = n
	}
	return pg, nil
}

// getCrmEvents: GET /obp/v1.4.0/banks/BANK_ID/crm-events → 200 the CRM
// events the caller may see at the bank, newest first, paged with
// obp_limit / obp_offset.
func (a *API) getCrmEvents(w http.ResponseWriter, r *http.Request) error {
	p, bankID, err := bankRequest(r)
	if err != nil {
		return err
	}
	pg, err := pageHeaders(r.Header)
	if err != nil {
		return err
	}
	evs, err := a.customers.Events(r.Context(), p, bankID, pg)
	if err != nil {
		return err
	}
	out := CrmEventsJSON{CrmEvents: make([]CrmEventJSON, len(evs))}
	for i, e := range evs {
		out.CrmEvents[i] = CrmEventJSON{
			ID: e.ID, BankID: e.BankID, CustomerName: e.CustomerName, CustomerNumber: e.CustomerNumber,
			Category: e.Category, Detail: e.Detail, Channel: e.Channel,
			ScheduledDate: formatDate(e.Scheduled), ActualDate: formatDate(e.Actual), Result: e.Result,
		}
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}
