package customer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Roles of this package's reads that internal/auth does not name: they let
// a user see every customer's CRM events at one bank, or at every bank.
const (
	RoleGetCustomersAtOneBank = "CanGetCustomersAtOneBank"
	RoleGetCustomersAtAnyBank = "CanGetCustomersAtAnyBank"
)

// Roles reads a user's stored entitlements (*auth.Entitlements): one
// partition query, whatever the number of roles a check needs.
type Roles interface {
	List(ctx context.Context, sub string) ([]auth.Entitlement, error)
}

// Banks is the bank directory as the OBP dialects see it: BANK_ID is the
// code of a bank whose access is enabled at one of the configured
// providers. The service reads a code's directory records in the BatchGet
// of its request, so the bank costs no store call of its own.
type Banks interface {
	// CodeKeys are the directory records deciding about code (none for a
	// code no bank can have).
	CodeKeys(code string) []store.Key
	// EnabledIn reports whether items (keyed by key) make code an enabled
	// bank.
	EnabledIn(code string, items map[store.Key]store.Item) (b bank.Bank, found bool, err error)
}

// Service is the customer domain. Its fields are set once.
type Service struct {
	store  store.Store
	roles  Roles
	banks  Banks
	clock  platform.Clock
	logger *slog.Logger
}

// Deps are the Service's dependencies. Banks may be nil for a service
// that only records activity (Record reads no bank record).
type Deps struct {
	Store store.Store
	Roles Roles
	Banks Banks
	Clock platform.Clock // default SystemClock
	Log   *slog.Logger   // default slog.Default()
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{store: d.Store, roles: d.Roles, banks: d.Banks, clock: d.Clock, logger: d.Log}
}

// maxAttempts bounds the retries of a write that lost an optimistic-lock
// race on a user's link list.
const maxAttempts = 3

func (s *Service) now() time.Time {
	if s.clock == nil {
		return time.Now().UTC()
	}
	return s.clock.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.logger == nil {
		return slog.Default()
	}
	return s.logger
}

// read is one BatchGet: a bank's directory records and keys of this
// package. found reports whether the bank is an enabled one.
type read struct {
	items map[store.Key]store.Item
	bank  bool
}

func (s *Service) read(ctx context.Context, bankID string, keys ...store.Key) (read, error) {
	bankKeys := s.banks.CodeKeys(bankID)
	all := append(slices.Clone(bankKeys), keys...)
	r := read{items: map[store.Key]store.Item{}}
	if len(all) > 0 {
		items, err := s.store.BatchGet(ctx, all)
		if err != nil {
			return read{}, fmt.Errorf("read bank %s and customer records: %w", bankID, err)
		}
		for _, it := range items {
			r.items[it.Key()] = it
		}
	}
	if len(bankKeys) > 0 {
		_, ok, err := s.banks.EnabledIn(bankID, r.items)
		if err != nil {
			return read{}, fmt.Errorf("read bank %s: %w", bankID, err)
		}
		r.bank = ok
	}
	return r, nil
}

func (r read) has(k store.Key) bool {
	_, ok := r.items[k]
	return ok
}

func (r read) bankErr(bankID string) error {
	if !r.bank {
		return fault.Errorf(ErrBankNotFound, "no bank %q", platform.Truncate(bankID, 64))
	}
	return nil
}

// linkSet decodes the user's link list at the bank from the read (an
// empty list, version 0, when there is none).
func (r read) linkSet(userID, bankID string) (linkSet, error) {
	it, ok := r.items[LinkSetKey(userID, bankID)]
	if !ok {
		return linkSet{UserID: userID, BankID: bankID}, nil
	}
	set, err := decode[linkSet](it)
	set.Version = it.Version
	return set, err
}

func (r read) customer(id string) (Customer, bool, error) {
	it, ok := r.items[CustomerKey(id)]
	if !ok {
		return Customer{}, false, nil
	}
	c, err := decode[Customer](it)
	return c, err == nil, err
}

// requirement is what an operation needs: any one of the alternatives,
// each a set of roles held together, at the bank (a role held at every
// bank counts everywhere; one held at another bank does not).
type requirement [][]string

// authorize checks p against req at bankID: the token's roles first (no
// store call), then the stored entitlements (one query).
func (s *Service) authorize(ctx context.Context, p auth.Principal, bankID string, req requirement) error {
	ok, err := s.holds(ctx, p, bankID, req)
	if err != nil {
		return err
	}
	if !ok {
		return missingRoles(s.missing(p, nil, bankID, req))
	}
	return nil
}

