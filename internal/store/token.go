package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Tokens seals continuation tokens: the last key a driver read, bound to the
// query that produced it and signed with HMAC-SHA256, so a client can neither
// read our keys nor forge or replay a token on another partition.
type Tokens struct {
	secret []byte
}

// NewTokens returns a codec using secret (at least 16 bytes in production;
// every instance serving the same table must share it).
func NewTokens(secret []byte) *Tokens {
	s := make([]byte, len(secret))
	copy(s, secret)
	return &Tokens{secret: s}
}

type tokenBody struct {
	Q string            `json:"q"`
	K map[string]string `json:"k"`
}

// queryHash binds a token to everything that selects the items of a query
// except Limit (a client may change its page size between pages).
func queryHash(q Query) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%t", q.Index, q.PK, q.SKPrefix, q.From, q.To, q.Desc)))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// Seal encodes the last evaluated key of q (attribute name → string value).
func (t *Tokens) Seal(q Query, lastKey map[string]string) string {
	body, _ := json.Marshal(tokenBody{Q: queryHash(q), K: lastKey})
	mac := hmac.New(sha256.New, t.secret)
	mac.Write(body)
	sum := mac.Sum(nil)[:16]
	return base64.RawURLEncoding.EncodeToString(append(sum, body...))
}

// Open verifies a token made by Seal for the same query and returns its key.
func (t *Tokens) Open(q Query, token string) (map[string]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 17 {
		return nil, ErrInvalidToken
	}
	sum, body := raw[:16], raw[16:]
	mac := hmac.New(sha256.New, t.secret)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)[:16]) {
		return nil, ErrInvalidToken
	}
	var tb tokenBody
	if err := json.Unmarshal(body, &tb); err != nil || tb.Q != queryHash(q) || len(tb.K) == 0 {
		return nil, ErrInvalidToken
	}
	return tb.K, nil
}
