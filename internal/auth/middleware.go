package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/openagg/openagg/internal/platform"
)

type authErrKey struct{}

// Middleware authenticates the request and never rejects it: public routes
// must work without a token, and each API dialect renders 401 in its own
// format. It puts into the context:
//   - the Principal (FromContext) when the API Gateway JWT authorizer already
//     validated the token (its claims are in the v2 request context), or when
//     the Authorization bearer token verifies;
//   - the verification error (Err) when a token is present but invalid, so a
//     private route can refuse it even though a public one ignores it.
//
// Tokens that verified are remembered for a while (verified.go).
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	verify := a.newVerifiedCache().verify
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if p, ok := gatewayPrincipal(ctx); ok {
			next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
			return
		}
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			ctx = context.WithValue(ctx, authErrKey{}, fmt.Errorf("%w: Authorization header is not \"Bearer <token>\"", ErrInvalidToken))
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		p, err := verify(ctx, token)
		if err != nil {
			ctx = context.WithValue(ctx, authErrKey{}, err)
		} else {
			ctx = WithPrincipal(ctx, p)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Err returns the verification error of a present but invalid token (it
// wraps ErrInvalidToken), or nil.
func Err(ctx context.Context) error {
	err, _ := ctx.Value(authErrKey{}).(error)
	return err
}

// Require returns the authenticated principal, or a 401 *platform.Error
// (code UNAUTHENTICATED wrapping ErrNoToken, or INVALID_TOKEN wrapping
// ErrInvalidToken) for the group to render in its dialect. The message is
// safe to show: it never contains the token.
func Require(ctx context.Context) (Principal, error) {
	if err := Err(ctx); err != nil {
		return Principal{}, &platform.Error{Status: http.StatusUnauthorized, Code: "INVALID_TOKEN", Message: "the bearer token is invalid or expired", Err: err}
	}
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, &platform.Error{Status: http.StatusUnauthorized, Code: "UNAUTHENTICATED", Message: "authentication is required: send Authorization: Bearer <token>", Err: ErrNoToken}
	}
	return p, nil
}

// IsUnauthenticated reports whether err is one of Require's errors.
func IsUnauthenticated(err error) bool {
	return errors.Is(err, ErrNoToken) || errors.Is(err, ErrInvalidToken)
}

// gatewayPrincipal reads the claims the API Gateway HttpApi JWT authorizer
// validated (payload v2: requestContext.authorizer.jwt.claims). They are
// trusted as is: only API Gateway (or `openagg invoke`, which plays its part)
// builds that context.
func gatewayPrincipal(ctx context.Context) (Principal, bool) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(ctx)
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return Principal{}, false
	}
	return ClaimsPrincipal(rc.Authorizer.JWT.Claims)
}

// ClaimsPrincipal builds a principal from string claims as API Gateway
// passes them (arrays rendered as "[a b]").
func ClaimsPrincipal(claims map[string]string) (Principal, bool) {
	sub := claims["sub"]
	if sub == "" {
		return Principal{}, false
	}
	name := claims["name"]
	if name == "" {
		name = claims["preferred_username"]
	}
	if name == "" {
		name = claims["username"]
	}
	return Principal{Subject: sub, Name: name, Provider: claims["iss"], Roles: parseRoles(claims["roles"])}, true
}
