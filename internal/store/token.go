package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Tokens seals continuation tokens: the last key a driver read, encrypted
// and authenticated with AES-256-GCM and bound to the query that produced it
// (the query is the GCM additional data). A client can neither read our keys
// (they name parties and accounts) nor forge a token or replay it on another
// partition, index or range.
type Tokens struct {
	aead cipher.AEAD
}

// NewTokens returns a codec using secret (at least 16 bytes in production;
// every instance serving the same table must share it). The AES key is
// derived from the secret, so any secret length works.
func NewTokens(secret []byte) *Tokens {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("openagg/store/page-token/v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		// A 32-byte key always makes a cipher; anything else is a bug.
		panic(fmt.Sprintf("store: page token cipher: %v", err))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("store: page token GCM: %v", err))
	}
	return &Tokens{aead: aead}
}

// queryBinding is everything that selects the items of a query except Limit
// (a client may change its page size between pages).
func queryBinding(q Query) []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s\x00%t", q.Index, q.PK, q.SKPrefix, q.From, q.To, q.Desc)
}

// Seal encodes the last evaluated key of q (attribute name → string value).
func (t *Tokens) Seal(q Query, lastKey map[string]string) string {
	body, _ := json.Marshal(lastKey)
	nonce := make([]byte, t.aead.NonceSize(), t.aead.NonceSize()+len(body)+t.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("store: page token nonce: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(t.aead.Seal(nonce, nonce, body, queryBinding(q)))
}

// Open verifies and decrypts a token made by Seal for the same query and
// returns its key.
func (t *Tokens) Open(q Query, token string) (map[string]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	ns := t.aead.NonceSize()
	if err != nil || len(raw) < ns+t.aead.Overhead()+2 {
		return nil, ErrInvalidToken
	}
	body, err := t.aead.Open(nil, raw[:ns], raw[ns:], queryBinding(q))
	if err != nil {
		return nil, ErrInvalidToken
	}
	var key map[string]string
	if err := json.Unmarshal(body, &key); err != nil || len(key) == 0 {
		return nil, ErrInvalidToken
	}
	return key, nil
}
