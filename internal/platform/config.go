package platform

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openagg/openagg/internal/queue"
)

// Version is the build version, set at link time with
// -ldflags "-X github.com/openagg/openagg/internal/platform.Version=v1.2.3".
var Version = "dev"

// Store and queue driver names.
const (
	StoreBolt   = "bolt"
	StoreDynamo = "dynamo"
	QueueLocal  = "local"
	QueueSQS    = "sqs"
)

// Provider names accepted in OPENAGG_PROVIDERS.
const (
	ProviderSandbox  = "sandbox"
	ProviderSaltEdge = "saltedge"
)

// Config is everything the service reads from its environment, read once at
// start (LoadConfig) and passed down. The defaults run the embedded default
// (bbolt file + local queue + sandbox provider) with no variable set.
type Config struct {
	Addr    string // OPENAGG_ADDR: listen address of `openagg serve`
	DataDir string // OPENAGG_DATA_DIR: bbolt file, local keys

	Store          string // OPENAGG_STORE: bolt | dynamo
	Table          string // OPENAGG_TABLE: DynamoDB table name
	DynamoEndpoint string // OPENAGG_DYNAMO_ENDPOINT: custom endpoint (moto, DynamoDB local)
	Region         string // AWS_REGION

	Queue       string            // OPENAGG_QUEUE: local | sqs
	QueueURLs   map[string]string // OPENAGG_QUEUE_URL_<NAME>: queue name → SQS URL
	SQSEndpoint string            // OPENAGG_SQS_ENDPOINT: custom endpoint (moto)

	Providers []string // OPENAGG_PROVIDERS: sandbox is always first
	CompanyID string   // OPENAGG_COMPANY_ID: Aggregation API company id
	PublicURL string   // OPENAGG_PUBLIC_URL: base of connect URLs and callbacks
	// ConnectFrameAncestors (OPENAGG_CONNECT_FRAME_ANCESTORS, origins
	// separated by spaces or commas) may show the connect page in a frame
	// (CSP frame-ancestors); empty: no site may ('none').
	ConnectFrameAncestors []string
	// AppName (OPENAGG_APP_NAME) is the name of the application the
	// hosted connect page connects the user's bank to ("<AppName> asks to
	// see ..."); at most 60 characters.
	AppName string

	JWTIssuer string // OPENAGG_JWT_ISSUER
	// JWTAudience is the first of OPENAGG_JWT_AUDIENCE (a comma-separated
	// list, as the SAM template passes it): the audience `openagg token`
	// mints; JWTAudiences are all the accepted ones.
	JWTAudience  string
	JWTAudiences []string
	JWKSURL      string   // OPENAGG_JWKS_URL: RS256 keys of an external issuer
	SuperAdmins  []string // OPENAGG_SUPERADMINS: subjects that may grant any role

	// PageTokenSecret seals pagination tokens (OPENAGG_PAGE_TOKEN_SECRET,
	// base64 or raw text of at least 16 bytes). Empty on the embedded default:
	// the app derives it from the local JWT key file. With dynamo every
	// function must share it: set it, or PageTokenSecretARN
	// (OPENAGG_PAGE_TOKEN_SECRET_ARN, a Secrets Manager secret read at start).
	PageTokenSecret    []byte
	PageTokenSecretARN string
	// ProviderSecretARN (OPENAGG_PROVIDER_SECRET_ARN) is a Secrets Manager
	// JSON secret with the provider credentials (saltedgeAppId,
	// saltedgeSecret, saltedgePrivateKeyPem, saltedgeCallbackPublicKeyPem),
	// read at start; it fills the SaltEdge fields and CallbackPublicKey
	// left empty by the environment.
	ProviderSecretARN string
	// CredentialsKey encrypts bank credentials at rest locally
	// (OPENAGG_CREDENTIALS_KEY, base64 of 32 bytes); empty means a key file
	// in DataDir. KMSKeyID (OPENAGG_KMS_KEY_ID) selects KMS envelope
	// encryption instead (AWS).
	CredentialsKey []byte
	KMSKeyID       string

	LogLevel        slog.Level    // OPENAGG_LOG_LEVEL: debug | info | warn | error
	RefreshInterval time.Duration // OPENAGG_REFRESH_INTERVAL: local scheduler tick
	// ConnectSettleAfter (OPENAGG_CONNECT_SETTLE_AFTER) is how long after a
	// connect page submit the job that makes its outcome reach the
	// connection, should the process die, first looks (1s to 15m).
	ConnectSettleAfter time.Duration

	SaltEdge SaltEdgeConfig

	// CallbackPublicKey is the PEM public key that signs provider callbacks
	// (OPENAGG_CALLBACK_PUBLIC_KEY).
	CallbackPublicKey string

	// WebhooksAllowPrivate (OPENAGG_WEBHOOKS_ALLOW_PRIVATE, embedded
	// default only) lets webhook endpoints use http and private or
	// loopback addresses (a receiver on the developer's machine).
	WebhooksAllowPrivate bool
}

