package app

import (
	"sync"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/deploy"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/view"
	"github.com/openagg/openagg/internal/webhook"
)

// once builds a value the first time it is asked for and keeps it (or the
// error) for the life of the App: each domain service exists once, however
// many groups, workers and schedules use it, and only the services a
// function needs are built (and linked into its binary).
type once[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (o *once[T]) get(build func() (T, error)) (T, error) {
	o.once.Do(func() { o.v, o.err = build() })
	return o.v, o.err
}

// services are the App's domain services, each built on first use.
type services struct {
	banks    once[*bank.Service]
	parties  once[*party.Service]
	holdings once[*holdings.Service]
	conns    once[*connection.Service]
	views    once[*view.Service]
	meta     once[*metadata.Service]
	customer once[*customer.Service]

	keyring     once[credential.Keyring]
	webhooks    once[*webhook.Service]
	categorizer once[*bankconn.Categorizer]
	bankconns   once[*bankconn.Service]
}

// BankDirectory is the bank directory over the configured providers: the
// system group and the directory-loader use it, and so do other groups
// (connection creation checks banks, the OBP APIs list the enabled ones).
func (a *App) BankDirectory() (*bank.Service, error) {
	return a.svc.banks.get(func() (*bank.Service, error) {
		return bank.New(bank.Deps{Store: a.Store, Queue: a.Queue, Providers: a.orderedProviders(), Clock: a.Clock, Log: a.Log})
	})
}

// Parties is the party profile service. New profiles get their customer at
// the last configured provider (Salt Edge when configured, else the
// sandbox); a party connecting a bank of another provider gets a customer
// there on the way.
func (a *App) Parties() (*party.Service, error) {
	return a.svc.parties.get(func() (*party.Service, error) {
		primary := platform.ProviderSandbox
		for _, name := range a.Config.Providers {
			if _, ok := a.Providers[name]; ok {
				primary = name
			}
		}
		return party.New(party.Deps{Store: a.Store, Providers: a.Providers, Roles: a.Entitlements, Clock: a.Clock, CompanyID: a.Config.CompanyID, Provider: primary})
	})
}

// Views is the OBP views and account access service.
func (a *App) Views() *view.Service {
	v, _ := a.svc.views.get(func() (*view.Service, error) {
		return view.New(view.Deps{Store: a.Store, Provider: a.Config.JWTIssuer}), nil
	})
	return v
}

// Metadata is the OBP metadata service (other accounts, transactions).
func (a *App) Metadata() *metadata.Service {
	m, _ := a.svc.meta.get(func() (*metadata.Service, error) {
		return metadata.New(metadata.Deps{Store: a.Store, Clock: a.Clock}), nil
	})
	return m
}

// Holdings is the holdings service (import, removal, reads): the holdings
// group, the holdings-importer worker, the connection service (removal) and
// the OBP API use it. Imported accounts are announced to the OBP views (the
// party owner gets the owner view; the account label follows its name).
func (a *App) Holdings() *holdings.Service {
	h, _ := a.svc.holdings.get(func() (*holdings.Service, error) {
		return holdings.New(holdings.Deps{
			Store: a.Store, Queue: a.Queue, Providers: a.Provider, Clock: a.Clock, Log: a.Log,
			// The party owner gets the owner view of each imported account;
			// finAPI numbers its accounts and categorizes each download.
			Hook: holdings.Hooks{a.Views(), a.Categorizer()}, Limits: a.importLimits,
			// A run starts only while the party's connection exists: a job
			// that outlives the connection's removal writes nothing.
			RunGuard: connection.Key,
			// The queue's last delivery of a step records its failure
			// rather than leave the run "running" behind a dead letter.
			MaxReceiveCount: holdingsMaxReceiveCount(),
			Activity:        a.activitySink(),
			// Sync cursors are sealed like the store's page tokens.
			TokenSecret: a.PageTokenSecret,
		}), nil
	})
	return h
}

// Connections is the connection service: the party and connect groups, the
// connection-sync worker and the refresh scheduler use it. Removing a
// connection deletes its imported data through the holdings service.
func (a *App) Connections() (*connection.Service, error) {
	return a.svc.conns.get(func() (*connection.Service, error) {
		parties, err := a.Parties()
		if err != nil {
			return nil, err
		}
		banks, err := a.BankDirectory()
		if err != nil {
			return nil, err
		}
		return connection.New(connection.Deps{
			Store: a.Store, Queue: a.Queue, Providers: a.Providers, Parties: parties,
			Banks: banks, Data: a.Holdings(), Clock: a.Clock, Log: a.Log, Activity: a.activitySink(),
			Config: connection.Config{SettleAfter: a.Config.ConnectSettleAfter},
		})
	})
}

// Customers is the customer domain (OBP customers, user–customer links,
// social media handles, CRM events) over the stored entitlements and the
// bank directory as OBP sees it.
func (a *App) Customers() (*customer.Service, error) {
	return a.svc.customer.get(func() (*customer.Service, error) {
		dir, err := a.BankDirectory()
		if err != nil {
			return nil, err
		}
		return customer.New(customer.Deps{Store: a.Store, Roles: a.Entitlements, Banks: dir, Clock: a.Clock, Log: a.Log}), nil
	})
}

// activitySink is where the connection and holdings domains report a
// connection's life: queue.Activity, so that reporting costs their
// requests and jobs no store call; the activity-recorder worker records
// each event (activityRecorder).
func (a *App) activitySink() activity.Sink {
	return activity.Queued{Sender: a.Queue, Now: a.Clock.Now, NewKey: platform.NewID}
}

// holdingsMaxReceiveCount is the holdings queue's maxReceiveCount from its
// consumer settings, the one source the template, `openagg setup`, the SQS
// workers and the embedded queue take it from.
func holdingsMaxReceiveCount() int {
	c, _ := deploy.ConsumerOf(queue.Holdings)
	return c.MaxReceiveCount
}
