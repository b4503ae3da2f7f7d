package bank

import (
	"context"
	"fmt"

	"github.com/openagg/openagg/internal/store"
)

// All returns every bank of the directory, whatever its status and access,
// provider by provider in the configured order, each provider's banks by
// code: one query of each provider's partition (per 1000 banks). The
// finAPI dialect lists and searches the whole directory with it.
func (s *Service) All(ctx context.Context) ([]Bank, error) {
	out := []Bank{}
	for _, p := range s.providers {
		var err error
		q := store.Query{PK: ProviderPK(p.Name()), SKPrefix: BankSKPrefix}
		if out, err = s.queryBanks(ctx, q, out); err != nil {
			return nil, fmt.Errorf("list banks of %s: %w", p.Name(), err)
		}
	}
	return out, nil
}

// queryBanks appends every bank q lists to out, page after page.
func (s *Service) queryBanks(ctx context.Context, q store.Query, out []Bank) ([]Bank, error) {
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			b, err := decodeBank(it)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}
