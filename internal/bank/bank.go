// Package bank is the bank directory: the banks each configured provider
// offers, loaded asynchronously (one queue.Directory job per provider page),
// with OpenAgg's own stable internal id ("BD" + 10 digits) and access flag
// per bank. The Aggregation system API reads and administers it; connection
// creation checks it (Get); the OBP 1.2 API lists the banks whose access is
// enabled (ListEnabled, ByCode).
//
// Storage layout (docs/data-model.md, "Bank directory"):
//
//	bank        PK=BANKDIR#<provider>  SK=BANK#<code>  GSI1PK=BANKDIR#COUNTRY#<CC>  GSI1SK=<name folded>#<provider>#<code>
//	bank id     PK=BANKID#<internalId> SK=#BANKID      GSI1PK=BANKDIR#ENABLED       GSI1SK=<code>#<provider>   (GSI1 only while access is enabled)
//	load state  PK=BANKDIR#<provider>  SK=#LOAD
//
// The bank item holds the whole record (Data = JSON of Bank). Its partition
// is the provider, so a code+provider lookup is one Get, "this code at every
// configured provider" is one BatchGet and the end-of-load sweep is a query
// of one partition. The country index sorts by the case-folded bank name.
//
// The bank-id item is a pointer ({provider, code}) that makes the internal
// id unique (it is created with the bank in one transaction, conditionally)
// and resolves an id in a second Get. While the bank's access is enabled the
// pointer also sits in the GSI1 partition BANKDIR#ENABLED, which is the list
// of enabled banks the OBP API reads (one index query + one BatchGet).
//
// Internal ids are derived from provider and code (a hash, see InternalID),
// so a directory rebuilt from scratch gets the same ids; a collision is
// detected by the conditional write of the pointer and resolved by probing
// the next derivation. Once written, an id is never reassigned: reloads copy
// it from the stored record, as they copy the access flag.
//
// New banks start with access enabled: the directory mirrors what the
// providers offer, and an administrator opts banks out with
// PUT /system/bank/{code}/access rather than having to opt every bank in
// after each load.
package bank

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

// Provider status of a bank (Salt Edge provider status, plus "inactive" once
// the provider stops listing the bank).
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
	StatusDisabled = "disabled"
)

// RoleManageDirectory is the role (OBP-style entitlement name) that loads
// the directory and enables or disables access to banks.
const RoleManageDirectory = "CanManageBankDirectory"

// JobLoad is the queue.Directory job type; its payload is a LoadPayload.
const JobLoad = "directory.load"

// Errors of the directory (fault kinds). They come wrapped in a
// *platform.Error carrying the status and code the Aggregation API
// renders; the OBP dialects map the kinds (api/obperr).
var (
	ErrNotFound        = fault.New(fault.NotFound, "bank: not found")
	ErrUnknownProvider = fault.New(fault.NotFound, "bank: unknown provider")
	ErrInvalid         = fault.New(fault.Invalid, "bank: invalid request")
)

// Bank is one provider's bank in the directory.
type Bank struct {
	Code        string `json:"code"`
	Provider    string `json:"provider"`
	InternalID  string `json:"internalId"`
	Name        string `json:"name"`
	CountryCode string `json:"countryCode"`
	HomeURL     string `json:"homeUrl"`
	LoginURL    string `json:"loginUrl"`
	LogoURL     string `json:"logoUrl"`
	TimeZone    string `json:"timeZone"`
	Mode        string `json:"mode"` // oauth, web, api, file
	// ProviderStatus mirrors the provider (active, inactive, disabled) and
	// becomes inactive when a complete load no longer lists the bank.
	ProviderStatus          string   `json:"providerStatus"`
	SupportedAccountNatures []string `json:"supportedAccountNatures"`
	SupportedFetchScopes    []string `json:"supportedFetchScopes"`
	SupportedAccountTypes   []string `json:"supportedAccountTypes"`
	MaxConsentDays          int      `json:"maxConsentDays,omitempty"`
	Interactive             bool     `json:"interactive,omitempty"`
	// AccessEnabled is OpenAgg's access flag (PUT /system/bank/{code}/access);
	// loads never change it.
	AccessEnabled bool `json:"accessEnabled"`
	// LastSeenLoad is the id of the latest load that listed the bank. Load
	// ids sort by start time, so a load never overwrites a newer one's work.
	LastSeenLoad      string    `json:"lastSeenLoad"`
	ProviderUpdatedAt time.Time `json:"providerUpdatedAt,omitzero"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`

	// Version is the stored item's optimistic-locking version.
	Version int64 `json:"-"`
}

// SupportsFetchScope reports whether the bank serves scope (accounts,
// holder_info, transactions).
func (b Bank) SupportsFetchScope(scope string) bool {
	return slices.Contains(b.SupportedFetchScopes, scope)
}

