package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com): a delivery carries
// the headers webhook-id (the message id, the same on every attempt),
// webhook-timestamp (Unix seconds of the attempt) and webhook-signature
// ("v1," + base64 of HMAC-SHA256 over "<id>.<timestamp>.<body>" with the
// endpoint's secret). The secret is "whsec_" + base64 of its key bytes.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"

	secretPrefix = "whsec_"
	secretBytes  = 32
)

// NewSecret returns a fresh signing secret in its wire form.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// errSecret: a secret that is not whsec_ + base64.
var errSecret = errors.New("webhook: malformed signing secret")

// SecretKey is the HMAC key of a secret in its wire form.
func SecretKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errSecret
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return nil, errSecret
	}
	return key, nil
}

// Sign is the webhook-signature of a message sent at ts.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verification failures (Verify), for receivers and tests.
var (
	ErrBadSignature = errors.New("webhook: no valid signature")
	ErrTimestamp    = errors.New("webhook: timestamp outside the tolerance")
)

// Verify checks a delivery as a receiver does: the timestamp within
// tolerance of now, and one of the space-separated signatures (a sender
// rotating its secret sends several) the one Sign makes.
func Verify(secret, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := SecretKey(secret)
	if err != nil {
		return err
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := Sign(key, id, ts, body)
	for _, s := range strings.Fields(signatures) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
