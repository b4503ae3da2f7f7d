// Package connection owns a party's connections to banks: creation through
// a provider connect session, completion (hosted connect page or provider
// callbacks), loading and refreshing them from the provider, the daily
// refresh schedule, and removal with the connection's imported data.
//
// Storage (docs/data-model.md), in the party partition next to the profile:
//
//	connection  PK=PARTY#<party>  SK=CONN#<bank>
//	            GSI1PK=REFRESH#<shard 0-9>  GSI1SK=<nextRefresh>#<party>#<bank>   (only while due for daily refresh)
//
// One connection per party and bank is enforced by the key and conditional
// writes; every change of an existing connection is version-guarded
// (optimistic locking), because the API, the connect page, the
// connection-sync worker and the scheduler all write it.
package connection

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/store"
)

// Status is OpenAgg's status of a connection (the "status" of the
// connection details; the provider's own is ProviderStatus).
type Status string

const (
	// StatusPending: a connect session was created; the user has not
	// finished logging in at the bank.
	StatusPending Status = "pending"
	// StatusActive: connected; data can be imported and refreshed.
	StatusActive Status = "active"
	// StatusFailed: the last connect attempt failed (LastError says why).
	StatusFailed Status = "failed"
	// StatusInactive: the provider reports the connection inactive or
	// disabled (consent expired, bank gone): the user must reconnect.
	StatusInactive Status = "inactive"
	// StatusRemoved: the provider no longer knows the connection (deleted
	// there, e.g. a Salt Edge "destroy" callback); its data stays until
	// the user removes it here.
	StatusRemoved Status = "removed"
	// StatusRemoving: a removal started and has not finished; a re-run of
	// the removal completes it, and nothing else writes the connection.
	StatusRemoving Status = "removing"
)

// SKPrefix starts the sort key of every connection item.
const SKPrefix = "CONN#"

// Key is the key of the connection of partyID at bankCode.
func Key(partyID, bankCode string) store.Key {
	return store.Key{PK: holdings.PartyPK(partyID), SK: SKPrefix + bankCode}
}

// RefreshShards is the number of GSI1 partitions of the refresh index:
// spreading due connections over shards keeps any one index partition
// below DynamoDB's per-partition throughput however many connections there
// are; the scheduler reads each shard.
const RefreshShards = 10

// RefreshGSI1PK is the index partition of a refresh shard.
func RefreshGSI1PK(shard int) string { return "REFRESH#" + strconv.Itoa(shard) }

// RefreshShard is the shard of a connection: stable for party and bank.
func RefreshShard(partyID, bankCode string) int {
	h := fnv.New32a()
	h.Write([]byte(partyID))
	h.Write([]byte{0})
	h.Write([]byte(bankCode))
	return int(h.Sum32() % RefreshShards)
}

// RefreshGSI1SK orders a shard by due time; party and bank make it unique.
func RefreshGSI1SK(next time.Time, partyID, bankCode string) string {
	return holdings.SortTime(next) + "#" + partyID + "#" + bankCode
}

// refreshUpTo is the upper bound (inclusive range end) of the index entries
// due at or before now: every sort key of that instant continues with '#'
// (0x23), and '$' (0x24) sorts right after it.
func refreshUpTo(now time.Time) string { return holdings.SortTime(now) + "$" }

// Consent is what the user agreed to share, as asked at creation.
type Consent struct {
	Scopes      []string  `json:"scopes"`
	From        time.Time `json:"from"`
	PeriodDays  int       `json:"periodDays"`
	FetchScopes []string  `json:"fetchScopes"`
	AttemptFrom time.Time `json:"attemptFrom"`
	AttemptDays int       `json:"attemptDays"`
}

