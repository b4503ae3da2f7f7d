package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openagg/openagg/internal/auth"
)

// A client sends the same bearer token with every request until it
// expires; verifying it each time (base64, JSON, HMAC or RSA, claims) costs
// more than many handlers. The middleware remembers the tokens it verified,
// for a short while and within their validity.
const (
	// verifiedMaxAge bounds how long a verified token is taken on trust:
	// a key removed from the issuer's key set stops being honoured for
	// tokens already seen after at most this long (the key set itself is
	// cached for up to jwksMaxAge).
	verifiedMaxAge = 5 * time.Minute
	// verifiedMaxTokens bounds the cache (a token is at most
	// verifiedMaxLen bytes: about 4 MB in all).
	verifiedMaxTokens = 1024
	verifiedMaxLen    = 4096
)

// verifiedToken is a token that verified, with the times it stays valid.
type verifiedToken struct {
	p auth.Principal
	// from and until bound when it is taken on trust: not before its nbf
	// (less the leeway), before its exp (plus the leeway) and before
	// verifiedMaxAge has passed since it was verified.
	from, until time.Time
}

// verifiedCache is Verify with a memory of the tokens that verified. Only
// successes are kept: a bad token is verified (and refused) every time.
type verifiedCache struct {
	a      *Authenticator
	mu     sync.Mutex
	tokens map[string]verifiedToken
}

func (a *Authenticator) newVerifiedCache() *verifiedCache {
	return &verifiedCache{a: a, tokens: map[string]verifiedToken{}}
}

// verify is Authenticator.Verify, answered from memory for a token that
// verified before and is still within its times.
func (c *verifiedCache) verify(ctx context.Context, token string) (auth.Principal, error) {
	now := c.a.clock.Now()
	c.mu.Lock()
	v, ok := c.tokens[token]
	c.mu.Unlock()
	if ok && !now.Before(v.from) && now.Before(v.until) {
		p := v.p
		p.Roles = slices.Clone(p.Roles) // the caller's own copy
		return p, nil
	}
	p, err := c.a.Verify(ctx, token)
	if err != nil || len(token) > verifiedMaxLen {
		return p, err
	}
	nbf, exp, ok := tokenTimes(token)
	if !ok {
		return p, nil
	}
	v = verifiedToken{p: p, until: now.Add(verifiedMaxAge)}
	v.p.Roles = slices.Clone(p.Roles)
	if !nbf.IsZero() {
		v.from = nbf.Add(-c.a.leeway)
	}
	if e := exp.Add(c.a.leeway); e.Before(v.until) {
		v.until = e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tokens) >= verifiedMaxTokens {
		c.evict(now)
	}
	c.tokens[token] = v
	return p, nil
}

// evict drops the tokens no longer valid, then, if that was not enough,
// half of the others (in map order: arbitrary). c.mu is held.
func (c *verifiedCache) evict(now time.Time) {
	for t, v := range c.tokens {
		if !now.Before(v.until) {
			delete(c.tokens, t)
		}
	}
	for t := range c.tokens {
		if len(c.tokens) < verifiedMaxTokens/2 {
			break
		}
		delete(c.tokens, t)
	}
}

// tokenTimes reads nbf and exp of a token that Verify accepted (so the
// payload is well formed and exp is present); ok is false otherwise.
func tokenTimes(token string) (nbf, exp time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nbf, exp, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nbf, exp, false
	}
	var c struct {
		NotBefore *jwt.NumericDate `json:"nbf"`
		ExpiresAt *jwt.NumericDate `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.ExpiresAt == nil {
		return nbf, exp, false
	}
	if c.NotBefore != nil {
		nbf = c.NotBefore.Time
	}
	return nbf, c.ExpiresAt.Time, true
}
