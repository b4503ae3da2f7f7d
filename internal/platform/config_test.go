package platform

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envOf(nil))
	if err != nil {
		t.Fatalf("defaults must load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "127.0.0.1:8080"},
		{"DataDir", c.DataDir, "./.openagg"},
		{"Store", c.Store, "bolt"},
		{"Queue", c.Queue, "local"},
		{"Table", c.Table, "openagg"},
		{"CompanyID", c.CompanyID, "GB0010001"},
		{"PublicURL", c.PublicURL, "http://127.0.0.1:8080"},
		{"JWTIssuer", c.JWTIssuer, "openagg-local"},
		{"JWTAudience", c.JWTAudience, "openagg"},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"RefreshInterval", c.RefreshInterval, time.Minute},
		{"SaltEdge.BaseURL", c.SaltEdge.BaseURL, "https://www.saltedge.com/api/v6"},
		{"SaltEdge.IncludeSandboxes", c.SaltEdge.IncludeSandboxes, false},
		{"Providers", strings.Join(c.Providers, ","), "sandbox"},
		{"Embedded", c.Embedded(), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.PageTokenSecret != nil || c.CredentialsKey != nil || len(c.SuperAdmins) != 0 {
		t.Errorf("unexpected secrets/admins by default: %+v", c)
	}
}

func TestLoadConfig(t *testing.T) {
	awsEnv := map[string]string{
		"OPENAGG_STORE":                 "dynamo",
		"OPENAGG_QUEUE_URL_DIRECTORY":   "http://localhost:5000/123/d",
		"OPENAGG_QUEUE_URL_CONNECTIONS": "http://localhost:5000/123/c",
		"OPENAGG_QUEUE_URL_HOLDINGS":    "http://localhost:5000/123/h",
		"OPENAGG_QUEUE_URL_ACTIVITY":    "http://localhost:5000/123/a",
		"OPENAGG_QUEUE_URL_WEBHOOKS":    "http://localhost:5000/123/w",
		"OPENAGG_PAGE_TOKEN_SECRET":     "0123456789abcdef0123",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings of the error; nil = success
		check   func(t *testing.T, c Config)
	}{
		{name: "aws drivers", env: awsEnv, check: func(t *testing.T, c Config) {
			if c.Store != "dynamo" || c.Queue != "sqs" || c.QueueURLs["holdings"] != "http://localhost:5000/123/h" || len(c.QueueURLs) != 5 {
				t.Errorf("got %+v", c)
			}
			if string(c.PageTokenSecret) != "0123456789abcdef0123" {
				t.Errorf("secret = %q", c.PageTokenSecret)
			}
		}},
		{name: "aws secret from ARN", env: with(awsEnv, "OPENAGG_PAGE_TOKEN_SECRET", "", "OPENAGG_PAGE_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:x"), check: func(t *testing.T, c Config) {
			if c.PageTokenSecretARN == "" || c.PageTokenSecret != nil {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "dynamo without secret", env: with(awsEnv, "OPENAGG_PAGE_TOKEN_SECRET", ""), wantErr: []string{"OPENAGG_PAGE_TOKEN_SECRET: required"}},
		{name: "sqs without urls", env: map[string]string{"OPENAGG_STORE": "dynamo", "OPENAGG_PAGE_TOKEN_SECRET": "0123456789abcdef"},
			wantErr: []string{"OPENAGG_QUEUE_URL_CONNECTIONS: required", "OPENAGG_QUEUE_URL_DIRECTORY: required", "OPENAGG_QUEUE_URL_HOLDINGS: required", "OPENAGG_QUEUE_URL_ACTIVITY: required", "OPENAGG_QUEUE_URL_WEBHOOKS: required"}},
		{name: "local queue with dynamo", env: with(awsEnv, "OPENAGG_QUEUE", "local"), wantErr: []string{"OPENAGG_QUEUE: local queue needs OPENAGG_STORE=bolt"}},
		{name: "bad store", env: map[string]string{"OPENAGG_STORE": "postgres"}, wantErr: []string{`OPENAGG_STORE: "postgres" is not one of bolt, dynamo`}},
		{name: "bad queue", env: map[string]string{"OPENAGG_QUEUE": "kafka"}, wantErr: []string{`OPENAGG_QUEUE: "kafka" is not one of local, sqs`}},
		{name: "bad addr", env: map[string]string{"OPENAGG_ADDR": "8080"}, wantErr: []string{`OPENAGG_ADDR: "8080" is not host:port`}},
		{name: "addr any host", env: map[string]string{"OPENAGG_ADDR": ":9090"}, check: func(t *testing.T, c Config) {
			if c.Addr != ":9090" {
				t.Errorf("addr %q", c.Addr)
			}
		}},
		{name: "bad queue url", env: with(awsEnv, "OPENAGG_QUEUE_URL_HOLDINGS", "not a url"), wantErr: []string{`OPENAGG_QUEUE_URL_HOLDINGS: "not a url" is not an http(s) URL`}},
		{name: "bad endpoint", env: map[string]string{"OPENAGG_DYNAMO_ENDPOINT": "localhost:8000"}, wantErr: []string{"OPENAGG_DYNAMO_ENDPOINT"}},
		{name: "providers", env: map[string]string{"OPENAGG_PROVIDERS": "saltedge, sandbox", "SALTEDGE_APP_ID": "a", "SALTEDGE_SECRET": "s",
			"SALTEDGE_PRIVATE_KEY": "pem", "OPENAGG_CALLBACK_PUBLIC_KEY": "pub", "SALTEDGE_INCLUDE_SANDBOXES": "true"}, check: func(t *testing.T, c Config) {
			if !slices.Equal(c.Providers, []string{"sandbox", "saltedge"}) || c.SaltEdge.AppID != "a" || c.SaltEdge.Secret != "s" ||
				c.SaltEdge.PrivateKeyPEM != "pem" || c.CallbackPublicKey != "pub" || !c.SaltEdge.IncludeSandboxes || len(c.SaltEdgeMissing()) != 0 {
				t.Errorf("got %v %+v", c.Providers, c.SaltEdge)
			}
		}},
		{name: "saltedge without credentials", env: map[string]string{"OPENAGG_PROVIDERS": "sandbox,saltedge"},
			wantErr: []string{"SALTEDGE_APP_ID: required", "SALTEDGE_SECRET: required", "SALTEDGE_PRIVATE_KEY: required", "OPENAGG_CALLBACK_PUBLIC_KEY: required"}},
		{name: "saltedge without its signing key", env: map[string]string{"OPENAGG_PROVIDERS": "saltedge", "SALTEDGE_APP_ID": "a", "SALTEDGE_SECRET": "s", "OPENAGG_CALLBACK_PUBLIC_KEY": "pub"},
			wantErr: []string{"SALTEDGE_PRIVATE_KEY: required"}},
		{name: "webhooks to private addresses", env: map[string]string{"OPENAGG_WEBHOOKS_ALLOW_PRIVATE": "true"}, check: func(t *testing.T, c Config) {
			if !c.WebhooksAllowPrivate {
				t.Error("not allowed")
			}
		}},
		{name: "webhooks to private addresses in AWS", env: with(awsEnv, "OPENAGG_WEBHOOKS_ALLOW_PRIVATE", "yes"), wantErr: []string{"OPENAGG_WEBHOOKS_ALLOW_PRIVATE: only the embedded default"}},
		{name: "bad webhooks setting", env: map[string]string{"OPENAGG_WEBHOOKS_ALLOW_PRIVATE": "sometimes"}, wantErr: []string{`OPENAGG_WEBHOOKS_ALLOW_PRIVATE: "sometimes" is not true or false`}},
		{name: "bad include sandboxes", env: map[string]string{"SALTEDGE_INCLUDE_SANDBOXES": "maybe"}, wantErr: []string{`SALTEDGE_INCLUDE_SANDBOXES: "maybe" is not true or false`}},
		{name: "saltedge credentials from secret", env: map[string]string{"OPENAGG_PROVIDERS": "saltedge", "OPENAGG_PROVIDER_SECRET_ARN": "arn:x"}, check: func(t *testing.T, c Config) {
			if c.ProviderSecretARN != "arn:x" {
				t.Errorf("arn %q", c.ProviderSecretARN)
			}
		}},
		{name: "unknown provider", env: map[string]string{"OPENAGG_PROVIDERS": "plaid"}, wantErr: []string{`OPENAGG_PROVIDERS: unknown provider "plaid"`}},
		{name: "super admins", env: map[string]string{"OPENAGG_SUPERADMINS": " alice, bob ,,alice carol"}, check: func(t *testing.T, c Config) {
			if !slices.Equal(c.SuperAdmins, []string{"alice", "bob", "carol"}) {
				t.Errorf("admins %v", c.SuperAdmins)
			}
		}},
		{name: "audiences", env: map[string]string{"OPENAGG_JWT_AUDIENCE": "api://openagg,openagg"}, check: func(t *testing.T, c Config) {
			if c.JWTAudience != "api://openagg" || !slices.Equal(c.JWTAudiences, []string{"api://openagg", "openagg"}) {
				t.Errorf("aud %q %v", c.JWTAudience, c.JWTAudiences)
			}
		}},
		{name: "log level", env: map[string]string{"OPENAGG_LOG_LEVEL": "DEBUG"}, check: func(t *testing.T, c Config) {
			if c.LogLevel != slog.LevelDebug {
				t.Errorf("level %v", c.LogLevel)
			}
		}},
		{name: "bad log level", env: map[string]string{"OPENAGG_LOG_LEVEL": "loud"}, wantErr: []string{`OPENAGG_LOG_LEVEL: "loud"`}},
		{name: "refresh interval", env: map[string]string{"OPENAGG_REFRESH_INTERVAL": "30s"}, check: func(t *testing.T, c Config) {
			if c.RefreshInterval != 30*time.Second {
				t.Errorf("interval %v", c.RefreshInterval)
			}
		}},
		{name: "bad refresh interval", env: map[string]string{"OPENAGG_REFRESH_INTERVAL": "often"}, wantErr: []string{`OPENAGG_REFRESH_INTERVAL: "often" is not a duration`}},
		{name: "refresh interval too small", env: map[string]string{"OPENAGG_REFRESH_INTERVAL": "10ms"}, wantErr: []string{"OPENAGG_REFRESH_INTERVAL: must be at least 1s"}},
		{name: "connect settle after", env: map[string]string{"OPENAGG_CONNECT_SETTLE_AFTER": "5s"}, check: func(t *testing.T, c Config) {
			if c.ConnectSettleAfter != 5*time.Second {
				t.Errorf("settle after %v", c.ConnectSettleAfter)
			}
		}},
		{name: "bad connect settle after", env: map[string]string{"OPENAGG_CONNECT_SETTLE_AFTER": "soon"}, wantErr: []string{`OPENAGG_CONNECT_SETTLE_AFTER: "soon" is not a duration`}},
		{name: "connect settle after too long", env: map[string]string{"OPENAGG_CONNECT_SETTLE_AFTER": "16m"}, wantErr: []string{"OPENAGG_CONNECT_SETTLE_AFTER: must be between 1s and 15m"}},
		{name: "short page secret", env: map[string]string{"OPENAGG_PAGE_TOKEN_SECRET": "short"}, wantErr: []string{"OPENAGG_PAGE_TOKEN_SECRET: must be at least 16 bytes"}},
		{name: "base64 page secret", env: map[string]string{"OPENAGG_PAGE_TOKEN_SECRET": "AAECAwQFBgcICQoLDA0ODxAREhM="}, check: func(t *testing.T, c Config) {
			if len(c.PageTokenSecret) != 20 || c.PageTokenSecret[19] != 19 {
				t.Errorf("secret %v", c.PageTokenSecret)
			}
		}},
		{name: "credentials key", env: map[string]string{"OPENAGG_CREDENTIALS_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}, check: func(t *testing.T, c Config) {
			if len(c.CredentialsKey) != 32 {
				t.Errorf("key %v", c.CredentialsKey)
			}
		}},
		{name: "bad credentials key", env: map[string]string{"OPENAGG_CREDENTIALS_KEY": "c2hvcnQ="}, wantErr: []string{"OPENAGG_CREDENTIALS_KEY: must be base64 of exactly 32 bytes"}},
		{name: "public url trailing slash", env: map[string]string{"OPENAGG_PUBLIC_URL": "https://agg.example.com/"}, check: func(t *testing.T, c Config) {
			if c.PublicURL != "https://agg.example.com" {
				t.Errorf("url %q", c.PublicURL)
			}
		}},
		{name: "bad public url", env: map[string]string{"OPENAGG_PUBLIC_URL": "agg.example.com"}, wantErr: []string{"OPENAGG_PUBLIC_URL"}},
		{name: "several errors at once", env: map[string]string{"OPENAGG_STORE": "x", "OPENAGG_LOG_LEVEL": "y"}, wantErr: []string{"OPENAGG_STORE", "OPENAGG_LOG_LEVEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tc.env))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got config %+v", tc.wantErr, c)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestConnectFrameAncestors(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string
		ok   bool
	}{
		{"none by default", "", nil, true},
		{"origins by spaces and commas", "https://app.example.com 'self',https://b.example:8443", []string{"https://app.example.com", "'self'", "https://b.example:8443"}, true},
		{"local development over http", "http://localhost:3000", []string{"http://localhost:3000"}, true},
		{"wildcard", "*", nil, false},
		{"scheme only", "https:", nil, false},
		{"http elsewhere", "http://app.example.com", nil, false},
		{"a path", "https://app.example.com/embed", nil, false},
		{"policy injection", "https://a.example;script-src", nil, false},
		{"'none' among others", "'none'", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(map[string]string{"OPENAGG_CONNECT_FRAME_ANCESTORS": tc.env}))
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "OPENAGG_CONNECT_FRAME_ANCESTORS") {
					t.Fatalf("want a configuration error, got %v (%v)", err, c.ConnectFrameAncestors)
				}
				return
			}
			if err != nil || !slices.Equal(c.ConnectFrameAncestors, tc.want) {
				t.Fatalf("got %v, %v; want %v", c.ConnectFrameAncestors, err, tc.want)
			}
		})
	}
}

// OPENAGG_APP_NAME heads the connect page: text of a sane length.
func TestAppName(t *testing.T) {
	for _, tc := range []struct {
		name, env, want string
		ok              bool
	}{
		{"default", "", DefaultAppName, true},
		{"set, trimmed", "  Acme Budget ", "Acme Budget", true},
		{"unicode", "Zürich Finanz", "Zürich Finanz", true},
		{"blank is the default", "   ", DefaultAppName, true},
		{"too long", strings.Repeat("x", 61), "", false},
		{"control characters", "Acme\nBudget", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(map[string]string{"OPENAGG_APP_NAME": tc.env}))
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "OPENAGG_APP_NAME") {
					t.Fatalf("want a configuration error, got %v (%q)", err, c.AppName)
				}
				return
			}
			if err != nil || c.AppName != tc.want {
				t.Fatalf("got %q, %v; want %q", c.AppName, err, tc.want)
			}
		})
	}
}