// SupportsAccountType reports whether the bank serves accounts of type t
// (personal, business).
func (b Bank) SupportsAccountType(t string) bool { return slices.Contains(b.SupportedAccountTypes, t) }

// Listed reports whether the provider still lists the bank as usable.
func (b Bank) Listed() bool { return b.ProviderStatus == StatusActive }

// Key functions: the only place these strings are built.

// ProviderPK is the partition of a provider's banks and load state.
func ProviderPK(provider string) string { return "BANKDIR#" + provider }

// BankSKPrefix starts the sort key of every bank item.
const BankSKPrefix = "BANK#"

// BankSK is the sort key of a bank item.
func BankSK(code string) string { return BankSKPrefix + code }

// LoadSK is the sort key of a provider's load state.
const LoadSK = "#LOAD"

// IDPK is the partition of an internal id's pointer item.
func IDPK(internalID string) string { return "BANKID#" + internalID }

// IDSK is the sort key of an internal id's pointer item.
const IDSK = "#BANKID"

// CountryGSI1PK is the index partition of a country's banks.
func CountryGSI1PK(country string) string { return "BANKDIR#COUNTRY#" + strings.ToUpper(country) }

// CountryGSI1SK orders a country's banks by case-folded name.
func CountryGSI1SK(b Bank) string {
	return foldName(b.Name) + "#" + b.Provider + "#" + b.Code
}

// EnabledGSI1PK is the index partition of the banks with access enabled.
const EnabledGSI1PK = "BANKDIR#ENABLED"

// EnabledGSI1SK orders enabled banks by code, then provider.
func EnabledGSI1SK(provider, code string) string { return code + "#" + provider }

// maxSortName bounds the name part of the country sort key (DynamoDB sort
// keys are limited to 1024 bytes).
const maxSortName = 200

func foldName(name string) string {
	s := strings.ToLower(strings.TrimSpace(name))
	if len(s) <= maxSortName {
		return s
	}
	// Cut at a rune boundary.
	for i := maxSortName; i > 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return s[:i]
		}
	}
	return ""
}

// Internal ids.

const idPrefix = "BD"

// InternalID derives the internal id of provider's bank code for probe n
// (0 first; the next probe after a collision): "BD" and 10 decimal digits of
// a SHA-256 of the three values.
func InternalID(provider, code string, probe int) string {
	h := sha256.New()
	h.Write([]byte(provider))
	h.Write([]byte{0})
	h.Write([]byte(code))
	h.Write([]byte{0})
	h.Write([]byte(fmt.Sprint(probe)))
	sum := h.Sum(nil)
	return fmt.Sprintf("%s%010d", idPrefix, binary.BigEndian.Uint64(sum[:8])%10_000_000_000)
}

// ValidInternalID reports whether s has the form "BD" + 10 digits.
func ValidInternalID(s string) bool {
	if len(s) != len(idPrefix)+10 || !strings.HasPrefix(s, idPrefix) {
		return false
	}
	for _, r := range s[len(idPrefix):] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// MaxCodeLen bounds a bank code (Salt Edge codes are well below it).
const MaxCodeLen = 128

// ValidCode reports whether code can be a bank code: 1 to MaxCodeLen
// letters, digits, '_', '-' or '.'. Salt Edge provider codes are lower-case
// letters, digits and underscores.
func ValidCode(code string) bool {
	if code == "" || len(code) > MaxCodeLen {
		return false
	}
	return strings.IndexFunc(code, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0
}

// ValidCountry reports whether cc is a two-letter country code (ISO 3166
// alpha-2, or Salt Edge's fake "XF"), in either case.
func ValidCountry(cc string) bool {
	if len(cc) != 2 {
		return false
	}
	for _, r := range cc {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Error constructors: the status and code the API renders, wrapping the
// package's sentinel so callers can test with errors.Is.

func withCause(e *platform.Error, cause error) error {
	e.Err = cause
	return e
}

func notFound(provider, code string) error {
	return withCause(platform.NotFound("BANK_NOT_FOUND", "bank '%s' not found for provider '%s'", code, provider), ErrNotFound)
}

func codeNotFound(code string) error {
	return withCause(platform.NotFound("BANK_NOT_FOUND", "bank '%s' not found", code), ErrNotFound)
}

func idNotFound(id string) error {
	return withCause(platform.NotFound("BANK_NOT_FOUND", "no bank with internal id '%s'", id), ErrNotFound)
}

func unknownProvider(name string) error {
	return withCause(platform.NotFound("PROVIDER_NOT_FOUND", "provider '%s' is not configured", name), ErrUnknownProvider)
}

func invalid(code, format string, args ...any) error {
	return withCause(platform.BadRequest(code, format, args...), ErrInvalid)
}
