package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/openagg/openagg/internal/provider"
)

// Codes of the banks with a special behaviour (all others are ordinary).
const (
	// BankChallenge asks a challenge question after the login (interactive).
	BankChallenge = "sandbox_challenge_bank_web_client_gb_xf"
	// BankFailing accepts the credentials, then fails every login and fetch
	// with a provider error.
	BankFailing = "sandbox_failing_bank_oauth_client_de_xf"
	// BankSlow takes Options.SlowDelay for every fetch.
	BankSlow = "sandbox_slow_bank_web_client_fr_xf"
	// BankBig has three business accounts (GBP, EUR, USD) with five years of
	// daily transactions, more than 100,000 in all.
	BankBig = "sandbox_big_bank_api_client_gb_xf"
	// BankInactive is listed with status "inactive" and cannot be connected.
	BankInactive = "fake_inactive_bank_oauth_client_xf_xf"
	// BankDefault is an ordinary bank, handy in examples and tests.
	BankDefault = "sandbox_bank_oauth_client_gb_xf"
)

// BankPageSize is the number of banks per ListBanks page.
const BankPageSize = 10

// bankUpdatedAt is the fixed "last changed" time of the directory, so the
// directory is identical on every run.
var bankUpdatedAt = time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)

// placeholderLogo is Salt Edge's generic logo for fake providers.
const placeholderLogo = "https://d1uuj3mi6rzwpm.cloudfront.net/logos/providers/xf/placeholder_global.svg"

// accountKind selects the generation profile of an account (data.go).
type accountKind int

const (
	kindCurrent  accountKind = iota // salary, rent, bills, card payments
	kindSavings                     // monthly top-up and interest, rare transfers
	kindCard                        // card purchases, monthly repayment
	kindBusiness                    // many payments in and out every day
)

// accountSpec fixes one account of a bank whose accounts are not drawn at
// random (the big bank).
type accountSpec struct {
	Name     string
	Nature   string
	Currency string
	Kind     accountKind
}

type bankDef struct {
	provider.Bank
	ID string // Salt Edge provider id: the ListBanks cursor
	// Currencies the bank's accounts are drawn from (first: current account).
	Currencies []string
	// Fixed accounts, instead of 1–3 drawn ones.
	Fixed []accountSpec
	// HistoryDays is how far back transactions go from today.
	HistoryDays int
	Failing     bool
	Slow        bool
}

var (
	scopesAll   = []string{"accounts", "holder_info", "transactions"}
	scopesNoHI  = []string{"accounts", "transactions"}
	naturesAll  = []string{"account", "card", "savings", "credit_card"}
	typesBoth   = []string{"personal", "business"}
	typesPers   = []string{"personal"}
	typesBiz    = []string{"business"}
	tzByCountry = map[string]string{
		"GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris",
		"LU": "Europe/Luxembourg", "XF": "UTC",
	}
)

// bank builds a directory entry; slug names the fake web site.
func bank(id, code, name, country, mode, slug string, currencies []string, history int) bankDef {
	b := bankDef{
		Bank: provider.Bank{
			Code:                    code,
			Name:                    name,
			CountryCode:             country,
			Mode:                    mode,
			Status:                  "active",
			HomeURL:                 "https://www." + slug + ".example",
			LoginURL:                "https://online." + slug + ".example/login",
			LogoURL:                 placeholderLogo,
			Timezone:                tzByCountry[country],
			SupportedFetchScopes:    scopesAll,
			SupportedAccountNatures: naturesAll,
			SupportedAccountTypes:   typesBoth,
			MaxConsentDays:          90,
			UpdatedAt:               bankUpdatedAt,
		},
		ID:          id,
		Currencies:  currencies,
		HistoryDays: history,
	}
	if mode != "oauth" {
		b.MaxConsentDays = 180
	}
	if country == "XF" {
		b.MaxConsentDays = 365
	}
	return b
}

