package connection

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// The Aggregation API's consent scopes (Salt Edge v5 names, its wire
// values; provider/saltedge renames them for v6) and attempt fetch scopes.
var (
	ConsentScopes = []string{"account_details", "holder_information", "transactions_details"}
	FetchScopes   = []string{"accounts", "holder_info", "transactions"}
	// CallbackTypes are Salt Edge's javascript_callback_type values.
	CallbackTypes = []string{"iframe", "external_saltbridge", "external_notify", "post_message"}
)

// Banks is the bank directory (bank.Service).
type Banks interface {
	// ListByCode returns the bank with code at every provider that lists it.
	ListByCode(ctx context.Context, code string) ([]bank.Bank, error)
}

// DataRemover deletes what was imported through a connection: accounts,
// balances, transactions and their metadata, in batches. It must be safe to
// re-run ((*holdings.Service).RemoveConnectionData).
type DataRemover interface {
	RemoveConnectionData(ctx context.Context, partyID, bankCode string) error
}

// Config tunes the Service; zero values take the defaults.
type Config struct {
	// RefreshEvery is the daily refresh period (24h).
	RefreshEvery time.Duration
	// DefaultMaxConsentDays bounds period_days when the bank states no
	// maximum (365).
	DefaultMaxConsentDays int
	// AccountType is the account type a party's bank must support
	// ("personal": a party profile is a retail customer).
	AccountType string
	// ReturnTo is where the provider's connect page sends the user at the
	// end (Salt Edge return_to) when the request names no
	// data.attempt.return_to; optional.
	ReturnTo string
	// MaxScheduledPerShard bounds the connections one scheduler run
	// enqueues per index shard (1000); the rest wait for the next run.
	MaxScheduledPerShard int
	// ConsentWarning is how long before its consent ends a connection
	// reports activity.ConsentExpiring (7 days).
	ConsentWarning time.Duration
	// SettleAfter is how long after a connect page submit its settle job
	// first looks (the SettleAfter constant).
	SettleAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = 24 * time.Hour
	}
	if c.SettleAfter <= 0 {
		c.SettleAfter = SettleAfter
	}
	if c.DefaultMaxConsentDays <= 0 {
		c.DefaultMaxConsentDays = 365
	}
	if c.AccountType == "" {
		c.AccountType = "personal"
	}
	if c.MaxScheduledPerShard <= 0 {
		c.MaxScheduledPerShard = 1000
	}
	if c.ConsentWarning <= 0 {
		c.ConsentWarning = 7 * 24 * time.Hour
	}
	return c
}

// Deps are the Service's dependencies.
type Deps struct {
	Store     store.Store
	Queue     queue.Sender
	Providers map[string]provider.Provider
	Parties   *party.Service
	Banks     Banks
	Data      DataRemover
	Clock     platform.Clock // default SystemClock
	Log       *slog.Logger   // default slog.Default()
	// Activity, optional, is told of each connection's life (created,
	// activated, failed, refreshed, removed, consent ending); a failure
	// to record is logged, never returned.
	Activity activity.Sink
	// Config holds the settings (defaults for the zero value).
	Config Config
}

// Service manages connections. It is safe for concurrent use.
type Service struct {
	st        store.Store
	q         queue.Sender
	providers map[string]provider.Provider
	parties   *party.Service
	banks     Banks
	data      DataRemover
	clock     platform.Clock
	log       *slog.Logger
	cfg       Config
	activity  activity.Sink
}

