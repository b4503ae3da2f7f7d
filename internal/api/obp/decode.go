package obp

import (
	"encoding/json"
	"fmt"

	"github.com/openagg/openagg/internal/store"
)

// decode reads a stored record.
func decode(it store.Item, dst any) error {
	if err := json.Unmarshal(it.Data, dst); err != nil {
		return fmt.Errorf("decode %s %s: %w", it.PK, it.SK, err)
	}
	return nil
}
