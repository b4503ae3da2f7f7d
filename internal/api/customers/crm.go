package customers

import (
	"net/http"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/platform"
)

// pageHeaders reads the CRM events' paging: OBP's headers, with the OBP
// 1.2 group's bounds (obperr.PageHeaders).
func pageHeaders(h http.Header) (customer.Page, error) {
	limit, offset, err := obperr.PageHeaders(h)
	return customer.Page{Limit: limit, Offset: offset}, err
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
