package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/api/customers"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/customer"
	"github.com/openagg/openagg/internal/queue"
)

// customersGroup is the OBP 1.4.0 / 2.0.0 / 2.1.0 group: customers,
// links, social media handles, CRM events and roles.
func (a *App) customersGroup() (Group, error) {
	dir, err := a.BankDirectory()
	if err != nil {
		return Group{}, fmt.Errorf("customers group: %w", err)
	}
	svc, err := a.Customers()
	if err != nil {
		return Group{}, fmt.Errorf("customers group: %w", err)
	}
	api := customers.New(customers.Deps{Log: a.Log, Entitlements: a.Entitlements, Banks: customerBanks{dir: dir}, Customers: svc})
	return Group{Name: "customers", Render: api.Render, Routes: api.Routes()}, nil
}

// activityRecorder is the worker consuming queue.Activity: each event a
// connection's life reports becomes a CRM event of every customer linked
// to the party's owner at that bank, and a delivery to every webhook
// endpoint subscribed to its type. Recording reads no bank record, so it
// needs no directory.
func (a *App) activityRecorder() (Worker, error) {
	crm := customer.New(customer.Deps{Store: a.Store, Roles: a.Entitlements, Clock: a.Clock, Log: a.Log})
	hooks, err := a.Webhooks()
	if err != nil {
		return Worker{}, fmt.Errorf("activity-recorder: %w", err)
	}
	return Worker{Name: "activity-recorder", Queue: queue.Activity, Handler: queue.Consumer(a.Log, activity.Handler(activity.Sinks{crm, hooks}))}, nil
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