// holds reports whether p meets req at bankID.
func (s *Service) holds(ctx context.Context, p auth.Principal, bankID string, req requirement) (bool, error) {
	if meets(p, nil, bankID, req) {
		return true, nil
	}
	stored, err := s.roles.List(ctx, p.Subject)
	if err != nil {
		return false, fmt.Errorf("read roles of %s: %w", p.Subject, err)
	}
	return meets(p, stored, bankID, req), nil
}

func held(p auth.Principal, stored []auth.Entitlement, bankID, role string) bool {
	if p.HasTokenRole(role) {
		return true
	}
	return slices.ContainsFunc(stored, func(e auth.Entitlement) bool {
		return e.Role == role && (e.BankID == "" || e.BankID == bankID)
	})
}

func meets(p auth.Principal, stored []auth.Entitlement, bankID string, req requirement) bool {
	for _, alt := range req {
		if !slices.ContainsFunc(alt, func(role string) bool { return !held(p, stored, bankID, role) }) {
			return true
		}
	}
	return false
}

// missing lists, per alternative, the roles p does not hold.
func (s *Service) missing(p auth.Principal, stored []auth.Entitlement, bankID string, req requirement) [][]string {
	out := make([][]string, 0, len(req))
	for _, alt := range req {
		var lack []string
		for _, role := range alt {
			if !held(p, stored, bankID, role) {
				lack = append(lack, role)
			}
		}
		out = append(out, lack)
	}
	return out
}

var (
	createCustomerRoles = requirement{
		{auth.RoleCanCreateCustomer, auth.RoleCanCreateUserCustomerLink},
		{auth.RoleCanCreateCustomerAtAnyBank, auth.RoleCanCreateUserCustomerLinkAtAnyBank},
	}
	createLinkRoles = requirement{{auth.RoleCanCreateUserCustomerLink}, {auth.RoleCanCreateUserCustomerLinkAtAnyBank}}
	addHandleRoles  = requirement{{auth.RoleCanAddSocialMediaHandle}}
	getHandlesRoles = requirement{{auth.RoleCanGetSocialMediaHandles}}
	allEventsRoles  = requirement{{RoleGetCustomersAtOneBank}, {RoleGetCustomersAtAnyBank}}
)

// checkProfile guards the keys and records: the dialect validates its wire
// format, this is the domain's own floor.
func checkProfile(pr Profile) error {
	switch {
	case pr.Number == "" || len(pr.Number) > MaxNumberLen || !utf8.ValidString(pr.Number) || strings.Contains(pr.Number, "::::"):
		return fault.Errorf(ErrInvalid, "customer number must be 1 to %d bytes of UTF-8 without \"::::\"", MaxNumberLen)
	case pr.Dependants < 0 || len(pr.DobOfDependants) > MaxDates:
		return fault.Errorf(ErrInvalid, "dependants must not be negative, with at most %d dates of birth", MaxDates)
	}
	return nil
}

// Create adds a customer at bankID linked to in.Value.UserID (empty: the
// caller). OBP-API's order of checks: the bank, the body, the roles
// (CanCreateCustomer and CanCreateUserCustomerLink at the bank, or both
// ...AtAnyBank), the number's uniqueness at the bank, the user, the link.
// Store calls: one BatchGet (the bank's records, the number's claim, the
// user's record and link list there), the caller's stored roles when the
// token lacks them (one query), one transaction writing the customer, the
// claim and the link (IfNotExists: uniqueness without read-then-write)
// with the user's link list (version-guarded).
func (s *Service) Create(ctx context.Context, p auth.Principal, bankID string, in Input[NewCustomer]) (Customer, error) {
	nc := in.Value
	userID := nc.UserID
	if userID == "" {
		userID = p.Subject
	}
	profileOK := in.Err == nil && checkProfile(nc.Profile) == nil
	userOK := profileOK && auth.ValidUserID(userID)
	for range maxAttempts {
		var keys []store.Key
		if profileOK {
			keys = append(keys, NumberKey(bankID, nc.Number))
		}
		if userOK {
			keys = append(keys, UserKey(userID), LinkSetKey(userID, bankID))
		}
		r, err := s.read(ctx, bankID, keys...)
		if err != nil {
			return Customer{}, err
		}
		if err := r.bankErr(bankID); err != nil {
			return Customer{}, err
		}
		if in.Err != nil {
			return Customer{}, in.Err
		}
		if err := checkProfile(nc.Profile); err != nil {
			return Customer{}, err
		}
		if err := s.authorize(ctx, p, bankID, createCustomerRoles); err != nil {
			return Customer{}, err
		}
		if r.has(NumberKey(bankID, nc.Number)) {
			return Customer{}, numberExists(bankID, nc.Number)
		}
		if !userOK || userID != p.Subject && !r.has(UserKey(userID)) {
			return Customer{}, userNotFound(userID)
		}
		set, err := r.linkSet(userID, bankID)
		if err != nil {
			return Customer{}, err
		}
		now := s.now()
		c := Customer{ID: platform.NewUUID(), BankID: bankID, Profile: nc.Profile, CreatedBy: p.Subject, CreatedAt: now}
		link := Link{ID: platform.NewUUID(), UserID: userID, CustomerID: c.ID, BankID: bankID, DateInserted: now, IsActive: true, CreatedBy: p.Subject}
		ops, err := s.linkOps(c, link, set, !r.has(UserKey(userID)))
		if err != nil {
			return Customer{}, err
		}
		cit, err := encode(CustomerKey(c.ID), c)
		if err != nil {
			return Customer{}, err
		}
		claim, err := encode(NumberKey(bankID, c.Number), map[string]string{"customerId": c.ID})
		if err != nil {
			return Customer{}, err
		}
		ops = append([]store.TxOp{store.TxPut(cit, store.IfNotExists()), store.TxPut(claim, store.IfNotExists())}, ops...)
		err = s.store.Transact(ctx, ops)
		var te *store.TxError
		switch {
		case err == nil:
			return c, nil
		case errors.As(err, &te) && te.Key == claim.Key():
			return Customer{}, numberExists(bankID, nc.Number) // claimed meanwhile
		case errors.As(err, &te) && te.Key != cit.Key() && te.Key != link.key():
			continue // the user's link list or record changed meanwhile: read again
		}
		return Customer{}, fmt.Errorf("create customer at %s: %w", bankID, err)
	}
	return Customer{}, fault.Errorf(ErrConflict, "the customers of user %q at bank %q changed concurrently; retry", userID, bankID)
}

