package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/view"
)

// OtherAccount is a counterparty of the account's transactions.
type OtherAccount struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	IBAN string `json:"iban,omitempty"`
}

// OtherAccountOf returns the other account of a transaction, if it has one.
func OtherAccountOf(tx holdings.Transaction) (OtherAccount, bool) {
	if tx.CounterpartyID == "" {
		return OtherAccount{}, false
	}
	name := tx.CounterpartyName
	if name == "" {
		name = tx.CounterpartyIBAN
	}
	if name == "" {
		name = tx.CounterpartyID
	}
	return OtherAccount{ID: tx.CounterpartyID, Name: name, IBAN: tx.CounterpartyIBAN}, true
}

// DecodeOtherAccount decodes a directory item.
func DecodeOtherAccount(it store.Item) (OtherAccount, error) {
	var o OtherAccount
	if err := json.Unmarshal(it.Data, &o); err != nil {
		return OtherAccount{}, fmt.Errorf("decode other account %s %s: %w", it.PK, it.SK, err)
	}
	return o, nil
}

// OAMeta is the metadata of one other account. Empty strings and nil
// locations are "not set".
type OAMeta struct {
	// PublicAlias nil means the generated alias; "" means deleted.
	PublicAlias       *string   `json:"publicAlias,omitempty"`
	PrivateAlias      string    `json:"privateAlias,omitempty"`
	MoreInfo          string    `json:"moreInfo,omitempty"`
	URL               string    `json:"url,omitempty"`
	ImageURL          string    `json:"imageUrl,omitempty"`
	OpenCorporatesURL string    `json:"openCorporatesUrl,omitempty"`
	CorporateLocation *Location `json:"corporateLocation,omitempty"`
	PhysicalLocation  *Location `json:"physicalLocation,omitempty"`
}

// OADoc is the other-account metadata of one account (one item).
type OADoc struct {
	AccountID string            `json:"accountId"`
	Others    map[string]OAMeta `json:"others"`
	Version   int64             `json:"-"`
}

// DecodeOADoc decodes the OBP#OAMETA item.
func DecodeOADoc(it store.Item) (OADoc, error) {
	var d OADoc
	if err := json.Unmarshal(it.Data, &d); err != nil {
		return OADoc{}, fmt.Errorf("decode other-account metadata %s: %w", it.PK, err)
	}
	d.Version = it.Version
	return d, nil
}

// Resolved is the metadata of one other account with the generated public
// alias applied; "" and nil mean none.
type Resolved struct {
	PublicAlias       string
	PrivateAlias      string
	MoreInfo          string
	URL               string
	ImageURL          string
	OpenCorporatesURL string
	CorporateLocation *Location
	PhysicalLocation  *Location
}

// Of returns the metadata of otherID.
func (d OADoc) Of(otherID string) Resolved {
	m := d.Others[otherID]
	r := Resolved{
		PrivateAlias: m.PrivateAlias, MoreInfo: m.MoreInfo, URL: m.URL, ImageURL: m.ImageURL,
		OpenCorporatesURL: m.OpenCorporatesURL, CorporateLocation: m.CorporateLocation, PhysicalLocation: m.PhysicalLocation,
	}
	if m.PublicAlias == nil {
		r.PublicAlias = DefaultPublicAlias(d.AccountID, otherID)
	} else {
		r.PublicAlias = *m.PublicAlias
	}
	return r
}

// Field names one other-account metadata field.
type Field int

const (
	PublicAlias Field = iota
	PrivateAlias
	MoreInfo
	URL
	ImageURL
	OpenCorporatesURL
	CorporateLocation
	PhysicalLocation
)

// maxTextLen bounds text metadata values (OBP-20010).
const maxTextLen = 2000

// Value is what a write sets: Text for text fields, Location for locations;
// a zero Value clears the field.
type Value struct {
	Text     string
	Location *Location
}

// ValidText checks a text metadata value (aliases, more_info, URLs,
// narrative, comments).
func ValidText(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return view.ErrInvalidJSON("%s must not be empty.", name)
	}
	if len(v) > maxTextLen {
		return platform.BadRequest(view.CodeInvalidValueLength, "Value too long: %s is limited to %d characters.", name, maxTextLen)
	}
	return nil
}

func (m OAMeta) set(f Field, v Value) OAMeta {
	switch f {
	case PublicAlias:
		t := v.Text
		m.PublicAlias = &t
	case PrivateAlias:
		m.PrivateAlias = v.Text
	case MoreInfo:
		m.MoreInfo = v.Text
	case URL:
		m.URL = v.Text
	case ImageURL:
		m.ImageURL = v.Text
	case OpenCorporatesURL:
		m.OpenCorporatesURL = v.Text
	case CorporateLocation:
		m.CorporateLocation = v.Location
	case PhysicalLocation:
		m.PhysicalLocation = v.Location
	}
	return m
}

