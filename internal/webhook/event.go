package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/openagg/openagg/internal/activity"
)

// The event types an endpoint subscribes to.
const (
	EventConnectionStatus = "connection.status_changed"
	EventImportCompleted  = "import.completed"
	EventImportFailed     = "import.failed"
	EventSyncAvailable    = "transactions.sync_available"
	EventConsentExpiring  = "consent.expiring"
)

// EventTypes lists every event type, sorted.
func EventTypes() []string {
	return []string{EventConnectionStatus, EventConsentExpiring, EventImportCompleted, EventImportFailed, EventSyncAvailable}
}

// typeOf is the event type of an activity, "" when no webhook tells it: a
// connection's status changes when it is created (pending), activated,
// fails or stops, and is removed; a refresh leaves it as it is.
func typeOf(k activity.Kind) string {
	switch k {
	case activity.ConnectionCreated, activity.ConnectionActivated, activity.ConnectionFailed, activity.ConnectionRemoved:
		return EventConnectionStatus
	case activity.ImportCompleted:
		return EventImportCompleted
	case activity.ImportFailed:
		return EventImportFailed
	case activity.TransactionsChanged:
		return EventSyncAvailable
	case activity.ConsentExpiring:
		return EventConsentExpiring
	}
	return ""
}

// Payload is the body of a delivery (Standard Webhooks' shape: type,
// timestamp, data).
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is what an event says. Every event names the party and, but for
// transactions.sync_available of several banks, the bank.
type Data struct {
	PartyID  string `json:"partyId"`
	UserID   string `json:"userId,omitempty"` // the party's owner (token sub)
	BankCode string `json:"bankCode,omitempty"`
	BankName string `json:"bankName,omitempty"`
	Provider string `json:"provider,omitempty"`
	// Status is the connection's status (connection.status_changed):
	// pending, active, failed, inactive, removed.
	Status string `json:"status,omitempty"`
	// Detail says what happened in a sentence; Error why an import failed.
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
	// Counts of import.completed.
	Counts *activity.Counts `json:"counts,omitempty"`
	// AccountIDs of transactions.sync_available: the accounts with changes
	// to read with GET /holdings/profiles/{partyId}/transactions/sync.
	AccountIDs []string `json:"accountIds,omitempty"`
	// ExpiresAt of consent.expiring: when the consent ends.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Channel is where it came from (Aggregation API, connect page, ...).
	Channel string `json:"channel,omitempty"`
}

// payloadOf renders an activity as the body of its webhook (false: no
// webhook tells that activity).
func payloadOf(e activity.Event) (string, []byte, bool, error) {
	typ := typeOf(e.Kind)
	if typ == "" || e.PartyID == "" {
		return "", nil, false, nil
	}
	d := Data{PartyID: e.PartyID, UserID: e.UserID, BankCode: e.BankCode, BankName: e.BankName, Provider: e.Provider, Channel: e.Channel}
	switch typ {
	case EventConnectionStatus:
		d.Status, d.Detail = e.Result, e.Detail
	case EventImportCompleted:
		d.Counts, d.Detail = e.Counts, e.Detail
	case EventImportFailed:
		d.Error = e.Detail
	case EventSyncAvailable:
		d.AccountIDs = slices.Clone(e.AccountIDs)
	case EventConsentExpiring:
		if !e.Scheduled.IsZero() {
			at := e.Scheduled.UTC()
			d.ExpiresAt = &at
		}
		d.Detail = e.Detail
	}
	body, err := json.Marshal(Payload{Type: typ, Timestamp: e.At.UTC(), Data: d})
	if err != nil {
		return "", nil, false, fmt.Errorf("encode %s webhook: %w", typ, err)
	}
	return typ, body, true, nil
}
