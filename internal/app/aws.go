package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue/sqs"
	"github.com/openagg/openagg/internal/store/dynamo"
)

// newAWS builds the AWS drivers: DynamoDB store, SQS sender (and the SQS
// consumers RunWorkers runs in `openagg serve`), secrets from Secrets
// Manager. Tokens are validated by API Gateway (claims in the request
// context) or, when OPENAGG_JWKS_URL is set, against that JWKS; with
// opts.LocalTokens and no JWKS, with the data directory's key.
func newAWS(ctx context.Context, cfg platform.Config, log *slog.Logger, opts Options) (*App, error) {
	clock := opts.Clock
	if cfg.PageTokenSecretARN != "" || cfg.ProviderSecretARN != "" {
		sm, err := secretsClient(ctx, cfg.Region)
		if err != nil {
			return nil, err
		}
		if cfg.PageTokenSecret == nil && cfg.PageTokenSecretARN != "" {
			s, err := getSecret(ctx, sm, cfg.PageTokenSecretARN)
			if err != nil {
				return nil, fmt.Errorf("page token secret: %w", err)
			}
			// Decoded as OPENAGG_PAGE_TOKEN_SECRET is: the same string must
			// seal the same tokens whichever way a process got it.
			secret := platform.DecodeSecret(s)
			if len(secret) < 16 {
				return nil, fmt.Errorf("page token secret %s: shorter than 16 bytes", cfg.PageTokenSecretARN)
			}
			cfg.PageTokenSecret = secret
		}
		if cfg.ProviderSecretARN != "" {
			s, err := getSecret(ctx, sm, cfg.ProviderSecretARN)
			if err != nil {
				return nil, fmt.Errorf("provider secret: %w", err)
			}
			if err := applyProviderSecret(&cfg, s); err != nil {
				return nil, fmt.Errorf("provider secret %s: %w", cfg.ProviderSecretARN, err)
			}
		}
	}

	dc, err := dynamo.NewClient(ctx, cfg.DynamoEndpoint, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: %w", err)
	}
	st := dynamo.New(dc, dynamo.Options{Table: cfg.Table, TokenSecret: cfg.PageTokenSecret})
	qc, err := sqs.NewClient(ctx, cfg.SQSEndpoint, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("sqs client: %w", err)
	}
	providers, err := buildProviders(cfg, st, clock)
	if err != nil {
		return nil, err
	}
	var jwtKey []byte
	if opts.LocalTokens && cfg.JWKSURL == "" {
		if jwtKey, err = authn.LoadOrCreateKey(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	// Outside Lambda and without KMS (serve on DynamoDB Local or moto),
	// bank credentials are sealed with the data directory's key, which the
	// processes sharing that directory share (OPENAGG_CREDENTIALS_KEY for
	// processes on other machines).
	credKey := cfg.CredentialsKey
	if opts.LocalTokens {
		if credKey, err = credentialsKey(cfg); err != nil {
			return nil, err
		}
	}
	lease := cmp.Or(opts.WorkerLease, DefaultWorkerLease)
	if lease < minWorkerLease {
		return nil, fmt.Errorf("worker lease %s: at least %s", lease, minWorkerLease)
	}
	return Assemble(cfg, Deps{
		Log:            log,
		Clock:          clock,
		Store:          st,
		Queue:          sqs.New(qc, cfg.QueueURLs),
		Providers:      providers,
		JWTKey:         jwtKey,
		CredentialsKey: credKey,
		PrepareWorkers: sqsRunner(qc, cfg.QueueURLs, log, lease),
		ImportLimits:   opts.ImportLimits,
	})
}

func secretsClient(ctx context.Context, region string) (*secretsmanager.Client, error) {
	c, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return secretsmanager.NewFromConfig(c), nil
}

func getSecret(ctx context.Context, sm *secretsmanager.Client, arn string) (string, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("get secret %s: %w", arn, err)
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

// providerSecret is the JSON of OPENAGG_PROVIDER_SECRET_ARN (see the SAM
// template's ProviderSecretArn parameter).
type providerSecret struct {
	SaltEdgeAppID                string `json:"saltedgeAppId"`
	SaltEdgeSecret               string `json:"saltedgeSecret"`
	SaltEdgePrivateKeyPEM        string `json:"saltedgePrivateKeyPem"`
	SaltEdgeCallbackPublicKeyPEM string `json:"saltedgeCallbackPublicKeyPem"`
}

// applyProviderSecret fills the provider settings the environment left
// empty (the environment wins, so a secret can be overridden for tests).
func applyProviderSecret(cfg *platform.Config, raw string) error {
	var s providerSecret
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&cfg.SaltEdge.AppID, s.SaltEdgeAppID)
	fill(&cfg.SaltEdge.Secret, s.SaltEdgeSecret)
	fill(&cfg.SaltEdge.PrivateKeyPEM, s.SaltEdgePrivateKeyPEM)
	fill(&cfg.CallbackPublicKey, s.SaltEdgeCallbackPublicKeyPEM)
	return nil
}
