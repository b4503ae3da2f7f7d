package bank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// Deps are what a Service needs.
type Deps struct {
	Store store.Store
	// Queue receives the directory.load jobs (queue.Directory); only
	// StartLoad and the worker send, so a reader may leave it nil.
	Queue queue.Sender
	// Providers are the configured providers, in a fixed order: lookups
	// across providers answer in this order.
	Providers []provider.Provider
	Clock     platform.Clock // default platform.SystemClock
	Log       *slog.Logger   // default slog.Default()
}

// Service is the bank directory. It is safe for concurrent use.
type Service struct {
	store     store.Store
	queue     queue.Sender
	providers []provider.Provider
	byName    map[string]provider.Provider
	clock     platform.Clock
	log       *slog.Logger
}

// New builds the directory over the configured providers.
func New(d Deps) (*Service, error) {
	if d.Store == nil {
		return nil, errors.New("bank directory: no store")
	}
	s := &Service{store: d.Store, queue: d.Queue, clock: d.Clock, log: d.Log, byName: map[string]provider.Provider{}}
	if s.clock == nil {
		s.clock = platform.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, p := range d.Providers {
		if p == nil {
			return nil, errors.New("bank directory: nil provider")
		}
		name := p.Name()
		if name == "" || !ValidCode(name) {
			return nil, fmt.Errorf("bank directory: invalid provider name %q", name)
		}
		if _, dup := s.byName[name]; dup {
			return nil, fmt.Errorf("bank directory: provider %q configured twice", name)
		}
		s.byName[name] = p
		s.providers = append(s.providers, p)
	}
	return s, nil
}

// Providers returns the names of the configured providers, in order.
func (s *Service) Providers() []string {
	out := make([]string, len(s.providers))
	for i, p := range s.providers {
		out[i] = p.Name()
	}
	return out
}

// Get returns provider's bank code: one store Get. Connection creation uses
// it to check that the bank exists, that its access is enabled
// (AccessEnabled) and what it supports. An unconfigured provider is
// ErrUnknownProvider, a missing bank ErrNotFound, a malformed code
// ErrInvalidCode.
func (s *Service) Get(ctx context.Context, providerName, code string) (Bank, error) {
	if _, ok := s.byName[providerName]; !ok {
		return Bank{}, unknownProvider(providerName)
	}
	if !ValidCode(code) {
		return Bank{}, invalidCode(code)
	}
	it, err := s.store.Get(ctx, store.Key{PK: ProviderPK(providerName), SK: BankSK(code)})
	if errors.Is(err, store.ErrNotFound) {
		return Bank{}, notFound(providerName, code)
	}
	if err != nil {
		return Bank{}, fmt.Errorf("get bank %s of %s: %w", code, providerName, err)
	}
	return decodeBank(it)
}

// ByInternalID returns the bank with internal id id: the id pointer, then
// the bank (two store Gets). A malformed id is ErrInvalidID.
func (s *Service) ByInternalID(ctx context.Context, id string) (Bank, error) {
	if !ValidInternalID(id) {
		return Bank{}, fault.Errorf(ErrInvalidID, "bank id '%s' is not 'BD' followed by 10 digits", id)
	}
	it, err := s.store.Get(ctx, store.Key{PK: IDPK(id), SK: IDSK})
	if errors.Is(err, store.ErrNotFound) {
		return Bank{}, idNotFound(id)
	}
	if err != nil {
		return Bank{}, fmt.Errorf("get bank id %s: %w", id, err)
	}
	var ref idRef
	if err := json.Unmarshal(it.Data, &ref); err != nil {
		return Bank{}, fmt.Errorf("decode bank id %s: %w", id, err)
	}
	it, err = s.store.Get(ctx, store.Key{PK: ProviderPK(ref.Provider), SK: BankSK(ref.Code)})
	if errors.Is(err, store.ErrNotFound) {
		return Bank{}, idNotFound(id)
	}
	if err != nil {
		return Bank{}, fmt.Errorf("get bank %s of %s (id %s): %w", ref.Code, ref.Provider, id, err)
	}
	return decodeBank(it)
}

// ByCountry returns every directory bank of country cc (any provider, any
// status), sorted by case-folded name, then provider and code: one index
// query per 1000 banks. An unknown country is an empty list; a code that
// is not two letters is ErrInvalidCountry.
func (s *Service) ByCountry(ctx context.Context, cc string) ([]Bank, error) {
	if !ValidCountry(cc) {
		return nil, fault.Errorf(ErrInvalidCountry, "country code '%s' is not two letters", cc)
	}
	out, err := s.queryBanks(ctx, store.Query{Index: store.IndexGSI1, PK: CountryGSI1PK(cc)}, []Bank{})
	if err != nil {
		return nil, fmt.Errorf("list banks of country %s: %w", cc, err)
	}
	return out, nil
}

// ListByCode returns code's bank at every configured provider that lists
// it, in provider order: one BatchGet. No bank is an empty list.
func (s *Service) ListByCode(ctx context.Context, code string) ([]Bank, error) {
	if !ValidCode(code) {
		return nil, invalidCode(code)
	}
	keys := make([]store.Key, len(s.providers))
	for i, p := range s.providers {
		keys[i] = store.Key{PK: ProviderPK(p.Name()), SK: BankSK(code)}
	}
	items, err := s.store.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("get bank %s across providers: %w", code, err)
	}
	found := make(map[string]Bank, len(items))
	for _, it := range items {
		b, err := decodeBank(it)
		if err != nil {
			return nil, err
		}
		found[b.Provider] = b
	}
	out := make([]Bank, 0, len(found))
	for _, p := range s.providers {
		if b, ok := found[p.Name()]; ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// ByCode returns the bank with code whose access is enabled (the OBP 1.2
// API's bank id is the code): one BatchGet. When several providers list the
// code with access enabled, the first configured provider wins.
func (s *Service) ByCode(ctx context.Context, code string) (Bank, error) {
	banks, err := s.ListByCode(ctx, code)
	if err != nil {
		return Bank{}, err
	}
	for _, b := range banks {
		if b.AccessEnabled {
			return b, nil
		}
	}
	return Bank{}, codeNotFound(code)
}

// ListEnabled returns every bank whose access is enabled, ordered by code
// then provider: per 1000 banks one index query of the enabled pointers and
// one BatchGet of the banks. The index is eventually consistent on
// DynamoDB, so an access change shows here a moment later; each bank is
// re-checked on its strongly read record.
func (s *Service) ListEnabled(ctx context.Context) ([]Bank, error) {
	out := []Bank{}
	q := store.Query{Index: store.IndexGSI1, PK: EnabledGSI1PK}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list enabled banks: %w", err)
		}
		keys := make([]store.Key, 0, len(page.Items))
		for _, it := range page.Items {
			var ref idRef
			if err := json.Unmarshal(it.Data, &ref); err != nil {
				return nil, fmt.Errorf("decode bank pointer %s: %w", it.PK, err)
			}
			keys = append(keys, store.Key{PK: ProviderPK(ref.Provider), SK: BankSK(ref.Code)})
		}
		items, err := s.store.BatchGet(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("list enabled banks: %w", err)
		}
		byKey := make(map[store.Key]store.Item, len(items))
		for _, it := range items {
			byKey[it.Key()] = it
		}
		for _, k := range keys { // keep the index order
			it, ok := byKey[k]
			if !ok {
				continue
			}
			b, err := decodeBank(it)
			if err != nil {
				return nil, err
			}
			if b.AccessEnabled {
				out = append(out, b)
			}
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// accessAttempts bounds SetAccess's retries when a concurrent writer (a
// load page, another SetAccess) changed the bank between read and write.
const accessAttempts = 3

// SetAccess enables or disables access to bank code at every provider that
// lists it and returns the banks as stored. One BatchGet and, when a flag
// changes, one transaction (each bank record with its version condition,
// plus its id pointer entering or leaving the enabled index). Setting the
// value a bank already has writes nothing. No bank with that code is
// ErrNotFound.
func (s *Service) SetAccess(ctx context.Context, code string, enabled bool) ([]Bank, error) {
	for range accessAttempts {
		banks, err := s.ListByCode(ctx, code)
		if err != nil {
			return nil, err
		}
		if len(banks) == 0 {
			return nil, codeNotFound(code)
		}
		now := s.clock.Now().UTC()
		var ops []store.TxOp
		for i, b := range banks {
			if b.AccessEnabled == enabled {
				continue
			}
			old := b.Version
			b.AccessEnabled, b.UpdatedAt, b.Version = enabled, now, old+1
			banks[i] = b
			it, err := bankItem(b)
			if err != nil {
				return nil, err
			}
			ptr, err := idItem(b)
			if err != nil {
				return nil, err
			}
			ops = append(ops, store.TxPut(it, store.IfVersion(old)), store.TxPut(ptr, store.Condition{}))
		}
		if len(ops) == 0 {
			return banks, nil
		}
		err = s.store.Transact(ctx, ops)
		if err == nil {
			s.log.InfoContext(ctx, "bank access changed", "code", code, "enabled", enabled, "banks", len(ops)/2)
			return banks, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return nil, fmt.Errorf("set access of bank %s: %w", code, err)
		}
	}
	return nil, fault.Wrap(ErrBusy, store.ErrConditionFailed, "bank '%s' is being modified concurrently; retry", code)
}

// Encoding of the items.

// idRef is the Data of an id pointer item.
type idRef struct {
	Provider string `json:"provider"`
	Code     string `json:"code"`
}

func bankItem(b Bank) (store.Item, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode bank %s of %s: %w", b.Code, b.Provider, err)
	}
	return store.Item{
		PK: ProviderPK(b.Provider), SK: BankSK(b.Code),
		GSI1PK: CountryGSI1PK(b.CountryCode), GSI1SK: CountryGSI1SK(b),
		Version: b.Version, Data: data,
	}, nil
}

func idItem(b Bank) (store.Item, error) {
	data, err := json.Marshal(idRef{Provider: b.Provider, Code: b.Code})
	if err != nil {
		return store.Item{}, fmt.Errorf("encode bank id %s: %w", b.InternalID, err)
	}
	it := store.Item{PK: IDPK(b.InternalID), SK: IDSK, Data: data}
	if b.AccessEnabled {
		it.GSI1PK, it.GSI1SK = EnabledGSI1PK, EnabledGSI1SK(b.Provider, b.Code)
	}
	return it, nil
}

func decodeBank(it store.Item) (Bank, error) {
	var b Bank
	if err := json.Unmarshal(it.Data, &b); err != nil {
		return Bank{}, fmt.Errorf("decode bank %s|%s: %w", it.PK, it.SK, err)
	}
	b.Version = it.Version
	b.SupportedAccountNatures = nonNil(b.SupportedAccountNatures)
	b.SupportedFetchScopes = nonNil(b.SupportedFetchScopes)
	b.SupportedAccountTypes = nonNil(b.SupportedAccountTypes)
	return b, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
