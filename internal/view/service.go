package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
)

// maxRetries bounds the optimistic-locking retries of one ACL change.
const maxRetries = 3

// Service reads and changes views and grants.
type Service struct {
	store    store.Store
	provider string
}

// Deps are the Service's dependencies and settings.
type Deps struct {
	Store store.Store
	// Provider is the user provider (token issuer) recorded for users who
	// are named only by id: grantees and imported owners.
	Provider string
}

// New builds the service.
func New(d Deps) *Service { return &Service{store: d.Store, provider: d.Provider} }

// errStale: the ACL changed since it was read.
var errStale = errors.New("view: acl changed concurrently")

// LoadACL reads the ACL of an account; a missing item is an empty ACL for
// the account (no custom views, no grants).
func (s *Service) LoadACL(ctx context.Context, accountID, bankID string) (ACL, error) {
	it, err := s.store.Get(ctx, ACLKey(accountID))
	if errors.Is(err, store.ErrNotFound) {
		return ACL{AccountID: accountID, BankID: bankID}, nil
	}
	if err != nil {
		return ACL{}, fmt.Errorf("load acl %s: %w", accountID, err)
	}
	return DecodeACL(it)
}

// save writes next in place of prev (guarded by prev's version) together
// with the index items derived from it, in one transaction.
func (s *Service) save(ctx context.Context, prev, next ACL) (ACL, error) {
	next.Version = prev.Version + 1
	data, err := json.Marshal(next)
	if err != nil {
		return ACL{}, fmt.Errorf("encode acl: %w", err)
	}
	cond := store.IfNotExists()
	if prev.Version > 0 {
		cond = store.IfVersion(prev.Version)
	}
	pk := holdings.AccountPK(next.AccountID)
	ops := []store.TxOp{store.TxPut(store.Item{PK: pk, SK: ACLSK, Version: next.Version, Data: data}, store.Condition{Kind: cond.Kind, Version: cond.Version})}
	items, err := next.indexItems()
	if err != nil {
		return ACL{}, err
	}
	kept := map[string]bool{}
	for _, it := range items {
		kept[it.SK] = true
		ops = append(ops, store.TxPut(it, store.Condition{}))
	}
	oldItems, err := prev.indexItems()
	if err != nil {
		return ACL{}, err
	}
	for _, it := range oldItems {
		if !kept[it.SK] {
			ops = append(ops, store.TxDelete(it.Key(), store.Condition{}))
		}
	}
	if len(ops) > store.MaxTransactItems {
		return ACL{}, fault.Errorf(ErrCannotGrant, "Cannot grant account access. An account can have at most %d users with views.", store.MaxTransactItems-2)
	}
	if err := s.store.Transact(ctx, ops); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return ACL{}, errStale
		}
		return ACL{}, fmt.Errorf("save acl %s: %w", next.AccountID, err)
	}
	return next, nil
}

// mutate applies change to acl and saves it, re-reading and re-applying on
// a concurrent change.
func (s *Service) mutate(ctx context.Context, acl ACL, change func(ACL) (ACL, error)) (ACL, error) {
	for range maxRetries {
		next, err := change(acl)
		if err != nil {
			return ACL{}, err
		}
		saved, err := s.save(ctx, acl, next)
		if !errors.Is(err, errStale) {
			return saved, err
		}
		if acl, err = s.LoadACL(ctx, acl.AccountID, acl.BankID); err != nil {
			return ACL{}, err
		}
	}
	return ACL{}, fault.Errorf(ErrConflict, "The resource was changed by another request. Please retry.")
}

// CreateView adds a custom view to the account.
func (s *Service) CreateView(ctx context.Context, acl ACL, spec Spec) (View, error) {
	v, err := NewView(spec)
	if err != nil {
		return View{}, err
	}
	_, err = s.mutate(ctx, acl, func(a ACL) (ACL, error) {
		if _, exists := a.View(v.ID); exists {
			return ACL{}, fault.Errorf(ErrExists, "View already exists. Please specify a different name (view id %s is taken).", v.ID)
		}
		b := a.clone()
		b.Views = append(b.Views, v)
		return b, nil
	})
	if err != nil {
		return View{}, err
	}
	return v, nil
}

