package bankconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// Parties creates and reads party profiles (*party.Service).
type Parties interface {
	CreateProfile(ctx context.Context, p auth.Principal, partyID string) (party.Created, error)
	Get(ctx context.Context, partyID string) (party.Profile, error)
}

// Connections are the party's connections (*connection.Service).
type Connections interface {
	ReadPartition(ctx context.Context, partyID string, brief bool) (connection.Partition, error)
	ConnectDirect(ctx context.Context, prof party.Profile, b bank.Bank, login connection.DirectLogin) (connection.Connection, bool, error)
	Remove(ctx context.Context, p auth.Principal, partyID, bankCode string) (connection.Connection, error)
}

// Holdings imports and reads accounts and transactions (*holdings.Service).
type Holdings interface {
	EnqueueImport(ctx context.Context, req holdings.ImportRequest) error
	Accounts(ctx context.Context, partyID string) ([]holdings.Account, error)
	Account(ctx context.Context, accountID string) (holdings.Account, error)
	Transactions(ctx context.Context, accountID string, q holdings.TxQuery) (holdings.TxPage, error)
}

// Banks is the bank directory (*bank.Service).
type Banks interface {
	ByInternalID(ctx context.Context, id string) (bank.Bank, error)
	All(ctx context.Context) ([]bank.Bank, error)
}

// Deps are the Service's dependencies; Clock and Log have defaults.
type Deps struct {
	Store     store.Store
	Queue     queue.Sender
	Parties   Parties
	Conns     Connections
	Holdings  Holdings
	Banks     Banks
	Providers map[string]provider.Provider
	// Keyring seals stored PINs (credential.Local on the embedded
	// default, credential.KMS in AWS).
	Keyring credential.Keyring
	Clock   platform.Clock
	Log     *slog.Logger
}

// core is what the Service and the Categorizer share.
type core struct {
	st       store.Store
	q        queue.Sender
	holdings Holdings
	clock    platform.Clock
	log      *slog.Logger
	budget   int // views per categorization step
}

