package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/authn"
)

// tokenCmd prints a bearer token signed with the local key of the data
// directory, for the issuer and audience the local server checks.
func tokenCmd(_ context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "user id (the token's sub), required")
	name := fs.String("name", "", "display name")
	roles := fs.String("roles", "", "comma-separated roles, e.g. CanCreateCustomer,CanGetCustomer")
	ttl := fs.Duration("ttl", 24*time.Hour, "validity")
	cfg, err := loadConfig(e, fs, args, false)
	if err != nil {
		return err
	}
	tok, err := mintLocal(cfg.DataDir, cfg.JWTIssuer, cfg.JWTAudience, *sub, *name, *roles, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

// mintLocal signs a token with <dataDir>/jwt.key (created if missing, so a
// token minted before the first `serve` is still accepted by it).
func mintLocal(dataDir, issuer, audience, sub, name, roles string, ttl time.Duration) (string, error) {
	if strings.TrimSpace(sub) == "" {
		return "", fmt.Errorf("--sub is required")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("--ttl must be positive, got %s", ttl)
	}
	key, err := authn.LoadOrCreateKey(dataDir)
	if err != nil {
		return "", err
	}
	rs := strings.FieldsFunc(roles, func(r rune) bool { return r == ',' || r == ' ' })
	return authn.Mint(key, authn.Claims{Sub: strings.TrimSpace(sub), Name: name, Roles: rs, Issuer: issuer, Audience: audience, TTL: ttl})
}