// UpdateView replaces the settings of a custom view (its name stays).
func (s *Service) UpdateView(ctx context.Context, acl ACL, viewID string, spec Spec) (View, error) {
	return s.PatchView(ctx, acl, viewID, Patch{
		Description: &spec.Description, IsPublic: &spec.IsPublic, WhichAliasToUse: &spec.WhichAliasToUse,
		HideMetadataIfAliasUsed: &spec.HideMetadataIfAliasUsed, AllowedActions: append([]string{}, spec.AllowedActions...),
	})
}

// PatchView changes the settings of a custom view that p sets and keeps the
// others, applied to the view as stored (re-applied after a concurrent
// change).
func (s *Service) PatchView(ctx context.Context, acl ACL, viewID string, p Patch) (View, error) {
	if viewID == Owner {
		return View{}, fault.Errorf(ErrSystemView, "System Views can not be modified. Only the created views can be modified.")
	}
	var out View
	_, err := s.mutate(ctx, acl, func(a ACL) (ACL, error) {
		i := slices.IndexFunc(a.Views, func(v View) bool { return v.ID == viewID })
		if i < 0 {
			return ACL{}, notFound(viewID)
		}
		spec, err := p.apply(a.Views[i])
		if err != nil {
			return ACL{}, err
		}
		v, err := spec.build(viewID, a.Views[i].ShortName)
		if err != nil {
			return ACL{}, err
		}
		b := a.clone()
		b.Views[i] = v
		out = v
		return b, nil
	})
	return out, err
}

// grantable checks that every id names a view that can be granted.
func grantable(a ACL, ids []string) ([]View, error) {
	views := make([]View, 0, len(ids))
	for _, id := range ids {
		v, ok := a.View(id)
		if !ok {
			return nil, notFound(id)
		}
		if v.IsPublic {
			return nil, fault.Errorf(ErrCannotGrant, "Cannot grant account access. The view %s is public: every user already has access to it.", id)
		}
		if !slices.ContainsFunc(views, func(x View) bool { return x.ID == id }) {
			views = append(views, v)
		}
	}
	return views, nil
}

// Grant gives user the views ids (idempotent) and returns them.
func (s *Service) Grant(ctx context.Context, acl ACL, user User, ids []string) ([]View, error) {
	if err := validUserID(user.ID); err != nil {
		return nil, err
	}
	if user.Provider == "" {
		user.Provider = s.provider
	}
	if user.DisplayName == "" {
		user.DisplayName = user.ID
	}
	var views []View
	_, err := s.mutate(ctx, acl, func(a ACL) (ACL, error) {
		vs, err := grantable(a, ids)
		if err != nil {
			return ACL{}, err
		}
		views = vs
		return a.withGrant(user, ids), nil
	})
	return views, err
}

// Revoke takes viewID from userID. Public views cannot be revoked and the
// last owner keeps the owner view.
func (s *Service) Revoke(ctx context.Context, acl ACL, userID, viewID string) error {
	_, err := s.mutate(ctx, acl, func(a ACL) (ACL, error) {
		v, ok := a.View(viewID)
		if !ok {
			return ACL{}, notFound(viewID)
		}
		if v.IsPublic {
			return ACL{}, fault.Errorf(ErrCannotRevoke, "Cannot revoke account access. The view %s is public.", viewID)
		}
		if !a.Has(userID, viewID) {
			return ACL{}, fault.Errorf(ErrGrantNotFound, "Cannot find account access. The user %s has no access to the view %s.", userID, viewID)
		}
		if viewID == Owner && len(a.Owners()) == 1 {
			return ACL{}, lastOwner()
		}
		return a.withoutGrant(userID, []string{viewID}), nil
	})
	return err
}

