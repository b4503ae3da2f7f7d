package finapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/category"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/platform"
)

// Service is the domain behind the group (*bankconn.Service).
type Service interface {
	Import(ctx context.Context, p auth.Principal, in bankconn.ImportParams) (bankconn.Connection, error)
	Update(ctx context.Context, p auth.Principal, in bankconn.UpdateParams) (bankconn.Connection, error)
	Edit(ctx context.Context, p auth.Principal, id int64, in bankconn.EditParams) (bankconn.Connection, error)
	Get(ctx context.Context, p auth.Principal, id int64) (bankconn.Connection, error)
	List(ctx context.Context, p auth.Principal, ids []int64) ([]bankconn.Connection, error)
	Delete(ctx context.Context, p auth.Principal, id int64) error
	DeleteAll(ctx context.Context, p auth.Principal) ([]int64, error)
	Banks(ctx context.Context, q bankconn.BankQuery) (bankconn.BankPage, error)
	Bank(ctx context.Context, id int64) (bankconn.BankInfo, error)
	BanksByID(ctx context.Context, ids []int64) ([]bankconn.BankInfo, error)
	Accounts(ctx context.Context, p auth.Principal, q bankconn.AccountQuery) ([]bankconn.Account, error)
	Account(ctx context.Context, p auth.Principal, id int64) (bankconn.Account, error)
	Transactions(ctx context.Context, p auth.Principal, q bankconn.TxQuery) (bankconn.TxPage, error)
	TransactionsByID(ctx context.Context, p auth.Principal, ids []int64) ([]bankconn.Transaction, error)
	Transaction(ctx context.Context, p auth.Principal, id int64) (bankconn.Transaction, error)
}

// Deps are what the group needs.
type Deps struct {
	Log     *slog.Logger
	Clock   platform.Clock
	Service Service
}

// API is the finapi group.
type API struct {
	log   *slog.Logger
	clock platform.Clock
	svc   Service
	bufs  sync.Pool // *[]byte: response buffers of the transaction pages
}

// New builds the group.
func New(d Deps) *API {
	a := &API{log: d.Log, clock: d.Clock, svc: d.Service}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.clock == nil {
		a.clock = platform.SystemClock{}
	}
	return a
}

// Prefix is the group's base path.
const Prefix = "/api/v1"

// Routes are the group's endpoints. Every one needs a user's bearer
// token. The deprecated "get multiple" forms (/bankConnections/{ids},
// /accounts/{ids}, /transactions/{ids}) share the path of "get one": a
// comma in the id segment makes it a list (one id alone is "get one").
func (a *API) Routes() []platform.Route {
	h := func(f func(w http.ResponseWriter, r *http.Request, p auth.Principal) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p, err := authn.Require(r.Context())
			if err == nil {
				err = f(w, r, p)
			}
			if err != nil {
				a.Render(w, r, err)
			}
		}
	}
	return []platform.Route{
		{Method: http.MethodPost, Path: Prefix + "/bankConnections/import", Handler: h(a.importConnection)},
		{Method: http.MethodPost, Path: Prefix + "/bankConnections/update", Handler: h(a.updateConnection)},
		{Method: http.MethodPatch, Path: Prefix + "/bankConnections/{id}", Handler: h(a.editConnection)},
		{Method: http.MethodGet, Path: Prefix + "/bankConnections/{id}", Handler: h(a.getConnections)},
		{Method: http.MethodGet, Path: Prefix + "/bankConnections", Handler: h(a.listConnections)},
		{Method: http.MethodDelete, Path: Prefix + "/bankConnections/{id}", Handler: h(a.deleteConnection)},
		{Method: http.MethodDelete, Path: Prefix + "/bankConnections", Handler: h(a.deleteAllConnections)},
		{Method: http.MethodGet, Path: Prefix + "/banks", Handler: h(a.listBanks)},
		{Method: http.MethodGet, Path: Prefix + "/banks/{id}", Handler: h(a.getBank)},
		{Method: http.MethodGet, Path: Prefix + "/accounts", Handler: h(a.listAccounts)},
		{Method: http.MethodGet, Path: Prefix + "/accounts/{id}", Handler: h(a.getAccounts)},
		{Method: http.MethodGet, Path: Prefix + "/transactions", Handler: h(a.listTransactions)},
		{Method: http.MethodGet, Path: Prefix + "/transactions/{id}", Handler: h(a.getTransactions)},
		{Method: http.MethodGet, Path: Prefix + "/categories", Handler: h(a.listCategories)},
		{Method: http.MethodGet, Path: Prefix + "/categories/{id}", Handler: h(a.getCategory)},
	}
}

