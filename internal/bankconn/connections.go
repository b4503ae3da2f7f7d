package bankconn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/party"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// Field limits of finAPI (characters).
const (
	MaxUserIDLength    = 64
	MaxCustomerNo      = 64
	MaxPINLength       = 170
	MaxNameLength      = 64
	MaxChallengeLength = 2048
	MaxTwoStepLength   = 64
	// MaxIDs bounds an ids list (get all connections, accounts,
	// transactions).
	MaxIDs = 1000
)

// ImportParams is a validated-by-Import request to import a connection.
type ImportParams struct {
	BankID            int64
	UserID            *string
	CustomerNo        *string
	PIN               *credential.Secret
	StorePIN          bool
	Name              *string
	MaxDays           int // 0: all the bank has; else 14 to 3650
	AccountTypes      []int
	ChallengeResponse string
}

func checkLen(field, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return fault.Errorf(ErrInvalidField, "%s is %d characters long, at most %d are allowed", field, n, max)
	}
	if !utf8.ValidString(v) {
		return fault.Errorf(ErrInvalidField, "%s is not valid UTF-8", field)
	}
	return nil
}

func checkOptLen(field string, v *string, max int) error {
	if v == nil {
		return nil
	}
	return checkLen(field, *v, max)
}

func (in ImportParams) validate() error {
	if in.BankID <= 0 || in.BankID > MaxID {
		return fault.Errorf(ErrInvalidField, "bankId %d is not a bank id", in.BankID)
	}
	var pin *string
	if in.PIN != nil {
		v := in.PIN.Reveal()
		pin = &v
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"bankingUserId", in.UserID, MaxUserIDLength}, {"bankingCustomerId", in.CustomerNo, MaxCustomerNo},
		{"bankingPin", pin, MaxPINLength}, {"name", in.Name, MaxNameLength}} {
		if err := checkOptLen(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if err := checkLen("challengeResponse", in.ChallengeResponse, MaxChallengeLength); err != nil {
		return err
	}
	if in.MaxDays != 0 && (in.MaxDays < 14 || in.MaxDays > 3650) {
		return fault.Errorf(ErrInvalidField, "maxDaysForDownload must be 0 (no limit) or 14 to 3650, not %d", in.MaxDays)
	}
	if len(in.AccountTypes) > len(TypeNames) {
		return fault.Errorf(ErrInvalidField, "accountTypeIds lists %d types; there are %d", len(in.AccountTypes), len(TypeNames))
	}
	for _, t := range in.AccountTypes {
		if _, ok := TypeNames[t]; !ok {
			return fault.Errorf(ErrInvalidField, "accountTypeIds: %d is not an account type (1 to 8)", t)
		}
	}
	return nil
}

// nonEmpty is v, or nil when it is empty.
func nonEmpty(v *string) *string {
	if v == nil || *v == "" {
		return nil
	}
	return v
}

// directBank finds a bank by finAPI id and checks that it can be imported
// with credentials: its provider logs users in directly, lists it as active,
// and access to it is enabled.
func (s *Service) directBank(ctx context.Context, id int64) (bank.Bank, BankInfo, provider.Provider, provider.DirectLogin, error) {
	if id <= 0 || id >= 1e10 {
		return bank.Bank{}, BankInfo{}, nil, nil, fault.Errorf(ErrNotFound, "no bank with id %d", id)
	}
	b, err := s.banks.ByInternalID(ctx, internalBankID(id))
	if err != nil {
		if fault.IsClass(err, fault.NotFound) || isNotFound(err) {
			return bank.Bank{}, BankInfo{}, nil, nil, fault.Wrap(ErrNotFound, err, "no bank with id %d", id)
		}
		return bank.Bank{}, BankInfo{}, nil, nil, fmt.Errorf("find bank %d: %w", id, err)
	}
	bi := s.bankInfo(b)
	prov := s.providers[b.Provider]
	dl, ok := prov.(provider.DirectLogin)
	switch {
	case !ok:
		return b, bi, nil, nil, fault.Errorf(ErrUnsupportedBank, "bank %d (%s) cannot be imported with credentials: its provider logs users in on its own page", id, b.Name)
	case !bi.Supported:
		return b, bi, nil, nil, fault.Errorf(ErrUnsupportedBank, "bank %d (%s) is not available for imports", id, b.Name)
	}
	return b, bi, prov, dl, nil
}

// isNotFound recognizes a bank directory's "not found" whatever form it
// has (a fault kind, or the older platform error with status 404).
func isNotFound(err error) bool {
	if errors.Is(err, bank.ErrNotFound) {
		return true
	}
	var pe *platform.Error
	return errors.As(err, &pe) && pe.Status == 404
}

// loginError turns a provider's answer to a login into this package's
// failures; anything else stays internal.
func loginError(err error) error {
	var ce *provider.ChallengeError
	var re *provider.RejectedError
	switch {
	case errors.As(err, &ce):
		return fault.Wrap(ErrChallenge, err, "%s", ce.Challenge)
	case errors.As(err, &re):
		return fault.Wrap(ErrRejected, err, "%s", re.Message)
	case errors.Is(err, provider.ErrNoChallenge):
		return fault.Wrap(ErrNoChallenge, err, "the bank asked no challenge to answer: send no challengeResponse")
	case errors.Is(err, provider.ErrUnavailable):
		return fault.Wrap(ErrBankFailed, err, "the bank's service failed during the login; try again later")
	case errors.Is(err, provider.ErrNotFound), errors.Is(err, provider.ErrInvalid):
		return fault.Wrap(ErrUnsupportedBank, err, "the bank is not available for imports")
	}
	return err
}

// profile returns the caller's finAPI party profile, creating it (and its
// provider customer) on the first import.
func (s *Service) profile(ctx context.Context, p auth.Principal, sn *snapshot) (party.Profile, error) {
	if sn.profile != nil {
		return *sn.profile, nil
	}
	_, cerr := s.parties.CreateProfile(ctx, p, sn.partyID)
	// A concurrent first import may have won: then the profile is there.
	prof, err := s.parties.Get(ctx, sn.partyID)
	if err != nil {
		if cerr != nil {
			return party.Profile{}, fmt.Errorf("create finAPI party %s: %w", sn.partyID, cerr)
		}
		return party.Profile{}, fmt.Errorf("read finAPI party %s: %w", sn.partyID, err)
	}
	if prof.OwnerSub != p.Subject {
		return party.Profile{}, forbidden(sn.partyID)
	}
	return prof, nil
}

// Import imports a new bank connection: it logs the user in at the bank
// with the credentials (the demo bank needs none), stores the connection
// and its finAPI record, and queues the download on the holdings workers.
// It answers before the download ends: the connection is IN_PROGRESS and
// its categorization PENDING. A challenge (ErrChallenge) creates nothing;
// the same import with the answer in ChallengeResponse continues it.
func (s *Service) Import(ctx context.Context, p auth.Principal, in ImportParams) (Connection, error) {
	if err := in.validate(); err != nil {
		return Connection{}, err
	}
	b, bi, prov, dl, err := s.directBank(ctx, in.BankID)
	if err != nil {
		return Connection{}, err
	}
	var pin string
	if in.PIN != nil {
		pin = in.PIN.Reveal()
	}
	if !bi.Demo {
		switch {
		case in.UserID == nil || strings.TrimSpace(*in.UserID) == "":
			return Connection{}, fault.Errorf(ErrMissingField, "bankingUserId is required for bank %d", in.BankID)
		case pin == "":
			return Connection{}, fault.Errorf(ErrMissingField, "bankingPin is required for bank %d", in.BankID)
		}
	}
	sn, err := s.read(ctx, p)
	if err != nil {
		return Connection{}, err
	}
	if _, ok := sn.details[b.Code]; ok {
		return Connection{}, fault.Errorf(ErrExists, "you already have a connection to bank %d (%s)", bi.ID, b.Name)
	}
	prof, err := s.profile(ctx, p, sn)
	if err != nil {
		return Connection{}, err
	}
	name := nonEmpty(in.Name)
	req := provider.DirectLoginRequest{BankCode: b.Code, PIN: pin, ChallengeResponse: in.ChallengeResponse}
	if in.UserID != nil {
		req.UserID = *in.UserID
	}
	if in.CustomerNo != nil {
		req.CustomerNo = *in.CustomerNo
	}
	if name != nil {
		req.Label = *name
	}
	if in.MaxDays > 0 {
		req.From = s.now().AddDate(0, 0, -in.MaxDays)
	}
	login := func(ctx context.Context, customerID string) (provider.Connection, error) {
		req.CustomerID = customerID
		pc, err := dl.LoginDirect(ctx, req)
		if err != nil {
			return pc, loginError(err)
		}
		if len(in.AccountTypes) > 0 {
			if err := s.checkTypes(ctx, prov, pc.ID, in.AccountTypes); err != nil {
				return pc, err
			}
		}
		return pc, nil
	}
	c, created, err := s.conns.ConnectDirect(ctx, prof, b, login)
	if err != nil {
		return Connection{}, err
	}
	if !created {
		return Connection{}, fault.Errorf(ErrExists, "you already have a connection to bank %d (%s)", bi.ID, b.Name)
	}
	now := s.now()
	rec := connRecord{BankCode: b.Code, Provider: b.Provider, Bank: bi, Name: name, UserID: nonEmpty(in.UserID),
		CustomerNo: nonEmpty(in.CustomerNo), AccountTypes: slices.Clone(in.AccountTypes), CreatedAt: now,
		Manual: &manualUpdate{At: now, RunID: platform.NewID()}}
	if in.StorePIN && pin != "" {
		if err := s.sealPIN(ctx, &rec, sn.partyID, pin); err != nil {
			return Connection{}, err
		}
	}
	if err := s.sweepBank(ctx, sn, b.Code); err != nil { // what an unfinished deletion left
		return Connection{}, err
	}
	if err := s.createRecord(ctx, sn.partyID, &rec); err != nil {
		return Connection{}, err
	}
	if err := s.holdings.EnqueueImport(ctx, importRequest(c, rec.Manual.RunID)); err != nil {
		return Connection{}, fmt.Errorf("queue the import of connection %d: %w", rec.ID, err)
	}
	s.log.InfoContext(ctx, "finAPI connection imported", "party", sn.partyID, "bank", b.Code, "id", rec.ID)
	d := connection.Detail{Connection: c, Import: holdings.ImportProgress{State: holdings.StateQueued}}
	sn.details[b.Code] = d
	return sn.view(&rec, d), nil
}

// checkTypes refuses a login none of whose accounts has a requested type,
// deleting the provider connection it made.
func (s *Service) checkTypes(ctx context.Context, prov provider.Provider, connectionID string, types []int) error {
	accs, err := prov.ListAccounts(ctx, connectionID)
	if err != nil {
		return loginError(err)
	}
	for _, a := range accs {
		if slices.Contains(types, typeOfNature(a.Nature)) {
			return nil
		}
	}
	if err := prov.DeleteConnection(ctx, connectionID); err != nil && !errors.Is(err, provider.ErrNotFound) {
		return fmt.Errorf("delete the provider connection of a refused import: %w", err)
	}
	return fault.Errorf(ErrNoAccountsForType, "the bank has no account of the types %v", types)
}

func importRequest(c connection.Connection, runID string) holdings.ImportRequest {
	return holdings.ImportRequest{PartyID: c.PartyID, OwnerSub: c.OwnerSub, OwnerName: c.OwnerName, CustomerID: c.CustomerID,
		Provider: c.Provider, BankCode: c.BankCode, BankName: c.BankName, ConnectionID: c.ProviderConnectionID, RunID: runID}
}

// sealPIN stores pin sealed in rec.
func (s *Service) sealPIN(ctx context.Context, rec *connRecord, partyID, pin string) error {
	sealed, err := s.keys.Seal(ctx, []byte(pin), pinAAD(partyID, rec.BankCode))
	if err != nil {
		return fmt.Errorf("seal the PIN of connection to %s: %w", rec.BankCode, err)
	}
	rec.PIN, rec.PINLen = &sealed, utf8.RuneCountInString(pin)
	return nil
}

// createRecord gives rec a new id and stores it: one transaction with the
// id counter (and one Get of it).
func (s *Service) createRecord(ctx context.Context, partyID string, rec *connRecord) error {
	for range idAttempts {
		id, op, err := s.reserve(ctx, "conn", 1)
		if err != nil {
			return err
		}
		rec.ID = id
		it, err := encode(connKey(partyID, rec.BankCode), rec, 1)
		if err != nil {
			return err
		}
		err = s.st.Transact(ctx, []store.TxOp{op, store.TxPut(it, store.IfNotExists())})
		switch {
		case err == nil:
			rec.Version = 1
			return nil
		case counterLost(err):
			continue
		case errors.Is(err, store.ErrConditionFailed):
			return fault.Wrap(ErrExists, err, "a connection to this bank is being imported")
		default:
			return fmt.Errorf("store finAPI connection to %s: %w", rec.BankCode, err)
		}
	}
	return fmt.Errorf("store finAPI connection to %s: the id counter kept changing", rec.BankCode)
}

// saveRecord writes a changed record (version-guarded): ErrBusy when it
// changed meanwhile.
func (s *Service) saveRecord(ctx context.Context, partyID string, rec *connRecord) error {
	it, err := encode(connKey(partyID, rec.BankCode), rec, rec.Version)
	if err != nil {
		return err
	}
	v, err := s.st.Update(ctx, it)
	if errors.Is(err, store.ErrConditionFailed) {
		return fault.Wrap(ErrBusy, err, "connection %d was changed concurrently; retry", rec.ID)
	}
	if err != nil {
		return fmt.Errorf("save finAPI connection %d: %w", rec.ID, err)
	}
	rec.Version = v
	return nil
}

// find returns a live connection of the user's.
func (sn *snapshot) find(id int64) (*connRecord, connection.Detail, error) {
	r, d, ok := sn.byID(id)
	if !ok {
		return nil, connection.Detail{}, fault.Errorf(ErrNotFound, "no bank connection with id %d", id)
	}
	return r, d, nil
}

// Get returns one of the user's connections (one store call).
func (s *Service) Get(ctx context.Context, p auth.Principal, id int64) (Connection, error) {
	sn, err := s.read(ctx, p)
	if err != nil {
		return Connection{}, err
	}
	r, d, err := sn.find(id)
	if err != nil {
		return Connection{}, err
	}
	return sn.view(r, d), nil
}

// List returns the user's connections by ascending id, those of ids only
// when ids is not nil (unknown and other users' ids are left out): one
// store call.
func (s *Service) List(ctx context.Context, p auth.Principal, ids []int64) ([]Connection, error) {
	if len(ids) > MaxIDs {
		return nil, fault.Errorf(ErrTooManyIDs, "at most %d ids, got %d", MaxIDs, len(ids))
	}
	sn, err := s.read(ctx, p)
	if err != nil {
		return nil, err
	}
	out := []Connection{}
	for _, r := range sn.live() {
		if ids != nil && !slices.Contains(ids, r.ID) {
			continue
		}
		out = append(out, sn.view(r, sn.details[r.BankCode]))
	}
	return out, nil
}

// UpdateParams asks for an update of a connection.
type UpdateParams struct {
	ID                int64
	PIN               *credential.Secret
	ChallengeResponse string
}

// Update downloads a connection's data again: the user logs in at the bank
// again (with the PIN given, else the stored one; the demo bank needs
// none), and the download is queued on the holdings workers. Refused while
// the connection is busy; a rejected login is recorded as the last manual
// update.
func (s *Service) Update(ctx context.Context, p auth.Principal, in UpdateParams) (Connection, error) {
	if in.PIN != nil {
		if err := checkLen("bankingPin", in.PIN.Reveal(), MaxPINLength); err != nil {
			return Connection{}, err
		}
	}
	if err := checkLen("challengeResponse", in.ChallengeResponse, MaxChallengeLength); err != nil {
		return Connection{}, err
	}
	sn, err := s.read(ctx, p)
	if err != nil {
		return Connection{}, err
	}
	r, d, err := sn.find(in.ID)
	if err != nil {
		return Connection{}, err
	}
	if sn.view(r, d).Busy() {
		return Connection{}, fault.Errorf(ErrBusy, "bank connection %d is being imported, updated or categorized", r.ID)
	}
	dl, ok := s.providers[r.Provider].(provider.DirectLogin)
	if !ok {
		return Connection{}, fault.Errorf(ErrUnsupportedBank, "bank connection %d cannot be updated with credentials", r.ID)
	}
	req := provider.DirectLoginRequest{ChallengeResponse: in.ChallengeResponse}
	if r.UserID != nil {
		req.UserID = *r.UserID
	}
	if r.CustomerNo != nil {
		req.CustomerNo = *r.CustomerNo
	}
	if r.Name != nil {
		req.Label = *r.Name
	}
	if !r.Bank.Demo { // the demo bank ignores the PIN
		switch {
		case in.PIN != nil && in.PIN.Reveal() != "":
			req.PIN = in.PIN.Reveal()
		case r.PIN != nil:
			b, err := s.keys.Open(ctx, *r.PIN, pinAAD(sn.partyID, r.BankCode))
			if err != nil {
				return Connection{}, fmt.Errorf("open the stored PIN of connection %d: %w", r.ID, err)
			}
			req.PIN = string(b)
			clear(b)
		default:
			return Connection{}, fault.Errorf(ErrMissingField, "bankingPin is required: connection %d has no stored PIN", r.ID)
		}
	}
	now := s.now()
	if _, err := dl.RefreshDirect(ctx, d.ProviderConnectionID, req); err != nil {
		err = loginError(err)
		if errors.Is(err, ErrRejected) {
			_, msg, _ := fault.Of(err)
			r.Manual = &manualUpdate{At: now, Rejected: true, Message: msg}
			if serr := s.saveRecord(ctx, sn.partyID, r); serr != nil {
				return Connection{}, errors.Join(err, serr)
			}
		}
		return Connection{}, err
	}
	r.Manual = &manualUpdate{At: now, RunID: platform.NewID()}
	if err := s.saveRecord(ctx, sn.partyID, r); err != nil {
		return Connection{}, err
	}
	if err := s.holdings.EnqueueImport(ctx, importRequest(d.Connection, r.Manual.RunID)); err != nil {
		return Connection{}, fmt.Errorf("queue the update of connection %d: %w", r.ID, err)
	}
	d.Import.State = holdings.StateQueued
	return sn.view(r, d), nil
}

// EditParams changes a connection: nil leaves a field, "" clears it.
type EditParams struct {
	UserID         *string
	CustomerNo     *string
	PIN            *credential.Secret
	DefaultTwoStep *string
	Name           *string
}

// Edit changes a connection's name, stored credentials or default
// two-step procedure. Credentials cannot change while the connection is
// busy; the user id cannot be cleared, except on the demo connection. A
// PIN set here is stored (sealed) whatever storePin said at the import.
func (s *Service) Edit(ctx context.Context, p auth.Principal, id int64, in EditParams) (Connection, error) {
	var pin *string
	if in.PIN != nil {
		v := in.PIN.Reveal()
		pin = &v
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"bankingUserId", in.UserID, MaxUserIDLength}, {"bankingCustomerId", in.CustomerNo, MaxCustomerNo},
		{"bankingPin", pin, MaxPINLength}, {"name", in.Name, MaxNameLength}, {"defaultTwoStepProcedureId", in.DefaultTwoStep, MaxTwoStepLength}} {
		if err := checkOptLen(f.name, f.v, f.max); err != nil {
			return Connection{}, err
		}
	}
	sn, err := s.read(ctx, p)
	if err != nil {
		return Connection{}, err
	}
	r, d, err := sn.find(id)
	if err != nil {
		return Connection{}, err
	}
	credentials := in.UserID != nil || in.CustomerNo != nil || in.PIN != nil
	if credentials && sn.view(r, d).Busy() {
		return Connection{}, fault.Errorf(ErrBusy, "the credentials of bank connection %d cannot change while it is imported, updated or categorized", r.ID)
	}
	if in.UserID != nil && *in.UserID == "" && !r.Bank.Demo {
		return Connection{}, fault.Errorf(ErrInvalidField, "bankingUserId cannot be cleared")
	}
	if in.DefaultTwoStep != nil && *in.DefaultTwoStep != "" {
		// No bank of OpenAgg's providers offers two-step procedures yet.
		return Connection{}, fault.Errorf(ErrInvalidField, "defaultTwoStepProcedureId %q is not a two-step procedure of bank connection %d (it has none)",
			platform.Truncate(*in.DefaultTwoStep, 64), r.ID)
	}
	changed := false
	set := func(dst **string, v *string) {
		if v != nil {
			*dst, changed = nonEmpty(v), true
		}
	}
	set(&r.UserID, in.UserID)
	set(&r.CustomerNo, in.CustomerNo)
	set(&r.Name, in.Name)
	set(&r.DefaultTwoStep, in.DefaultTwoStep)
	if pin != nil {
		changed = true
		if *pin == "" {
			r.PIN, r.PINLen = nil, 0
		} else if err := s.sealPIN(ctx, r, sn.partyID, *pin); err != nil {
			return Connection{}, err
		}
	}
	if changed {
		if err := s.saveRecord(ctx, sn.partyID, r); err != nil {
			return Connection{}, err
		}
	}
	return sn.view(r, d), nil
}

