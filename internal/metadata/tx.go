package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// Comment is a comment on a transaction.
type Comment struct {
	ID    string    `json:"id"`
	Value string    `json:"value"`
	Date  time.Time `json:"date"`
	User  view.User `json:"user"`
}

// Tag is a tag on a transaction (no white space in Value).
type Tag struct {
	ID    string    `json:"id"`
	Value string    `json:"value"`
	Date  time.Time `json:"date"`
	User  view.User `json:"user"`
}

// Image is an image attached to a transaction.
type Image struct {
	ID    string    `json:"id"`
	Label string    `json:"label"`
	URL   string    `json:"url"`
	Date  time.Time `json:"date"`
	User  view.User `json:"user"`
}

// TxMeta is the metadata of one transaction on one view.
type TxMeta struct {
	AccountID string    `json:"accountId"`
	TxID      string    `json:"txId"`
	ViewID    string    `json:"viewId"`
	Narrative string    `json:"narrative,omitempty"`
	Comments  []Comment `json:"comments,omitempty"`
	Tags      []Tag     `json:"tags,omitempty"`
	Images    []Image   `json:"images,omitempty"`
	Where     *Location `json:"where,omitempty"`
	Version   int64     `json:"-"`
}

func (m TxMeta) empty() bool {
	return m.Narrative == "" && len(m.Comments) == 0 && len(m.Tags) == 0 && len(m.Images) == 0 && m.Where == nil
}

func (m TxMeta) clone() TxMeta {
	m.Comments = slices.Clone(m.Comments)
	m.Tags = slices.Clone(m.Tags)
	m.Images = slices.Clone(m.Images)
	if m.Where != nil {
		w := *m.Where
		m.Where = &w
	}
	return m
}

// DecodeTxMeta decodes a transaction-metadata item.
func DecodeTxMeta(it store.Item) (TxMeta, error) {
	var m TxMeta
	if err := json.Unmarshal(it.Data, &m); err != nil {
		return TxMeta{}, fmt.Errorf("decode transaction metadata %s %s: %w", it.PK, it.SK, err)
	}
	m.Version = it.Version
	return m, nil
}

// IsTxMetaItem reports whether an item of the transactions-by-date index is
// transaction metadata rather than a transaction.
func IsTxMetaItem(it store.Item) bool {
	return len(it.SK) > len(TxMetaSKPrefx) && it.SK[:len(TxMetaSKPrefx)] == TxMetaSKPrefx
}

// TxMetaOn returns the transaction whose metadata on viewID it is (SK
// OBP#TXM#<tx>#<view>: view ids have no '#', so the suffix names the view
// and what is before it the transaction); ok is false for any other item.
func TxMetaOn(it store.Item, viewID string) (txID string, ok bool) {
	sk := it.SK
	n := len(sk) - len(viewID) - 1
	if !IsTxMetaItem(it) || n <= len(TxMetaSKPrefx) || sk[n] != '#' || sk[n+1:] != viewID {
		return "", false
	}
	return sk[len(TxMetaSKPrefx):n], true
}

// IndexedWith reports whether the transaction-metadata item it sits with
// the transaction whose transactions-by-date sort key is txGSI1SK (its
// GSI1SK is <that key>#M#<view>, TxMetaGSI1SK).
func IndexedWith(it store.Item, txGSI1SK string) bool {
	k := it.GSI1SK
	return len(k) >= len(txGSI1SK)+3 && k[:len(txGSI1SK)] == txGSI1SK && k[len(txGSI1SK):len(txGSI1SK)+3] == "#M#"
}

// Change edits the metadata of a transaction on a view. It returns an
// error to abort (nothing is written).
type Change func(m *TxMeta, now time.Time) error

// UpdateTx applies change to the metadata of tx on viewID and saves it with
// a version guard, re-reading and re-applying it after a concurrent change.
// cur is the metadata as read with the request (zero Version: none).
// Metadata that becomes empty is deleted.
func (s *Service) UpdateTx(ctx context.Context, tx holdings.Transaction, viewID string, cur TxMeta, change Change) (TxMeta, error) {
	key := TxMetaKey(tx.AccountID, tx.ID, viewID)
	for range maxRetries {
		next := cur.clone()
		next.AccountID, next.TxID, next.ViewID = tx.AccountID, tx.ID, viewID
		if err := change(&next, s.now()); err != nil {
			return TxMeta{}, err
		}
		err := s.saveTx(ctx, key, tx, cur, next)
		if err == nil {
			next.Version = cur.Version + 1
			return next, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return TxMeta{}, err
		}
		it, err := s.store.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur = TxMeta{}
		case err != nil:
			return TxMeta{}, fmt.Errorf("reload transaction metadata: %w", err)
		default:
			if cur, err = DecodeTxMeta(it); err != nil {
				return TxMeta{}, err
			}
		}
	}
	return TxMeta{}, fault.Errorf(ErrConflict, conflictMessage)
}

func (s *Service) saveTx(ctx context.Context, key store.Key, tx holdings.Transaction, cur, next TxMeta) error {
	if next.empty() {
		if cur.Version == 0 {
			return nil
		}
		if err := s.store.Delete(ctx, key, store.IfVersion(cur.Version)); err != nil {
			if errors.Is(err, store.ErrConditionFailed) {
				return err
			}
			return fmt.Errorf("delete transaction metadata: %w", err)
		}
		return nil
	}
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("encode transaction metadata: %w", err)
	}
	it := store.Item{PK: key.PK, SK: key.SK, GSI1PK: holdings.TxByDateGSI1PK(tx.AccountID), GSI1SK: TxMetaGSI1SK(tx, next.ViewID), Version: cur.Version + 1, Data: data}
	cond := store.IfNotExists()
	if cur.Version > 0 {
		cond = store.IfVersion(cur.Version)
	}
	if err := s.store.Put(ctx, it, cond); err != nil {
		switch {
		case errors.Is(err, store.ErrConditionFailed):
			return err
		case errors.Is(err, store.ErrTooLarge):
			return fault.Wrap(ErrTooMuch, err, "Too much metadata on this transaction for this view.")
		}
		return fmt.Errorf("save transaction metadata: %w", err)
	}
	return nil
}

// NewItemID returns the id of a new comment, tag or image.
func NewItemID() string { return platform.NewID() }
