package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// obpGroup is the OBP 1.2 group over the bank directory, the imported
// holdings (read straight from the store with the holdings key functions),
// views and metadata. Its routes are served by obp.Router (API Gateway
// matching): OBP 1.2 has paths net/http's ServeMux cannot hold together
// (…/permissions/USER_ID and …/VIEW_ID/account).
func (a *App) obpGroup() (Group, error) {
	dir, err := a.BankDirectory()
	if err != nil {
		return Group{}, fmt.Errorf("obp group: %w", err)
	}
	api := obp.New(obp.Deps{
		Store:     a.Store,
		Banks:     obpBanks{dir: dir},
		Views:     a.Views(),
		Metadata:  a.Metadata(),
		Log:       a.Log,
		HostedBy:  obp.HostedBy{Organisation: "OpenAgg"},
		GitCommit: platform.Version,
	})
	return Group{Name: "obp", Render: api.Render, Router: obp.Router, Routes: api.Routes()}, nil
}

// obpBanks is the bank directory as the OBP API sees it: BANK_ID is the
// bank code, a code listed by several providers is one bank.
type obpBanks struct{ dir *bank.Service }

var _ obp.BankRecords = obpBanks{}

func obpBank(b bank.Bank) obp.Bank {
	return obp.Bank{ID: b.Code, ShortName: b.Name, FullName: b.Name, Logo: b.LogoURL, Website: b.HomeURL}
}

func (o obpBanks) ListEnabled(ctx context.Context) ([]obp.Bank, error) {
	banks, err := o.dir.ListEnabled(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]obp.Bank, 0, len(banks))
	seen := map[string]bool{}
	for _, b := range banks {
		if !seen[b.Code] {
			seen[b.Code] = true
			out = append(out, obpBank(b))
		}
	}
	return out, nil
}

// RecordKeys are the directory records of a code, one per configured
// provider (what ByCode reads): the OBP API reads them in an account-level
// request's BatchGet (obp.BankRecords).
func (o obpBanks) RecordKeys(code string) []store.Key {
	if !bank.ValidCode(code) {
		return nil
	}
	providers := o.dir.Providers()
	keys := make([]store.Key, len(providers))
	for i, p := range providers {
		keys[i] = store.Key{PK: bank.ProviderPK(p), SK: bank.BankSK(code)}
	}
	return keys
}

// EnabledIn reports whether items list the code with access enabled at one
// of the providers, as ByCode decides.
func (o obpBanks) EnabledIn(code string, items map[store.Key]store.Item) (bool, error) {
	for _, k := range o.RecordKeys(code) {
		it, ok := items[k]
		if !ok {
			continue
		}
		var b bank.Bank
		if err := json.Unmarshal(it.Data, &b); err != nil {
			return false, fmt.Errorf("decode bank %s|%s: %w", it.PK, it.SK, err)
		}
		if b.AccessEnabled {
			return true, nil
		}
	}
	return false, nil
}

func (o obpBanks) ByCode(ctx context.Context, code string) (obp.Bank, bool, error) {
	b, err := o.dir.ByCode(ctx, code)
	if errors.Is(err, bank.ErrNotFound) {
		return obp.Bank{}, false, nil
	}
	if err != nil {
		return obp.Bank{}, false, err
	}
	return obpBank(b), true, nil
}