func newCore(st store.Store, q queue.Sender, h Holdings, clock platform.Clock, log *slog.Logger) core {
	c := core{st: st, q: q, holdings: h, clock: clock, log: log, budget: DefaultBudget}
	if c.clock == nil {
		c.clock = platform.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

func (s *core) now() time.Time { return s.clock.Now().UTC() }

// Service is finAPI's bank connections and reads. It is safe for
// concurrent use.
type Service struct {
	core
	chunks    *chunkCache // decoded transaction views of hot pages
	parties   Parties
	conns     Connections
	banks     Banks
	providers map[string]provider.Provider
	keys      credential.Keyring
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Queue == nil || d.Parties == nil || d.Conns == nil || d.Holdings == nil || d.Banks == nil || d.Keyring == nil {
		return nil, errors.New("bank connections: store, queue, parties, connections, holdings, banks and keyring are required")
	}
	return &Service{core: newCore(d.Store, d.Queue, d.Holdings, d.Clock, d.Log), chunks: newChunkCache(chunkCacheBytes),
		parties: d.Parties, conns: d.Conns, banks: d.Banks, providers: d.Providers, keys: d.Keyring}, nil
}

// CategorizerDeps are the Categorizer's dependencies; Clock and Log have
// defaults.
type CategorizerDeps struct {
	Store    store.Store
	Queue    queue.Sender
	Holdings Holdings
	Clock    platform.Clock
	Log      *slog.Logger
	// Budget is the number of views one step writes (DefaultBudget).
	Budget int
}

// Categorizer is finAPI's part of the holdings workers: a
// holdings.RunHook that numbers finAPI accounts and queues the
// categorization after each download, and the categorization job's
// handler (HandleJob). It needs no provider, keyring or directory, so the
// holdings importer can have it whatever else is configured.
type Categorizer struct{ core }

// NewCategorizer builds the Categorizer.
func NewCategorizer(d CategorizerDeps) (*Categorizer, error) {
	if d.Store == nil || d.Queue == nil || d.Holdings == nil {
		return nil, errors.New("finAPI categorizer: store, queue and holdings are required")
	}
	c := &Categorizer{core: newCore(d.Store, d.Queue, d.Holdings, d.Clock, d.Log)}
	if d.Budget > 0 {
		c.budget = d.Budget
	}
	return c, nil
}

// UpdateStatus is a connection's download status.
type UpdateStatus string

// CategorizationStatus is a connection's categorization status.
type CategorizationStatus string

// Outcome is the result of an update.
type Outcome string

// The statuses and outcomes, as finAPI names them.
const (
	UpdateInProgress UpdateStatus = "IN_PROGRESS"
	UpdateReady      UpdateStatus = "READY"

	CategorizationPending    CategorizationStatus = "PENDING"
	CategorizationInProgress CategorizationStatus = "IN_PROGRESS"
	CategorizationReady      CategorizationStatus = "READY"

	OutcomeOK       Outcome = "OK"
	OutcomeRejected Outcome = "BANK_SERVER_REJECTION"
	OutcomeFailed   Outcome = "INTERNAL_SERVER_ERROR"
)

// UpdateResult is the outcome of a connection's last manual or automatic
// update. Technical tells an internal failure from the bank's answer.
type UpdateResult struct {
	Result    Outcome
	Message   string
	Technical bool
	At        time.Time
}

// BankInfo is a directory bank as finAPI shows it.
type BankInfo struct {
	ID                   int64     `json:"id"`
	Code                 string    `json:"code"`
	Provider             string    `json:"provider"`
	Name                 string    `json:"name"`
	BIC                  string    `json:"bic,omitempty"`
	BLZ                  string    `json:"blz,omitempty"`
	City                 string    `json:"city,omitempty"`
	Country              string    `json:"country,omitempty"`
	Mode                 string    `json:"mode,omitempty"` // web, api, oauth, file
	LoginHint            string    `json:"loginHint,omitempty"`
	LoginFieldUserID     string    `json:"loginFieldUserId,omitempty"`
	LoginFieldCustomerID string    `json:"loginFieldCustomerId,omitempty"`
	LoginFieldPIN        string    `json:"loginFieldPin,omitempty"`
	Supported            bool      `json:"supported"`
	Listed               bool      `json:"listed"` // the provider lists it as active
	Test                 bool      `json:"test"`
	Demo                 bool      `json:"demo"`
	UpdatedAt            time.Time `json:"updatedAt,omitzero"`
}

// Connection is a finAPI bank connection as the user sees it.
type Connection struct {
	ID                   int64
	Bank                 BankInfo
	Name                 *string
	UserID               *string
	CustomerNo           *string
	MaskedPIN            *string // one X per character of the stored PIN
	Demo                 bool
	UpdateStatus         UpdateStatus
	CategorizationStatus CategorizationStatus
	LastManual           *UpdateResult
	LastAuto             *UpdateResult
	DefaultTwoStep       *string
	AccountIDs           []int64
}

// Busy reports the busy rule: importing, updating or categorizing.
func (c Connection) Busy() bool {
	return c.UpdateStatus != UpdateReady || c.CategorizationStatus != CategorizationReady
}

// bankID is the finAPI id of a directory bank: the digits of its internal
// id ("BD0012345678" → 12345678).
func bankID(b bank.Bank) int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(b.InternalID, "BD"), 10, 64)
	return n
}

// internalBankID is the directory's id of a finAPI bank id.
func internalBankID(id int64) string { return fmt.Sprintf("BD%010d", id) }