// SaltEdgeConfig configures the Salt Edge client.
type SaltEdgeConfig struct {
	AppID   string // SALTEDGE_APP_ID
	Secret  string // SALTEDGE_SECRET
	BaseURL string // SALTEDGE_BASE_URL
	// PrivateKeyPEM signs requests (Salt Edge "Signature" header, which
	// live apps must send; SALTEDGE_PRIVATE_KEY, PEM text).
	PrivateKeyPEM string
	// IncludeSandboxes lists Salt Edge's sandbox and fake providers in the
	// bank directory (SALTEDGE_INCLUDE_SANDBOXES, default false: real banks
	// only).
	IncludeSandboxes bool
}

// SaltEdgeMissing names the settings Salt Edge's live requests and
// callbacks need that are empty: App-id and Secret authenticate, the
// private key signs every request (live apps must), and the callback
// public key verifies the callbacks that bring the data in. Empty when
// nothing is missing.
func (c Config) SaltEdgeMissing() []string {
	var out []string
	for _, v := range []struct{ name, value string }{
		{"SALTEDGE_APP_ID", c.SaltEdge.AppID},
		{"SALTEDGE_SECRET", c.SaltEdge.Secret},
		{"SALTEDGE_PRIVATE_KEY", c.SaltEdge.PrivateKeyPEM},
		{"OPENAGG_CALLBACK_PUBLIC_KEY", c.CallbackPublicKey},
	} {
		if strings.TrimSpace(v.value) == "" {
			out = append(out, v.name)
		}
	}
	return out
}

// Defaults of the configuration (documented in README.md).
const (
	DefaultAddr      = "127.0.0.1:8080"
	DefaultDataDir   = "./.openagg"
	DefaultTable     = "openagg"
	DefaultRegion    = "us-east-1"
	DefaultCompanyID = "GB0010001"
	DefaultPublicURL = "http://127.0.0.1:8080"
	// PublicURLFromRequest as OPENAGG_PUBLIC_URL derives connect URLs from
	// the host each request arrived on.
	PublicURLFromRequest   = "request"
	DefaultJWTIssuer       = "openagg-local"
	DefaultJWTAudience     = "openagg"
	DefaultRefreshInterval = time.Minute
	// DefaultConnectSettleAfter is OPENAGG_CONNECT_SETTLE_AFTER's default
	// (connection.SettleAfter).
	DefaultConnectSettleAfter = time.Minute
	DefaultSaltEdgeBaseURL    = "https://www.saltedge.com/api/v6"
	// DefaultAppName is the application the connect page names when
	// OPENAGG_APP_NAME is not set.
	DefaultAppName = "OpenAgg"
)

// maxAppName bounds OPENAGG_APP_NAME (it heads the connect page).
const maxAppName = 60

// QueueURLEnv names the variable holding the SQS URL of a queue
// ("connections" → OPENAGG_QUEUE_URL_CONNECTIONS).
func QueueURLEnv(queueName string) string {
	return "OPENAGG_QUEUE_URL_" + strings.ToUpper(queueName)
}

