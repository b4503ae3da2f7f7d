package obp

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/metadata"
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
	limit, offset, err := obperr.PageHeaders(r.Header)
	if err != nil {
		return err
	}
	s, err := a.load(r, account.Request{OtherMeta: true})
	if err != nil {
		return err
	}
	if err := s.View.Require(seeOtherAccounts); err != nil {
		return err
	}
	others, err := a.accounts.OtherAccounts(r.Context(), s.Account.ID, offset, limit)
	if err != nil {
		return err
	}
	out := otherAccountsJSON{OtherAccounts: make([]otherAccountJSON, 0, len(others))}
	for _, c := range others {
		o := metadata.OtherAccountFrom(c)
		out.OtherAccounts = append(out.OtherAccounts, moderateOtherAccount(s.View, o, s.OtherMeta.Of(o.ID)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// otherAccount loads the scope with the other account OTHER_ACCOUNT_ID (its
// counterparty directory entry read in the same BatchGet).
func (a *API) otherAccount(r *http.Request) (*account.Scope, metadata.OtherAccount, error) {
	s, err := a.load(r, account.Request{OtherMeta: true, OtherAccountID: r.PathValue("OTHER_ACCOUNT_ID")})
	if err != nil {
		return nil, metadata.OtherAccount{}, err
	}
	if err := s.View.Require(seeOtherAccounts); err != nil {
		return nil, metadata.OtherAccount{}, err
	}
	o, err := s.OtherAccount()
	if err != nil {
		return nil, metadata.OtherAccount{}, err
	}
	return s, o, nil
}

// getOtherAccount is GET .../other_accounts/OTHER_ACCOUNT_ID.
func (a *API) getOtherAccount(w http.ResponseWriter, r *http.Request) error {
	s, o, err := a.otherAccount(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, moderateOtherAccount(s.View, o, s.OtherMeta.Of(o.ID)))
	return nil
}

// getOtherAccountMetadata is GET .../other_accounts/OTHER_ACCOUNT_ID/metadata.
func (a *API) getOtherAccountMetadata(w http.ResponseWriter, r *http.Request) error {
	s, o, err := a.otherAccount(r)
	if err != nil {
		return err
	}
	if err := s.View.Require("can_see_other_account_metadata"); err != nil {
		return err
	}
	m := s.OtherMeta.Of(o.ID)
	if _, aliasUsed := holder(s.View, o.Name, m); aliasUsed && s.View.HideMetadataIfAliasUsed {
		writeJSON(w, http.StatusOK, otherAccountMetadataJSON{}) // hidden: every field null
		return nil
	}
	writeJSON(w, http.StatusOK, moderateOtherAccountMetadata(s.View, m))
	return nil
}

// getOtherAccountField is GET of an alias: {"alias": ...}.
func (a *API) getOtherAccountField(f otherAccountField) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, o, err := a.otherAccount(r)
		if err != nil {
			return err
		}
		if err := s.View.Require(f.see); err != nil {
			return err
		}
		m := s.OtherMeta.Of(o.ID)
		alias := m.PublicAlias
		if f.field == metadata.PrivateAlias {
			alias = m.PrivateAlias
		}
		// The aliases are other-account metadata: hidden (null) like the
		// rest of it when the view shows an alias and hides metadata then.
		if _, aliasUsed := holder(s.View, o.Name, m); aliasUsed && s.View.HideMetadataIfAliasUsed {
			alias = ""
		}
		writeJSON(w, http.StatusOK, aliasJSON{Alias: str(alias)})
		return nil
	}
}

// writeScope loads what a metadata write needs and checks the caller: a
// user unless the field may be written anonymously on a public view.
func (a *API) writeOtherAccountScope(r *http.Request, f otherAccountField, action string) (*account.Scope, metadata.OtherAccount, error) {
	s, o, err := a.otherAccount(r)
	if err != nil {
		return nil, o, err
	}
	if s.Caller == nil && !(f.anonymous && s.View.IsPublic) {
		return nil, o, obperr.NotLoggedIn()
	}
	if err := s.View.Require(action); err != nil {
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
		if v.Location != nil && s.Caller != nil {
			v.Location.User = view.UserOf(*s.Caller)
		}
		if err := a.meta.SetOtherAccount(r.Context(), s.OtherMeta, o.ID, f.field, v); err != nil {
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
		if err := a.meta.SetOtherAccount(r.Context(), s.OtherMeta, o.ID, f.field, metadata.Value{}); err != nil {
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
		return nil, obperr.InvalidJSON("%s needs latitude and longitude.", name)
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
		return metadata.Value{}, obperr.InvalidJSON("the body must be {\"%s\": ...}.", f.bodyKey)
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
		return obperr.InvalidJSON("null is not a valid value here.")
	}
	return obperr.DecodeJSONBytes(raw, dst)
}
