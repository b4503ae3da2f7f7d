package view

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// User is OBP's user object: the token's sub, its issuer and a display name.
type User struct {
	ID          string `json:"id"`
	Provider    string `json:"provider"`
	DisplayName string `json:"display_name"`
}

// UserOf returns the OBP user of an authenticated principal.
func UserOf(p auth.Principal) User {
	name := p.Name
	if name == "" {
		name = p.Subject
	}
	return User{ID: p.Subject, Provider: p.Provider, DisplayName: name}
}

// Grant is the set of views one user was granted on an account.
type Grant struct {
	User  User     `json:"user"`
	Views []string `json:"views"`
}

// ACL is the views and grants of one account (the OBP#ACL item).
type ACL struct {
	AccountID string  `json:"accountId"`
	BankID    string  `json:"bankId"`
	Label     string  `json:"label"`
	Views     []View  `json:"views"`  // custom views, in creation order
	Grants    []Grant `json:"grants"` // sorted by user id
	// Version is the stored item's version; 0 means not stored yet.
	Version int64 `json:"-"`
}

// Key functions: the only place these strings are built.

const (
	ACLSK         = "OBP#ACL"
	GrantSKPrefix = "OBP#GRANT#"
	PublicSK      = "OBP#PUBLIC"
)

func ACLKey(accountID string) store.Key {
	return store.Key{PK: holdings.AccountPK(accountID), SK: ACLSK}
}
func GrantSK(userID string) string { return GrantSKPrefix + userID }
func UserBankGSI1PK(userID, bankID string) string {
	return "OBP#USER#" + userID + "#BANK#" + bankID
}
func PublicBankGSI1PK(bankID string) string { return "OBP#PUBLIC#BANK#" + bankID }

// DecodeACL decodes the OBP#ACL item.
func DecodeACL(it store.Item) (ACL, error) {
	var a ACL
	if err := json.Unmarshal(it.Data, &a); err != nil {
		return ACL{}, fmt.Errorf("decode acl %s: %w", it.PK, err)
	}
	a.Version = it.Version
	return a, nil
}

// View returns the view with id: the built-in owner view or a custom one.
func (a ACL) View(id string) (View, bool) {
	if id == Owner {
		return OwnerView(), true
	}
	for _, v := range a.Views {
		if v.ID == id {
			return v, true
		}
	}
	return View{}, false
}

// AllViews is the owner view followed by the custom views.
func (a ACL) AllViews() []View { return append([]View{OwnerView()}, a.Views...) }

// PublicViews lists the custom views with is_public.
func (a ACL) PublicViews() []View {
	var out []View
	for _, v := range a.Views {
		if v.IsPublic {
			out = append(out, v)
		}
	}
	return out
}

func (a ACL) grantIndex(userID string) int {
	return slices.IndexFunc(a.Grants, func(g Grant) bool { return g.User.ID == userID })
}

// GrantOf returns the grant of userID (zero when none).
func (a ACL) GrantOf(userID string) (Grant, bool) {
	if i := a.grantIndex(userID); i >= 0 {
		return a.Grants[i], true
	}
	return Grant{}, false
}

// Has reports whether userID was granted viewID.
func (a ACL) Has(userID, viewID string) bool {
	g, ok := a.GrantOf(userID)
	return ok && slices.Contains(g.Views, viewID)
}

// IsOwner reports whether userID has the owner view.
func (a ACL) IsOwner(userID string) bool { return a.Has(userID, Owner) }

// Owners lists the users holding the owner view.
func (a ACL) Owners() []User {
	var out []User
	for _, g := range a.Grants {
		if slices.Contains(g.Views, Owner) {
			out = append(out, g.User)
		}
	}
	return out
}

// ViewsOf resolves the views granted to userID (existing ones only).
func (a ACL) ViewsOf(userID string) []View {
	g, _ := a.GrantOf(userID)
	return a.resolve(g.Views)
}

func (a ACL) resolve(ids []string) []View {
	out := make([]View, 0, len(ids))
	for _, id := range ids {
		if v, ok := a.View(id); ok {
			out = append(out, v)
		}
	}
	return out
}

// Available lists the views a caller can use on the account: the public
// views plus, for a user, the views granted to them (owner first).
func (a ACL) Available(p *auth.Principal) []View {
	var ids []string
	if p != nil {
		g, _ := a.GrantOf(p.Subject)
		ids = append(ids, g.Views...)
	}
	for _, v := range a.Views {
		if v.IsPublic && !slices.Contains(ids, v.ID) {
			ids = append(ids, v.ID)
		}
	}
	return a.ordered(ids)
}

// ordered resolves ids in the account's view order (owner, then custom
// views in creation order).
func (a ACL) ordered(ids []string) []View {
	var out []View
	for _, v := range a.AllViews() {
		if slices.Contains(ids, v.ID) {
			out = append(out, v)
		}
	}
	return out
}

// notFound is ErrNotFound for the view id.
func notFound(viewID string) error {
	return fault.Errorf(ErrNotFound, "The account has no view %s.", platform.Truncate(viewID, 64))
}

