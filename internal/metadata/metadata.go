// Package metadata holds what OBP 1.2 users add to accounts: other-account
// metadata (aliases, more_info, URLs, locations: one set per other account,
// shared by every view) and transaction metadata (narrative, comments, tags,
// images, where: per view, shown only on the view it was made on). The other
// accounts of an account are the counterparties of its transactions, as the
// holdings importer records them in the account's counterparty directory
// (holdings.Counterparties); the metadata is kept apart from that directory,
// so a re-import that overwrites it loses nothing.
//
// Storage layout (docs/data-model.md, "OBP 1.2"), all in the account
// partition ACC#<accountID> so that removing a connection removes it:
//
//	other-account metadata  PK=ACC#<acc> SK=OBP#OAMETA        one versioned document per account
//	transaction metadata    PK=ACC#<acc> SK=OBP#TXM#<tx>#<view>
//	                        GSI1PK=ACC#<acc>#TXD GSI1SK=<completed>#<tx>#M#<view>
//
// Transaction metadata sits in the transactions-by-date index partition
// right after its transaction, so one index query returns a page of
// transactions with their metadata.
package metadata

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// maxRetries bounds the optimistic-locking retries of one change.
const maxRetries = 3

// Service reads and writes metadata.
type Service struct {
	store store.Store
	clock platform.Clock
}

// Deps are the Service's dependencies.
type Deps struct {
	Store store.Store
	Clock platform.Clock // default the system clock
}

// New builds the service.
func New(d Deps) *Service { return &Service{store: d.Store, clock: d.Clock} }

func (s *Service) now() time.Time {
	if s.clock == nil {
		return time.Now().UTC()
	}
	return s.clock.Now().UTC()
}

// Location is a geo tag (corporate/physical location, where tag).
type Location struct {
	Latitude  float64   `json:"latitude"`
	Longitude float64   `json:"longitude"`
	Date      time.Time `json:"date"`
	User      view.User `json:"user"`
}

// ValidCoordinates checks latitude and longitude ranges.
func ValidCoordinates(lat, lon float64) error {
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return fault.Errorf(ErrInvalid, "latitude must be within [-90, 90] and longitude within [-180, 180].")
	}
	return nil
}

// Key functions: the only place these strings are built.

const (
	OADocSK       = "OBP#OAMETA"
	TxMetaSKPrefx = "OBP#TXM#"
)

func OADocKey(accountID string) store.Key {
	return store.Key{PK: holdings.AccountPK(accountID), SK: OADocSK}
}

func TxMetaKey(accountID, txID, viewID string) store.Key {
	return store.Key{PK: holdings.AccountPK(accountID), SK: TxMetaSKPrefx + txID + "#" + viewID}
}

// TxMetaGSI1SK places a transaction's metadata right after the transaction
// in the transactions-by-date index.
func TxMetaGSI1SK(tx holdings.Transaction, viewID string) string {
	return holdings.TxByDateGSI1SK(tx) + "#M#" + viewID
}

// DefaultPublicAlias is the public alias every new other account gets
// (OBP 1.2: generated automatically); derived, so it is stable and costs no
// write.
func DefaultPublicAlias(accountID, otherID string) string {
	h := sha256.Sum256([]byte(accountID + "\x00" + otherID))
	return "ALIAS_" + hex.EncodeToString(h[:3])
}
