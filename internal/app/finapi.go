package app

import (
	"context"
	"errors"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	finapiapi "github.com/openagg/openagg/internal/api/finapi"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
)

// Keyring seals stored bank credentials: KMS envelope encryption with
// Config.KMSKeyID (AWS; the SDK's usual configuration, AWS_ENDPOINT_URL_KMS
// included), else the local credentials key (the embedded default's key
// file or OPENAGG_CREDENTIALS_KEY).
func (a *App) Keyring() (credential.Keyring, error) {
	return a.svc.keyring.get(func() (credential.Keyring, error) {
		if a.Config.KMSKeyID != "" {
			cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(a.Config.Region))
			if err != nil {
				return nil, fmt.Errorf("credentials keyring: aws config: %w", err)
			}
			return credential.NewKMS(kms.NewFromConfig(cfg), a.Config.KMSKeyID)
		}
		if len(a.CredentialsKey) == 0 {
			return nil, errors.New("credentials keyring: no local credentials key and no OPENAGG_KMS_KEY_ID")
		}
		return credential.NewLocal(a.CredentialsKey)
	})
}

// Categorizer is finAPI's part of the holdings workers: it numbers finAPI
// accounts as the importer stores them (a hook of the holdings service),
// and categorizes each download (bankconn.JobCategorize on the holdings
// queue). It reads transactions through the App's one holdings service.
func (a *App) Categorizer() *bankconn.Categorizer {
	c, _ := a.svc.categorizer.get(func() (*bankconn.Categorizer, error) {
		return bankconn.NewCategorizer(bankconn.CategorizerDeps{Store: a.Store, Queue: a.Queue, Holdings: holdingsRef{a}, Clock: a.Clock, Log: a.Log})
	})
	return c
}

// holdingsRef is the App's holdings service, looked up at each call: the
// categorizer is one of that service's hooks, so it cannot be handed the
// service when it is built.
type holdingsRef struct{ a *App }

func (h holdingsRef) EnqueueImport(ctx context.Context, req holdings.ImportRequest) error {
	return h.a.Holdings().EnqueueImport(ctx, req)
}
func (h holdingsRef) Accounts(ctx context.Context, partyID string) ([]holdings.Account, error) {
	return h.a.Holdings().Accounts(ctx, partyID)
}
func (h holdingsRef) Account(ctx context.Context, accountID string) (holdings.Account, error) {
	return h.a.Holdings().Account(ctx, accountID)
}
func (h holdingsRef) Transactions(ctx context.Context, accountID string, q holdings.TxQuery) (holdings.TxPage, error) {
	return h.a.Holdings().Transactions(ctx, accountID, q)
}

// BankConnections is finAPI's bank connections over the party,
// connection, holdings and bank directory services.
func (a *App) BankConnections() (*bankconn.Service, error) {
	return a.svc.bankconns.get(func() (*bankconn.Service, error) {
		parties, err := a.Parties()
		if err != nil {
			return nil, err
		}
		conns, err := a.Connections()
		if err != nil {
			return nil, err
		}
		banks, err := a.BankDirectory()
		if err != nil {
			return nil, err
		}
		keys, err := a.Keyring()
		if err != nil {
			return nil, err
		}
		return bankconn.New(bankconn.Deps{Store: a.Store, Queue: a.Queue, Parties: parties, Conns: conns, Holdings: a.Holdings(),
			Banks: banks, Providers: a.Providers, Keyring: keys, Clock: a.Clock, Log: a.Log})
	})
}

// finapiGroup is the finAPI v1 group (bank connections, banks, accounts,
// transactions, categories). Its own router (the platform's) lets
// `openagg serve` mount it on /api/v1/ as a whole: beside POST
// .../bankConnections/import the mounting mux could not hold PATCH
// .../bankConnections/{id}.
func (a *App) finapiGroup() (Group, error) {
	svc, err := a.BankConnections()
	if err != nil {
		return Group{}, fmt.Errorf("finapi group: %w", err)
	}
	api := finapiapi.New(finapiapi.Deps{Log: a.Log, Clock: a.Clock, Service: svc})
	return Group{Name: "finapi", Render: finapiapi.Renderer(a.Log, a.Clock), Router: platform.Mux, Routes: api.Routes()}, nil
}
