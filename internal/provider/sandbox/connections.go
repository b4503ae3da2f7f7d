package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// refreshInterval is the wait between two refreshes of a connection (Salt
// Edge next_refresh_possible_at).
const refreshInterval = time.Hour

// Connection statuses (Salt Edge).
const (
	statusActive   = "active"
	statusInactive = "inactive"
	statusDisabled = "disabled"
)

// Error classes the sandbox reports, Salt Edge style ("Class: message").
const (
	providerErrorMsg = "ProviderError: the bank's service failed while fetching the data (sandbox failing bank)"
)

type connRecord struct {
	ID                    string    `json:"id"`
	CustomerID            string    `json:"customer_id"`
	Identifier            string    `json:"identifier"` // the customer's: seeds the data
	BankCode              string    `json:"provider_code"`
	Status                string    `json:"status"`
	DailyRefresh          bool      `json:"daily_refresh"`
	FetchScopes           []string  `json:"fetch_scopes"`
	FromDate              time.Time `json:"from_date,omitzero"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
	LastSuccessAt         time.Time `json:"last_success_at,omitzero"`
	NextRefreshPossibleAt time.Time `json:"next_refresh_possible_at"`
	LastError             string    `json:"last_error,omitempty"`
}

// connectionID is deterministic from customer and bank: one connection per
// customer and bank, and reconnecting the same bank reuses its id.
func (p *Provider) connectionID(customerID, bankCode string) string {
	return digits(p.hash64("connection", customerID, bankCode), 18)
}

func (p *Provider) loadConnection(ctx context.Context, id string) (connRecord, int64, error) {
	it, err := p.st.Get(ctx, connectionKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return connRecord{}, 0, fmt.Errorf("connection %s: %w", id, provider.ErrNotFound)
	}
	if err != nil {
		return connRecord{}, 0, fmt.Errorf("load connection %s: %w", id, err)
	}
	var c connRecord
	if err := json.Unmarshal(it.Data, &c); err != nil {
		return connRecord{}, 0, fmt.Errorf("decode connection %s: %w", id, err)
	}
	return c, it.Version, nil
}

func connItem(c connRecord, version int64) (store.Item, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode connection %s: %w", c.ID, err)
	}
	k := connectionKey(c.ID)
	return store.Item{PK: k.PK, SK: k.SK, Version: version, Data: data}, nil
}

// view renders a stored connection; a connection to a bank the directory no
// longer lists reports "disabled".
func (p *Provider) view(c connRecord) provider.Connection {
	out := provider.Connection{
		ID:                    c.ID,
		CustomerID:            c.CustomerID,
		BankCode:              c.BankCode,
		Status:                c.Status,
		DailyRefresh:          c.DailyRefresh,
		NextRefreshPossibleAt: c.NextRefreshPossibleAt,
		LastSuccessAt:         c.LastSuccessAt,
		CreatedAt:             c.CreatedAt,
		UpdatedAt:             c.UpdatedAt,
		LastError:             c.LastError,
	}
	if b, ok := p.byCode[c.BankCode]; ok {
		out.BankName, out.CountryCode = b.Name, b.CountryCode
	}
	if p.hidden[c.BankCode] {
		out.Status = statusDisabled
	}
	return out
}

// ListConnections implements provider.Provider: two store calls (the
// customer's partition, then the connection records), oldest first.
func (p *Provider) ListConnections(ctx context.Context, customerID string) ([]provider.Connection, error) {
	_, ids, err := p.customerPartition(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	keys := make([]store.Key, len(ids))
	for i, id := range ids {
		keys[i] = connectionKey(id)
	}
	items, err := p.st.BatchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("list connections of customer %s: %w", customerID, err)
	}
	out := make([]provider.Connection, 0, len(items))
	for _, it := range items {
		var c connRecord
		if err := json.Unmarshal(it.Data, &c); err != nil {
			return nil, fmt.Errorf("decode connection %s: %w", it.PK, err)
		}
		out = append(out, p.view(c))
	}
	slices.SortFunc(out, func(a, b provider.Connection) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareIDs(a.ID, b.ID)
	})
	return out, nil
}

// compareIDs orders decimal ids numerically.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxAttempts bounds the retries of a version-guarded read-modify-write.
const maxAttempts = 4

// RefreshConnection implements provider.Provider. Before
// next_refresh_possible_at it is provider.ErrTooEarly; the failing bank
// records the error on the connection and answers provider.ErrUnavailable.
func (p *Provider) RefreshConnection(ctx context.Context, connectionID string) (provider.Connection, error) {
	for range maxAttempts {
		c, ver, err := p.loadConnection(ctx, connectionID)
		if err != nil {
			return provider.Connection{}, fmt.Errorf("refresh: %w", err)
		}
		b := p.byCode[c.BankCode]
		now := p.now()
		switch {
		case p.hidden[c.BankCode]:
			return provider.Connection{}, fmt.Errorf("refresh connection %s: %w: ProviderDisabled: bank %s is no longer available", connectionID, provider.ErrInvalid, c.BankCode)
		case now.Before(c.NextRefreshPossibleAt):
			return provider.Connection{}, fmt.Errorf("refresh connection %s: %w: ConnectionCannotBeRefreshed: next refresh possible at %s",
				connectionID, provider.ErrTooEarly, c.NextRefreshPossibleAt.Format(time.RFC3339))
		}
		if b != nil && b.Slow {
			if err := delay(ctx, p.slow); err != nil {
				return provider.Connection{}, fmt.Errorf("refresh connection %s: %w", connectionID, err)
			}
			now = p.now()
		}
		failing := b != nil && b.Failing
		c.UpdatedAt = now
		if failing {
			c.Status, c.LastError = statusInactive, providerErrorMsg
		} else {
			c.Status, c.LastError = statusActive, ""
			c.LastSuccessAt = now
			c.NextRefreshPossibleAt = now.Add(refreshInterval)
		}
		it, err := connItem(c, ver)
		if err != nil {
			return provider.Connection{}, err
		}
		if _, err := p.st.Update(ctx, it); err != nil {
			if errors.Is(err, store.ErrConditionFailed) {
				continue // a concurrent refresh won; look again
			}
			return provider.Connection{}, fmt.Errorf("refresh connection %s: %w", connectionID, err)
		}
		if failing {
			return provider.Connection{}, fmt.Errorf("refresh connection %s: %w: %s", connectionID, provider.ErrUnavailable, providerErrorMsg)
		}
		return p.view(c), nil
	}
	return provider.Connection{}, fmt.Errorf("refresh connection %s: %w: too many concurrent updates", connectionID, provider.ErrUnavailable)
}

// DeleteConnection implements provider.Provider.
func (p *Provider) DeleteConnection(ctx context.Context, connectionID string) error {
	c, _, err := p.loadConnection(ctx, connectionID)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err = p.st.Transact(ctx, []store.TxOp{
		store.TxDelete(connectionKey(c.ID), store.IfExists()),
		store.TxDelete(customerConnKey(c.CustomerID, c.ID), store.Condition{}),
	})
	if errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("delete connection %s: %w", connectionID, provider.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	return nil
}

// fetchable loads a connection whose data can be read: the failing bank
// never has data, the slow bank takes its time.
func (p *Provider) fetchable(ctx context.Context, connectionID string) (connRecord, *bankDef, error) {
	c, _, err := p.loadConnection(ctx, connectionID)
	if err != nil {
		return c, nil, err
	}
	b, ok := p.byCode[c.BankCode]
	if !ok {
		return c, nil, fmt.Errorf("connection %s: bank %s: %w", connectionID, c.BankCode, provider.ErrNotFound)
	}
	if b.Failing {
		return c, nil, fmt.Errorf("connection %s: %w: %s", connectionID, provider.ErrUnavailable, providerErrorMsg)
	}
	if b.Slow {
		if err := delay(ctx, p.slow); err != nil {
			return c, nil, fmt.Errorf("connection %s: %w", connectionID, err)
		}
	}
	return c, b, nil
}
