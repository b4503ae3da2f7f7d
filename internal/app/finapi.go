package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	finapiapi "github.com/openagg/openagg/internal/api/finapi"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
)

// Keyring seals stored bank credentials: KMS envelope encryption with
// Config.KMSKeyID (AWS; the SDK's usual configuration, AWS_ENDPOINT_URL_KMS
// included), else the local credentials key (the embedded default's key
// file or OPENAGG_CREDENTIALS_KEY).
func (a *App) Keyring(ctx context.Context) (credential.Keyring, error) {
	if a.Config.KMSKeyID != "" {
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(a.Config.Region))
		if err != nil {
			return nil, fmt.Errorf("credentials keyring: aws config: %w", err)
		}
		return credential.NewKMS(kms.NewFromConfig(cfg), a.Config.KMSKeyID)
	}
	if len(a.CredentialsKey) == 0 {
		return nil, errors.New("credentials keyring: no local credentials key and no OPENAGG_KMS_KEY_ID")
	}
	return credential.NewLocal(a.CredentialsKey)
}

// importer is a holdings service for those who queue imports and read
// holdings without being the importer (no account hook).
func (a *App) importer() *holdings.Service {
	return holdings.New(holdings.Config{Store: a.Store, Queue: a.Queue, Providers: a.Provider, Clock: a.Clock, Log: a.Log, RunGuard: connection.Key})
}

// Categorizer is finAPI's part of the holdings workers: it numbers finAPI
// accounts as the importer stores them, and categorizes each download
// (bankconn.JobCategorize on the holdings queue).
func (a *App) Categorizer() (*bankconn.Categorizer, error) {
	return bankconn.NewCategorizer(bankconn.CategorizerDeps{Store: a.Store, Queue: a.Queue, Holdings: a.importer(), Clock: a.Clock, Log: a.Log})
}

// BankConnections builds finAPI's bank connections over the party,
// connection, holdings and bank directory services.
func (a *App) BankConnections(ctx context.Context) (*bankconn.Service, error) {
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
	keys, err := a.Keyring(ctx)
	if err != nil {
		return nil, err
	}
	return bankconn.New(bankconn.Deps{Store: a.Store, Queue: a.Queue, Parties: parties, Conns: conns, Holdings: a.importer(),
		Banks: banks, Providers: a.Providers, Keyring: keys, Clock: a.Clock, Log: a.Log})
}

// finapiGroup is the finAPI v1 group (bank connections, banks, accounts,
// transactions, categories).
func (a *App) finapiGroup() Group {
	render := finapiapi.Renderer(a.Log, a.Clock)
	// Its own router (the platform's) so that `openagg serve` mounts it on
	// /api/v1/ as a whole: beside POST .../bankConnections/import the
	// mounting mux could not hold PATCH .../bankConnections/{id}.
	return Group{Name: "finapi", Render: render, Router: platform.Mux, Routes: func() []platform.Route {
		svc, err := a.BankConnections(context.Background())
		if err != nil {
			// A broken provider registry or keyring: keep the routes (the
			// SAM template and the mux agree) and answer each with the cause.
			a.Log.Error("finapi group: services unavailable", "err", err)
			routes := finapiapi.New(finapiapi.Deps{Log: a.Log, Clock: a.Clock}).Routes()
			for i := range routes {
				routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
			}
			return routes
		}
		return finapiapi.New(finapiapi.Deps{Log: a.Log, Clock: a.Clock, Service: svc}).Routes()
	}}
}

// holdingsJobs is the holdings-importer's handler: import steps, and the
// finAPI categorization that follows a download.
func (a *App) holdingsJobs() queue.Handler {
	imports := a.Holdings()
	cat, err := a.Categorizer()
	return func(ctx context.Context, job queue.Job) error {
		if job.Type == bankconn.JobCategorize {
			if err != nil {
				return err // retried, then dead-lettered with the cause logged
			}
			return cat.HandleJob(ctx, job)
		}
		return imports.HandleJob(ctx, job)
	}
}
