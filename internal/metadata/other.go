package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
)

// OtherAccount is a counterparty of the account's transactions.
type OtherAccount struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	IBAN string `json:"iban,omitempty"`
}

// OtherAccountOf returns the other account of a transaction, if it has one.
func OtherAccountOf(tx holdings.Transaction) (OtherAccount, bool) {
	c, ok := holdings.CounterpartyOf(tx)
	if !ok {
		return OtherAccount{}, false
	}
	return OtherAccountFrom(c), true
}

// OtherAccountFrom is the other account of an entry of the account's
// counterparty directory (holdings.Counterparties). A holder always shows a
// name (OBP 1.2): the IBAN, or the id, when the bank gave none.
func OtherAccountFrom(c holdings.Counterparty) OtherAccount {
	name := c.Name
	if name == "" {
		name = c.IBAN
	}
	if name == "" {
		name = c.ID
	}
	return OtherAccount{ID: c.ID, Name: name, IBAN: c.IBAN}
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
		return fault.Errorf(ErrInvalid, "%s must not be empty.", name)
	}
	if len(v) > maxTextLen {
		return fault.Errorf(ErrTooLong, "Value too long: %s is limited to %d characters.", name, maxTextLen)
	}
	return nil
}

// ValidLabel checks an image label (it may be empty).
func ValidLabel(v string) error {
	if len(v) > maxTextLen {
		return fault.Errorf(ErrTooLong, "Value too long: label is limited to %d characters.", maxTextLen)
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
		err = s.store.Put(ctx, it, cond)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrTooLarge):
			return fault.Wrap(ErrTooMuch, err, "Too much metadata on this account's other accounts.")
		case !errors.Is(err, store.ErrConditionFailed):
			return fmt.Errorf("save other-account metadata %s: %w", doc.AccountID, err)
		}
		if doc, err = s.LoadOADoc(ctx, doc.AccountID); err != nil {
			return err
		}
	}
	return fault.Errorf(ErrConflict, conflictMessage)
}

// LoadOADoc reads the other-account metadata of an account (empty if none).
func (s *Service) LoadOADoc(ctx context.Context, accountID string) (OADoc, error) {
	it, err := s.store.Get(ctx, OADocKey(accountID))
	if errors.Is(err, store.ErrNotFound) {
		return OADoc{AccountID: accountID}, nil
	}
	if err != nil {
		return OADoc{}, fmt.Errorf("load other-account metadata %s: %w", accountID, err)
	}
	return DecodeOADoc(it)
}
