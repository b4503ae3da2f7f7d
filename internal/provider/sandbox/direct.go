package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// Direct logins (provider.DirectLogin): the sandbox takes credentials
// through OpenAgg's API as its hosted page does. Every bank accepts any
// non-empty user id with the PIN "secret" (Password); the challenge bank
// then asks its question (answer "123456"); the demo bank needs no
// credentials at all and asks the challenge only when the connection is
// named "MSA"; the failing bank accepts the credentials and then fails.

var _ provider.DirectLogin = (*Provider)(nil)

// rejectedLogin is the bank's message for wrong credentials.
const rejectedLogin = "Die Anmeldung ist fehlgeschlagen: falscher Benutzername oder falsche PIN (sandbox: any user id, PIN \"" + Password + "\")"

// rejectedAnswer is the bank's message for a wrong challenge answer.
const rejectedAnswer = "Die Antwort auf die Sicherheitsabfrage ist falsch (sandbox: " + ChallengeAnswer + ")"

var cityByCountry = map[string]string{"GB": "London", "DE": "Frankfurt am Main", "FR": "Paris", "LU": "Luxembourg"}

// DirectBank implements provider.DirectLogin.
func (p *Provider) DirectBank(bankCode string) (provider.DirectBank, bool) {
	b, ok := p.byCode[bankCode]
	if !ok || p.hidden[bankCode] {
		return provider.DirectBank{}, false
	}
	d := provider.DirectBank{
		// The accounts' SWIFT code with a branch from the directory id,
		// so that every bank's BIC is its own (1005 → SANDDE2X005).
		BIC: bic(b) + "0" + b.ID[len(b.ID)-2:], City: cityByCountry[b.CountryCode], Test: true,
		LoginHint:        "Sandbox: any user id, PIN \"" + Password + "\"",
		LoginFieldUserID: "Benutzerkennung", LoginFieldPIN: "PIN",
	}
	switch {
	case b.Code == BankDemo:
		d.BLZ, d.Demo, d.City = DemoBLZ, true, "München"
		d.LoginHint = "Demo bank: no credentials needed; name the connection \"" + MSALabel + "\" for a challenge (answer " + ChallengeAnswer + ")"
	case b.CountryCode == "DE":
		// A German bank code: 8 digits from the directory id (1005 → 10050000).
		d.BLZ = b.ID + "0000"
	}
	if b.Interactive {
		d.LoginHint += "; then the challenge code " + ChallengeAnswer
	}
	return d, true
}

// checkLogin applies the bank's rules to the credentials of a login.
func checkLogin(b *bankDef, req provider.DirectLoginRequest) error {
	challenge := b.Interactive
	if b.Code == BankDemo {
		challenge = req.Label == MSALabel
	} else if strings.TrimSpace(req.UserID) == "" || req.PIN != Password {
		return &provider.RejectedError{Message: rejectedLogin}
	}
	switch {
	case !challenge && req.ChallengeResponse != "":
		return fmt.Errorf("bank %s asked no challenge: %w", b.Code, provider.ErrNoChallenge)
	case challenge && req.ChallengeResponse == "":
		return &provider.ChallengeError{Challenge: challengeText}
	case challenge && strings.TrimSpace(req.ChallengeResponse) != ChallengeAnswer:
		return &provider.RejectedError{Message: rejectedAnswer}
	}
	return nil
}

// LoginDirect implements provider.DirectLogin: it checks the credentials
// and creates the customer's connection to the bank (or reactivates the
// one it has: one connection per customer and bank, as with the hosted
// page). One Get of the customer, one of the connection, one transaction.
func (p *Provider) LoginDirect(ctx context.Context, req provider.DirectLoginRequest) (provider.Connection, error) {
	b, ok := p.byCode[req.BankCode]
	if !ok || p.hidden[req.BankCode] {
		return provider.Connection{}, fmt.Errorf("direct login: bank %s: %w", req.BankCode, provider.ErrNotFound)
	}
	if b.Status != statusActive {
		return provider.Connection{}, fmt.Errorf("direct login: %w: ProviderInactive: bank %s is %s", provider.ErrInvalid, b.Code, b.Status)
	}
	cust, err := p.loadCustomer(ctx, req.CustomerID)
	if err != nil {
		return provider.Connection{}, fmt.Errorf("direct login: %w", err)
	}
	if err := checkLogin(b, req); err != nil {
		return provider.Connection{}, err
	}
	if b.Failing {
		return provider.Connection{}, fmt.Errorf("direct login to %s: %w: %s", b.Code, provider.ErrUnavailable, providerErrorMsg)
	}
	if b.Slow {
		if err := delay(ctx, p.slow); err != nil {
			return provider.Connection{}, fmt.Errorf("direct login to %s: %w", b.Code, err)
		}
	}
	for range maxAttempts {
		c, err := p.storeDirect(ctx, cust, b, req)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return provider.Connection{}, err
		}
		return p.view(c), nil
	}
	return provider.Connection{}, fmt.Errorf("direct login to %s: %w: too many concurrent updates", b.Code, provider.ErrUnavailable)
}

