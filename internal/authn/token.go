package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/platform"
)

// KeyFile is the name of the local HS256 key in the data directory.
const KeyFile = "jwt.key"

// KeySize is the size of the local HS256 key.
const KeySize = 32

// LoadOrCreateKey returns the local HS256 signing key kept in
// <dir>/jwt.key (0600), generating it on first run.
func LoadOrCreateKey(dir string) ([]byte, error) {
	k, err := platform.LoadOrCreateKeyFile(filepath.Join(dir, KeyFile), KeySize)
	if err != nil {
		return nil, fmt.Errorf("local jwt key: %w", err)
	}
	return k, nil
}

// Claims describes a token to mint.
type Claims struct {
	Sub      string
	Name     string
	Roles    []string
	Issuer   string
	Audience string
	TTL      time.Duration // default 24h
	// Now is the issue time; zero means time.Now.
	Now time.Time
}

// tokenClaims is the JWT payload we write and read.
type tokenClaims struct {
	jwt.RegisteredClaims
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	// ClientID stands for aud in Amazon Cognito access tokens.
	ClientID string `json:"client_id,omitempty"`
	// Roles is an array when we mint; other issuers may send a space or
	// comma separated string (see parseRoles).
	Roles any `json:"roles,omitempty"`
}

// UnmarshalJSON refuses NumericDate claims (exp, nbf, iat) that are not
// JSON numbers (RFC 7519, section 2): golang-jwt would read "exp":"9999"
// as a number, where API Gateway's JWT authorizer refuses the token.
func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, k := range []string{"exp", "nbf", "iat"} {
		if v, ok := raw[k]; ok && !isJSONNumber(v) {
			return fmt.Errorf("claim %s is not a NumericDate (a JSON number)", k)
		}
	}
	type plain tokenClaims // without this method
	return json.Unmarshal(b, (*plain)(c))
}

// isJSONNumber reports whether v is a JSON number literal.
func isJSONNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}

// Mint signs an HS256 token with key. It is what `openagg token` prints and
// what tests use to call the local server.
func Mint(key []byte, c Claims) (string, error) {
	if len(key) < 16 {
		return "", errors.New("mint token: key shorter than 16 bytes")
	}
	if !auth.ValidUserID(c.Sub) {
		return "", fmt.Errorf("mint token: subject %q is not a user id (1 to %d characters without white space, control characters or '#')", platform.Truncate(c.Sub, 64), auth.MaxUserIDLen)
	}
	if c.TTL == 0 {
		c.TTL = 24 * time.Hour
	}
	if c.TTL < 0 {
		return "", errors.New("mint token: negative ttl")
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.Sub,
			Issuer:    c.Issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(c.TTL)),
		},
		Name: c.Name,
	}
	if c.Audience != "" {
		tc.Audience = jwt.ClaimStrings{c.Audience}
	}
	if len(c.Roles) > 0 {
		tc.Roles = c.Roles
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tc).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}
