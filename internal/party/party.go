// Package party owns the Aggregation API's customer profiles: one profile
// per party, created at the provider as a customer whose identifier is
// "<company id>-<partyID>", owned by the user who created it.
//
// Storage (docs/data-model.md):
//
//	profile         PK=PARTY#<party>                 SK=#PROFILE
//	customer index  PK=CUSTOMER#<provider>#<custId>  SK=#CUSTOMER   → party id
//
// The party partition also holds the party's connections (package
// connection, SK=CONN#<bank>) and their import progress (package holdings,
// SK=IMPORT#<bank>), so one partition query reads all of them. The customer
// index lets provider callbacks and the hosted connect page, which only know
// the provider's customer id, find the party with one Get.
package party

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// RoleManageParties lets a user act on parties they do not own (support
// staff, back-office jobs).
const RoleManageParties = "CanManageParties"

// MaxIDLength is the longest accepted party id.
const MaxIDLength = 64

// ProfileSK is the sort key of the profile in the party partition.
const ProfileSK = "#PROFILE"

// ProfileKey is the key of a party's profile.
func ProfileKey(partyID string) store.Key {
	return store.Key{PK: holdings.PartyPK(partyID), SK: ProfileSK}
}

// CustomerSK is the sort key of a customer index item.
const CustomerSK = "#CUSTOMER"

// CustomerKey is the key of the item mapping a provider customer to its party.
func CustomerKey(providerName, customerID string) store.Key {
	return store.Key{PK: "CUSTOMER#" + providerName + "#" + customerID, SK: CustomerSK}
}

// Profile is a party's customer profile.
type Profile struct {
	PartyID string `json:"partyId"`
	// Identifier is "<company id>-<partyID>", the customer identifier at
	// every provider and the Aggregation API's DigitalProfileID.
	Identifier string `json:"identifier"`
	// OwnerSub is the subject of the user who created the profile.
	OwnerSub string `json:"ownerSub"`
	// OwnerName is that user's display name (the token's name claim) when
	// the profile was created; OBP shows it as the owner's display_name.
	OwnerName string `json:"ownerName,omitempty"`
	// Provider is the provider of the customer created with the profile.
	Provider string `json:"provider"`
	// Customers holds the customer id at each provider the party uses
	// (more are added when the party connects a bank of another provider).
	// The customer secret is returned once at creation and never stored.
	Customers map[string]string `json:"customers"`
	CreatedAt time.Time         `json:"createdAt"`
	// Version is the item's optimistic-locking version (not in Data).
	Version int64 `json:"-"`
}

// CustomerID returns the party's customer id at providerName.
func (p Profile) CustomerID(providerName string) (string, bool) {
	id, ok := p.Customers[providerName]
	return id, ok && id != ""
}

// Item encodes the profile as a store item (Version as held).
func (p Profile) Item() (store.Item, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode profile %s: %w", p.PartyID, err)
	}
	k := ProfileKey(p.PartyID)
	return store.Item{PK: k.PK, SK: k.SK, Version: p.Version, Data: b}, nil
}

// Decode reads a profile item.
func Decode(it store.Item) (Profile, error) {
	var p Profile
	if err := json.Unmarshal(it.Data, &p); err != nil {
		return Profile{}, fmt.Errorf("decode profile %s: %w", it.PK, err)
	}
	p.Version = it.Version
	return p, nil
}

type customerIndex struct {
	PartyID string `json:"partyId"`
}

// CustomerIndexItem maps a provider customer to its party.
func CustomerIndexItem(providerName, customerID, partyID string) store.Item {
	k := CustomerKey(providerName, customerID)
	b, _ := json.Marshal(customerIndex{PartyID: partyID}) // a struct of strings always encodes
	return store.Item{PK: k.PK, SK: k.SK, Version: 1, Data: b}
}

