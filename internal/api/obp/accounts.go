package obp

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/openagg/openagg/internal/account"
	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/view"
)

// root is GET /obp/v1.2/.
func (a *API) root(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, rootJSON{
		Version:   "1.2",
		GitCommit: a.commit,
		HostedBy:  hostedByJSON{Organisation: str(a.hostedBy.Organisation), Email: str(a.hostedBy.Email), Phone: str(a.hostedBy.Phone)},
	})
	return nil
}

// bankOut is a directory bank as OBP 1.2 shows it: BANK_ID is the bank
// code; the directory has one name for both of OBP's.
func bankOut(b bank.Bank) bankJSON {
	return bankJSON{ID: b.Code, ShortName: str(b.Name), FullName: str(b.Name), Logo: str(b.LogoURL), Website: str(b.HomeURL)}
}

// listBanks is GET /banks: the directory banks with access enabled.
func (a *API) listBanks(w http.ResponseWriter, r *http.Request) error {
	banks, err := a.accounts.Banks(r.Context())
	if err != nil {
		return err
	}
	out := banksJSON{Banks: make([]bankJSON, 0, len(banks))}
	for _, b := range banks {
		out.Banks = append(out.Banks, bankOut(b))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getBank is GET /banks/BANK_ID.
func (a *API) getBank(w http.ResponseWriter, r *http.Request) error {
	b, err := a.accounts.Bank(r.Context(), r.PathValue("BANK_ID"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, bankOut(b))
	return nil
}

// accountLists reads, concurrently (one round trip of latency), the bank,
// the public accounts at the bank and the caller's accounts there.
func (a *API) accountLists(r *http.Request, public, private bool) (pub, mine []view.AccountEntry, err error) {
	ctx := r.Context()
	id := r.PathValue("BANK_ID")
	if err := account.CheckBankID(id); err != nil {
		return nil, nil, err
	}
	caller, err := principal(ctx)
	if err != nil {
		return nil, nil, err
	}
	if private && caller == nil && !public {
		return nil, nil, obperr.NotLoggedIn()
	}
	var wg sync.WaitGroup
	var bankErr, pubErr, mineErr error
	wg.Go(func() { _, bankErr = a.accounts.Bank(ctx, id) })
	if public {
		wg.Go(func() { pub, pubErr = a.views.PublicAccounts(ctx, id) })
	}
	if private && caller != nil {
		wg.Go(func() { mine, mineErr = a.views.UserAccounts(ctx, caller.Subject, id) })
	}
	wg.Wait()
	for _, e := range []error{bankErr, pubErr, mineErr} {
		if e != nil {
			return nil, nil, e
		}
	}
	return pub, mine, nil
}

// mergeAccounts joins account entries by id, uniting their views, ordered
// by account id.
func mergeAccounts(lists ...[]view.AccountEntry) accountsJSON {
	byID := map[string]*accountSummaryJSON{}
	var ids []string
	for _, list := range lists {
		for _, e := range list {
			acc, ok := byID[e.AccountID]
			if !ok {
				acc = &accountSummaryJSON{ID: e.AccountID, Label: str(e.Label), ViewsAvailable: []view.View{}, BankID: e.BankID}
				byID[e.AccountID] = acc
				ids = append(ids, e.AccountID)
			}
			for _, v := range e.Views {
				if !slices.ContainsFunc(acc.ViewsAvailable, func(x view.View) bool { return x.ID == v.ID }) {
					acc.ViewsAvailable = append(acc.ViewsAvailable, v)
				}
			}
		}
	}
	slices.SortFunc(ids, strings.Compare)
	out := accountsJSON{Accounts: make([]accountSummaryJSON, 0, len(ids))}
	for _, id := range ids {
		out.Accounts = append(out.Accounts, *byID[id])
	}
	return out
}

// listAccounts is GET /banks/BANK_ID/accounts: the public accounts, plus
// the caller's accounts when authenticated.
func (a *API) listAccounts(w http.ResponseWriter, r *http.Request) error {
	pub, mine, err := a.accountLists(r, true, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mergeAccounts(mine, pub))
	return nil
}

// publicAccounts is GET /banks/BANK_ID/accounts/public.
func (a *API) publicAccounts(w http.ResponseWriter, r *http.Request) error {
	pub, _, err := a.accountLists(r, true, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mergeAccounts(pub))
	return nil
}

// privateAccounts is GET /banks/BANK_ID/accounts/private: the accounts on
// which the caller was granted views, with those views.
func (a *API) privateAccounts(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r.Context()); err != nil {
		return err
	}
	_, mine, err := a.accountLists(r, false, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, mergeAccounts(mine))
	return nil
}

// getAccount is GET .../ACCOUNT_ID/VIEW_ID/account.
func (a *API) getAccount(w http.ResponseWriter, r *http.Request) error {
	s, err := a.load(r, account.Request{})
	if err != nil {
		return err
	}
	if s.Caller != nil { // the caller's own user object from their token
		s.ACL = s.ACL.WithUserDetails(view.UserOf(*s.Caller))
	}
	writeJSON(w, http.StatusOK, moderateAccount(s.View, s.Account, s.ACL, s.ACL.Available(s.Caller)))
	return nil
}
