package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// customerRecord is a stored customer. The secret is a bearer credential
// returned once at creation; like a real provider the sandbox keeps only
// its SHA-256 (a 256-bit random value needs no slow hash).
type customerRecord struct {
	ID         string    `json:"id"`
	Identifier string    `json:"identifier"`
	SecretHash string    `json:"secret_sha256"`
	CreatedAt  time.Time `json:"created_at"`
}

// customerID is deterministic from the identifier (18 digits, like Salt
// Edge's), so recreating a deleted customer gives back the same id and data.
func (p *Provider) customerID(identifier string) string {
	return digits(p.hash64("customer", identifier), 18)
}

// newCustomerSecret is 32 random bytes in URL-safe base64 without padding:
// 43 characters, the shape of a Salt Edge customer secret. It is random,
// not derived from the seed: the seed is a constant anyone can read, and a
// secret derived from it would be known to everyone.
func newCustomerSecret() string {
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// secretHash is the stored form of a bearer secret (customer secret,
// connect token): SHA-256 in hex.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateCustomer implements provider.Provider. A second customer with the
// same identifier is provider.ErrDuplicateCustomer (Salt Edge
// DuplicatedCustomer), enforced by a conditional put.
func (p *Provider) CreateCustomer(ctx context.Context, identifier string) (provider.Customer, error) {
	if strings.TrimSpace(identifier) == "" || len(identifier) > 255 {
		return provider.Customer{}, fmt.Errorf("create customer: %w: identifier must be 1-255 characters", provider.ErrInvalid)
	}
	secret := newCustomerSecret()
	rec := customerRecord{
		ID:         p.customerID(identifier),
		Identifier: identifier,
		SecretHash: secretHash(secret),
		CreatedAt:  p.now(),
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return provider.Customer{}, fmt.Errorf("create customer: %w", err)
	}
	k := customerKey(rec.ID)
	err = p.st.Put(ctx, store.Item{PK: k.PK, SK: k.SK, Version: 1, Data: data}, store.IfNotExists())
	if errors.Is(err, store.ErrConditionFailed) {
		return provider.Customer{}, fmt.Errorf("create customer %q: %w", identifier, provider.ErrDuplicateCustomer)
	}
	if err != nil {
		return provider.Customer{}, fmt.Errorf("create customer %q: %w", identifier, err)
	}
	return provider.Customer{ID: rec.ID, Identifier: rec.Identifier, Secret: secret}, nil
}

func (p *Provider) loadCustomer(ctx context.Context, id string) (customerRecord, error) {
	it, err := p.st.Get(ctx, customerKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return customerRecord{}, fmt.Errorf("customer %s: %w", id, provider.ErrNotFound)
	}
	if err != nil {
		return customerRecord{}, fmt.Errorf("load customer %s: %w", id, err)
	}
	var rec customerRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return customerRecord{}, fmt.Errorf("decode customer %s: %w", id, err)
	}
	return rec, nil
}

// customerPartition reads the customer item and the ids of its connections
// in one query of the customer's partition.
func (p *Provider) customerPartition(ctx context.Context, id string) (customerRecord, []string, error) {
	k := customerKey(id)
	q := store.Query{PK: k.PK}
	var (
		rec     customerRecord
		found   bool
		connIDs []string
	)
	for {
		page, err := p.st.Query(ctx, q)
		if err != nil {
			return rec, nil, fmt.Errorf("load customer %s: %w", id, err)
		}
		for _, it := range page.Items {
			switch {
			case it.SK == k.SK:
				if err := json.Unmarshal(it.Data, &rec); err != nil {
					return rec, nil, fmt.Errorf("decode customer %s: %w", id, err)
				}
				found = true
			case strings.HasPrefix(it.SK, custConnPrefix):
				connIDs = append(connIDs, strings.TrimPrefix(it.SK, custConnPrefix))
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	if !found {
		return rec, nil, fmt.Errorf("customer %s: %w", id, provider.ErrNotFound)
	}
	return rec, connIDs, nil
}

// DeleteCustomer implements provider.Provider: the customer and all its
// connections go (Salt Edge removes a customer with everything it owns).
// Re-running it after a partial failure finishes the job.
func (p *Provider) DeleteCustomer(ctx context.Context, customerID string) error {
	_, connIDs, err := p.customerPartition(ctx, customerID)
	if err != nil {
		return fmt.Errorf("delete customer: %w", err)
	}
	dels := make([]store.Key, 0, 2*len(connIDs)+1)
	for _, c := range connIDs {
		dels = append(dels, connectionKey(c), customerConnKey(customerID, c))
	}
	// The customer item goes last so a retry still finds the connections.
	if err := p.st.BatchWrite(ctx, nil, dels); err != nil {
		return fmt.Errorf("delete customer %s connections: %w", customerID, err)
	}
	if err := p.st.Delete(ctx, customerKey(customerID), store.Condition{}); err != nil {
		return fmt.Errorf("delete customer %s: %w", customerID, err)
	}
	return nil
}