func (l Link) key() store.Key { return LinkKey(l.UserID, l.CustomerID) }

// linkOps are the writes of a new link of c: the link (IfNotExists: one
// per user and customer), the user's link list at the bank with c added
// (IfNotExists or IfVersion), and the user's record when OpenAgg had none.
func (s *Service) linkOps(c Customer, link Link, set linkSet, newUser bool) ([]store.TxOp, error) {
	lit, err := encode(link.key(), link)
	if err != nil {
		return nil, err
	}
	cond := store.IfNotExists()
	if set.Version > 0 {
		cond = store.IfVersion(set.Version)
	}
	set.Customers = append(set.Customers, linked{CustomerID: c.ID, Number: c.Number, LegalName: c.LegalName, LinkID: link.ID, Since: link.DateInserted})
	sit, err := encode(LinkSetKey(link.UserID, c.BankID), set)
	if err != nil {
		return nil, err
	}
	sit.Version = set.Version + 1
	ops := []store.TxOp{store.TxPut(lit, store.IfNotExists()), store.TxPut(sit, cond)}
	if newUser {
		uit, err := encode(UserKey(link.UserID), userRecord{UserID: link.UserID, Since: link.DateInserted, Via: "customer link"})
		if err != nil {
			return nil, err
		}
		ops = append(ops, store.TxPut(uit, store.IfNotExists()))
	}
	return ops, nil
}

func numberExists(bankID, number string) error {
	return fault.Errorf(ErrNumberExists, "customer number %q exists at bank %q", platform.Truncate(number, 64), platform.Truncate(bankID, 64))
}

func userNotFound(userID string) error {
	return fault.Errorf(ErrUserNotFound, "no user %q", platform.Truncate(userID, 64))
}

func customerNotFound(customerID, bankID string) error {
	return fault.Errorf(ErrCustomerNotFound, "no customer %q at bank %q", platform.Truncate(customerID, 64), platform.Truncate(bankID, 64))
}

