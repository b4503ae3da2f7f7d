package obp

import (
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// BankRecords is what a Banks may also offer so that an account-level
// request checks its BANK_ID in the BatchGet it makes anyway (no extra
// store call): the keys of a bank code's directory records, and whether
// those items (as read) list the bank with access enabled. OBP answers
// OBP-30001 for every call under a BANK_ID that is not a bank, and the
// banks of this API are the directory banks with access enabled: an
// account imported from a bank whose access was disabled since is not
// served either, as the accounts lists of that bank are not.
type BankRecords interface {
	RecordKeys(code string) []store.Key
	EnabledIn(code string, items map[store.Key]store.Item) (bool, error)
}

// bankRecordKeys returns the keys to add to an account-level BatchGet for
// the bank code (none when a.banks cannot say).
func (a *API) bankRecordKeys(code string) []store.Key {
	if br, ok := a.banks.(BankRecords); ok {
		return br.RecordKeys(code)
	}
	return nil
}

// checkBank answers OBP-30001 when the items read with the request do not
// list the bank code with access enabled (nothing to check when a.banks
// cannot say).
func (a *API) checkBank(code string, items map[store.Key]store.Item) error {
	br, ok := a.banks.(BankRecords)
	if !ok {
		return nil
	}
	enabled, err := br.EnabledIn(code, items)
	if err != nil {
		return err
	}
	if !enabled {
		return view.ErrBankNotFound()
	}
	return nil
}