// SetOtherAccount sets (or, with a zero Value, clears) one field of the
// metadata of otherID; doc is the document as read with the request.
func (s *Service) SetOtherAccount(ctx context.Context, doc OADoc, otherID string, f Field, v Value) error {
	if v.Location != nil {
		v.Location.Date = s.now()
	}
	for range maxRetries {
		next := OADoc{AccountID: doc.AccountID, Others: make(map[string]OAMeta, len(doc.Others)+1), Version: doc.Version + 1}
		for k, m := range doc.Others {
			next.Others[k] = m
		}
		next.Others[otherID] = doc.Others[otherID].set(f, v)
		data, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode other-account metadata: %w", err)
		}
		it := store.Item{PK: holdings.AccountPK(doc.AccountID), SK: OADocSK, Version: next.Version, Data: data}
		cond := store.IfNotExists()
		if doc.Version > 0 {
			cond = store.IfVersion(doc.Version)
		}
		err = s.Store.Put(ctx, it, cond)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrTooLarge):
			return platform.BadRequest(view.CodeTooMuchMetadata, "Too much metadata on this account's other accounts.")
		case !errors.Is(err, store.ErrConditionFailed):
			return fmt.Errorf("save other-account metadata %s: %w", doc.AccountID, err)
		}
		if doc, err = s.LoadOADoc(ctx, doc.AccountID); err != nil {
			return err
		}
	}
	return view.ErrConflict()
}

// LoadOADoc reads the other-account metadata of an account (empty if none).
func (s *Service) LoadOADoc(ctx context.Context, accountID string) (OADoc, error) {
	it, err := s.Store.Get(ctx, OADocKey(accountID))
	if errors.Is(err, store.ErrNotFound) {
		return OADoc{AccountID: accountID}, nil
	}
	if err != nil {
		return OADoc{}, fmt.Errorf("load other-account metadata %s: %w", accountID, err)
	}
	return DecodeOADoc(it)
}

// OtherAccounts lists the directory of an account's other accounts.
func (s *Service) OtherAccounts(ctx context.Context, accountID string) ([]OtherAccount, error) {
	var out []OtherAccount
	q := store.Query{PK: holdings.AccountPK(accountID), SKPrefix: OASKPrefix}
	for {
		page, err := s.Store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list other accounts %s: %w", accountID, err)
		}
		for _, it := range page.Items {
			o, err := DecodeOtherAccount(it)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// scanOverlap is how far back a directory refresh re-reads before its
// checkpoint, for transactions that arrive late with an older date.
const scanOverlap = 31 * 24 * time.Hour

type scanState struct {
	Through time.Time `json:"through"`
}

// AccountsImported is the holdings import hook of the directory: it adds
// the counterparties of transactions imported since the last refresh (an
// index query from the checkpoint, never the whole history twice).
func (s *Service) AccountsImported(ctx context.Context, accounts []holdings.Account) error {
	for _, acc := range accounts {
		if err := s.refreshDirectory(ctx, acc.ID); err != nil {
			return fmt.Errorf("account %s: %w", acc.ID, err)
		}
	}
	return nil
}

func (s *Service) refreshDirectory(ctx context.Context, accountID string) error {
	pk := holdings.AccountPK(accountID)
	var st scanState
	it, err := s.Store.Get(ctx, store.Key{PK: pk, SK: OAScanSK})
	switch {
	case err == nil:
		if err := json.Unmarshal(it.Data, &st); err != nil {
			return fmt.Errorf("decode directory checkpoint: %w", err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("load directory checkpoint: %w", err)
	}
	q := store.Query{Index: store.IndexGSI1, PK: holdings.TxByDateGSI1PK(accountID)}
	if !st.Through.IsZero() {
		q.From = holdings.SortTime(st.Through.Add(-scanOverlap))
	}
	found := map[string]OtherAccount{}
	through := st.Through
	for {
		page, err := s.Store.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("scan transactions: %w", err)
		}
		for _, it := range page.Items {
			if !strings.HasPrefix(it.SK, holdings.TxSKPrefix) {
				continue // our own metadata items share the index partition
			}
			var tx holdings.Transaction
			if err := json.Unmarshal(it.Data, &tx); err != nil {
				return fmt.Errorf("decode transaction %s: %w", it.SK, err)
			}
			if o, ok := OtherAccountOf(tx); ok {
				found[o.ID] = o
			}
			if c := tx.Completed(); c.After(through) {
				through = c
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	puts := make([]store.Item, 0, len(found)+1)
	for _, o := range found {
		data, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("encode other account: %w", err)
		}
		k := OAKey(accountID, o.ID)
		puts = append(puts, store.Item{PK: k.PK, SK: k.SK, Data: data})
	}
	data, err := json.Marshal(scanState{Through: through})
	if err != nil {
		return fmt.Errorf("encode directory checkpoint: %w", err)
	}
	puts = append(puts, store.Item{PK: pk, SK: OAScanSK, Data: data})
	if err := s.Store.BatchWrite(ctx, puts, nil); err != nil {
		return fmt.Errorf("write directory: %w", err)
	}
	return nil
}