// ValidateID checks a party id from a path: 1–64 characters of
// [A-Za-z0-9_.-]. It is used in keys and in the provider identifier, so
// nothing else is accepted.
func ValidateID(partyID string) error {
	if partyID == "" || len(partyID) > MaxIDLength {
		return fault.Errorf(ErrInvalidID, "party id must be 1 to %d characters long", MaxIDLength)
	}
	for _, r := range partyID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fault.Errorf(ErrInvalidID, "party id %q may only contain letters, digits, '_', '.' and '-'", partyID)
		}
	}
	return nil
}

// Roles answers stored-entitlement questions (auth.Entitlements).
type Roles interface {
	HasRole(ctx context.Context, p auth.Principal, role string) (bool, error)
}

// Deps are the Service's dependencies and settings.
type Deps struct {
	Store     store.Store
	Providers map[string]provider.Provider
	// Roles answers stored-entitlement questions; nil: token roles only.
	Roles Roles
	Clock platform.Clock // default SystemClock
	// CompanyID prefixes identifiers (platform.DefaultCompanyID).
	CompanyID string
	// Provider is the provider a new profile's customer is created at
	// (default the sandbox).
	Provider string
}

// config are the Service's settings.
type config struct {
	CompanyID string
	Provider  string
}

// Service creates profiles and decides who may act on a party.
type Service struct {
	store     store.Store
	providers map[string]provider.Provider
	roles     Roles
	clock     platform.Clock
	cfg       config
}

// New builds the service.
func New(d Deps) (*Service, error) {
	cfg := config{CompanyID: d.CompanyID, Provider: d.Provider}
	if cfg.CompanyID == "" {
		cfg.CompanyID = platform.DefaultCompanyID
	}
	if cfg.Provider == "" {
		cfg.Provider = platform.ProviderSandbox
	}
	if d.Store == nil {
		return nil, errors.New("party service: a store is required")
	}
	if _, ok := d.Providers[cfg.Provider]; !ok {
		return nil, fmt.Errorf("party service: provider %q is not configured", cfg.Provider)
	}
	clock := d.Clock
	if clock == nil {
		clock = platform.SystemClock{}
	}
	return &Service{store: d.Store, providers: d.Providers, roles: d.Roles, clock: clock, cfg: cfg}, nil
}

// Identifier returns the provider identifier of a party.
func (s *Service) Identifier(partyID string) string { return s.cfg.CompanyID + "-" + partyID }

// Created is the answer to a profile creation.
type Created struct {
	CustomerID string
	Identifier string
	Secret     string
}

// CreateProfile creates the party's customer at the provider and stores the
// profile, owned by p. A second creation is ErrProfileExists and never
// creates a second customer: the profile is checked first, the provider
// refuses a duplicated identifier, and the profile and its customer index are
// written in one conditional transaction (2 store round trips).
func (s *Service) CreateProfile(ctx context.Context, p auth.Principal, partyID string) (Created, error) {
	if err := ValidateID(partyID); err != nil {
		return Created{}, err
	}
	exists := fault.Errorf(ErrProfileExists, "a profile already exists for party %q", partyID)
	if _, err := s.store.Get(ctx, ProfileKey(partyID)); err == nil {
		return Created{}, exists
	} else if !errors.Is(err, store.ErrNotFound) {
		return Created{}, fmt.Errorf("create profile %s: read profile: %w", partyID, err)
	}

	prov := s.providers[s.cfg.Provider]
	identifier := s.Identifier(partyID)
	cust, err := prov.CreateCustomer(ctx, identifier)
	switch {
	case errors.Is(err, provider.ErrDuplicateCustomer):
		// Either a concurrent creation won, or an earlier attempt created
		// the customer and failed before storing the profile. Neither may
		// create a second customer.
		return Created{}, fault.Wrap(ErrProfileExists, err, "provider %s already has a customer with identifier %q", prov.Name(), identifier)
	case err != nil:
		return Created{}, ProviderError(prov.Name(), "create customer", err)
	}

	prof := Profile{
		PartyID:    partyID,
		Identifier: identifier,
		OwnerSub:   p.Subject,
		OwnerName:  p.Name,
		Provider:   prov.Name(),
		Customers:  map[string]string{prov.Name(): cust.ID},
		CreatedAt:  s.clock.Now().UTC(),
		Version:    1,
	}
	it, err := prof.Item()
	if err != nil {
		return Created{}, err
	}
	err = s.store.Transact(ctx, []store.TxOp{
		store.TxPut(it, store.IfNotExists()),
		store.TxPut(CustomerIndexItem(prov.Name(), cust.ID, partyID), store.IfNotExists()),
	})
	if errors.Is(err, store.ErrConditionFailed) {
		// Lost a race the provider did not catch: undo our customer so the
		// party keeps exactly one.
		if derr := prov.DeleteCustomer(ctx, cust.ID); derr != nil && !errors.Is(derr, provider.ErrNotFound) {
			return Created{}, fmt.Errorf("create profile %s: delete duplicate customer %s: %w", partyID, cust.ID, derr)
		}
		return Created{}, exists
	}
	if err != nil {
		// The profile was not stored: undo the customer too, else every
		// retry would meet the provider's duplicate and the party could
		// never be created.
		err = fmt.Errorf("create profile %s: store profile: %w", partyID, err)
		if derr := prov.DeleteCustomer(ctx, cust.ID); derr != nil && !errors.Is(derr, provider.ErrNotFound) {
			err = errors.Join(err, fmt.Errorf("delete customer %s: %w", cust.ID, derr))
		}
		return Created{}, err
	}
	return Created{CustomerID: cust.ID, Identifier: identifier, Secret: cust.Secret}, nil
}

