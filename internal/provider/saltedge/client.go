// Package saltedge is the provider port's client for the Salt Edge Account
// Information API v6 (docs.saltedge.com/v6/api_reference; the facts this
// client relies on are listed in docs/saltedge.md).
//
// Every request carries App-id, Secret, Accept and Content-Type; with a
// private key configured it is also signed (Expires-at, Signature = base64
// RSA-SHA256 over "Expires-at|METHOD|full URL|body"), which Salt Edge
// requires of live apps. Payloads travel in a "data" envelope, lists are
// followed through meta.next_id / from_id, and amounts are decoded as
// json.Number into exact decimals, never float64. Salt Edge errors
// ({"error":{"class","message"}}) become *APIError, which unwraps to the
// port's portable errors.
//
// Salt Edge works asynchronously: a connect, reconnect or background
// refresh only starts a fetch, and the data is complete when the success
// callback of the final stage arrives. RefreshConnection therefore answers
// a connection whose Fetching is true, and the import follows the
// callbacks (internal/connection).
//
// Retries: 429, 5xx and requests lost on the network are retried with
// bounded exponential backoff. Every call is safe to repeat or made so: a
// retried customer creation that meets DuplicatedCustomer looks the
// customer up by identifier (the first attempt may have created it), a
// retried background refresh that meets "already processing" or "too
// early" reads the connection back, and a repeated connect session only
// leaves an unused session behind.
package saltedge

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
)

// Name is the provider's name on the wire.
const Name = "saltedge"

// DefaultBaseURL is Salt Edge's API v6 endpoint.
const DefaultBaseURL = "https://www.saltedge.com/api/v6"

// Config configures New. Zero values get the documented defaults.
type Config struct {
	// BaseURL is the API root; default DefaultBaseURL (tests point it at
	// saltedgetest).
	BaseURL string
	AppID   string
	Secret  string
	// PrivateKeyPEM (PKCS#1 or PKCS#8 RSA key), when set, signs every
	// request, as Salt Edge requires of live apps.
	PrivateKeyPEM string
	// HTTPClient sends the requests; default a client with a 60 s timeout.
	HTTPClient *http.Client
	// Clock dates the signatures; default platform.SystemClock.
	Clock platform.Clock
	// MaxRetries bounds the retries of a request answered 429/5xx or lost
	// on the network; default 3, negative for none.
	MaxRetries int
	// RetryBackoff is the first wait, doubled at every retry up to
	// MaxBackoff (a Retry-After header is honoured within that cap);
	// defaults 500 ms and 10 s.
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// IncludeSandboxes lists Salt Edge's sandbox and fake providers (country
	// XF) in the directory and lets connect sessions use them
	// (include_sandboxes). Off by default: a production app shows real
	// banks only.
	IncludeSandboxes bool
	// RefreshFetchScopes are the fetch scopes of a background refresh;
	// default accounts and transactions.
	RefreshFetchScopes []string
}

// Client is the Salt Edge implementation of provider.Provider. It is safe
// for concurrent use.
type Client struct {
	cfg   Config
	base  string
	key   *rsa.PrivateKey
	http  *http.Client
	clock platform.Clock
}

var _ provider.Provider = (*Client)(nil)

// New checks cfg and returns a client. Only a malformed BaseURL or private
// key is an error (whether live requests can be made at all is the
// configuration's check: internal/app).
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("saltedge: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), http: cfg.HTTPClient, clock: cfg.Clock}
	if cfg.PrivateKeyPEM != "" {
		if c.key, err = ParsePrivateKeyPEM(cfg.PrivateKeyPEM); err != nil {
			return nil, fmt.Errorf("saltedge: signing key: %w", err)
		}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.clock == nil {
		c.clock = platform.SystemClock{}
	}
	if c.cfg.MaxRetries == 0 {
		c.cfg.MaxRetries = 3
	}
	if c.cfg.RetryBackoff <= 0 {
		c.cfg.RetryBackoff = 500 * time.Millisecond
	}
	if c.cfg.MaxBackoff <= 0 {
		c.cfg.MaxBackoff = 10 * time.Second
	}
	if c.cfg.RefreshFetchScopes == nil {
		c.cfg.RefreshFetchScopes = []string{"accounts", "transactions"}
	}
	return c, nil
}

// Name implements provider.Provider.
func (c *Client) Name() string { return Name }

// APIError is an error answer of Salt Edge. It unwraps to the port's error
// for its class or status, so callers test errors.Is(err,
// provider.ErrNotFound) and reach the class with errors.As when they care.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Class   string // e.g. ConnectionNotFound; empty when the body was not Salt Edge JSON
	Message string
	kind    error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("saltedge %s %s: %d %s: %s (%v)", e.Method, e.Path, e.Status, e.Class, e.Message, e.kind)
}

