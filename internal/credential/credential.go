// Package credential keeps bank credentials (a finAPI bankingPin) secret:
// envelope encryption at rest, and a string type that never prints.
//
// Envelope encryption: every secret gets a fresh 256-bit data key that
// encrypts it with AES-256-GCM; the data key itself is stored only
// encrypted ("wrapped") by a key-encryption key that never leaves its
// keeper: an AWS KMS key in Lambda (GenerateDataKey / Decrypt, the SAM
// template's CredentialsKey), or the local key file of the embedded default
// (<data dir>/credentials.key, AES-256-GCM wrapping). The caller binds a
// sealed secret to its record with an associated text (aad): a ciphertext
// copied to another record does not open there.
package credential

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ErrOpen: a sealed secret did not open (another key, another record, or
// tampered with).
var ErrOpen = errors.New("credential: cannot open the sealed secret")

// Schemes of Sealed.
const (
	SchemeKMS   = "kms"
	SchemeLocal = "local"
)

// Sealed is an encrypted secret as stored.
type Sealed struct {
	Scheme string `json:"scheme"`
	// KeyID names the key-encryption key (the KMS key id as KMS reported
	// it; empty for the local key).
	KeyID string `json:"keyId,omitempty"`
	// DataKey is the wrapped data key (KMS ciphertext blob, or nonce and
	// AES-GCM ciphertext under the local key).
	DataKey    []byte `json:"dataKey"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// Keyring seals and opens secrets.
type Keyring interface {
	Seal(ctx context.Context, plaintext []byte, aad string) (Sealed, error)
	Open(ctx context.Context, s Sealed, aad string) ([]byte, error)
}

// dataKeySize is AES-256.
const dataKeySize = 32

// sealWith encrypts plaintext with a data key (AES-256-GCM, aad bound).
func sealWith(key, plaintext []byte, aad string) (nonce, ciphertext []byte, err error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, nil, err
	}
	nonce = make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, nil, fmt.Errorf("credential: nonce: %w", err)
	}
	return nonce, aead.Seal(nil, nonce, plaintext, []byte(aad)), nil
}

func openWith(key []byte, s Sealed, aad string) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: bad nonce", ErrOpen)
	}
	pt, err := aead.Open(nil, s.Nonce, s.Ciphertext, []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	return aead, nil
}

// Local wraps data keys with a local 32-byte key (the embedded default's
// key file).
type Local struct{ kek []byte }

var _ Keyring = (*Local)(nil)

// NewLocal uses key (32 bytes) as the key-encryption key.
func NewLocal(key []byte) (*Local, error) {
	if len(key) != dataKeySize {
		return nil, fmt.Errorf("credential: local key must be %d bytes, got %d", dataKeySize, len(key))
	}
	return &Local{kek: append([]byte(nil), key...)}, nil
}

// wrapAAD binds a wrapped data key to the secret's aad too.
func wrapAAD(aad string) string { return "openagg data key\x00" + aad }

// Seal implements Keyring.
func (l *Local) Seal(_ context.Context, plaintext []byte, aad string) (Sealed, error) {
	key := make([]byte, dataKeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return Sealed{}, fmt.Errorf("credential: data key: %w", err)
	}
	defer clear(key)
	wnonce, wrapped, err := sealWith(l.kek, key, wrapAAD(aad))
	if err != nil {
		return Sealed{}, err
	}
	nonce, ct, err := sealWith(key, plaintext, aad)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{Scheme: SchemeLocal, DataKey: append(wnonce, wrapped...), Nonce: nonce, Ciphertext: ct}, nil
}

// Open implements Keyring.
func (l *Local) Open(_ context.Context, s Sealed, aad string) ([]byte, error) {
	if s.Scheme != SchemeLocal {
		return nil, fmt.Errorf("%w: sealed with %q, this keyring is %q", ErrOpen, s.Scheme, SchemeLocal)
	}
	const nonceSize = 12 // AES-GCM's standard nonce
	if len(s.DataKey) <= nonceSize {
		return nil, fmt.Errorf("%w: bad data key", ErrOpen)
	}
	key, err := openWith(l.kek, Sealed{Nonce: s.DataKey[:nonceSize], Ciphertext: s.DataKey[nonceSize:]}, wrapAAD(aad))
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return openWith(key, s, aad)
}

// Secret is a credential in memory (a PIN): it prints, logs and encodes as
// "[redacted]" whatever the format, so it cannot leak through a log line or
// an error message by accident. Reveal gives the value to the one place
// that needs it (the provider login, the sealing).
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb prints "[redacted]".
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON never writes the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText never writes the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MaskLen is the masked form of a secret of n characters.
func MaskLen(n int) string { return strings.Repeat("X", n) }