// directory is the fixed list of sandbox banks, ordered by id.
func directory() []bankDef {
	gbp, eur := []string{"GBP"}, []string{"EUR"}
	banks := []bankDef{
		bank("1001", BankDefault, "Sandbox Bank UK", "GB", "oauth", "sandbox-bank-uk", gbp, 730),
		bank("1002", BankBig, "Sandbox Big Bank", "GB", "api", "sandbox-big-bank", gbp, 5*365+1),
		bank("1003", BankChallenge, "Sandbox Challenge Bank", "GB", "web", "sandbox-challenge-bank", gbp, 365),
		bank("1004", "thames_building_society_web_client_gb_xf", "Thames Building Society (Sandbox)", "GB", "web", "thames-bs", []string{"GBP", "EUR"}, 730),
		bank("1005", "sandbox_bank_oauth_client_de_xf", "Sandbox Bank Deutschland", "DE", "oauth", "sandbox-bank-de", eur, 730),
		bank("1006", BankFailing, "Sandbox Failing Bank", "DE", "oauth", "sandbox-failing-bank", eur, 365),
		bank("1007", "rhein_sparkasse_api_client_de_xf", "Rhein Sparkasse (Sandbox)", "DE", "api", "rhein-sparkasse", []string{"EUR", "USD"}, 365),
		bank("1008", "sandbox_bank_oauth_client_fr_xf", "Sandbox Banque France", "FR", "oauth", "sandbox-banque-fr", eur, 730),
		bank("1009", BankSlow, "Sandbox Slow Bank", "FR", "web", "sandbox-slow-bank", eur, 180),
		bank("1010", "banque_des_alpes_file_client_fr_xf", "Banque des Alpes (Sandbox)", "FR", "file", "banque-des-alpes", []string{"EUR", "CHF"}, 365),
		bank("1011", "sandbox_bank_api_client_lu_xf", "Sandbox Bank Luxembourg", "LU", "api", "sandbox-bank-lu", []string{"EUR", "USD"}, 730),
		bank("1012", "bkbklull_oauth_client_lu_xf", "Bankinter PSD2 (Sandbox)", "XF", "oauth", "bankinter", eur, 365),
		bank("1013", "bank_of_east_asia_oauth_client_gb_xf", "Bank of East Asia Open Banking", "XF", "oauth", "hkbea", gbp, 365),
		bank("1014", "fake_demo_bank_web_client_xf_xf", "Fake Demo Bank", "XF", "web", "fake-demo-bank", []string{"CHF", "JPY", "EUR"}, 365),
		bank("1015", "fake_business_bank_api_client_xf_xf", "Fake Business Bank", "XF", "api", "fake-business-bank", []string{"USD", "GBP"}, 365),
		bank("1016", BankInactive, "Fake Inactive Bank", "XF", "oauth", "fake-inactive-bank", eur, 365),
		bank("1017", BankDemo, "finAPI Demo Bank (Sandbox)", "DE", "web", "demo-bank", eur, 365), // demo.go
	}
	for i := range banks {
		b := &banks[i]
		switch b.Code {
		case BankBig:
			b.SupportedAccountTypes = typesBoth
			b.SupportedAccountNatures = []string{"account"}
			b.Fixed = []accountSpec{
				{Name: "Business Current Account", Nature: "account", Currency: "GBP", Kind: kindBusiness},
				{Name: "Euro Business Account", Nature: "account", Currency: "EUR", Kind: kindBusiness},
				{Name: "US Dollar Business Account", Nature: "account", Currency: "USD", Kind: kindBusiness},
			}
		case BankChallenge:
			b.Interactive = true
		case BankFailing:
			b.Failing = true
		case BankSlow:
			b.Slow = true
		case BankInactive:
			b.Status = "inactive"
		case "bkbklull_oauth_client_lu_xf":
			// As printed in the Aggregation API reference.
			b.HomeURL, b.LoginURL = "https://www.bankinter.lu", "https://www.bankinter.lu"
			b.Timezone = "Europe/Luxembourg"
			b.SupportedFetchScopes = scopesNoHI
			b.SupportedAccountNatures = []string{"account"}
			b.SupportedAccountTypes = typesPers
		case "bank_of_east_asia_oauth_client_gb_xf":
			b.Timezone = "Europe/London"
			b.SupportedAccountTypes = typesPers
		case "fake_business_bank_api_client_xf_xf":
			b.SupportedAccountTypes = typesBiz
		}
	}
	return banks
}

// ListBanks implements provider.Provider: the directory in id order, paged
// by BankPageSize; the cursor is the id of the first bank of the next page
// (Salt Edge next_id / from_id), so a bank hidden between two pages does not
// shift the paging.
func (p *Provider) ListBanks(ctx context.Context, cursor string) (provider.BankPage, error) {
	from := uint64(0)
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			return provider.BankPage{}, fmt.Errorf("list banks: %w: bad cursor %q", provider.ErrInvalid, cursor)
		}
		from = n
	}
	var page provider.BankPage
	for i := range p.banks {
		b := &p.banks[i]
		id, _ := strconv.ParseUint(b.ID, 10, 64)
		if id < from || p.hidden[b.Code] {
			continue
		}
		if len(page.Banks) == BankPageSize {
			page.Next = b.ID
			break
		}
		page.Banks = append(page.Banks, copyBank(b.Bank))
	}
	return page, nil
}

// copyBank returns b with its slices copied, so callers cannot change the
// directory.
func copyBank(b provider.Bank) provider.Bank {
	b.SupportedFetchScopes = append([]string(nil), b.SupportedFetchScopes...)
	b.SupportedAccountNatures = append([]string(nil), b.SupportedAccountNatures...)
	b.SupportedAccountTypes = append([]string(nil), b.SupportedAccountTypes...)
	return b
}

// Bank returns one listed bank by code (Salt Edge GET /providers/{code}), or
// provider.ErrNotFound for an unknown or hidden code.
func (p *Provider) Bank(ctx context.Context, code string) (provider.Bank, error) {
	b, ok := p.byCode[code]
	if !ok || p.hidden[code] {
		return provider.Bank{}, fmt.Errorf("bank %s: %w", code, provider.ErrNotFound)
	}
	return copyBank(b.Bank), nil
}
