package customers

import (
	"net/http"

	"github.com/openagg/openagg/internal/platform"
)

// addSocialMediaHandle: POST /obp/v2.0.0/banks/BANK_ID/customers/CUSTOMER_ID/social_media_handles
// → 201 {"success":"Success"}.
func (a *API) addSocialMediaHandle(w http.ResponseWriter, r *http.Request) error {
	p, bankID, err := bankRequest(r)
	if err != nil {
		return err
	}
	if err := a.customers.AddHandle(r.Context(), p, bankID, r.PathValue("CUSTOMER_ID"), decodeBody(w, r, newHandle)); err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusCreated, SuccessJSON{Success: "Success"})
	return nil
}

// getSocialMediaHandles: GET /obp/v2.0.0/banks/BANK_ID/customers/CUSTOMER_ID/social_media_handles
// → 200 {"checks":[...]} (OBP-API's key).
func (a *API) getSocialMediaHandles(w http.ResponseWriter, r *http.Request) error {
	p, bankID, err := bankRequest(r)
	if err != nil {
		return err
	}
	hs, err := a.customers.Handles(r.Context(), p, bankID, r.PathValue("CUSTOMER_ID"))
	if err != nil {
		return err
	}
	out := SocialMediasJSON{Checks: make([]SocialMediaJSON, len(hs))}
	for i, h := range hs {
		out.Checks[i] = SocialMediaJSON{CustomerNumber: h.CustomerNumber, Type: h.Type, Handle: h.Handle,
			DateAdded: formatDate(h.DateAdded), DateActivated: formatDate(h.DateActivated)}
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}