// Unwrap returns the port's error (provider.ErrNotFound, ...).
func (e *APIError) Unwrap() error { return e.kind }

// classKinds maps Salt Edge error classes to the port's errors; classes not
// listed fall back on the HTTP status.
var classKinds = map[string]error{
	"ConsentExpired":               provider.ErrConsentExpired,
	"ConsentRevoked":               provider.ErrConsentRevoked,
	"AccountNotFound":              provider.ErrNotFound,
	"AttemptNotFound":              provider.ErrNotFound,
	"ConnectionNotFound":           provider.ErrNotFound,
	"CustomerNotFound":             provider.ErrNotFound,
	"ProviderNotFound":             provider.ErrNotFound,
	"TransactionNotFound":          provider.ErrNotFound,
	"AispConsentNotFound":          provider.ErrNotFound,
	"DuplicatedCustomer":           provider.ErrDuplicateCustomer,
	"ConnectionCannotBeRefreshed":  provider.ErrTooEarly,
	"ConnectionAlreadyProcessing":  provider.ErrTooEarly,
	"BackgroundFetchLimitExceeded": provider.ErrTooEarly,
	"RateLimitExceeded":            provider.ErrUnavailable,
	"TooManyRequests":              provider.ErrUnavailable,
	"InternalServerError":          provider.ErrUnavailable,
	"ProviderUnavailable":          provider.ErrUnavailable,
	"ProviderError":                provider.ErrUnavailable,
	"ExecutionTimeout":             provider.ErrUnavailable,
	"FetchingTimeout":              provider.ErrUnavailable,
	"ConnectionFailed":             provider.ErrUnavailable,
	"ConnectionLost":               provider.ErrUnavailable,
}

func kindOf(status int, class string) error {
	if k, ok := classKinds[class]; ok {
		return k
	}
	switch {
	case status == http.StatusNotFound:
		return provider.ErrNotFound
	case status == http.StatusTooManyRequests || status >= 500:
		return provider.ErrUnavailable
	default:
		return provider.ErrInvalid
	}
}

func retryable(status int) bool { return status == http.StatusTooManyRequests || status >= 500 }

// maxResponse bounds a response body (a page of 1000 transactions is about
// 1 MB).
const maxResponse = 64 << 20

// expiresIn is how far ahead a signature's Expires-at lies (Salt Edge
// accepts at most an hour).
const expiresIn = 5 * time.Minute

// call sends one logical request (with retries) and decodes a 2xx answer
// into out.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	_, err := c.callRepeated(ctx, method, path, query, body, out)
	return err
}

// callRepeated is call that also reports whether the request was sent
// again after an attempt that may have taken effect at Salt Edge (a 5xx
// answer or a request lost on the network): the answer then may be that
// of a repeat (DuplicatedCustomer, ConnectionAlreadyProcessing), and the
// caller reads the state back instead of failing.
func (c *Client) callRepeated(ctx context.Context, method, path string, query url.Values, body any, out any) (bool, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return false, fmt.Errorf("saltedge %s %s: encode request: %w", method, path, err)
		}
	}
	full := c.base + path
	if len(query) > 0 {
		full += "?" + query.Encode()
	}
	repeated := false
	for attempt := 0; ; attempt++ {
		retry := c.cfg.MaxRetries > 0 && attempt < c.cfg.MaxRetries
		status, data, header, err := c.send(ctx, method, full, payload)
		if err != nil {
			if ctx.Err() != nil {
				return repeated, fmt.Errorf("saltedge %s %s: %w: %w", method, path, provider.ErrUnavailable, ctx.Err())
			}
			if retry {
				if werr := c.wait(ctx, attempt, ""); werr != nil {
					return repeated, fmt.Errorf("saltedge %s %s: %w: %w", method, path, provider.ErrUnavailable, werr)
				}
				repeated = true
				continue
			}
			return repeated, fmt.Errorf("saltedge %s %s: %w: %w", method, path, provider.ErrUnavailable, err)
		}
		if status >= 200 && status < 300 {
			if out == nil {
				return repeated, nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return repeated, fmt.Errorf("saltedge %s %s: %w: malformed answer: %w", method, path, provider.ErrUnavailable, err)
			}
			return repeated, nil
		}
		apiErr := parseError(method, path, status, data)
		if retryable(status) && retry {
			if werr := c.wait(ctx, attempt, header.Get("Retry-After")); werr != nil {
				return repeated, fmt.Errorf("%w (then %w)", apiErr, werr)
			}
			// A 429 refused the request; a 5xx may have come after it
			// took effect.
			repeated = repeated || status >= 500
			continue
		}
		return repeated, apiErr
	}
}

