package credential

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of the KMS client the keyring calls.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS wraps data keys with an AWS KMS key: GenerateDataKey for each seal
// (KMS returns the key in plaintext and wrapped; only the wrapped one is
// kept), Decrypt for each open. The secret's aad is also the KMS
// encryption context, so KMS itself refuses to unwrap a data key for
// another record (and CloudTrail shows which record a Decrypt was for:
// the aad must not be secret).
type KMS struct {
	client KMSAPI
	keyID  string
}

var _ Keyring = (*KMS)(nil)

// NewKMS uses the KMS key keyID (id, ARN or alias).
func NewKMS(client KMSAPI, keyID string) (*KMS, error) {
	if client == nil || keyID == "" {
		return nil, errors.New("credential: KMS keyring needs a client and a key id")
	}
	return &KMS{client: client, keyID: keyID}, nil
}

func encryptionContext(aad string) map[string]string {
	return map[string]string{"openagg:purpose": "bank-credentials", "openagg:record": aad}
}

// Seal implements Keyring.
func (k *KMS) Seal(ctx context.Context, plaintext []byte, aad string) (Sealed, error) {
	out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(k.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(aad),
	})
	if err != nil {
		return Sealed{}, fmt.Errorf("credential: KMS GenerateDataKey: %w", err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != dataKeySize || len(out.CiphertextBlob) == 0 {
		return Sealed{}, fmt.Errorf("credential: KMS returned a %d-byte data key", len(out.Plaintext))
	}
	nonce, ct, err := sealWith(out.Plaintext, plaintext, aad)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{Scheme: SchemeKMS, KeyID: aws.ToString(out.KeyId), DataKey: out.CiphertextBlob, Nonce: nonce, Ciphertext: ct}, nil
}

// Open implements Keyring.
func (k *KMS) Open(ctx context.Context, s Sealed, aad string) ([]byte, error) {
	if s.Scheme != SchemeKMS {
		return nil, fmt.Errorf("%w: sealed with %q, this keyring is %q", ErrOpen, s.Scheme, SchemeKMS)
	}
	in := &kms.DecryptInput{CiphertextBlob: s.DataKey, EncryptionContext: encryptionContext(aad)}
	if s.KeyID != "" {
		in.KeyId = aws.String(s.KeyID)
	}
	out, err := k.client.Decrypt(ctx, in)
	if err != nil {
		var bad *types.InvalidCiphertextException
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("%w: KMS: %v", ErrOpen, err)
		}
		return nil, fmt.Errorf("credential: KMS Decrypt: %w", err)
	}
	defer clear(out.Plaintext)
	return openWith(out.Plaintext, s, aad)
}