// LoadConfig reads the configuration from getenv (os.Getenv in mains, a map
// in tests). Every bad value is reported, joined into one error.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}

	c := Config{
		Addr:                  env("OPENAGG_ADDR", DefaultAddr),
		DataDir:               env("OPENAGG_DATA_DIR", DefaultDataDir),
		Store:                 strings.ToLower(env("OPENAGG_STORE", StoreBolt)),
		Table:                 env("OPENAGG_TABLE", DefaultTable),
		DynamoEndpoint:        env("OPENAGG_DYNAMO_ENDPOINT", ""),
		Region:                env("AWS_REGION", env("AWS_DEFAULT_REGION", DefaultRegion)),
		Queue:                 strings.ToLower(env("OPENAGG_QUEUE", "")),
		QueueURLs:             map[string]string{},
		SQSEndpoint:           env("OPENAGG_SQS_ENDPOINT", ""),
		CompanyID:             env("OPENAGG_COMPANY_ID", DefaultCompanyID),
		PublicURL:             strings.TrimRight(env("OPENAGG_PUBLIC_URL", DefaultPublicURL), "/"),
		ConnectFrameAncestors: splitList(strings.ReplaceAll(getenv("OPENAGG_CONNECT_FRAME_ANCESTORS"), " ", ",")),
		AppName:               env("OPENAGG_APP_NAME", DefaultAppName),
		JWTIssuer:             env("OPENAGG_JWT_ISSUER", DefaultJWTIssuer),
		JWTAudiences:          splitList(env("OPENAGG_JWT_AUDIENCE", DefaultJWTAudience)),
		JWKSURL:               env("OPENAGG_JWKS_URL", ""),
		SuperAdmins:           splitList(getenv("OPENAGG_SUPERADMINS")),
		KMSKeyID:              env("OPENAGG_KMS_KEY_ID", ""),
		PageTokenSecretARN:    env("OPENAGG_PAGE_TOKEN_SECRET_ARN", ""),
		ProviderSecretARN:     env("OPENAGG_PROVIDER_SECRET_ARN", ""),
		CallbackPublicKey:     env("OPENAGG_CALLBACK_PUBLIC_KEY", ""),
		SaltEdge: SaltEdgeConfig{
			AppID:         env("SALTEDGE_APP_ID", ""),
			Secret:        env("SALTEDGE_SECRET", ""),
			BaseURL:       strings.TrimRight(env("SALTEDGE_BASE_URL", DefaultSaltEdgeBaseURL), "/"),
			PrivateKeyPEM: env("SALTEDGE_PRIVATE_KEY", ""),
		},
	}
	if len(c.JWTAudiences) > 0 {
		c.JWTAudience = c.JWTAudiences[0]
	} else {
		bad("OPENAGG_JWT_AUDIENCE", "must name at least one audience")
	}

	for _, o := range c.ConnectFrameAncestors {
		if !validFrameAncestor(o) {
			bad("OPENAGG_CONNECT_FRAME_ANCESTORS", "%q is not an origin (https://host[:port]) or 'self'", o)
		}
	}
	if n := utf8.RuneCountInString(c.AppName); n == 0 || n > maxAppName || strings.ContainsFunc(c.AppName, unicode.IsControl) {
		bad("OPENAGG_APP_NAME", "%q must be 1-%d characters of text", Truncate(c.AppName, 80), maxAppName)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("OPENAGG_ADDR", "%q is not host:port", c.Addr)
	}
	if c.DataDir == "" {
		bad("OPENAGG_DATA_DIR", "must not be empty")
	}

	switch c.Store {
	case StoreBolt, StoreDynamo:
	default:
		bad("OPENAGG_STORE", "%q is not one of bolt, dynamo", c.Store)
	}
	// The queue follows the store unless set: dynamo goes with sqs.
	if c.Queue == "" {
		c.Queue = QueueLocal
		if c.Store == StoreDynamo {
			c.Queue = QueueSQS
		}
	}
	switch c.Queue {
	case QueueLocal:
		if c.Store != StoreBolt {
			bad("OPENAGG_QUEUE", "local queue needs OPENAGG_STORE=bolt (it lives in the bbolt file)")
		}
	case QueueSQS:
		for _, name := range queue.Names() {
			u := env(QueueURLEnv(name), "")
			if u == "" {
				bad(QueueURLEnv(name), "required with OPENAGG_QUEUE=sqs")
				continue
			}
			if !isHTTPURL(u) {
				bad(QueueURLEnv(name), "%q is not an http(s) URL", u)
			}
			c.QueueURLs[name] = u
		}
	default:
		bad("OPENAGG_QUEUE", "%q is not one of local, sqs", c.Queue)
	}
	if c.Store == StoreDynamo && c.Table == "" {
		bad("OPENAGG_TABLE", "must not be empty")
	}
	for name, v := range map[string]string{"OPENAGG_DYNAMO_ENDPOINT": c.DynamoEndpoint, "OPENAGG_SQS_ENDPOINT": c.SQSEndpoint, "OPENAGG_JWKS_URL": c.JWKSURL} {
		if v != "" && !isHTTPURL(v) {
			bad(name, "%q is not an http(s) URL", v)
		}
	}

	c.Providers = []string{ProviderSandbox}
	for _, p := range splitList(strings.ToLower(getenv("OPENAGG_PROVIDERS"))) {
		switch p {
		case ProviderSandbox:
		case ProviderSaltEdge:
			if !slices.Contains(c.Providers, p) {
				c.Providers = append(c.Providers, p)
			}
		default:
			bad("OPENAGG_PROVIDERS", "unknown provider %q (known: sandbox, saltedge)", p)
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("SALTEDGE_INCLUDE_SANDBOXES"))); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		c.SaltEdge.IncludeSandboxes = true
	default:
		bad("SALTEDGE_INCLUDE_SANDBOXES", "%q is not true or false", v)
	}
	// With a provider secret the credentials arrive at start, not in env
	// (the app checks them once read: SaltEdge.Missing).
	if slices.Contains(c.Providers, ProviderSaltEdge) && c.ProviderSecretARN == "" {
		for _, name := range c.SaltEdgeMissing() {
			bad(name, "required when OPENAGG_PROVIDERS includes saltedge")
		}
	}
	if !isHTTPURL(c.SaltEdge.BaseURL) {
		bad("SALTEDGE_BASE_URL", "%q is not an http(s) URL", c.SaltEdge.BaseURL)
	}
	// "request" (the SAM template's default) takes the base URL from each
	// request's host: see BaseURL.
	if strings.EqualFold(c.PublicURL, PublicURLFromRequest) {
		c.PublicURL = ""
	} else if !isHTTPURL(c.PublicURL) {
		bad("OPENAGG_PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
	if c.CompanyID == "" {
		bad("OPENAGG_COMPANY_ID", "must not be empty")
	}

	switch v := strings.ToLower(strings.TrimSpace(getenv("OPENAGG_WEBHOOKS_ALLOW_PRIVATE"))); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		c.WebhooksAllowPrivate = true
		if c.Store != StoreBolt {
			bad("OPENAGG_WEBHOOKS_ALLOW_PRIVATE", "only the embedded default (OPENAGG_STORE=bolt) may send webhooks to private addresses")
		}
	default:
		bad("OPENAGG_WEBHOOKS_ALLOW_PRIVATE", "%q is not true or false", v)
	}

	if v := getenv("OPENAGG_PAGE_TOKEN_SECRET"); v != "" {
		c.PageTokenSecret = DecodeSecret(v)
		if len(c.PageTokenSecret) < 16 {
			bad("OPENAGG_PAGE_TOKEN_SECRET", "must be at least 16 bytes")
		}
	} else if c.Store == StoreDynamo && c.PageTokenSecretARN == "" {
		bad("OPENAGG_PAGE_TOKEN_SECRET", "required (or OPENAGG_PAGE_TOKEN_SECRET_ARN) with OPENAGG_STORE=dynamo: every function must share it")
	}
	if v := getenv("OPENAGG_CREDENTIALS_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			k, err = base64.RawURLEncoding.DecodeString(strings.TrimSpace(v))
		}
		if err != nil || len(k) != 32 {
			bad("OPENAGG_CREDENTIALS_KEY", "must be base64 of exactly 32 bytes")
		}
		c.CredentialsKey = k
	}

	c.LogLevel = slog.LevelInfo
	if v := getenv("OPENAGG_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(strings.TrimSpace(v))); err != nil {
			bad("OPENAGG_LOG_LEVEL", "%q is not one of debug, info, warn, error", v)
		}
	}
	c.RefreshInterval = DefaultRefreshInterval
	if v := getenv("OPENAGG_REFRESH_INTERVAL"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		switch {
		case err != nil:
			bad("OPENAGG_REFRESH_INTERVAL", "%q is not a duration like 1m or 30s", v)
		case d < time.Second:
			bad("OPENAGG_REFRESH_INTERVAL", "must be at least 1s, got %s", d)
		default:
			c.RefreshInterval = d
		}
	}

	c.ConnectSettleAfter = DefaultConnectSettleAfter
	if v := getenv("OPENAGG_CONNECT_SETTLE_AFTER"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		switch {
		case err != nil:
			bad("OPENAGG_CONNECT_SETTLE_AFTER", "%q is not a duration like 1m or 30s", v)
		case d < time.Second || d > 15*time.Minute:
			bad("OPENAGG_CONNECT_SETTLE_AFTER", "must be between 1s and 15m (SQS's longest delay), got %s", d)
		default:
			c.ConnectSettleAfter = d
		}
	}

	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// Embedded reports whether the config selects the embedded default store.
func (c Config) Embedded() bool { return c.Store == StoreBolt }

// splitList splits a comma or space separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// DecodeSecret turns a configured secret into its bytes: base64 (std or
// url) of at least 16 bytes, else the raw text. Every place a secret is
// read (environment, Secrets Manager) uses it, so that the same string
// gives the same key in every process.
func DecodeSecret(v string) []byte {
	v = strings.TrimSpace(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) >= 16 {
			return b
		}
	}
	return []byte(v)
}

// validFrameAncestor accepts what may stand in a CSP frame-ancestors list
// for the connect page: 'self', or an origin (scheme, host, optional port;
// https, or http for a local development host). Anything else could widen
// the policy ("*", "https:") or break the header (";").
func validFrameAncestor(o string) bool {
	if o == "'self'" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(o, "*;' ") {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
}