// send makes one HTTP exchange.
func (c *Client) send(ctx context.Context, method, full string, payload []byte) (int, []byte, http.Header, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, full, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("App-id", c.cfg.AppID)
	req.Header.Set("Secret", c.cfg.Secret)
	if c.key != nil {
		exp := strconv.FormatInt(c.clock.Now().Add(expiresIn).Unix(), 10)
		sig, err := signRequest(c.key, exp, method, full, payload)
		if err != nil {
			return 0, nil, nil, err
		}
		req.Header.Set("Expires-at", exp)
		req.Header.Set("Signature", sig)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w", err)
	}
	if len(data) > maxResponse {
		return 0, nil, nil, fmt.Errorf("answer larger than %d bytes", maxResponse)
	}
	return resp.StatusCode, data, resp.Header, nil
}

// wait sleeps before retry number attempt+1: exponential with jitter, or
// the server's Retry-After, capped at MaxBackoff.
func (c *Client) wait(ctx context.Context, attempt int, retryAfter string) error {
	d := c.cfg.RetryBackoff << min(attempt, 16)
	if d > c.cfg.MaxBackoff || d <= 0 {
		d = c.cfg.MaxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
		d = min(time.Duration(s)*time.Second, c.cfg.MaxBackoff)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type wireError struct {
	Error struct {
		Class   string `json:"class"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseError(method, path string, status int, data []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var w wireError
	if json.Unmarshal(data, &w) == nil && w.Error.Class != "" {
		e.Class, e.Message = w.Error.Class, w.Error.Message
	} else {
		e.Message = http.StatusText(status)
	}
	e.kind = kindOf(status, e.Class)
	return e
}

// signRequest computes Salt Edge's request signature.
func signRequest(key *rsa.PrivateKey, expiresAt, method, fullURL string, body []byte) (string, error) {
	msg := make([]byte, 0, len(expiresAt)+len(method)+len(fullURL)+len(body)+3)
	msg = append(msg, expiresAt...)
	msg = append(msg, '|')
	msg = append(msg, method...)
	msg = append(msg, '|')
	msg = append(msg, fullURL...)
	msg = append(msg, '|')
	msg = append(msg, body...)
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign request: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// ErrInvalidSignature: a callback's signature is missing, malformed or does
// not match.
var ErrInvalidSignature = errors.New("saltedge: invalid callback signature")

// VerifyCallback checks a Salt Edge callback: signatureB64 (the Signature
// header) must be Salt Edge's base64 RSA-SHA256 signature over
// "callback_url|post_body", callbackURL being the full URL Salt Edge posted
// to. A bad public key is a configuration error, not ErrInvalidSignature.
func VerifyCallback(publicKeyPEM, callbackURL string, body []byte, signatureB64 string) error {
	pub, err := ParsePublicKeyPEM(publicKeyPEM)
	if err != nil {
		return fmt.Errorf("saltedge: callback public key: %w", err)
	}
	sigText := strings.Join(strings.Fields(signatureB64), "")
	if sigText == "" {
		return fmt.Errorf("%w: no signature", ErrInvalidSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrInvalidSignature)
	}
	msg := make([]byte, 0, len(callbackURL)+1+len(body))
	msg = append(append(append(msg, callbackURL...), '|'), body...)
	sum := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("%w: does not match", ErrInvalidSignature)
	}
	return nil
}

// ParsePrivateKeyPEM reads an RSA private key in PKCS#1 ("RSA PRIVATE KEY")
// or PKCS#8 ("PRIVATE KEY") PEM.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not RSA", k)
	}
	return rk, nil
}

// ParsePublicKeyPEM reads an RSA public key in PKIX ("PUBLIC KEY") or PKCS#1
// ("RSA PUBLIC KEY") PEM, or the key of a certificate.
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	switch block.Type {
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		key = cert.PublicKey
	default:
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		key = k
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not RSA", key)
	}
	return rk, nil
}