// storeDirect creates or reactivates the connection of a successful login
// in one transaction that also checks the customer still exists.
func (p *Provider) storeDirect(ctx context.Context, cust customerRecord, b *bankDef, req provider.DirectLoginRequest) (connRecord, error) {
	id := p.connectionID(cust.ID, b.Code)
	c, cver, err := p.loadConnection(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return connRecord{}, err
	}
	now := p.now()
	if !exists {
		c = connRecord{ID: id, CustomerID: cust.ID, Identifier: cust.Identifier, BankCode: b.Code, CreatedAt: now}
	}
	c.DailyRefresh = true
	c.FetchScopes = append([]string(nil), b.SupportedFetchScopes...)
	c.FromDate = time.Time{}
	if !req.From.IsZero() {
		c.FromDate = req.From.UTC().Truncate(24 * time.Hour)
	}
	c.Status, c.LastError = statusActive, ""
	c.UpdatedAt, c.LastSuccessAt = now, now
	c.NextRefreshPossibleAt = now.Add(refreshInterval)
	cond := store.IfNotExists()
	if exists {
		cond = store.IfVersion(cver)
	}
	cit, err := connItem(c, cver+1)
	if err != nil {
		return connRecord{}, err
	}
	ik := customerConnKey(c.CustomerID, c.ID)
	err = p.st.Transact(ctx, []store.TxOp{
		store.TxPut(cit, cond),
		store.TxPut(store.Item{PK: ik.PK, SK: ik.SK, Version: 1, Data: []byte("{}")}, store.Condition{}),
		store.TxCheck(customerKey(c.CustomerID), store.IfExists()),
	})
	var txErr *store.TxError
	switch {
	case errors.As(err, &txErr) && txErr.Index == 2:
		return connRecord{}, fmt.Errorf("direct login: customer %s: %w", cust.ID, provider.ErrNotFound)
	case errors.As(err, &txErr):
		return connRecord{}, errRetry
	case err != nil:
		return connRecord{}, fmt.Errorf("direct login to %s: %w", b.Code, err)
	}
	return c, nil
}

// RefreshDirect implements provider.DirectLogin: a login with credentials
// to an existing connection, allowed at any time.
func (p *Provider) RefreshDirect(ctx context.Context, connectionID string, req provider.DirectLoginRequest) (provider.Connection, error) {
	for range maxAttempts {
		c, ver, err := p.loadConnection(ctx, connectionID)
		if err != nil {
			return provider.Connection{}, fmt.Errorf("direct refresh: %w", err)
		}
		b, ok := p.byCode[c.BankCode]
		if !ok || p.hidden[c.BankCode] {
			return provider.Connection{}, fmt.Errorf("direct refresh of %s: %w: ProviderDisabled: bank %s is no longer available", connectionID, provider.ErrInvalid, c.BankCode)
		}
		if err := checkLogin(b, req); err != nil {
			return provider.Connection{}, err
		}
		if b.Slow {
			if err := delay(ctx, p.slow); err != nil {
				return provider.Connection{}, fmt.Errorf("direct refresh of %s: %w", connectionID, err)
			}
		}
		now := p.now()
		c.UpdatedAt = now
		if b.Failing {
			c.Status, c.LastError = statusInactive, providerErrorMsg
		} else {
			c.Status, c.LastError, c.LastSuccessAt = statusActive, "", now
			c.NextRefreshPossibleAt = now.Add(refreshInterval)
		}
		it, err := connItem(c, ver)
		if err != nil {
			return provider.Connection{}, err
		}
		if _, err := p.st.Update(ctx, it); err != nil {
			if errors.Is(err, store.ErrConditionFailed) {
				continue
			}
			return provider.Connection{}, fmt.Errorf("direct refresh of %s: %w", connectionID, err)
		}
		if b.Failing {
			return provider.Connection{}, fmt.Errorf("direct refresh of %s: %w: %s", connectionID, provider.ErrUnavailable, providerErrorMsg)
		}
		return p.view(c), nil
	}
	return provider.Connection{}, fmt.Errorf("direct refresh of %s: %w: too many concurrent updates", connectionID, provider.ErrUnavailable)
}