// Render writes errors in finAPI's format (404/405, panics too).
func (a *API) Render(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, a.log, a.clock, err)
}

// secret is a decoded PIN as the domain takes it.
func secret(s *string) *credential.Secret {
	if s == nil {
		return nil
	}
	v := credential.Secret(*s)
	return &v
}

// importParams decodes an ImportBankConnectionParams body (the ranges
// are the domain's checks).
func importParams(w http.ResponseWriter, r *http.Request) (bankconn.ImportParams, error) {
	var body ImportBankConnectionParams
	if err := platform.DecodeJSON(w, r, &body); err != nil {
		return bankconn.ImportParams{}, err
	}
	if body.BankID == nil {
		return bankconn.ImportParams{}, missing("bankId")
	}
	in := bankconn.ImportParams{BankID: *body.BankID, UserID: body.BankingUserID, CustomerNo: body.BankingCustomerID,
		PIN: secret(body.BankingPIN), Name: body.Name, AccountTypes: body.AccountTypeIDs}
	if body.StorePIN != nil {
		in.StorePIN = *body.StorePIN
	}
	if body.MaxDaysForDownload != nil {
		in.MaxDays = *body.MaxDaysForDownload
	}
	if body.ChallengeResponse != nil {
		in.ChallengeResponse = *body.ChallengeResponse
	}
	return in, nil
}

func (a *API) importConnection(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := importParams(w, r)
	if err != nil {
		return err
	}
	c, err := a.svc.Import(r.Context(), p, in)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusCreated, connectionOf(c))
	return nil
}

// updateParams decodes an UpdateBankConnectionParams body.
func updateParams(w http.ResponseWriter, r *http.Request) (bankconn.UpdateParams, error) {
	var body UpdateBankConnectionParams
	if err := platform.DecodeJSON(w, r, &body); err != nil {
		return bankconn.UpdateParams{}, err
	}
	if body.BankConnectionID == nil {
		return bankconn.UpdateParams{}, missing("bankConnectionId")
	}
	in := bankconn.UpdateParams{ID: *body.BankConnectionID, PIN: secret(body.BankingPIN)}
	if body.ChallengeResponse != nil {
		in.ChallengeResponse = *body.ChallengeResponse
	}
	return in, nil
}

func (a *API) updateConnection(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := updateParams(w, r)
	if err != nil {
		return err
	}
	c, err := a.svc.Update(r.Context(), p, in)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, connectionOf(c))
	return nil
}

// oneID reads a path {id} that must be one id.
func oneID(r *http.Request) (int64, error) {
	ids, list, err := pathIDs(r.PathValue("id"))
	if err != nil {
		return 0, err
	}
	if list {
		return 0, platform.BadRequest("BAD_REQUEST", "one id is expected, not a list")
	}
	return ids[0], nil
}

func (a *API) editConnection(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := oneID(r)
	if err != nil {
		return err
	}
	in, err := editParams(w, r)
	if err != nil {
		return err
	}
	c, err := a.svc.Edit(r.Context(), p, id, in)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, connectionOf(c))
	return nil
}

// editParams decodes an EditBankConnectionParams body.
func editParams(w http.ResponseWriter, r *http.Request) (bankconn.EditParams, error) {
	var body EditBankConnectionParams
	if err := platform.DecodeJSON(w, r, &body); err != nil {
		return bankconn.EditParams{}, err
	}
	return bankconn.EditParams{UserID: body.BankingUserID, CustomerNo: body.BankingCustomerID,
		PIN: secret(body.BankingPIN), DefaultTwoStep: body.DefaultTwoStepProcedureID, Name: body.Name}, nil
}

func (a *API) getConnections(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ids, list, err := pathIDs(r.PathValue("id"))
	if err != nil {
		return err
	}
	if !list {
		c, err := a.svc.Get(r.Context(), p, ids[0])
		if err != nil {
			return err
		}
		platform.WriteJSON(w, http.StatusOK, connectionOf(c))
		return nil
	}
	return a.writeConnections(w, r, p, ids)
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := newParams(r.URL)
	ids := q.ids("ids")
	if q.err != nil {
		return q.err
	}
	return a.writeConnections(w, r, p, ids)
}

