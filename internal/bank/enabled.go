package bank

import "github.com/openagg/openagg/internal/store"

// CodeKeys are the keys of code's bank records at every configured
// provider, in provider order: what ByCode reads, for a caller that reads
// them in a BatchGet of its own (the OBP account query checks its BANK_ID
// with the account's items, at no extra store call). A code no bank can
// have has none.
func (s *Service) CodeKeys(code string) []store.Key {
	if !ValidCode(code) {
		return nil
	}
	keys := make([]store.Key, len(s.providers))
	for i, p := range s.providers {
		keys[i] = store.Key{PK: ProviderPK(p.Name()), SK: BankSK(code)}
	}
	return keys
}

// EnabledIn returns the bank with code whose access is enabled among items
// (read by CodeKeys' keys, by key), as ByCode decides: the first configured
// provider that lists it with access enabled. found is false when none
// does.
func (s *Service) EnabledIn(code string, items map[store.Key]store.Item) (b Bank, found bool, err error) {
	for _, k := range s.CodeKeys(code) {
		it, ok := items[k]
		if !ok {
			continue
		}
		b, err := decodeBank(it)
		if err != nil {
			return Bank{}, false, err
		}
		if b.AccessEnabled {
			return b, true, nil
		}
	}
	return Bank{}, false, nil
}