// bankInfo describes a directory bank for finAPI.
func (s *Service) bankInfo(b bank.Bank) BankInfo {
	bi := BankInfo{ID: bankID(b), Code: b.Code, Provider: b.Provider, Name: b.Name, Country: b.CountryCode, Mode: b.Mode,
		Listed: b.Listed(), Test: b.CountryCode == "XF", UpdatedAt: b.ProviderUpdatedAt}
	if dl, ok := s.providers[b.Provider].(provider.DirectLogin); ok {
		if db, ok := dl.DirectBank(b.Code); ok {
			bi.BIC, bi.BLZ, bi.City = db.BIC, db.BLZ, db.City
			bi.LoginHint, bi.LoginFieldUserID, bi.LoginFieldCustomerID, bi.LoginFieldPIN = db.LoginHint, db.LoginFieldUserID, db.LoginFieldCustomerID, db.LoginFieldPIN
			bi.Test, bi.Demo = bi.Test || db.Test, db.Demo
			bi.Supported = b.Listed() && b.AccessEnabled
		}
	}
	return bi
}

// snapshot is the user's finAPI party as one query of its partition reads
// it.
type snapshot struct {
	partyID string
	profile *party.Profile
	details map[string]connection.Detail // by bank code
	conns   []*connRecord                // by id
	cats    map[string]*catRecord        // by bank code
	accs    []*accRecord                 // by id
}

// read reads the caller's finAPI party (one query) and checks that the
// party is theirs.
func (s *Service) read(ctx context.Context, p auth.Principal) (*snapshot, error) {
	return s.readParty(ctx, p, false)
}

// readBrief is read for the transaction reads, which need to know which
// connections exist but nothing of them (not decoded: the hot path).
func (s *Service) readBrief(ctx context.Context, p auth.Principal) (*snapshot, error) {
	return s.readParty(ctx, p, true)
}