func (a *API) writeConnections(w http.ResponseWriter, r *http.Request, p auth.Principal, ids []int64) error {
	list, err := a.svc.List(r.Context(), p, ids)
	if err != nil {
		return err
	}
	out := BankConnectionList{Connections: make([]BankConnection, 0, len(list))}
	for _, c := range list {
		out.Connections = append(out.Connections, connectionOf(c))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := oneID(r)
	if err != nil {
		return err
	}
	if err := a.svc.Delete(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK) // finAPI: 200 with an empty body
	return nil
}

func (a *API) deleteAllConnections(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ids, err := a.svc.DeleteAll(r.Context(), p)
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, IdentifierList{Identifiers: ids})
	return nil
}

// bankQuery reads the query of GET /banks.
func bankQuery(u *url.URL) (bankconn.BankQuery, error) {
	q := newParams(u)
	bq := bankconn.BankQuery{IDs: q.ids("ids"), Search: q.one("search"), Supported: q.boolean("isSupported"),
		PINsAreVolatile: q.boolean("pinsAreVolatile"), DataSources: q.list("supportedDataSources"), Locations: q.list("location"),
		TestBank: q.boolean("isTestBank"), Page: q.page(), Order: q.order()}
	return bq, q.err
}

func (a *API) listBanks(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	bq, err := bankQuery(r.URL)
	if err != nil {
		return err
	}
	page, err := a.svc.Banks(r.Context(), bq)
	if err != nil {
		return err
	}
	out := PageableBankList{Banks: make([]Bank, 0, len(page.Banks)), Paging: paging(page.Page, page.Total)}
	for _, b := range page.Banks {
		out.Banks = append(out.Banks, bankOf(b))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getBank(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ids, list, err := pathIDs(r.PathValue("id"))
	if err != nil {
		return err
	}
	if list { // the deprecated get multiple banks
		banks, err := a.svc.BanksByID(r.Context(), ids)
		if err != nil {
			return err
		}
		out := BankList{Banks: make([]Bank, 0, len(banks))}
		for _, b := range banks {
			out.Banks = append(out.Banks, bankOf(b))
		}
		platform.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	b, err := a.svc.Bank(r.Context(), ids[0])
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, bankOf(b))
	return nil
}

// accountQuery reads the query of GET /accounts.
func accountQuery(u *url.URL) (bankconn.AccountQuery, error) {
	q := newParams(u)
	aq := bankconn.AccountQuery{IDs: q.ids("ids"), Search: q.one("search"), TypeIDs: q.ints("accountTypeIds"),
		ConnectionIDs: q.ids("bankConnectionIds"), MinBalance: q.decimal("minBalance"), MaxBalance: q.decimal("maxBalance"),
		MinUpdated: q.timestamp("minLastSuccessfulUpdate"), MaxUpdated: q.timestamp("maxLastSuccessfulUpdate")}
	return aq, q.err
}

func (a *API) listAccounts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	aq, err := accountQuery(r.URL)
	if err != nil {
		return err
	}
	return a.writeAccounts(w, r, p, aq)
}

func (a *API) writeAccounts(w http.ResponseWriter, r *http.Request, p auth.Principal, q bankconn.AccountQuery) error {
	list, err := a.svc.Accounts(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := AccountList{Accounts: make([]Account, 0, len(list))}
	for _, acc := range list {
		out.Accounts = append(out.Accounts, accountOf(acc))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getAccounts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ids, list, err := pathIDs(r.PathValue("id"))
	if err != nil {
		return err
	}
	if list {
		return a.writeAccounts(w, r, p, bankconn.AccountQuery{IDs: ids})
	}
	acc, err := a.svc.Account(r.Context(), p, ids[0])
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, accountOf(acc))
	return nil
}

// transactionQuery reads the query of GET /transactions.
func transactionQuery(u *url.URL) (bankconn.TxQuery, error) {
	q := newParams(u)
	switch view := q.one("view"); view {
	case "bankView", "userView":
		// Both show the bank's transactions: OpenAgg keeps no user edits.
	case "":
		if q.err == nil {
			return bankconn.TxQuery{}, missing("view")
		}
	default:
		return bankconn.TxQuery{}, illegal("view must be bankView or userView, not %q", platform.Truncate(view, maxParam))
	}
	tq := bankconn.TxQuery{IDs: q.ids("ids"), AccountIDs: q.ids("accountIds"), Search: q.one("search"), Counterpart: q.one("counterpart"),
		MinAmount: q.decimal("minAmount"), MaxAmount: q.decimal("maxAmount"), Direction: q.one("direction"),
		CategoryIDs: q.ids0("categoryIds"), IncludeChildren: true, IsNew: q.boolean("isNew"),
		IsPotentialDuplicate: q.boolean("isPotentialDuplicate"), IsAdjustingEntry: q.boolean("isAdjustingEntry"),
		LabelIDs: q.ids("labelIds"), MinImported: q.date("minImportDate"), MaxImported: q.date("maxImportDate"),
		Page: q.page(), Order: q.order()}
	if inc := q.boolean("includeChildCategories"); inc != nil {
		tq.IncludeChildren = *inc
	}
	// finAPI's bank and finAPI booking dates are one date here: both
	// bounds apply.
	tq.MinBooked = later(q.date("minBankBookingDate"), q.date("minFinapiBookingDate"))
	tq.MaxBooked = earlier(q.date("maxBankBookingDate"), q.date("maxFinapiBookingDate"))
	return tq, q.err
}

func (a *API) listTransactions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	tq, err := transactionQuery(r.URL)
	if err != nil {
		return err
	}
	page, err := a.svc.Transactions(r.Context(), p, tq)
	if err != nil {
		return err
	}
	// Written by hand (fastjson.go): the same bytes as encoding/json would
	// write for the PageableTransactionList, in a pooled buffer.
	bp, _ := a.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := append(appendTransactionPage((*bp)[:0], page), '\n')
	writeBytes(w, b)
	if cap(b) <= maxPooled {
		*bp = b
		a.bufs.Put(bp)
	}
	return nil
}

// maxPooled bounds the buffers kept for the next page (a page of 500
// transactions is about 350 KB).
const maxPooled = 1 << 20

func (a *API) getTransactions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ids, list, err := pathIDs(r.PathValue("id"))
	if err != nil {
		return err
	}
	if !list {
		t, err := a.svc.Transaction(r.Context(), p, ids[0])
		if err != nil {
			return err
		}
		platform.WriteJSON(w, http.StatusOK, transactionOf(t))
		return nil
	}
	txs, err := a.svc.TransactionsByID(r.Context(), p, ids)
	if err != nil {
		return err
	}
	out := TransactionList{Transactions: make([]Transaction, 0, len(txs))}
	for _, t := range txs {
		out.Transactions = append(out.Transactions, transactionOf(t))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

// categoryQuery reads the query of GET /categories.
func categoryQuery(u *url.URL) (bankconn.CategoryQuery, error) {
	q := newParams(u)
	cq := bankconn.CategoryQuery{IDs: q.ids("ids"), Search: q.one("search"), IsCustom: q.boolean("isCustom"), Page: q.page(), Order: q.order()}
	return cq, q.err
}

func (a *API) listCategories(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cq, err := categoryQuery(r.URL)
	if err != nil {
		return err
	}
	page, err := bankconn.Categories(cq)
	if err != nil {
		return err
	}
	out := PageableCategoryList{Categories: make([]Category, 0, len(page.Categories)), Paging: paging(page.Page, page.Total)}
	for _, c := range page.Categories {
		out.Categories = append(out.Categories, *categoryOf(c.ID))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getCategory(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ids, list, err := pathIDs(r.PathValue("id"))
	if err != nil {
		return err
	}
	if list { // the deprecated get multiple categories
		page, err := bankconn.Categories(bankconn.CategoryQuery{IDs: ids, Page: bankconn.Page{PerPage: bankconn.MaxPerPage}})
		if err != nil {
			return err
		}
		out := CategoryList{Categories: make([]Category, 0, len(page.Categories))}
		for _, c := range page.Categories {
			out.Categories = append(out.Categories, *categoryOf(c.ID))
		}
		platform.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	c, err := bankconn.Category(ids[0])
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, *categoryOf(c.ID))
	return nil
}

// categoryOf renders a category of the tree (nil for an unknown id).
func categoryOf(id int64) *Category {
	c, ok := category.ByID(id)
	if !ok {
		return nil
	}
	out := &Category{ID: c.ID, Name: c.Name, Children: category.Children(c.ID)}
	if parent, ok := category.ByID(c.ParentID); ok {
		out.ParentID, out.ParentName = &parent.ID, &parent.Name
	}
	return out
}
