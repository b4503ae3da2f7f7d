package app

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/api/customers"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/platform"
)

// Customers builds the customer domain (OBP customers, user–customer
// links, social media handles, CRM events) over the stored entitlements
// and the bank directory as OBP sees it. It is cheap: no I/O.
func (a *App) Customers() (*customer.Service, error) {
	dir, err := a.BankDirectory()
	if err != nil {
		return nil, err
	}
	return &customer.Service{Store: a.Store, Roles: a.Entitlements, Banks: obpBanks{dir: dir}, Clock: a.Clock, Log: a.Log}, nil
}

// activitySink is where the connection and holdings domains report a
// connection's life: the customer domain, which records a CRM event for
// every customer linked to the party's owner at that bank. Recording
// reads no bank record, so it needs no directory.
func (a *App) activitySink() activity.Sink {
	return &customer.Service{Store: a.Store, Roles: a.Entitlements, Clock: a.Clock, Log: a.Log}
}

// customersGroup is the OBP 1.4.0 / 2.0.0 / 2.1.0 group: customers,
// links, social media handles, CRM events and roles.
func (a *App) customersGroup() Group {
	render := customers.New(customers.Deps{Log: a.Log}).Render
	return Group{Name: "customers", Render: render, Routes: func() []platform.Route {
		dir, err := a.BankDirectory()
		var svc *customer.Service
		if err == nil {
			svc, err = a.Customers()
		}
		if err != nil {
			// A broken provider registry: keep the routes (the SAM template
			// and the mux agree) and answer each with the cause.
			a.Log.Error("customers group: bank directory unavailable", "err", err)
			routes := customers.New(customers.Deps{Log: a.Log}).Routes()
			for i := range routes {
				routes[i].Handler = func(w http.ResponseWriter, r *http.Request) { render(w, r, err) }
			}
			return routes
		}
		return customers.New(customers.Deps{Log: a.Log, Entitlements: a.Entitlements, Banks: customerBanks{dir: dir}, Customers: svc}).Routes()
	}}
}

// customerBanks: an OBP BANK_ID is the code of a bank whose access is
// enabled (as in the OBP 1.2 group); a code no bank can have is no bank.
type customerBanks struct{ dir *bank.Service }

func (c customerBanks) Exists(ctx context.Context, bankID string) (bool, error) {
	if !bank.ValidCode(bankID) {
		return false, nil
	}
	_, err := c.dir.ByCode(ctx, bankID)
	if errors.Is(err, bank.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// channels name, in activity events (the CRM events' channel), where the
// requests of each API group come from.
var channels = map[string]string{
	"party":     activity.ChannelAggregation,
	"holdings":  activity.ChannelAggregation,
	"system":    activity.ChannelAggregation,
	"connect":   activity.ChannelConnectPage,
	"obp":       activity.ChannelOBP,
	"customers": activity.ChannelOBP,
}

// activityChannel tags each request of a group with its channel (a
// provider callback apart from the connect page it shares a group with).
func activityChannel(group string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ch := channels[group]
			if group == "connect" && strings.HasPrefix(r.URL.Path, "/callbacks/") {
				ch = activity.ChannelCallback
			}
			next.ServeHTTP(w, r.WithContext(activity.WithChannel(r.Context(), ch)))
		})
	}
}
