package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/openagg/openagg/internal/platform/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

const pin = "123456-geheim"

// keyrings returns the keyrings under test: the local one always, KMS on
// moto_server.
func keyrings(t *testing.T) map[string]Keyring {
	t.Helper()
	local, err := NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Keyring{"local": local, "kms": kmsKeyring(t)}
}

// kmsKeyring creates a KMS key on moto and returns a keyring on it.
func kmsKeyring(t *testing.T) *KMS {
	t.Helper()
	endpoint := mototest.Endpoint(t)
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	client := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })
	key, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("credential test")})
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKMS(client, aws.ToString(key.KeyMetadata.KeyId))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	for name, kr := range keyrings(t) {
		t.Run(name, func(t *testing.T) {
			s, err := kr.Seal(ctx, []byte(pin), "PARTY#p|FINAPI#CONN#bank")
			if err != nil {
				t.Fatal(err)
			}
			if s.Scheme != name || bytes.Contains(s.Ciphertext, []byte(pin)) || bytes.Contains(s.DataKey, []byte(pin)) {
				t.Fatalf("sealed %+v", s)
			}
			again, err := kr.Seal(ctx, []byte(pin), "PARTY#p|FINAPI#CONN#bank")
			if err != nil || bytes.Equal(again.Ciphertext, s.Ciphertext) || bytes.Equal(again.DataKey, s.DataKey) {
				t.Errorf("a second seal reuses the key or nonce: %v", err)
			}
			// Stored as JSON and read back, as the records keep it.
			raw, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var stored Sealed
			if err := json.Unmarshal(raw, &stored); err != nil {
				t.Fatal(err)
			}
			got, err := kr.Open(ctx, stored, "PARTY#p|FINAPI#CONN#bank")
			if err != nil || string(got) != pin {
				t.Fatalf("Open = %q, %v", got, err)
			}
			flip := func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-1] ^= 1; return c }
			for _, bad := range []struct {
				name string
				s    Sealed
				aad  string
			}{
				{"another record", s, "PARTY#p|FINAPI#CONN#other"},
				{"tampered ciphertext", Sealed{Scheme: s.Scheme, KeyID: s.KeyID, DataKey: s.DataKey, Nonce: s.Nonce, Ciphertext: flip(s.Ciphertext)}, "PARTY#p|FINAPI#CONN#bank"},
				{"tampered data key", Sealed{Scheme: s.Scheme, KeyID: s.KeyID, DataKey: flip(s.DataKey), Nonce: s.Nonce, Ciphertext: s.Ciphertext}, "PARTY#p|FINAPI#CONN#bank"},
				{"other scheme", Sealed{Scheme: "rot13", DataKey: s.DataKey, Nonce: s.Nonce, Ciphertext: s.Ciphertext}, "PARTY#p|FINAPI#CONN#bank"},
			} {
				if got, err := kr.Open(ctx, bad.s, bad.aad); err == nil {
					t.Errorf("%s: opened %q", bad.name, got)
				} else if name == "local" && !errors.Is(err, ErrOpen) {
					t.Errorf("%s: %v is not ErrOpen", bad.name, err)
				}
			}
		})
	}
}

func TestLocalKeyMatters(t *testing.T) {
	ctx := context.Background()
	a, _ := NewLocal(bytes.Repeat([]byte{1}, 32))
	b, _ := NewLocal(bytes.Repeat([]byte{2}, 32))
	s, err := a.Seal(ctx, []byte(pin), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ctx, s, "x"); !errors.Is(err, ErrOpen) {
		t.Errorf("another key opened it: %v", err)
	}
	if _, err := NewLocal([]byte("short")); err == nil {
		t.Error("a short key was taken")
	}
	if _, err := NewKMS(nil, "k"); err == nil {
		t.Error("a KMS keyring without client was built")
	}
}

// TestSecretNeverPrints: every way a value reaches a log line, an error or
// a JSON body shows "[redacted]".
func TestSecretNeverPrints(t *testing.T) {
	s := Secret(pin)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("login", "pin", s, "args", []any{s})
	raw, _ := json.Marshal(map[string]any{"pin": s})
	outs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"%d": fmt.Sprintf("%d", s), "%#v": fmt.Sprintf("%#v", s), "%+v struct": fmt.Sprintf("%+v", struct{ P Secret }{s}),
		"error": fmt.Errorf("login with %v failed", s).Error(), "slog": logged.String(), "json": string(raw),
		"print": fmt.Sprint(s), "println": fmt.Sprintln(s),
	}
	for how, out := range outs {
		if strings.Contains(out, pin) || strings.Contains(out, fmt.Sprintf("%x", pin)) || !strings.Contains(out, redacted) {
			t.Errorf("%s shows %q", how, out)
		}
	}
	if s.Reveal() != pin {
		t.Error("Reveal")
	}
	if MaskLen(4) != "XXXX" || MaskLen(0) != "" {
		t.Error("MaskLen")
	}
}