// Delete removes a connection with its accounts, transactions and
// balances (refused while busy).
func (s *Service) Delete(ctx context.Context, p auth.Principal, id int64) error {
	sn, err := s.read(ctx, p)
	if err != nil {
		return err
	}
	r, d, err := sn.find(id)
	if err != nil {
		return err
	}
	if sn.view(r, d).Busy() {
		return fault.Errorf(ErrBusy, "bank connection %d is being imported, updated or categorized", r.ID)
	}
	return s.remove(ctx, p, sn, r)
}

// DeleteAll removes every connection of the user and returns their ids
// (ascending); when one of them is busy it removes nothing.
func (s *Service) DeleteAll(ctx context.Context, p auth.Principal) ([]int64, error) {
	sn, err := s.read(ctx, p)
	if err != nil {
		return nil, err
	}
	live := sn.live()
	for _, r := range live {
		if sn.view(r, sn.details[r.BankCode]).Busy() {
			return []int64{}, nil
		}
	}
	ids := []int64{}
	for _, r := range live {
		if err := s.remove(ctx, p, sn, r); err != nil {
			return ids, err
		}
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// remove deletes the connection (package connection: at the provider, its
// imported data, the record), then this package's records of it.
func (s *Service) remove(ctx context.Context, p auth.Principal, sn *snapshot, r *connRecord) error {
	if _, err := s.conns.Remove(ctx, p, sn.partyID, r.BankCode); err != nil {
		return fmt.Errorf("delete bank connection %d: %w", r.ID, err)
	}
	if err := s.sweepBank(ctx, sn, r.BankCode); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "finAPI connection deleted", "party", sn.partyID, "bank", r.BankCode, "id", r.ID)
	return nil
}

// sweepBank deletes this package's records of the party's connection to a
// bank: its record, categorization state and accounts (one batch write,
// nothing when there is none).
func (s *Service) sweepBank(ctx context.Context, sn *snapshot, bankCode string) error {
	var keys []store.Key
	for _, r := range sn.conns {
		if r.BankCode == bankCode {
			keys = append(keys, connKey(sn.partyID, bankCode))
		}
	}
	if _, ok := sn.cats[bankCode]; ok {
		keys = append(keys, catKey(sn.partyID, bankCode))
	}
	for _, a := range sn.accs {
		if a.BankCode == bankCode {
			keys = append(keys, accKey(sn.partyID, a.AccountID))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if err := s.st.BatchWrite(ctx, nil, keys); err != nil {
		return fmt.Errorf("delete the finAPI records of the connection to %s: %w", bankCode, err)
	}
	sn.conns = slices.DeleteFunc(sn.conns, func(r *connRecord) bool { return r.BankCode == bankCode })
	delete(sn.cats, bankCode)
	sn.accs = slices.DeleteFunc(sn.accs, func(a *accRecord) bool { return a.BankCode == bankCode })
	return nil
}
