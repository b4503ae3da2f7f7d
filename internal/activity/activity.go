// Package activity is how the domains that run a user's bank connections
// (connection, holdings) report what happened, without knowing who listens:
// a small neutral Event and a Sink. The reporters' sink queues the event
// (Queued: no store call on their path); the activity-recorder worker hands
// it to the listeners. The customer domain is the listener today (each
// event becomes an OBP CRM event of every customer linked to the user at
// that bank); the reporters know nothing of customers.
//
// Reporting never fails the operation it describes: Report logs a sink's
// error and returns. The channel an event came through (a dialect, the
// connect page, a background job) travels in the context: the composition
// root tags each API group's requests and each worker's jobs, and a job
// carries its requester's channel across the queue.
package activity

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Kind is what happened.
type Kind string

// The kinds of a connection's life and of its imports.
const (
	ConnectionCreated   Kind = "connection.created"   // a connect session was started (pending)
	ConnectionActivated Kind = "connection.activated" // the user logged in at the bank: data can flow
	ConnectionFailed    Kind = "connection.failed"    // a connect attempt failed, or the bank/provider stopped the connection
	ConnectionRefreshed Kind = "connection.refreshed" // the provider refreshed the connection (manual or daily)
	ConnectionRemoved   Kind = "connection.removed"   // removed by the user, or no longer known by the provider
	ImportCompleted     Kind = "import.completed"     // accounts and transactions imported
	ImportFailed        Kind = "import.failed"        // an import run gave up
	ConsentExpiring     Kind = "consent.expiring"     // the consent given at the bank ends soon
	// TransactionsChanged: an import or a removal committed changes to
	// the party's transaction change log (GET .../transactions/sync);
	// AccountIDs name the accounts concerned.
	TransactionsChanged Kind = "transactions.sync_available"
)

// Channels: where an event came from.
const (
	ChannelAggregation = "Aggregation API"
	ChannelConnectPage = "connect page"
	ChannelCallback    = "provider callback"
	ChannelOBP         = "Open Bank Project API"
	ChannelScheduler   = "daily refresh"
	ChannelSync        = "provider sync"
	ChannelImporter    = "import"
	ChannelSystem      = "system"
)

// Event is one thing that happened between a user and a bank.
type Event struct {
	Kind Kind `json:"kind"`
	// Key identifies the occurrence: reported twice with the same key, it
	// is recorded once. Empty: every report is a new occurrence.
	Key string `json:"key,omitempty"`
	// UserID is the user the event concerns: the owner (token sub) of the
	// party whose connection it is.
	UserID   string `json:"userId"`
	PartyID  string `json:"partyId,omitempty"`
	BankCode string `json:"bankCode"`
	BankName string `json:"bankName,omitempty"`
	Provider string `json:"provider,omitempty"`
	// Channel is where the event came from; Report fills it from the
	// context when empty.
	Channel string `json:"channel,omitempty"`
	Detail  string `json:"detail,omitempty"` // what happened, in a sentence
	Result  string `json:"result,omitempty"` // the outcome in a word or two ("active", "failed", ...)
	// At is when it happened; Scheduled when it is due (a consent's end),
	// zero when it is not about a future date.
	At        time.Time `json:"at"`
	Scheduled time.Time `json:"scheduled,omitzero"`
	// Counts of an import (import.completed): the accounts and
	// transactions it stored, and what it added to, modified in and
	// removed from the party's transaction change log.
	Counts *Counts `json:"counts,omitempty"`
	// AccountIDs are the accounts an event concerns (transactions.sync_available).
	AccountIDs []string `json:"accountIds,omitempty"`
}

// Counts are an import's figures.
type Counts struct {
	Accounts     int   `json:"accounts"`
	Transactions int64 `json:"transactions"`
	Added        int64 `json:"added"`
	Modified     int64 `json:"modified"`
	Removed      int64 `json:"removed"`
}

// Sink records events.
type Sink interface {
	Record(ctx context.Context, e Event) error
}

type channelKey struct{}

// WithChannel returns ctx tagged with the channel its work came through.
func WithChannel(ctx context.Context, channel string) context.Context {
	if channel == "" {
		return ctx
	}
	return context.WithValue(ctx, channelKey{}, channel)
}

// ChannelOf is ctx's channel, "" when untagged.
func ChannelOf(ctx context.Context) string {
	c, _ := ctx.Value(channelKey{}).(string)
	return c
}

// Sinks records an event with each sink in turn and joins their errors:
// a job that failed is recorded again by every sink, each idempotent by
// the event's key.
type Sinks []Sink

// Record implements Sink.
func (ss Sinks) Record(ctx context.Context, e Event) error {
	var errs []error
	for _, s := range ss {
		if err := s.Record(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Report records e on sink (nothing when sink is nil), with the channel
// of ctx when e names none. A failure is logged, never returned: the
// operation the event describes has happened either way.
func Report(ctx context.Context, sink Sink, log *slog.Logger, e Event) {
	if sink == nil {
		return
	}
	if e.Channel == "" {
		e.Channel = ChannelOf(ctx)
	}
	if err := sink.Record(ctx, e); err != nil {
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "activity not recorded", "kind", string(e.Kind), "party", e.PartyID, "bank", e.BankCode, "err", err)
	}
}