// Get reads a party's profile: ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, partyID string) (Profile, error) {
	if err := ValidateID(partyID); err != nil {
		return Profile{}, err
	}
	it, err := s.store.Get(ctx, ProfileKey(partyID))
	if errors.Is(err, store.ErrNotFound) {
		return Profile{}, NotFound(partyID)
	}
	if err != nil {
		return Profile{}, fmt.Errorf("read profile %s: %w", partyID, err)
	}
	return Decode(it)
}

// Load reads the profile and checks that p may act on it.
func (s *Service) Load(ctx context.Context, p auth.Principal, partyID string) (Profile, error) {
	prof, err := s.Get(ctx, partyID)
	if err != nil {
		return Profile{}, err
	}
	if err := s.Authorize(ctx, p, prof); err != nil {
		return Profile{}, err
	}
	return prof, nil
}

// Authorize lets the owner act on the party, and anyone holding
// CanManageParties (token role or stored entitlement); others get
// ErrForbidden. The party is known to exist here: a missing party is
// ErrNotFound for everyone, so ErrForbidden reveals no more than the
// ErrProfileExists of a profile creation.
func (s *Service) Authorize(ctx context.Context, p auth.Principal, prof Profile) error {
	if p.Subject != "" && p.Subject == prof.OwnerSub {
		return nil
	}
	ok := p.HasTokenRole(RoleManageParties)
	if !ok && s.roles != nil && p.Subject != "" {
		var err error
		ok, err = s.roles.HasRole(ctx, p, RoleManageParties)
		if err != nil {
			return fmt.Errorf("authorize party %s: %w", prof.PartyID, err)
		}
	}
	if !ok {
		return fault.Errorf(ErrForbidden, "party %q belongs to another user (role %s required)", prof.PartyID, RoleManageParties)
	}
	return nil
}