// RevokeAll takes every view from userID (the last owner keeps the owner
// view: the call fails).
func (s *Service) RevokeAll(ctx context.Context, acl ACL, userID string) error {
	if _, ok := acl.GrantOf(userID); !ok {
		return nil
	}
	_, err := s.mutate(ctx, acl, func(a ACL) (ACL, error) {
		if a.IsOwner(userID) && len(a.Owners()) == 1 {
			return ACL{}, lastOwner()
		}
		return a.withoutGrant(userID, nil), nil
	})
	return err
}

func lastOwner() error {
	return fault.Errorf(ErrCannotRevoke, "Cannot revoke account access. An account must keep at least one user with the owner view.")
}

// validUserID: a USER_ID is a token's sub, as the customers group takes
// it (auth.ValidUserID: no white space or control character, valid UTF-8),
// and has no '#' (the key separator).
func validUserID(id string) error {
	if id == "" || len(id) >= 255 {
		return fault.Errorf(ErrTooLong, "Value too long: USER_ID must have 1 to 254 characters.")
	}
	if strings.ContainsRune(id, '#') || !auth.ValidUserID(id) {
		return fault.Errorf(ErrInvalidCharacters, "Value contains invalid characters: USER_ID (white space, control characters and '#' are not allowed).")
	}
	return nil
}

// ValidUserID checks a USER_ID path parameter.
func ValidUserID(id string) error { return validUserID(id) }

// UserAccounts lists the accounts at bankID on which userID holds views,
// with those views (one index query per page).
func (s *Service) UserAccounts(ctx context.Context, userID, bankID string) ([]AccountEntry, error) {
	return s.entries(ctx, UserBankGSI1PK(userID, bankID))
}

// PublicAccounts lists the accounts at bankID that have public views, with
// those views.
func (s *Service) PublicAccounts(ctx context.Context, bankID string) ([]AccountEntry, error) {
	return s.entries(ctx, PublicBankGSI1PK(bankID))
}

func (s *Service) entries(ctx context.Context, gsi1pk string) ([]AccountEntry, error) {
	var out []AccountEntry
	q := store.Query{Index: store.IndexGSI1, PK: gsi1pk}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list accounts %s: %w", gsi1pk, err)
		}
		for _, it := range page.Items {
			var e AccountEntry
			if err := json.Unmarshal(it.Data, &e); err != nil {
				return nil, fmt.Errorf("decode account entry %s: %w", it.PK, err)
			}
			out = append(out, e)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// AccountsImported is the holdings import hook: each imported account gets
// an ACL whose party owner (Account.OwnerSub) holds the owner view, and the
// label the accounts lists show follows the account's name. It is
// idempotent: an account already in that state costs one read.
func (s *Service) AccountsImported(ctx context.Context, accounts []holdings.Account) error {
	if len(accounts) == 0 {
		return nil
	}
	keys := make([]store.Key, len(accounts))
	for i, a := range accounts {
		keys[i] = ACLKey(a.ID)
	}
	items, err := s.store.BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("load acls: %w", err)
	}
	acls := map[string]ACL{}
	for _, it := range items {
		a, err := DecodeACL(it)
		if err != nil {
			return err
		}
		acls[a.AccountID] = a
	}
	for _, acc := range accounts {
		acl, ok := acls[acc.ID]
		if !ok {
			acl = ACL{AccountID: acc.ID, BankID: acc.BankCode}
		}
		if acl.Version > 0 && acl.Label == acc.Name && acl.BankID == acc.BankCode && (acc.OwnerSub == "" || acl.IsOwner(acc.OwnerSub)) {
			continue
		}
		_, err := s.mutate(ctx, acl, func(a ACL) (ACL, error) {
			b := a.clone()
			b.Label, b.BankID = acc.Name, acc.BankCode
			if acc.OwnerSub != "" && !b.IsOwner(acc.OwnerSub) {
				name := acc.OwnerName
				if name == "" {
					name = acc.OwnerSub
				}
				b = b.withGrant(User{ID: acc.OwnerSub, Provider: s.provider, DisplayName: name}, []string{Owner})
			}
			return b, nil
		})
		if err != nil {
			return fmt.Errorf("account %s: %w", acc.ID, err)
		}
	}
	return nil
}