// New builds the service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil, d.Queue == nil, d.Parties == nil, d.Banks == nil, d.Data == nil:
		return nil, errors.New("connection service: store, queue, parties, banks and data remover are required")
	case len(d.Providers) == 0:
		return nil, errors.New("connection service: no provider")
	}
	s := &Service{st: d.Store, q: d.Queue, providers: d.Providers, parties: d.Parties, banks: d.Banks,
		data: d.Data, clock: d.Clock, log: d.Log, cfg: d.Config.withDefaults(), activity: d.Activity}
	if s.clock == nil {
		s.clock = platform.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// ValidateBankCode checks a bank code from a path.
func ValidateBankCode(code string) error {
	if !bank.ValidCode(code) {
		return fault.Errorf(bank.ErrInvalidCode, "bank code %q is not 1 to %d letters, digits, '_', '-' or '.'", platform.Truncate(code, 64), bank.MaxCodeLen)
	}
	return nil
}

// TokenHash is the stored form of a connect token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// connectToken extracts the one-time token of a connect URL (its "token"
// query parameter); a URL without one is hashed whole.
func connectToken(connectURL string) string {
	if u, err := url.Parse(connectURL); err == nil {
		if t := u.Query().Get("token"); t != "" {
			return t
		}
	}
	return connectURL
}

// ConnectParams is a validated create-connection request (the API layer
// checked the wire syntax: dates, digit strings, types).
type ConnectParams struct {
	CustomerID             string
	ConsentScopes          []string
	ConsentFrom            time.Time // UTC midnight
	ConsentPeriodDays      int
	FetchScopes            []string
	AttemptFrom            time.Time // UTC midnight
	AttemptPeriodDays      int
	JavascriptCallbackType string
	// ReturnTo is where the connect page sends the user at the end, with
	// the outcome (an absolute http(s) URL, optional).
	ReturnTo string
	Device   string
}

// MaxReturnToLength bounds data.attempt.return_to (Salt Edge's limit).
const MaxReturnToLength = 2040

// check validates what needs no bank: known scopes, dates not in the
// future, the attempt inside the consent.
func (p ConnectParams) check(today time.Time) error {
	if len(p.ConsentScopes) == 0 {
		return fault.Errorf(ErrInvalidScope, "data.consent.scope must list at least one of %v", ConsentScopes)
	}
	for _, sc := range p.ConsentScopes {
		if !slices.Contains(ConsentScopes, sc) {
			return fault.Errorf(ErrInvalidScope, "data.consent.scope: unknown scope %q (known: %v)", sc, ConsentScopes)
		}
	}
	if len(p.FetchScopes) == 0 {
		return fault.Errorf(ErrInvalidScope, "data.attempt.fetch_scope must list at least one of %v", FetchScopes)
	}
	for _, sc := range p.FetchScopes {
		if !slices.Contains(FetchScopes, sc) {
			return fault.Errorf(ErrInvalidScope, "data.attempt.fetch_scope: unknown scope %q (known: %v)", sc, FetchScopes)
		}
	}
	if p.ConsentFrom.After(today) {
		return fault.Errorf(ErrInvalidDate, "data.consent.from_date %s is in the future", p.ConsentFrom.Format(DateLayout))
	}
	if p.AttemptFrom.After(today) {
		return fault.Errorf(ErrInvalidDate, "data.attempt.from_date %s is in the future", p.AttemptFrom.Format(DateLayout))
	}
	if p.AttemptFrom.Before(p.ConsentFrom) {
		return fault.Errorf(ErrInvalidDate, "data.attempt.from_date %s is before data.consent.from_date %s: data outside the consent cannot be fetched",
			p.AttemptFrom.Format(DateLayout), p.ConsentFrom.Format(DateLayout))
	}
	if p.JavascriptCallbackType != "" && !slices.Contains(CallbackTypes, p.JavascriptCallbackType) {
		return fault.Errorf(ErrInvalidRequest, "data.javascript_callback_type %q is not one of %v", p.JavascriptCallbackType, CallbackTypes)
	}
	if p.ReturnTo != "" {
		u, err := url.Parse(p.ReturnTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
			return fault.Errorf(ErrInvalidRequest, "data.attempt.return_to %q is not an absolute http(s) URL without user info or fragment", platform.Truncate(p.ReturnTo, 100))
		}
		if len(p.ReturnTo) > MaxReturnToLength {
			return fault.Errorf(ErrInvalidRequest, "data.attempt.return_to is longer than %d characters", MaxReturnToLength)
		}
	}
	return nil
}

// DateLayout is the Aggregation API's date format (DD-MM-YYYY).
const DateLayout = "02-01-2006"

// pickBank chooses the bank to connect among the providers listing code:
// the one at the profile's own provider when it lists the code with access
// enabled, else the first configured provider that does.
func (s *Service) pickBank(ctx context.Context, code, preferred string) (bank.Bank, error) {
	banks, err := s.banks.ListByCode(ctx, code)
	if err != nil {
		return bank.Bank{}, err
	}
	var disabled bool
	var pick *bank.Bank
	for i, b := range banks {
		if _, ok := s.providers[b.Provider]; !ok {
			continue
		}
		if !b.AccessEnabled {
			disabled = true
			continue
		}
		if pick == nil || b.Provider == preferred {
			pick = &banks[i]
		}
	}
	switch {
	case pick != nil:
		return *pick, nil
	case disabled:
		return bank.Bank{}, fault.Errorf(ErrBankDisabled, "access to bank '%s' is disabled", code)
	}
	return bank.Bank{}, fault.Errorf(bank.ErrNotFound, "bank '%s' not found", code)
}

// checkBank applies the bank's limits to the request.
func (s *Service) checkBank(b bank.Bank, p ConnectParams) error {
	if !b.Listed() {
		return fault.Errorf(ErrBankUnavailable, "bank '%s' is %s at provider %s and cannot be connected", b.Code, b.ProviderStatus, b.Provider)
	}
	maxDays := b.MaxConsentDays
	if maxDays <= 0 {
		maxDays = s.cfg.DefaultMaxConsentDays
	}
	for _, d := range []struct {
		field string
		days  int
	}{{"data.consent.period_days", p.ConsentPeriodDays}, {"data.attempt.period_days", p.AttemptPeriodDays}} {
		if d.days > maxDays {
			return fault.Errorf(ErrPeriodTooLong, "%s is %d, bank '%s' allows at most %d days", d.field, d.days, b.Code, maxDays)
		}
	}
	for _, sc := range p.FetchScopes {
		if !b.SupportsFetchScope(sc) {
			return fault.Errorf(ErrUnsupportedScope, "bank '%s' does not support fetch scope %q (supported: %v)", b.Code, sc, b.SupportedFetchScopes)
		}
	}
	if len(b.SupportedAccountTypes) > 0 && !b.SupportsAccountType(s.cfg.AccountType) {
		return fault.Errorf(ErrUnsupportedAccountType, "bank '%s' does not serve %s accounts (supported: %v)", b.Code, s.cfg.AccountType, b.SupportedAccountTypes)
	}
	return nil
}

// readPair reads a party's profile and its connection at bankCode in one
// BatchGet and checks that p may act on the party.
func (s *Service) readPair(ctx context.Context, p auth.Principal, partyID, bankCode string) (party.Profile, *Connection, error) {
	if err := party.ValidateID(partyID); err != nil {
		return party.Profile{}, nil, err
	}
	if err := ValidateBankCode(bankCode); err != nil {
		return party.Profile{}, nil, err
	}
	items, err := s.st.BatchGet(ctx, []store.Key{party.ProfileKey(partyID), Key(partyID, bankCode)})
	if err != nil {
		return party.Profile{}, nil, fmt.Errorf("read party %s and connection %s: %w", partyID, bankCode, err)
	}
	var prof *party.Profile
	var conn *Connection
	for _, it := range items {
		switch it.SK {
		case party.ProfileSK:
			pr, err := party.Decode(it)
			if err != nil {
				return party.Profile{}, nil, err
			}
			prof = &pr
		default:
			c, err := Decode(it)
			if err != nil {
				return party.Profile{}, nil, err
			}
			conn = &c
		}
	}
	if prof == nil {
		return party.Profile{}, nil, party.NotFound(partyID)
	}
	if err := s.parties.Authorize(ctx, p, *prof); err != nil {
		return party.Profile{}, nil, err
	}
	return *prof, conn, nil
}

func notFound(partyID, bankCode string) error {
	return fault.Errorf(ErrNotFound, "party %q has no connection to bank '%s'", partyID, bankCode)
}

func busy(bankCode string, err error) error {
	return fault.Wrap(ErrBusy, err, "the connection to bank '%s' was changed concurrently; retry", bankCode)
}

// Create starts a connection of the party to a bank: it checks the request
// against the profile and the bank directory, asks the bank's provider for
// a connect session, and stores the connection as pending with the
// session's token hash (a new connection, or a pending, failed, inactive or
// removed one started again). Store round trips: one BatchGet (profile and
// connection), one bank directory read, one conditional write.
func (s *Service) Create(ctx context.Context, p auth.Principal, partyID, bankCode string, req ConnectParams) (provider.ConnectSession, error) {
	prof, existing, err := s.readPair(ctx, p, partyID, bankCode)
	if err != nil {
		return provider.ConnectSession{}, err
	}
	if req.CustomerID != prof.Identifier {
		return provider.ConnectSession{}, fault.Errorf(ErrCustomerMismatch,
			"data.customer_id %q is not the identifier of party %q (%q)", req.CustomerID, partyID, prof.Identifier)
	}
	now := s.now()
	if err := req.check(now.Truncate(24 * time.Hour)); err != nil {
		return provider.ConnectSession{}, err
	}
	b, err := s.pickBank(ctx, bankCode, prof.Provider)
	if err != nil {
		return provider.ConnectSession{}, err
	}
	if err := s.checkBank(b, req); err != nil {
		return provider.ConnectSession{}, err
	}
	if existing != nil {
		switch existing.Status {
		case StatusActive:
			return provider.ConnectSession{}, fault.Errorf(ErrExists,
				"party %q already has an active connection to bank '%s'; refresh or remove it", partyID, bankCode)
		case StatusRemoving:
			return provider.ConnectSession{}, fault.Errorf(ErrRemoving,
				"the connection of party %q to bank '%s' is being removed; finish the removal first", partyID, bankCode)
		}
	}
	prov := s.providers[b.Provider]
	customerID, _, ops, err := s.parties.EnsureCustomer(ctx, prof, prov)
	if err != nil {
		return provider.ConnectSession{}, err
	}
	// undo deletes a customer just created at this provider for the party
	// when the profile naming it is not stored: else every retry would meet
	// the provider's duplicate and the party could never connect there.
	undo := func() {
		if len(ops) == 0 {
			return
		}
		if derr := prov.DeleteCustomer(ctx, customerID); derr != nil && !errors.Is(derr, provider.ErrNotFound) {
			s.log.WarnContext(ctx, "connect: could not delete the customer of a failed connection creation",
				"party", partyID, "provider", prov.Name(), "customer", customerID, "err", derr)
		}
	}
	// A connection the provider still knows (stopped: consent ended,
	// failed or inactive) is renewed in a reconnect session of the same
	// provider connection, never a second connection there.
	reconnect := ""
	if existing != nil && existing.Provider == b.Provider && existing.ProviderConnectionID != "" && existing.Status != StatusRemoved {
		reconnect = existing.ProviderConnectionID
	}
	connReq := provider.ConnectRequest{
		ConnectionID:           reconnect,
		CustomerID:             customerID,
		BankCode:               b.Code,
		ConsentScopes:          req.ConsentScopes,
		ConsentFrom:            req.ConsentFrom,
		ConsentPeriodDays:      req.ConsentPeriodDays,
		FetchScopes:            req.FetchScopes,
		AttemptFrom:            req.AttemptFrom,
		AttemptPeriodDays:      req.AttemptPeriodDays,
		DailyRefresh:           true,
		JavascriptCallbackType: req.JavascriptCallbackType,
		ReturnTo:               cmp.Or(req.ReturnTo, s.cfg.ReturnTo),
	}
	sess, err := prov.CreateConnectSession(ctx, connReq)
	if reconnect != "" && errors.Is(err, provider.ErrNotFound) {
		// Deleted at the provider meanwhile: connect anew.
		connReq.ConnectionID = ""
		sess, err = prov.CreateConnectSession(ctx, connReq)
	}
	if err != nil {
		undo()
		return provider.ConnectSession{}, party.ProviderError(prov.Name(), "create connect session", err)
	}

	var c Connection
	cond := store.IfNotExists()
	if existing != nil {
		c = *existing
		cond = store.IfVersion(existing.Version)
		c.Version = existing.Version + 1
	} else {
		c = Connection{PartyID: partyID, BankCode: b.Code, CreatedAt: now, Version: 1}
	}
	c.BankName, c.Country, c.Provider = b.Name, b.CountryCode, b.Provider
	c.OwnerSub, c.OwnerName, c.Identifier, c.CustomerID = prof.OwnerSub, prof.OwnerName, prof.Identifier, customerID
	if existing != nil && existing.Provider != b.Provider {
		c.ProviderConnectionID = "" // another provider's connection id means nothing here
	}
	c.Status = StatusPending
	c.DailyRefresh = true
	c.NextRefresh = time.Time{}
	c.LastError, c.StopReason = "", ""
	c.Consent = Consent{Scopes: req.ConsentScopes, From: req.ConsentFrom, PeriodDays: req.ConsentPeriodDays,
		FetchScopes: req.FetchScopes, AttemptFrom: req.AttemptFrom, AttemptDays: req.AttemptPeriodDays}
	c.Device = req.Device
	c.ConnectTokenHash = TokenHash(connectToken(sess.ConnectURL))
	c.ConnectStartedAt = now
	c.ConnectExpiresAt = sess.ExpiresAt.UTC()
	c.UpdatedAt = now
	it, err := c.Item()
	if err != nil {
		undo()
		return provider.ConnectSession{}, err
	}
	if len(ops) == 0 {
		err = s.st.Put(ctx, it, cond)
	} else {
		err = s.st.Transact(ctx, append(ops, store.TxPut(it, cond)))
	}
	if err != nil {
		undo()
	}
	if errors.Is(err, store.ErrConditionFailed) {
		return provider.ConnectSession{}, busy(bankCode, err)
	}
	if err != nil {
		return provider.ConnectSession{}, fmt.Errorf("store connection %s/%s: %w", partyID, bankCode, err)
	}
	s.log.InfoContext(ctx, "connection pending", "party", partyID, "bank", bankCode, "provider", b.Provider)
	s.report(ctx, activity.ConnectionCreated, c, "created/"+c.ConnectTokenHash,
		fmt.Sprintf("Connection to %s started through %s; waiting for the login at the bank.", bankName(c), c.Provider), string(StatusPending), time.Time{})
	return sess, nil
}

// Detail is one connection with its import progress.
type Detail struct {
	Connection
	// Import is the holdings importer's progress; State "none" when no
	// import was ever queued, "queued" while the last one this package
	// queued has not started.
	Import holdings.ImportProgress
}

// Details reads the party's profile, connections and import progress with
// one partition query (paged only past 1000 items) and checks access.
func (s *Service) Details(ctx context.Context, p auth.Principal, partyID string) (party.Profile, []Detail, error) {
	if err := party.ValidateID(partyID); err != nil {
		return party.Profile{}, nil, err
	}
	var prof *party.Profile
	var conns []Connection
	progress := map[string]imported{}
	q := store.Query{PK: holdings.PartyPK(partyID)}
	for {
		page, err := s.st.Query(ctx, q)
		if err != nil {
			return party.Profile{}, nil, fmt.Errorf("read party %s: %w", partyID, err)
		}
		for _, it := range page.Items {
			switch {
			case it.SK == party.ProfileSK:
				pr, err := party.Decode(it)
				if err != nil {
					return party.Profile{}, nil, err
				}
				prof = &pr
			case len(it.SK) > len(SKPrefix) && it.SK[:len(SKPrefix)] == SKPrefix:
				c, err := Decode(it)
				if err != nil {
					return party.Profile{}, nil, err
				}
				conns = append(conns, c)
			case len(it.SK) > len(holdings.ImportSKPrefix) && it.SK[:len(holdings.ImportSKPrefix)] == holdings.ImportSKPrefix:
				pg, err := importProgress(it)
				if err != nil {
					return party.Profile{}, nil, err
				}
				progress[it.SK[len(holdings.ImportSKPrefix):]] = pg
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	if prof == nil {
		return party.Profile{}, nil, party.NotFound(partyID)
	}
	if err := s.parties.Authorize(ctx, p, *prof); err != nil {
		return party.Profile{}, nil, err
	}
	out := make([]Detail, 0, len(conns))
	for _, c := range conns {
		out = append(out, detailOf(c, progress))
	}
	return *prof, out, nil
}

// RequestLoad checks access and queues a connections.load job for the
// party: the connection-sync worker reads the party's connections at each
// of its providers into the table.
func (s *Service) RequestLoad(ctx context.Context, p auth.Principal, partyID string) error {
	prof, err := s.parties.Load(ctx, p, partyID)
	if err != nil {
		return err
	}
	return s.sendLoad(ctx, LoadJob{PartyID: prof.PartyID}, "party/"+prof.PartyID+"/"+platform.NewID())
}

// Refresh asks for a refresh of an active connection: ErrRefreshTooEarly
// before the provider's next possible refresh, else the next daily refresh
// moves a period ahead (version-guarded) and a connections.refresh job is
// queued. Store round trips: one BatchGet, one update.
func (s *Service) Refresh(ctx context.Context, p auth.Principal, partyID, bankCode string) (Connection, error) {
	_, c, err := s.readPair(ctx, p, partyID, bankCode)
	if err != nil {
		return Connection{}, err
	}
	if c == nil {
		return Connection{}, notFound(partyID, bankCode)
	}
	now := s.now()
	if c.Status != StatusActive {
		if c.StopReason != "" {
			// Said plainly: no refresh can help, the user must renew the
			// consent (Create answers the provider's reconnect URL).
			return Connection{}, fault.Errorf(ErrNotActive,
				"the connection to bank '%s' is %s: %s; create the connection again (POST /party/profiles/%s/banks/%s/connections) to get a connect_url that renews it",
				bankCode, c.Status, stopText(c.StopReason), partyID, bankCode)
		}
		return Connection{}, fault.Errorf(ErrNotActive, "the connection to bank '%s' is %s; only an active connection can be refreshed", bankCode, c.Status)
	}
	if now.Before(c.NextRefreshPossibleAt) {
		return Connection{}, fault.Wrap(ErrRefreshTooEarly, &TooEarlyError{At: c.NextRefreshPossibleAt},
			"the provider allows the next refresh of the connection to bank '%s' at %s (in %s)", bankCode, c.NextRefreshPossibleAt.UTC().Format(time.RFC3339), c.NextRefreshPossibleAt.Sub(now).Round(time.Second))
	}
	next := *c
	if next.DailyRefresh {
		next.NextRefresh = now.Add(s.cfg.RefreshEvery)
	}
	next.UpdatedAt = now
	it, err := next.Item()
	if err != nil {
		return Connection{}, err
	}
	v, err := s.st.Update(ctx, it)
	if errors.Is(err, store.ErrConditionFailed) {
		return Connection{}, busy(bankCode, err)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("refresh connection %s/%s: %w", partyID, bankCode, err)
	}
	next.Version = v
	key := fmt.Sprintf("manual/%s/%s/%d", partyID, bankCode, v)
	if err := s.sendRefresh(ctx, RefreshJob{PartyID: partyID, BankCode: bankCode, Reason: ReasonManual, RequestedAt: now}, key); err != nil {
		return Connection{}, err
	}
	return next, nil
}

// Remove deletes a connection: it marks the connection "removing"
// (version-guarded, so nothing else writes it any more), deletes it at the
// provider (already gone is fine), deletes its imported data through the
// DataRemover, then deletes the connection and its import progress in one
// transaction. A failure at any step leaves the connection "removing", and
// calling Remove again finishes the job. Store round trips: one BatchGet,
// one update, one transaction (plus the data removal).
func (s *Service) Remove(ctx context.Context, p auth.Principal, partyID, bankCode string) (Connection, error) {
	_, c, err := s.readPair(ctx, p, partyID, bankCode)
	if err != nil {
		return Connection{}, err
	}
	if c == nil {
		return Connection{}, notFound(partyID, bankCode)
	}
	removed := *c
	if c.Status != StatusRemoving {
		next := *c
		next.Status = StatusRemoving
		next.UpdatedAt = s.now()
		it, err := next.Item() // not due any more: leaves the refresh index
		if err != nil {
			return Connection{}, err
		}
		v, err := s.st.Update(ctx, it)
		if errors.Is(err, store.ErrConditionFailed) {
			return Connection{}, busy(bankCode, err)
		}
		if err != nil {
			return Connection{}, fmt.Errorf("mark connection %s/%s removing: %w", partyID, bankCode, err)
		}
		next.Version = v
		c = &next
	}
	if c.ProviderConnectionID != "" {
		prov, ok := s.providers[c.Provider]
		if !ok {
			return Connection{}, fmt.Errorf("remove connection %s/%s: provider %q is not configured", partyID, bankCode, c.Provider)
		}
		if err := prov.DeleteConnection(ctx, c.ProviderConnectionID); err != nil && !errors.Is(err, provider.ErrNotFound) {
			return Connection{}, party.ProviderError(prov.Name(), "delete connection", err)
		}
	}
	if err := s.data.RemoveConnectionData(ctx, partyID, bankCode); err != nil {
		return Connection{}, fmt.Errorf("remove data of connection %s/%s: %w", partyID, bankCode, err)
	}
	err = s.st.Transact(ctx, []store.TxOp{
		store.TxDelete(c.Key(), store.IfVersion(c.Version)),
		store.TxDelete(store.Key{PK: holdings.PartyPK(partyID), SK: holdings.ImportSK(bankCode)}, store.Condition{}),
	})
	if errors.Is(err, store.ErrConditionFailed) {
		return Connection{}, busy(bankCode, err)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("delete connection %s/%s: %w", partyID, bankCode, err)
	}
	s.log.InfoContext(ctx, "connection removed", "party", partyID, "bank", bankCode)
	s.report(ctx, activity.ConnectionRemoved, removed, "", fmt.Sprintf("The connection to %s and its imported data were removed.", bankName(removed)), "removed", time.Time{})
	return removed, nil
}
