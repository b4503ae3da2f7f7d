package obp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

// seeOtherAccounts gates every other-account endpoint: a view that may not
// see the other party of its transactions does not list them either (a
// holder always shows a name, so moderation alone would leak them).
const seeOtherAccounts = "can_see_transaction_other_bank_account"

// listOtherAccounts is GET .../VIEW_ID/other_accounts: one BatchGet
// (account, ACL, other-account metadata) and one query of the account's
// counterparty directory, whatever the length of its history. The list is
// paged with OBP's headers (obp_limit, obp_offset) in counterparty-id
// order; an offset beyond the first 1,000 entries costs a query per 1,000.
func (a *API) listOtherAccounts(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageHeaders(r.Header)
	if err != nil {
		return err
	}
	s, err := a.load(r, need{view: true, oa: true})
	if err != nil {
		return err
	}
	if err := can(s.view, seeOtherAccounts); err != nil {
		return err
	}
	others, err := a.otherAccounts(r.Context(), s.acc.ID, offset, limit)
	if err != nil {
		return err
	}
	out := otherAccountsJSON{OtherAccounts: make([]otherAccountJSON, 0, len(others))}
	for _, c := range others {
		o := metadata.OtherAccountFrom(c)
		out.OtherAccounts = append(out.OtherAccounts, moderateOtherAccount(s.view, o, s.oa.Of(o.ID)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// otherAccounts reads entries offset .. offset+limit of an account's
// counterparty directory: one query while offset+limit ≤ 1,000.
func (a *API) otherAccounts(ctx context.Context, accountID string, offset, limit int) ([]holdings.Counterparty, error) {
	want := offset + limit
	var got []holdings.Counterparty
	token := ""
	for len(got) < want {
		page, err := a.holdings.Counterparties(ctx, accountID, min(want-len(got), holdings.MaxCounterpartyLimit), token)
		if err != nil {
			return nil, err
		}
		got = append(got, page.Counterparties...)
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	if offset >= len(got) {
		return nil, nil
	}
	return got[offset:min(want, len(got))], nil
}

// otherAccount loads the scope with the other account OTHER_ACCOUNT_ID (its
// counterparty directory entry read in the same BatchGet).
func (a *API) otherAccount(r *http.Request) (*scope, metadata.OtherAccount, error) {
	id := r.PathValue("OTHER_ACCOUNT_ID")
	n := need{view: true, oa: true}
	if view.ValidID(id) {
		n.other = id
	}
	s, err := a.load(r, n)
	if err != nil {
		return nil, metadata.OtherAccount{}, err
	}
	if err := can(s.view, seeOtherAccounts); err != nil {
		return nil, metadata.OtherAccount{}, err
	}
	if s.other == nil {
		return nil, metadata.OtherAccount{}, view.ErrOtherAccountNotFound()
	}
	return s, metadata.OtherAccountFrom(*s.other), nil
}

// getOtherAccount is GET .../other_accounts/OTHER_ACCOUNT_ID.
func (a *API) getOtherAccount(w http.ResponseWriter, r *http.Request) error {
	s, o, err := a.otherAccount(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, moderateOtherAccount(s.view, o, s.oa.Of(o.ID)))
	return nil
}

// getOtherAccountMetadata is GET .../other_accounts/OTHER_ACCOUNT_ID/metadata.
func (a *API) getOtherAccountMetadata(w http.ResponseWriter, r *http.Request) error {
	s, o, err := a.otherAccount(r)
	if err != nil {
		return err
	}
	if err := can(s.view, "can_see_other_account_metadata"); err != nil {
		return err
	}
	m := s.oa.Of(o.ID)
	if _, aliasUsed := holder(s.view, o.Name, m); aliasUsed && s.view.HideMetadataIfAliasUsed {
		writeJSON(w, http.StatusOK, otherAccountMetadataJSON{}) // hidden: every field null
		return nil
	}
	writeJSON(w, http.StatusOK, moderateOtherAccountMetadata(s.view, m))
	return nil
}

// getOtherAccountField is GET of an alias: {"alias": ...}.
func (a *API) getOtherAccountField(f otherAccountField) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, o, err := a.otherAccount(r)
		if err != nil {
			return err
		}
		if err := can(s.view, f.see); err != nil {
			return err
		}
		m := s.oa.Of(o.ID)
		alias := m.PublicAlias
		if f.field == metadata.PrivateAlias {
			alias = m.PrivateAlias
		}
		// The aliases are other-account metadata: hidden (null) like the
		// rest of it when the view shows an alias and hides metadata then.
		if _, aliasUsed := holder(s.view, o.Name, m); aliasUsed && s.view.HideMetadataIfAliasUsed {
			alias = ""
		}
		writeJSON(w, http.StatusOK, aliasJSON{Alias: str(alias)})
		return nil
	}
}

// writeScope loads what a metadata write needs and checks the caller: a
// user unless the field may be written anonymously on a public view.
func (a *API) writeOtherAccountScope(r *http.Request, f otherAccountField, action string) (*scope, metadata.OtherAccount, error) {
	s, o, err := a.otherAccount(r)
	if err != nil {
		return nil, o, err
	}
	if s.p == nil && !(f.anonymous && s.view.IsPublic) {
		return nil, o, view.ErrNotLoggedIn()
	}
	if err := can(s.view, action); err != nil {
		return nil, o, err
	}
	return s, o, nil
}

// setOtherAccountField is POST/PUT of an other-account metadata field.
func (a *API) setOtherAccountField(f otherAccountField, status int, msg string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, o, err := a.writeOtherAccountScope(r, f, f.add)
		if err != nil {
			return err
		}
		v, err := otherAccountValue(w, r, f)
		if err != nil {
			return err
		}
		if v.Location != nil && s.p != nil {
			v.Location.User = view.UserOf(*s.p)
		}
		if err := a.meta.SetOtherAccount(r.Context(), s.oa, o.ID, f.field, v); err != nil {
			return err
		}
		success(w, status, msg)
		return nil
	}
}

// deleteOtherAccountField is DELETE of an other-account metadata field (204).
func (a *API) deleteOtherAccountField(f otherAccountField) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, o, err := a.writeOtherAccountScope(r, f, f.del)
		if err != nil {
			return err
		}
		if err := a.meta.SetOtherAccount(r.Context(), s.oa, o.ID, f.field, metadata.Value{}); err != nil {
			return err
		}
		noContent(w)
		return nil
	}
}

