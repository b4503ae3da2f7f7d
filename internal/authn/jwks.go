package authn

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/openagg/openagg/internal/platform"
)

// jwksMinRefresh bounds how often an unknown kid may trigger a refetch, so
// a flood of forged kids cannot hammer the issuer.
const jwksMinRefresh = 30 * time.Second

// jwksMaxAge refetches the set even without unknown kids (key rotation that
// removes keys).
const jwksMaxAge = time.Hour

// jwksRetryAfterFailure bounds how often a failing fetch is retried: while
// the issuer is unreachable, requests fail (or use the cached set) at once
// instead of each one waiting for its own fetch behind the lock.
const jwksRetryAfterFailure = 5 * time.Second

// JWKS is a cached RSA JSON Web Key Set fetched over HTTP (RFC 7517).
type JWKS struct {
	url    string
	client *http.Client
	clock  platform.Clock

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
	// failed is when the last fetch failed (zero after a success), and
	// failErr its error, returned while no retry is due.
	failed  time.Time
	failErr error
}

// NewJWKS returns a key set that fetches url lazily.
func NewJWKS(url string, client *http.Client, clock platform.Clock) *JWKS {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if clock == nil {
		clock = platform.SystemClock{}
	}
	return &JWKS{url: url, client: client, clock: clock}
}

// Key returns the RSA key with kid, fetching the set on first use, when it
// is old, or when kid is unknown (at most once per jwksMinRefresh). A failed
// fetch is retried at most once per jwksRetryAfterFailure. An empty kid
// matches the set's only key.
func (j *JWKS) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.clock.Now()
	if k, ok := j.lookup(kid); ok && now.Sub(j.fetched) < jwksMaxAge {
		return k, nil
	}
	due := j.keys == nil || now.Sub(j.fetched) >= jwksMinRefresh
	if !j.failed.IsZero() && now.Sub(j.failed) < jwksRetryAfterFailure {
		due = false
	}
	if due {
		keys, err := j.fetch(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			// This request gave up; the issuer is not to blame.
			return nil, err
		case err != nil:
			j.failed, j.failErr = now, err
		default:
			j.keys, j.fetched, j.failed, j.failErr = keys, now, time.Time{}, nil
		}
	}
	if j.failErr != nil {
		// Keep serving the cached set if the issuer is briefly down.
		if k, ok := j.lookup(kid); ok {
			return k, nil
		}
		return nil, j.failErr
	}
	if k, ok := j.lookup(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("jwks: no key with kid %q", kid)
}

func (j *JWKS) lookup(kid string) (*rsa.PublicKey, bool) {
	if kid == "" && len(j.keys) == 1 {
		for _, k := range j.keys {
			return k, true
		}
	}
	k, ok := j.keys[kid]
	return k, ok
}

func (j *JWKS) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: fetch %s: %w", j.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: fetch %s: status %d", j.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("jwks: read %s: %w", j.url, err)
	}
	return ParseJWKS(body)
}

// jwk is the subset of RFC 7517/7518 members we use.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// ParseJWKS parses a JWK Set document and returns its RSA signing keys by
// kid. Keys of other types, or marked for encryption, are skipped.
func ParseJWKS(doc []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("jwks: decode: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for i, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		pub, err := parseRSAJWK(k)
		if err != nil {
			return nil, fmt.Errorf("jwks: key %d (kid %q): %w", i, k.Kid, err)
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no RSA signing key in set")
	}
	return keys, nil
}

// parseRSAJWK decodes the modulus n and exponent e (base64url big-endian
// unsigned integers, RFC 7518 §6.3.1).
func parseRSAJWK(k jwk) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil || len(nb) == 0 {
		return nil, errors.New("bad modulus n")
	}
	eb, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("bad exponent e")
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < 2048 {
		return nil, fmt.Errorf("modulus of %d bits is too short (min 2048)", n.BitLen())
	}
	e := 0
	for _, b := range eb {
		e = e<<8 | int(b)
	}
	if e < 3 || e%2 == 0 {
		return nil, fmt.Errorf("bad exponent %d", e)
	}
	return &rsa.PublicKey{N: n, E: e}, nil
}