// Connection is a party's connection to one bank.
type Connection struct {
	PartyID  string `json:"partyId"`
	BankCode string `json:"bankCode"`
	BankName string `json:"bankName"`
	Country  string `json:"countryCode"`
	Provider string `json:"provider"`
	// OwnerSub and Identifier are copied from the profile so that workers
	// (import, refresh) need not read it.
	OwnerSub   string `json:"ownerSub"`
	OwnerName  string `json:"ownerName,omitempty"`
	Identifier string `json:"identifier"`
	// CustomerID is the party's customer id at Provider.
	CustomerID string `json:"customerId"`
	// ProviderConnectionID is empty until the user completed a connect.
	ProviderConnectionID string `json:"providerConnectionId,omitempty"`
	Status               Status `json:"status"`
	ProviderStatus       string `json:"providerStatus,omitempty"`
	DailyRefresh         bool   `json:"dailyRefresh"`
	// NextRefresh is when the scheduler refreshes the connection next
	// (daily refresh); zero while the connection is not active.
	NextRefresh time.Time `json:"nextRefresh,omitzero"`
	// NextRefreshPossibleAt is the provider's earliest allowed refresh.
	NextRefreshPossibleAt time.Time `json:"nextRefreshPossibleAt,omitzero"`
	LastRefreshAt         time.Time `json:"lastRefreshAt,omitzero"`
	LastError             string    `json:"lastError,omitempty"`
	// StopReason says why a connection that is not active stopped when
	// connecting again renews it (provider.StopConsentExpired,
	// provider.StopConsentRevoked): Create then asks the provider for a
	// reconnect session of the same provider connection.
	StopReason string  `json:"stopReason,omitempty"`
	Consent    Consent `json:"consent"`
	Device     string  `json:"device,omitempty"`
	// ConnectTokenHash is the SHA-256 (hex) of the current connect
	// session's token: the token itself is a bearer secret and is never
	// stored.
	ConnectTokenHash string    `json:"connectTokenHash,omitempty"`
	ConnectStartedAt time.Time `json:"connectStartedAt,omitzero"`
	ConnectExpiresAt time.Time `json:"connectExpiresAt,omitzero"`
	// ImportQueuedAt and ImportRunID describe the last import this package
	// queued (the import's own progress is holdings.ImportProgress).
	ImportQueuedAt time.Time `json:"importQueuedAt,omitzero"`
	ImportRunID    string    `json:"importRunId,omitempty"`
	// LastJob is the key of the last refresh job applied, so a second
	// delivery of the same job does nothing.
	LastJob   string    `json:"lastJob,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`

	// Version is the item's optimistic-locking version (not in Data).
	Version int64 `json:"-"`
}

// Key returns the connection's key.
func (c Connection) Key() store.Key { return Key(c.PartyID, c.BankCode) }

// dueForRefresh reports whether the connection belongs in the refresh index.
func (c Connection) dueForRefresh() bool {
	return c.Status == StatusActive && c.DailyRefresh && !c.NextRefresh.IsZero()
}

// Item encodes the connection (Version as held), with its refresh index
// keys when it is due for daily refresh.
func (c Connection) Item() (store.Item, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode connection %s/%s: %w", c.PartyID, c.BankCode, err)
	}
	k := c.Key()
	it := store.Item{PK: k.PK, SK: k.SK, Version: c.Version, Data: b}
	if c.dueForRefresh() {
		it.GSI1PK = RefreshGSI1PK(RefreshShard(c.PartyID, c.BankCode))
		it.GSI1SK = RefreshGSI1SK(c.NextRefresh, c.PartyID, c.BankCode)
	}
	return it, nil
}

// Decode reads a connection item.
func Decode(it store.Item) (Connection, error) {
	var c Connection
	if err := json.Unmarshal(it.Data, &c); err != nil {
		return Connection{}, fmt.Errorf("decode connection %s %s: %w", it.PK, it.SK, err)
	}
	c.Version = it.Version
	return c, nil
}

// bankOfSK returns the bank code of a connection sort key.
func bankOfSK(sk string) (string, bool) { return strings.CutPrefix(sk, SKPrefix) }

// imported is a connection's import as the holdings importer's item in the
// party partition tells it: the progress, and the run it is of.
type imported struct {
	progress holdings.ImportProgress
	runID    string
}

// importProgress decodes the holdings importer's item in the party
// partition: Data is JSON with a top-level "progress" field and the run's
// "checkpoint" (its "runId").
func importProgress(it store.Item) (imported, error) {
	var v struct {
		Progress   holdings.ImportProgress `json:"progress"`
		Checkpoint struct {
			RunID string `json:"runId"`
		} `json:"checkpoint"`
	}
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return imported{}, fmt.Errorf("decode import progress %s %s: %w", it.PK, it.SK, err)
	}
	return imported{progress: v.Progress, runID: v.Checkpoint.RunID}, nil
}
