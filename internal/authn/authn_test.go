package authn

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/golang-jwt/jwt/v5"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
)

const (
	testIss = "openagg-local"
	testAud = "openagg"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testKey() []byte { return []byte("0123456789abcdef0123456789abcdef") }

func newHS(t *testing.T, clock platform.Clock) *Authenticator {
	t.Helper()
	a, err := New(Options{Issuer: testIss, Audiences: []string{testAud}, HMACKey: testKey(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mint(t *testing.T, key []byte, c Claims) string {
	t.Helper()
	if c.Issuer == "" {
		c.Issuer = testIss
	}
	if c.Audience == "" {
		c.Audience = testAud
	}
	if c.Now.IsZero() {
		c.Now = t0
	}
	s, err := Mint(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadOrCreateKey(dir)
	if err != nil || len(k) != KeySize {
		t.Fatalf("%v %d", err, len(k))
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
	k2, _ := LoadOrCreateKey(dir)
	if string(k) != string(k2) {
		t.Fatal("key changed on reload")
	}
}

func TestHS256(t *testing.T) {
	clock := clocktest.New(t0.Add(time.Minute))
	a := newHS(t, clock)
	good := mint(t, testKey(), Claims{Sub: "alice", Name: "Alice", Roles: []string{"CanCreateCustomer", "CanGetCustomer"}})

	// alg none: a token whose header says "none" and has no signature.
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "mallory", "iss": testIss, "aud": testAud, "exp": t0.Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// HS512 with the right key: not on the allow-list.
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "alice", "iss": testIss, "aud": testAud, "exp": t0.Add(time.Hour).Unix()}).SignedString(testKey())
	// Tamper: swap the payload for one naming another subject.
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"alice"`, `"admin"`, 1))) + "." + parts[2]
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "iss": testIss, "aud": testAud}).SignedString(testKey())
	noSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": testIss, "aud": testAud, "exp": t0.Add(time.Hour).Unix()}).SignedString(testKey())
	stringRoles, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bob", "preferred_username": "bobby", "iss": testIss, "aud": []string{"other", testAud}, "exp": t0.Add(time.Hour).Unix(), "roles": "A, B C"}).SignedString(testKey())
	// Amazon Cognito access tokens: client_id instead of aud. API Gateway
	// checks client_id only when there is no aud; so does Verify.
	cognito, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "carol", "username": "carol", "iss": testIss, "client_id": testAud, "exp": t0.Add(time.Hour).Unix()}).SignedString(testKey())
	cognitoOther, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "carol", "iss": testIss, "client_id": "other-client", "exp": t0.Add(time.Hour).Unix()}).SignedString(testKey())
	audWinsOverClientID, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "carol", "iss": testIss, "aud": "other", "client_id": testAud, "exp": t0.Add(time.Hour).Unix()}).SignedString(testKey())
	noAudience, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "carol", "iss": testIss, "exp": t0.Add(time.Hour).Unix()}).SignedString(testKey())

	tests := []struct {
		name    string
		token   string
		want    auth.Principal
		wantErr string
	}{
		{name: "valid", token: good, want: auth.Principal{Subject: "alice", Name: "Alice", Provider: testIss, Roles: []string{"CanCreateCustomer", "CanGetCustomer"}}},
		{name: "roles as string, name from preferred_username, aud list", token: stringRoles, want: auth.Principal{Subject: "bob", Name: "bobby", Provider: testIss, Roles: []string{"A", "B", "C"}}},
		{name: "expired", token: mint(t, testKey(), Claims{Sub: "alice", Now: t0.Add(-2 * time.Hour), TTL: time.Hour}), wantErr: "expired"},
		{name: "expired within leeway is accepted", token: mint(t, testKey(), Claims{Sub: "alice", Now: t0.Add(-time.Hour), TTL: time.Hour + 50*time.Second}), want: auth.Principal{Subject: "alice", Provider: testIss}},
		{name: "not yet valid", token: mint(t, testKey(), Claims{Sub: "alice", Now: t0.Add(10 * time.Minute)}), wantErr: "not valid yet"},
		{name: "wrong issuer", token: mint(t, testKey(), Claims{Sub: "alice", Issuer: "evil"}), wantErr: "issuer"},
		{name: "wrong audience", token: mint(t, testKey(), Claims{Sub: "alice", Audience: "other"}), wantErr: "audience"},
		{name: "Cognito access token: client_id is the audience", token: cognito, want: auth.Principal{Subject: "carol", Provider: testIss}},
		{name: "Cognito access token of another client", token: cognitoOther, wantErr: "audience"},
		{name: "client_id is not read when aud is present", token: audWinsOverClientID, wantErr: "audience"},
		{name: "neither aud nor client_id", token: noAudience, wantErr: "audience"},
		{name: "wrong key", token: mint(t, []byte("ffffffffffffffffffffffffffffffff"), Claims{Sub: "alice"}), wantErr: "signature is invalid"},
		{name: "alg none refused", token: noneTok, wantErr: "signing method none is invalid"},
		{name: "alg HS512 refused", token: hs512, wantErr: "signing method HS512 is invalid"},
		{name: "tampered payload", token: tampered, wantErr: "signature is invalid"},
		{name: "no exp", token: noExp, wantErr: "exp claim is required"},
		{name: "no sub", token: noSub, wantErr: "no sub"},
		{name: "garbage", token: "not.a.jwt", wantErr: "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Verify(context.Background(), tc.token)
			if tc.wantErr != "" {
				if !errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want auth.ErrInvalidToken containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != tc.want.Subject || p.Name != tc.want.Name || p.Provider != tc.want.Provider || !slices.Equal(p.Roles, tc.want.Roles) {
				t.Fatalf("got %+v, want %+v", p, tc.want)
			}
		})
	}
}

func TestNewAuthenticatorValidation(t *testing.T) {
	for name, o := range map[string]Options{
		"no issuer":   {Audiences: []string{"a"}, HMACKey: testKey()},
		"no audience": {Issuer: "i", HMACKey: testKey()},
		"empty aud":   {Issuer: "i", Audiences: []string{""}, HMACKey: testKey()},
		"short key":   {Issuer: "i", Audiences: []string{"a"}, HMACKey: []byte("short")},
		"empty key":   {Issuer: "i", Audiences: []string{"a"}, HMACKey: []byte{}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	if _, err := Mint(testKey(), Claims{}); err == nil {
		t.Error("mint without sub: want error")
	}
}

// rsaJWK renders an RSA public key as a JWK (base64url n and e).
func rsaJWK(kid string, pub *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func TestRS256WithJWKS(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	var fetches atomic.Int32
	var keys atomic.Value
	keys.Store([]map[string]string{rsaJWK("k1", &k1.PublicKey), {"kty": "EC", "kid": "ec", "crv": "P-256"}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys.Load()})
	}))
	defer srv.Close()

	clock := clocktest.New(t0)
	a, err := New(Options{Issuer: "https://idp.example.com", Audiences: []string{"openagg"}, JWKSURL: srv.URL, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(kid string, key *rsa.PrivateKey, sub string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": sub, "iss": "https://idp.example.com", "aud": "openagg", "exp": t0.Add(time.Hour).Unix(), "roles": []string{"r1"}})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := context.Background()
	p, err := a.Verify(ctx, sign("k1", k1, "carol"))
	if err != nil || p.Subject != "carol" || p.Provider != "https://idp.example.com" || !slices.Equal(p.Roles, []string{"r1"}) {
		t.Fatalf("k1: %+v %v", p, err)
	}
	if _, err := a.Verify(ctx, sign("k1", k1, "carol")); err != nil || fetches.Load() != 1 {
		t.Fatalf("cached: fetches=%d err=%v", fetches.Load(), err)
	}
	// Signed by k2 but claiming kid k1: bad signature, no refetch needed.
	if _, err := a.Verify(ctx, sign("k1", k2, "carol")); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("wrong key accepted: %v", err)
	}
	// Rotation: k2 appears in the set; an unknown kid refetches, but at most
	// once per jwksMinRefresh.
	keys.Store([]map[string]string{rsaJWK("k1", &k1.PublicKey), rsaJWK("k2", &k2.PublicKey)})
	if _, err := a.Verify(ctx, sign("k2", k2, "dave")); err == nil {
		t.Fatal("unknown kid accepted before the refresh interval")
	}
	clock.Advance(jwksMinRefresh)
	if p, err := a.Verify(ctx, sign("k2", k2, "dave")); err != nil || p.Subject != "dave" {
		t.Fatalf("k2 after rotation: %v", err)
	}
	if fetches.Load() != 2 {
		t.Errorf("fetches = %d, want 2", fetches.Load())
	}
	// HS256 is not accepted when only a JWKS is configured.
	if _, err := a.Verify(ctx, mint(t, testKey(), Claims{Sub: "x", Issuer: "https://idp.example.com"})); err == nil || !strings.Contains(err.Error(), "HS256 is invalid") {
		t.Fatalf("HS256 without local key: %v", err)
	}
}

func TestParseJWKS(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := rsaJWK("a", &k.PublicKey)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name    string
		doc     any
		wantErr string
	}{
		{"ok", map[string]any{"keys": []any{good}}, ""},
		{"encryption key skipped", map[string]any{"keys": []any{map[string]string{"kty": "RSA", "use": "enc", "n": good["n"], "e": good["e"]}}}, "no RSA signing key"},
		{"bad n", map[string]any{"keys": []any{map[string]string{"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"}}}, "bad modulus"},
		{"bad e", map[string]any{"keys": []any{map[string]string{"kty": "RSA", "kid": "x", "n": good["n"], "e": "AAAAAAAA"}}}, "bad exponent"},
		{"short key", map[string]any{"keys": []any{rsaJWK("s", &small.PublicKey)}}, "too short"},
		{"not json", "nope", "decode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(tc.doc)
			keys, err := ParseJWKS(b)
			if tc.wantErr == "" {
				if err != nil || keys["a"].N.Cmp(k.N) != 0 || keys["a"].E != 65537 {
					t.Fatalf("%v %v", keys, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want %q, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	a := newHS(t, clocktest.New(t0))
	type seen struct {
		p   auth.Principal
		ok  bool
		err error
		req error
	}
	var got seen
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.p, got.ok, got.err = Caller(r.Context())
		_, got.req = Require(r.Context())
	}))
	good := mint(t, testKey(), Claims{Sub: "alice", Roles: []string{"R"}})
	tests := []struct {
		name     string
		header   string
		apigw    map[string]string
		wantSub  string
		wantErr  bool
		wantCode string
	}{
		{name: "no token", wantCode: auth.ErrNoToken.Error()},
		{name: "valid bearer", header: "Bearer " + good, wantSub: "alice"},
		{name: "lowercase scheme", header: "bearer " + good, wantSub: "alice"},
		{name: "invalid bearer", header: "Bearer " + good + "x", wantErr: true, wantCode: auth.ErrInvalidToken.Error()},
		{name: "basic auth", header: "Basic YTpi", wantErr: true, wantCode: auth.ErrInvalidToken.Error()},
		{name: "empty bearer", header: "Bearer ", wantErr: true, wantCode: auth.ErrInvalidToken.Error()},
		{name: "api gateway claims win", header: "Bearer garbage", apigw: map[string]string{"sub": "gw-user", "iss": "https://idp", "name": "GW", "roles": "[CanCreateCustomer CanGetCustomer]"}, wantSub: "gw-user"},
		{name: "api gateway without claims falls back to header", header: "Bearer " + good, apigw: map[string]string{}, wantSub: "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = seen{}
			r := httptest.NewRequest("GET", "/x", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.apigw != nil {
				// Build the context exactly as the Lambda adapter does.
				ev := events.APIGatewayV2HTTPRequest{RawPath: "/x", RequestContext: events.APIGatewayV2HTTPRequestContext{
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/x"},
				}}
				if len(tc.apigw) > 0 {
					ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
						JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: tc.apigw},
					}
				}
				var acc core.RequestAccessorV2
				req, err := acc.EventToRequestWithContext(context.Background(), ev)
				if err != nil {
					t.Fatal(err)
				}
				req.Header = r.Header
				r = req
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.ok != (tc.wantSub != "") || got.p.Subject != tc.wantSub {
				t.Fatalf("principal %+v ok=%v, want %q", got.p, got.ok, tc.wantSub)
			}
			if (got.err != nil) != tc.wantErr || (got.err != nil && !errors.Is(got.err, auth.ErrInvalidToken)) {
				t.Fatalf("Err = %v, want error %v", got.err, tc.wantErr)
			}
			if tc.wantCode == "" {
				if got.req != nil {
					t.Fatalf("Require: %v", got.req)
				}
			} else {
				kind, msg, _ := fault.Of(got.req)
				if kind == nil || kind.Error() != tc.wantCode || kind.Class() != fault.Unauthenticated {
					t.Fatalf("Require = %v, want %s", got.req, tc.wantCode)
				}
				if strings.Contains(msg, good) || strings.Contains(got.req.Error(), good) {
					t.Fatal("message leaks the token")
				}
			}
			if tc.name == "api gateway claims win" && (got.p.Name != "GW" || got.p.Provider != "https://idp" || !slices.Equal(got.p.Roles, []string{"CanCreateCustomer", "CanGetCustomer"})) {
				t.Fatalf("gateway principal %+v", got.p)
			}
		})
	}
}

// TestJWKSFailureIsRateLimited: while the issuer fails, requests do not each
// refetch the key set; a fetch is retried after jwksRetryAfterFailure, and a
// cached key keeps working meanwhile.
func TestJWKSFailureIsRateLimited(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	var fetches atomic.Int32
	var down atomic.Bool
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{rsaJWK("k1", &k1.PublicKey)}})
	}))
	defer srv.Close()
	clock := clocktest.New(t0)
	j := NewJWKS(srv.URL, nil, clock)
	ctx := context.Background()

	for range 5 {
		if _, err := j.Key(ctx, "k1"); err == nil || !strings.Contains(err.Error(), "status 503") {
			t.Fatalf("issuer down: err = %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("issuer down: %d fetches for 5 lookups, want 1", n)
	}
	down.Store(false)
	clock.Advance(jwksRetryAfterFailure)
	if k, err := j.Key(ctx, "k1"); err != nil || k.N.Cmp(k1.N) != 0 {
		t.Fatalf("issuer back: %v", err)
	}
	// An hour later the set is stale; the issuer fails again: the cached
	// key still verifies, with one fetch per retry interval.
	down.Store(true)
	clock.Advance(jwksMaxAge)
	before := fetches.Load()
	for range 5 {
		if _, err := j.Key(ctx, "k1"); err != nil {
			t.Fatalf("stale cached key while the issuer is down: %v", err)
		}
	}
	if n := fetches.Load() - before; n != 1 {
		t.Fatalf("stale set, issuer down: %d fetches for 5 lookups, want 1", n)
	}
	// A request that gives up does not count as an issuer failure.
	j2 := NewJWKS(srv.URL, nil, clock)
	down.Store(false)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := j2.Key(canceled, "k1"); err == nil {
		t.Fatal("lookup with a canceled context succeeded")
	}
	if _, err := j2.Key(ctx, "k1"); err != nil {
		t.Fatalf("lookup after a canceled one: %v", err)
	}
}
