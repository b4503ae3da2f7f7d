package obp

import (
	"net/http"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
)

const (
	// obpDateLayout is OBP-API's yyyy-MM-dd'T'HH:mm:ss.SSS'Z', and
	// obpDateFallback the format it also takes for 1.2,
	// yyyy-MM-dd'T'HH:mm:ss.SSSZ (an RFC 822 zone: +0000, -0500).
	obpDateLayout   = "2006-01-02T15:04:05.000Z"
	obpDateFallback = "2006-01-02T15:04:05.000-0700"
)

type txParams struct {
	desc     bool
	limit    int
	offset   int
	from, to time.Time // zero: open end
}

// txHeaders reads obp_sort_by, obp_sort_direction, obp_limit, obp_offset,
// obp_from_date and obp_to_date; bad values are 400s.
func txHeaders(h http.Header) (txParams, error) {
	p := txParams{desc: true, limit: obperr.DefaultLimit}
	if v := h.Get("obp_sort_by"); v != "" && v != "completed" {
		return p, platform.BadRequest(obperr.CodeSortBy, "sort_by parameter value is not in the global whitelist. Allowed values are: completed.")
	}
	switch v := strings.ToUpper(h.Get("obp_sort_direction")); v {
	case "", "DESC":
	case "ASC":
		p.desc = false
	default:
		return p, platform.BadRequest(obperr.CodeSortDirection, "obp_sort_direction parameter can only take two values: DESC or ASC!")
	}
	var err error
	if p.limit, p.offset, err = obperr.PageHeaders(h); err != nil {
		return p, err
	}
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"obp_from_date", &p.from}, {"obp_to_date", &p.to}} {
		v := h.Get(d.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(obpDateLayout, v)
		if err != nil {
			t, err = time.Parse(obpDateFallback, v)
		}
		if err != nil {
			return p, platform.BadRequest(obperr.CodeDateFormat, "Failed to parse date string. Please use this format yyyy-MM-dd'T'HH:mm:ss.SSS'Z'! (%s)", d.name)
		}
		*d.dst = t
	}
	return p, nil
}

// listTransactions is GET .../VIEW_ID/transactions: one BatchGet (account,
// ACL, other-account metadata) and one index query.
func (a *API) listTransactions(w http.ResponseWriter, r *http.Request) error {
	params, err := txHeaders(r.Header)
	if err != nil {
		return err
	}
	s, err := a.load(r, account.Request{OtherMeta: true})
	if err != nil {
		return err
	}
	frags, err := a.transactionFragments(r, s, params)
	if err != nil {
		return err
	}
	writeTransactions(w, frags)
	return nil
}

// txScope loads a transaction-level request (the router never gives an
// empty TRANSACTION_ID: a wildcard segment matches one character or more).
func (a *API) txScope(r *http.Request) (*account.Scope, error) {
	return a.load(r, account.Request{OtherMeta: true, TransactionID: r.PathValue("TRANSACTION_ID")})
}

// getTransaction is GET .../transactions/TRANSACTION_ID/transaction.
func (a *API) getTransaction(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txScope(r)
	if err != nil {
		return err
	}
	var m *metadata.TxMeta
	if s.TxMeta.Version > 0 {
		m = &s.TxMeta
	}
	writeJSON(w, http.StatusOK, moderateTransaction(s.View, s.Account, s.Transaction, s.OtherMeta, m))
	return nil
}

// getTransactionOtherAccount is GET .../transactions/TRANSACTION_ID/other_account.
func (a *API) getTransactionOtherAccount(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txScope(r)
	if err != nil {
		return err
	}
	if err := s.View.Require(seeOtherAccounts); err != nil {
		return err
	}
	o, err := s.TransactionOtherAccount()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, moderateOtherAccount(s.View, o, s.OtherMeta.Of(o.ID)))
	return nil
}