// Account reads one imported account of the party and checks that p may
// read it, with one BatchGet of the account and the profile:
// holdings.ErrAccountNotFound when the account is unknown or another
// party's; the owner recorded at import reads it, anyone else by the party
// rule (Authorize: ErrNotFound, ErrForbidden; a party manager whose role is
// a stored entitlement adds its Get).
func (s *Service) Account(ctx context.Context, p auth.Principal, partyID, accountID string) (holdings.Account, error) {
	if err := ValidateID(partyID); err != nil {
		return holdings.Account{}, err
	}
	notFound := func(err error) error {
		return fault.Wrap(holdings.ErrAccountNotFound, err, "account '%s' not found", accountID)
	}
	if accountID == "" {
		return holdings.Account{}, notFound(nil)
	}
	accKey := holdings.AccountKey(accountID)
	items, err := s.store.BatchGet(ctx, []store.Key{accKey, ProfileKey(partyID)})
	if errors.Is(err, store.ErrInvalid) {
		return holdings.Account{}, notFound(err) // an id no key can hold
	}
	if err != nil {
		return holdings.Account{}, fmt.Errorf("load account %s of party %s: %w", accountID, partyID, err)
	}
	var acc *holdings.Account
	var prof *Profile
	for _, it := range items {
		if it.Key() == accKey {
			a, err := holdings.DecodeAccount(it)
			if err != nil {
				return holdings.Account{}, err
			}
			acc = &a
			continue
		}
		pr, err := Decode(it)
		if err != nil {
			return holdings.Account{}, err
		}
		prof = &pr
	}
	if acc == nil {
		return holdings.Account{}, notFound(store.ErrNotFound)
	}
	if acc.PartyID != partyID {
		return holdings.Account{}, fault.Errorf(holdings.ErrAccountNotFound, "account '%s' not found for party %q", accountID, partyID)
	}
	if acc.OwnerSub != "" && acc.OwnerSub == p.Subject {
		return *acc, nil
	}
	// Not the owner recorded at import: the party rule decides.
	if prof == nil {
		return holdings.Account{}, NotFound(partyID)
	}
	if err := s.Authorize(ctx, p, *prof); err != nil {
		return holdings.Account{}, err
	}
	return *acc, nil
}

// PartyOfCustomer returns the party of a provider customer (one Get of the
// customer index), or store.ErrNotFound wrapped.
func (s *Service) PartyOfCustomer(ctx context.Context, providerName, customerID string) (string, error) {
	return PartyOfCustomer(ctx, s.store, providerName, customerID)
}

// PartyOfCustomer reads the customer index.
func PartyOfCustomer(ctx context.Context, st store.Store, providerName, customerID string) (string, error) {
	it, err := st.Get(ctx, CustomerKey(providerName, customerID))
	if err != nil {
		return "", fmt.Errorf("find party of %s customer %s: %w", providerName, customerID, err)
	}
	var ci customerIndex
	if err := json.Unmarshal(it.Data, &ci); err != nil || ci.PartyID == "" {
		return "", fmt.Errorf("find party of %s customer %s: bad index item", providerName, customerID)
	}
	return ci.PartyID, nil
}

// EnsureCustomer returns prof's customer id at prov, creating the customer
// when the party has none there yet. The returned ops (nil when nothing was
// created) must be committed in the caller's transaction: they update the
// profile (version-guarded) and add the customer index.
func (s *Service) EnsureCustomer(ctx context.Context, prof Profile, prov provider.Provider) (string, Profile, []store.TxOp, error) {
	if id, ok := prof.CustomerID(prov.Name()); ok {
		return id, prof, nil, nil
	}
	cust, err := prov.CreateCustomer(ctx, prof.Identifier)
	if errors.Is(err, provider.ErrDuplicateCustomer) {
		return "", prof, nil, fault.Wrap(ErrCustomerConflict, err, "provider %s already has a customer %q that this profile does not know", prov.Name(), prof.Identifier)
	}
	if err != nil {
		return "", prof, nil, ProviderError(prov.Name(), "create customer", err)
	}
	next := prof
	next.Customers = make(map[string]string, len(prof.Customers)+1)
	for k, v := range prof.Customers {
		next.Customers[k] = v
	}
	next.Customers[prov.Name()] = cust.ID
	next.Version = prof.Version + 1
	it, err := next.Item()
	if err != nil {
		return "", prof, nil, err
	}
	return cust.ID, next, []store.TxOp{
		store.TxPut(it, store.IfVersion(prof.Version)),
		store.TxPut(CustomerIndexItem(prov.Name(), cust.ID, prof.PartyID), store.IfNotExists()),
	}, nil
}