// Access returns the view viewID if the caller (nil: anonymous) may use it:
// public views for everyone, other views for users granted them.
func (a ACL) Access(viewID string, p *auth.Principal) (View, error) {
	v, ok := a.View(viewID)
	if !ok {
		return View{}, notFound(viewID)
	}
	if v.IsPublic {
		return v, nil
	}
	if p == nil {
		return View{}, fault.Errorf(ErrLoginRequired, "the view %s is not public: log in to use it.", viewID)
	}
	if !a.Has(p.Subject, viewID) {
		return View{}, fault.Errorf(ErrNoAccess, "The user %s was not granted the view %s.", p.Subject, viewID)
	}
	return v, nil
}

// RequireOwner checks that the caller holds the owner view (views and
// permissions administration).
func (a ACL) RequireOwner(p *auth.Principal) error {
	if p == nil {
		return fault.Errorf(ErrLoginRequired, "administering an account needs a user with the owner view.")
	}
	if !a.IsOwner(p.Subject) {
		return fault.Errorf(ErrNotOwner, "The user %s does not hold the owner view of account %s.", p.Subject, a.AccountID)
	}
	return nil
}

// WithUserDetails returns a copy of a where the grant of u.ID, if any,
// records u's provider and display name. Users are recorded with the
// details known when they were granted (an imported owner: the id alone);
// the caller's verified token knows better, and an ACL change the caller
// makes stores it.
func (a ACL) WithUserDetails(u User) ACL {
	i := a.grantIndex(u.ID)
	if i < 0 || u.DisplayName == "" || u.Provider == "" || a.Grants[i].User == u {
		return a
	}
	b := a.clone()
	b.Grants[i].User = u
	return b
}

// withGrant returns a copy of a where user holds the views of ids in
// addition to theirs.
func (a ACL) withGrant(user User, ids []string) ACL {
	b := a.clone()
	i := b.grantIndex(user.ID)
	if i < 0 {
		b.Grants = append(b.Grants, Grant{User: user})
		i = len(b.Grants) - 1
	} else if user.DisplayName != "" && user.DisplayName != user.ID {
		b.Grants[i].User = user // a better display name than the id we had
	}
	for _, id := range ids {
		if !slices.Contains(b.Grants[i].Views, id) {
			b.Grants[i].Views = append(b.Grants[i].Views, id)
		}
	}
	sort.Slice(b.Grants, func(x, y int) bool { return b.Grants[x].User.ID < b.Grants[y].User.ID })
	return b
}

// withoutGrant returns a copy of a where userID no longer holds the views of
// ids (all views when ids is nil).
func (a ACL) withoutGrant(userID string, ids []string) ACL {
	b := a.clone()
	i := b.grantIndex(userID)
	if i < 0 {
		return b
	}
	if ids == nil {
		b.Grants = slices.Delete(b.Grants, i, i+1)
		return b
	}
	b.Grants[i].Views = slices.DeleteFunc(b.Grants[i].Views, func(v string) bool { return slices.Contains(ids, v) })
	if len(b.Grants[i].Views) == 0 {
		b.Grants = slices.Delete(b.Grants, i, i+1)
	}
	return b
}

func (a ACL) clone() ACL {
	b := a
	b.Views = slices.Clone(a.Views)
	b.Grants = make([]Grant, len(a.Grants))
	for i, g := range a.Grants {
		b.Grants[i] = Grant{User: g.User, Views: slices.Clone(g.Views)}
	}
	return b
}

// AccountEntry is an index item: one account as the accounts lists show it.
type AccountEntry struct {
	AccountID string `json:"accountId"`
	BankID    string `json:"bankId"`
	Label     string `json:"label"`
	Views     []View `json:"views"`
}

// indexItems derives the GSI1 index items of an ACL: one per granted user,
// one for the public views (if any).
func (a ACL) indexItems() ([]store.Item, error) {
	pk := holdings.AccountPK(a.AccountID)
	var out []store.Item
	for _, g := range a.Grants {
		data, err := json.Marshal(AccountEntry{AccountID: a.AccountID, BankID: a.BankID, Label: a.Label, Views: a.ordered(g.Views)})
		if err != nil {
			return nil, fmt.Errorf("encode grant index: %w", err)
		}
		out = append(out, store.Item{PK: pk, SK: GrantSK(g.User.ID), GSI1PK: UserBankGSI1PK(g.User.ID, a.BankID), GSI1SK: a.AccountID, Data: data})
	}
	if pub := a.PublicViews(); len(pub) > 0 {
		data, err := json.Marshal(AccountEntry{AccountID: a.AccountID, BankID: a.BankID, Label: a.Label, Views: pub})
		if err != nil {
			return nil, fmt.Errorf("encode public index: %w", err)
		}
		out = append(out, store.Item{PK: pk, SK: PublicSK, GSI1PK: PublicBankGSI1PK(a.BankID), GSI1SK: a.AccountID, Data: data})
	}
	return out, nil
}