// Link links in.Value.UserID to the customer in.Value.CustomerID of
// bankID. Order of checks: the bank, the body, the roles
// (CanCreateUserCustomerLink at the bank or CanCreateUserCustomerLinkAtAnyBank),
// the user, the customer (at this bank), the link's uniqueness. Store
// calls: one BatchGet (the bank, the user's record, link and link list
// there, the customer), the caller's stored roles when the token lacks
// them, one transaction (the link IfNotExists, the list version-guarded).
func (s *Service) Link(ctx context.Context, p auth.Principal, bankID string, in Input[NewLink]) (Link, error) {
	nl := in.Value
	userOK := in.Err == nil && auth.ValidUserID(nl.UserID)
	custOK := in.Err == nil && ValidCustomerID(nl.CustomerID)
	for range maxAttempts {
		var keys []store.Key
		if userOK {
			keys = append(keys, UserKey(nl.UserID), LinkSetKey(nl.UserID, bankID))
		}
		if custOK {
			keys = append(keys, CustomerKey(nl.CustomerID))
			if userOK {
				keys = append(keys, LinkKey(nl.UserID, nl.CustomerID))
			}
		}
		r, err := s.read(ctx, bankID, keys...)
		if err != nil {
			return Link{}, err
		}
		if err := r.bankErr(bankID); err != nil {
			return Link{}, err
		}
		if in.Err != nil {
			return Link{}, in.Err
		}
		if err := s.authorize(ctx, p, bankID, createLinkRoles); err != nil {
			return Link{}, err
		}
		if !userOK || nl.UserID != p.Subject && !r.has(UserKey(nl.UserID)) {
			return Link{}, userNotFound(nl.UserID)
		}
		c, found := Customer{}, false
		if custOK {
			if c, found, err = r.customer(nl.CustomerID); err != nil {
				return Link{}, err
			}
		}
		if !found || c.BankID != bankID {
			return Link{}, customerNotFound(nl.CustomerID, bankID)
		}
		if r.has(LinkKey(nl.UserID, nl.CustomerID)) {
			return Link{}, linkExists(nl.UserID, c)
		}
		set, err := r.linkSet(nl.UserID, bankID)
		if err != nil {
			return Link{}, err
		}
		link := Link{ID: platform.NewUUID(), UserID: nl.UserID, CustomerID: c.ID, BankID: bankID, DateInserted: s.now(), IsActive: true, CreatedBy: p.Subject}
		ops, err := s.linkOps(c, link, set, !r.has(UserKey(nl.UserID)))
		if err != nil {
			return Link{}, err
		}
		err = s.store.Transact(ctx, ops)
		var te *store.TxError
		switch {
		case err == nil:
			return link, nil
		case errors.As(err, &te) && te.Key == link.key():
			return Link{}, linkExists(nl.UserID, c) // linked meanwhile
		case errors.As(err, &te):
			continue
		}
		return Link{}, fmt.Errorf("link %s to customer %s: %w", nl.UserID, c.ID, err)
	}
	return Link{}, fault.Errorf(ErrConflict, "the customers of user %q at bank %q changed concurrently; retry", nl.UserID, bankID)
}

func linkExists(userID string, c Customer) error {
	return fault.Errorf(ErrLinkExists, "user %q is linked to customer %s at bank %q already", platform.Truncate(userID, 64), c.ID, c.BankID)
}

// CustomersOf lists the customers linked to the caller at every bank, by
// bank then link date. Store calls: a query of the caller's link lists
// (one per 1,000 banks), one BatchGet of the customers.
func (s *Service) CustomersOf(ctx context.Context, p auth.Principal) ([]Customer, error) {
	var sets []linkSet
	q := store.Query{PK: auth.UserPK(p.Subject), SKPrefix: linkSetSKPrefix}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list customer links of %s: %w", p.Subject, err)
		}
		for _, it := range page.Items {
			set, err := decode[linkSet](it)
			if err != nil {
				return nil, err
			}
			sets = append(sets, set)
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	return s.customers(ctx, sets...)
}

// CustomersAt lists the customers linked to the caller at bankID, by link
// date. Store calls: one BatchGet (the bank and the caller's link list
// there), one BatchGet of the customers (none when there is none).
func (s *Service) CustomersAt(ctx context.Context, p auth.Principal, bankID string) ([]Customer, error) {
	r, err := s.read(ctx, bankID, LinkSetKey(p.Subject, bankID))
	if err != nil {
		return nil, err
	}
	if err := r.bankErr(bankID); err != nil {
		return nil, err
	}
	set, err := r.linkSet(p.Subject, bankID)
	if err != nil {
		return nil, err
	}
	return s.customers(ctx, set)
}

// customers reads the customers of link lists, in their order.
func (s *Service) customers(ctx context.Context, sets ...linkSet) ([]Customer, error) {
	var keys []store.Key
	for _, set := range sets {
		for _, l := range set.Customers {
			keys = append(keys, CustomerKey(l.CustomerID))
		}
	}
	out := make([]Customer, 0, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.store.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	byID := make(map[string]Customer, len(items))
	for _, it := range items {
		c, err := decode[Customer](it)
		if err != nil {
			return nil, err
		}
		byID[c.ID] = c
	}
	for _, k := range keys {
		id := strings.TrimPrefix(k.PK, customerPKPrefix)
		if c, ok := byID[id]; ok {
			out = append(out, c)
		} else {
			// A link outliving its customer would be a bug: say so, show the rest.
			s.log().WarnContext(ctx, "customer link without customer", "customer", id)
		}
	}
	return out, nil
}

// sortEvents orders CRM events newest first (ties by id, as their keys).
func sortEvents(evs []Event) {
	slices.SortFunc(evs, func(a, b Event) int {
		if c := b.Actual.Compare(a.Actual); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}