// geoBody is {latitude, longitude}; both are required.
type geoBody struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

func (g *geoBody) location(name string) (*metadata.Location, error) {
	if g == nil || g.Latitude == nil || g.Longitude == nil {
		return nil, view.ErrInvalidJSON("%s needs latitude and longitude.", name)
	}
	if err := metadata.ValidCoordinates(*g.Latitude, *g.Longitude); err != nil {
		return nil, err
	}
	return &metadata.Location{Latitude: *g.Latitude, Longitude: *g.Longitude}, nil
}

// otherAccountValue decodes the body of a field write: {"<key>": "text"} or
// {"<key>": {"latitude": .., "longitude": ..}}.
func otherAccountValue(w http.ResponseWriter, r *http.Request, f otherAccountField) (metadata.Value, error) {
	var body map[string]json.RawMessage
	if err := decodeBody(w, r, &body); err != nil {
		return metadata.Value{}, err
	}
	raw, ok := body[f.bodyKey]
	if !ok || len(body) != 1 {
		return metadata.Value{}, view.ErrInvalidJSON("the body must be {\"%s\": ...}.", f.bodyKey)
	}
	if f.location {
		var g geoBody
		if err := strictJSON(raw, &g); err != nil {
			return metadata.Value{}, err
		}
		loc, err := g.location(f.bodyKey)
		if err != nil {
			return metadata.Value{}, err
		}
		return metadata.Value{Location: loc}, nil
	}
	var text string
	if err := strictJSON(raw, &text); err != nil {
		return metadata.Value{}, err
	}
	if err := metadata.ValidText(f.bodyKey, text); err != nil {
		return metadata.Value{}, err
	}
	return metadata.Value{Text: text}, nil
}

// strictJSON decodes a nested value with the same strictness as the body.
func strictJSON(raw json.RawMessage, dst any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return view.ErrInvalidJSON("null is not a valid value here.")
	}
	if err := platform.DecodeJSONBytes(raw, dst); err != nil {
		e := platform.AsError(err)
		return &platform.Error{Status: http.StatusBadRequest, Code: view.CodeInvalidJSON, Message: view.TextInvalidJSON + " " + e.Message, Err: err}
	}
	return nil
}