func (s *Service) readParty(ctx context.Context, p auth.Principal, brief bool) (*snapshot, error) {
	partyID := PartyID(p.Subject)
	part, err := s.conns.ReadPartition(ctx, partyID, brief)
	if err != nil {
		return nil, fmt.Errorf("read finAPI party: %w", err)
	}
	if part.Profile != nil && part.Profile.OwnerSub != p.Subject {
		return nil, forbidden(partyID)
	}
	sn := &snapshot{partyID: partyID, profile: part.Profile, details: map[string]connection.Detail{}, cats: map[string]*catRecord{}}
	for _, d := range part.Details {
		sn.details[d.BankCode] = d
	}
	for _, it := range part.Other {
		switch {
		case strings.HasPrefix(it.SK, connSKPrefix) && brief:
			// Only what the transaction reads use: which bank, which
			// account types (not the bank's description, not the PIN).
			r, err := decode[struct {
				ID           int64  `json:"id"`
				BankCode     string `json:"bankCode"`
				AccountTypes []int  `json:"accountTypes,omitempty"`
			}](it)
			if err != nil {
				return nil, err
			}
			sn.conns = append(sn.conns, &connRecord{ID: r.ID, BankCode: r.BankCode, AccountTypes: r.AccountTypes, Version: it.Version})
		case strings.HasPrefix(it.SK, connSKPrefix):
			r, err := decode[connRecord](it)
			if err != nil {
				return nil, err
			}
			r.Version = it.Version
			sn.conns = append(sn.conns, &r)
		case strings.HasPrefix(it.SK, catSKPrefix) && brief:
		case strings.HasPrefix(it.SK, catSKPrefix):
			r, err := decode[catRecord](it)
			if err != nil {
				return nil, err
			}
			r.Version = it.Version
			sn.cats[strings.TrimPrefix(it.SK, catSKPrefix)] = &r
		case strings.HasPrefix(it.SK, accSKPrefix):
			r, err := decode[accRecord](it)
			if err != nil {
				return nil, err
			}
			r.Version = it.Version
			sn.accs = append(sn.accs, &r)
		}
	}
	slices.SortFunc(sn.conns, func(a, b *connRecord) int { return cmpInt(a.ID, b.ID) })
	slices.SortFunc(sn.accs, func(a, b *accRecord) int { return cmpInt(a.ID, b.ID) })
	return sn, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func forbidden(partyID string) error {
	return fault.Errorf(ErrForbidden, "your finAPI data lives in party %q, which another user created", partyID)
}

// live lists the finAPI connections whose connection exists (a record
// left by an unfinished deletion is not a connection any more).
func (sn *snapshot) live() []*connRecord {
	out := make([]*connRecord, 0, len(sn.conns))
	for _, r := range sn.conns {
		if _, ok := sn.details[r.BankCode]; ok {
			out = append(out, r)
		}
	}
	return out
}

// byID finds a live connection.
func (sn *snapshot) byID(id int64) (*connRecord, connection.Detail, bool) {
	for _, r := range sn.conns {
		if r.ID == id {
			d, ok := sn.details[r.BankCode]
			return r, d, ok
		}
	}
	return nil, connection.Detail{}, false
}

// visible reports whether finAPI shows account a of connection r.
func visible(r *connRecord, a *accRecord) bool {
	return a.BankCode == r.BankCode && (len(r.AccountTypes) == 0 || slices.Contains(r.AccountTypes, a.TypeID))
}

// connOf is the live connection an account belongs to.
func (sn *snapshot) connOf(a *accRecord) (*connRecord, bool) {
	for _, r := range sn.live() {
		if r.BankCode == a.BankCode {
			return r, visible(r, a)
		}
	}
	return nil, false
}

// statuses derives the update and categorization statuses: importing while
// the holdings import is queued or running; then the categorization job's
// state (a download's end marks it pending before the import reads done).
func statuses(d connection.Detail, cat *catRecord) (UpdateStatus, CategorizationStatus) {
	if d.Import.State == holdings.StateQueued || d.Import.State == holdings.StateRunning {
		return UpdateInProgress, CategorizationPending
	}
	if cat == nil {
		return UpdateReady, CategorizationReady
	}
	switch cat.State {
	case catPending:
		return UpdateReady, CategorizationPending
	case catRunning:
		return UpdateReady, CategorizationInProgress
	}
	return UpdateReady, CategorizationReady
}

// errorText bounds a failure's text for an UpdateResult.
func errorText(s string) string { return platform.Truncate(s, 300) }

// view builds the user's view of a connection.
func (sn *snapshot) view(r *connRecord, d connection.Detail) Connection {
	c := Connection{ID: r.ID, Bank: r.Bank, Name: r.Name, UserID: r.UserID, CustomerNo: r.CustomerNo, Demo: r.Bank.Demo,
		DefaultTwoStep: r.DefaultTwoStep, AccountIDs: []int64{}}
	if r.PIN != nil {
		m := credential.MaskLen(r.PINLen)
		c.MaskedPIN = &m
	}
	c.UpdateStatus, c.CategorizationStatus = statuses(d, sn.cats[r.BankCode])
	// The last import was an automatic one (the daily refresh, or a
	// refresh through the Aggregation API) when connection queued it after
	// the user's last manual update.
	auto := !d.ImportQueuedAt.IsZero() && (r.Manual == nil || d.ImportQueuedAt.After(r.Manual.At))
	failed := d.Import.State == holdings.StateFailed
	if m := r.Manual; m != nil {
		res := UpdateResult{Result: OutcomeOK, At: m.At}
		switch {
		case m.Rejected:
			res.Result, res.Message = OutcomeRejected, m.Message
		case !auto && failed:
			res.Result, res.Message, res.Technical = OutcomeFailed, errorText(d.Import.LastError), true
		}
		c.LastManual = &res
	}
	if !d.LastRefreshAt.IsZero() {
		res := UpdateResult{Result: OutcomeOK, At: d.LastRefreshAt}
		switch {
		case d.LastError != "":
			res.Result, res.Message = OutcomeRejected, errorText(d.LastError)
		case auto && failed:
			res.Result, res.Message, res.Technical = OutcomeFailed, errorText(d.Import.LastError), true
		}
		c.LastAuto = &res
	}
	for _, a := range sn.accs {
		if visible(r, a) {
			c.AccountIDs = append(c.AccountIDs, a.ID)
		}
	}
	return c
}
