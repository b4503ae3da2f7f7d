package authn

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
)

type authErrKey struct{}

// Middleware authenticates the request and never rejects it: public routes
// must work without a token, and each API dialect renders 401 in its own
// format. It puts into the context, for Caller and Require:
//   - the principal when the API Gateway JWT authorizer already
//     validated the token (its claims are in the v2 request context), or when
//     the Authorization bearer token verifies;
//   - the verification error when a token is present but invalid, so a
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
			ctx = context.WithValue(ctx, authErrKey{}, fmt.Errorf("%w: Authorization header is not \"Bearer <token>\"", auth.ErrInvalidToken))
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

// Caller returns the caller of a request that went through the
// Middleware: ok is false for an anonymous request. err (kind
// auth.ErrInvalidToken) says a token was sent that does not verify: even a
// route that works anonymously refuses it, since the client meant to
// authenticate. The message is safe to show: it never holds the token.
func Caller(ctx context.Context) (p auth.Principal, ok bool, err error) {
	if cause, _ := ctx.Value(authErrKey{}).(error); cause != nil {
		return auth.Principal{}, false, fault.Wrap(auth.ErrInvalidToken, cause, "the bearer token is invalid or expired")
	}
	p, ok = ctx.Value(principalKey{}).(auth.Principal)
	return p, ok && p.Subject != "", nil
}

// Require is Caller for a route that needs a caller: an anonymous request
// fails with auth.ErrNoToken.
func Require(ctx context.Context) (auth.Principal, error) {
	p, ok, err := Caller(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if !ok {
		return auth.Principal{}, fault.Errorf(auth.ErrNoToken, "authentication is required: send Authorization: Bearer <token>")
	}
	return p, nil
}

// WithPrincipal returns ctx carrying p as the request's authenticated
// caller: what the Middleware does for a token that verifies (tests and
// in-process callers use it too).
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

type principalKey struct{}

// gatewayPrincipal reads the claims the API Gateway HttpApi JWT authorizer
// validated (payload v2: requestContext.authorizer.jwt.claims). They are
// trusted as is: only API Gateway (or `openagg invoke`, which plays its part)
// builds that context.
func gatewayPrincipal(ctx context.Context) (auth.Principal, bool) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(ctx)
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return auth.Principal{}, false
	}
	return ClaimsPrincipal(rc.Authorizer.JWT.Claims)
}

// ClaimsPrincipal builds a principal from string claims as API Gateway
// passes them (arrays rendered as "[a b]").
func ClaimsPrincipal(claims map[string]string) (auth.Principal, bool) {
	sub := claims["sub"]
	if !auth.ValidUserID(sub) {
		return auth.Principal{}, false
	}
	name := claims["name"]
	if name == "" {
		name = claims["preferred_username"]
	}
	if name == "" {
		name = claims["username"]
	}
	return auth.Principal{Subject: sub, Name: name, Provider: claims["iss"], Roles: parseRoles(claims["roles"])}, true
}
