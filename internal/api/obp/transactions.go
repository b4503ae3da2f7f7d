package obp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// List paging (OBP 1.2: request headers): transactions and other accounts.
const (
	defaultLimit = 50
	maxLimit     = 500
	// maxOffset bounds how far a client may page by offset: every skipped
	// transaction or other account is read.
	maxOffset = 10000
	// obpDateLayout is OBP-API's yyyy-MM-dd'T'HH:mm:ss.SSS'Z'.
	obpDateLayout = "2006-01-02T15:04:05.000Z"
)

// pageHeaders reads OBP's paging headers obp_limit (default 50, at most
// 500) and obp_offset (default 0, at most 10,000); bad values are 400s.
func pageHeaders(h http.Header) (limit, offset int, err error) {
	limit = defaultLimit
	if v := h.Get("obp_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, platform.BadRequest(view.CodeLimit, "wrong value for obp_limit parameter. Please send a positive integer (=>1) not above %d!", maxLimit)
		}
		limit = n
	}
	if v := h.Get("obp_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return 0, 0, platform.BadRequest(view.CodeOffset, "wrong value for obp_offset parameter. Please send a positive integer (=>0) not above %d!", maxOffset)
		}
		offset = n
	}
	return limit, offset, nil
}

type txParams struct {
	desc     bool
	limit    int
	offset   int
	from, to time.Time // zero: open end
}

// txHeaders reads obp_sort_by, obp_sort_direction, obp_limit, obp_offset,
// obp_from_date and obp_to_date; bad values are 400s.
func txHeaders(h http.Header) (txParams, error) {
	p := txParams{desc: true, limit: defaultLimit}
	if v := h.Get("obp_sort_by"); v != "" && v != "completed" {
		return p, platform.BadRequest(view.CodeSortBy, "sort_by parameter value is not in the global whitelist. Allowed values are: completed.")
	}
	switch v := strings.ToUpper(h.Get("obp_sort_direction")); v {
	case "", "DESC":
	case "ASC":
		p.desc = false
	default:
		return p, platform.BadRequest(view.CodeSortDirection, "obp_sort_direction parameter can only take two values: DESC or ASC!")
	}
	var err error
	if p.limit, p.offset, err = pageHeaders(h); err != nil {
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
			return p, platform.BadRequest(view.CodeDateFormat, "Failed to parse date string. Please use this format yyyy-MM-dd'T'HH:mm:ss.SSS'Z'! (%s)", d.name)
		}
		*d.dst = t
	}
	return p, nil
}

// txPage is a page of transactions with their metadata on one view.
type txPage struct {
	txs   []holdings.Transaction
	metas map[string]*metadata.TxMeta
}

// queryTransactions reads one page with ONE index query (in the common
// case): the transactions-by-date partition holds each transaction followed
// by its metadata items (GSI1SK <completed>#<tx>#M#<view>), so the query
// over-fetches and keeps offset..offset+limit transactions plus the
// metadata of the view. It never loads the account's whole history.
func (a *API) queryTransactions(r *http.Request, accountID, viewID string, p txParams) (txPage, error) {
	q := store.Query{Index: store.IndexGSI1, PK: holdings.TxByDateGSI1PK(accountID), Desc: p.desc}
	if !p.from.IsZero() {
		q.From = holdings.SortTime(p.from)
	}
	if !p.to.IsZero() {
		q.To = holdings.SortTime(p.to) + "~" // after every "#<tx>..." of that instant
	}
	// Room for the wanted transactions, one metadata item each, and the
	// next transaction (which ends the last one's metadata in ASC order).
	q.Limit = min(2*(p.offset+p.limit)+2, 1000)
	page := txPage{metas: map[string]*metadata.TxMeta{}}
	seen := 0         // transactions passed, including the skipped offset
	var lastSK string // GSI1SK of the last kept transaction
	for {
		res, err := a.store.Query(r.Context(), q)
		if err != nil {
			return txPage{}, fmt.Errorf("query transactions of %s: %w", accountID, err)
		}
		for _, it := range res.Items {
			full := len(page.txs) == p.limit
			if metadata.IsTxMetaItem(it) {
				if full && !p.desc && !strings.HasPrefix(it.GSI1SK, lastSK+"#M#") {
					return page, nil
				}
				m, err := metadata.DecodeTxMeta(it)
				if err != nil {
					return txPage{}, err
				}
				if m.ViewID == viewID {
					page.metas[m.TxID] = &m
				}
				continue
			}
			if !strings.HasPrefix(it.SK, holdings.TxSKPrefix) {
				continue
			}
			if full {
				return page, nil // the next transaction: the page is complete
			}
			seen++
			if seen <= p.offset {
				continue
			}
			var tx holdings.Transaction
			if err := json.Unmarshal(it.Data, &tx); err != nil {
				return txPage{}, fmt.Errorf("decode transaction %s: %w", it.SK, err)
			}
			page.txs = append(page.txs, tx)
			lastSK = it.GSI1SK
			if len(page.txs) == p.limit && p.desc {
				return page, nil // in DESC order its metadata came before it
			}
		}
		if res.Next == "" {
			return page, nil
		}
		q.Token = res.Next
	}
}

// listTransactions is GET .../VIEW_ID/transactions: one BatchGet (account,
// ACL, other-account metadata) and one index query.
func (a *API) listTransactions(w http.ResponseWriter, r *http.Request) error {
	params, err := txHeaders(r.Header)
	if err != nil {
		return err
	}
	s, err := a.load(r, need{view: true, oa: true})
	if err != nil {
		return err
	}
	page, err := a.queryTransactions(r, s.acc.ID, s.viewID, params)
	if err != nil {
		return err
	}
	out := transactionsJSON{Transactions: make([]transactionJSON, 0, len(page.txs))}
	for _, tx := range page.txs {
		out.Transactions = append(out.Transactions, moderateTransaction(s.view, s.acc, tx, s.oa, page.metas[tx.ID]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// txScope loads a transaction-level request.
func (a *API) txScope(r *http.Request) (*scope, error) {
	id := r.PathValue("TRANSACTION_ID")
	if id == "" || len(id) >= 255 || strings.ContainsAny(id, "#\x00") {
		return nil, view.ErrTransactionNotFound()
	}
	return a.load(r, need{view: true, oa: true, txID: id})
}

// getTransaction is GET .../transactions/TRANSACTION_ID/transaction.
func (a *API) getTransaction(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txScope(r)
	if err != nil {
		return err
	}
	var m *metadata.TxMeta
	if s.txm.Version > 0 {
		m = &s.txm
	}
	writeJSON(w, http.StatusOK, moderateTransaction(s.view, s.acc, s.tx, s.oa, m))
	return nil
}

// getTransactionOtherAccount is GET .../transactions/TRANSACTION_ID/other_account.
func (a *API) getTransactionOtherAccount(w http.ResponseWriter, r *http.Request) error {
	s, err := a.txScope(r)
	if err != nil {
		return err
	}
	if err := can(s.view, seeOtherAccounts); err != nil {
		return err
	}
	o, ok := metadata.OtherAccountOf(s.tx)
	if !ok {
		return view.ErrOtherAccountNotFound()
	}
	writeJSON(w, http.StatusOK, moderateOtherAccount(s.view, o, s.oa.Of(o.ID)))
	return nil
}
