package platform

import (
	"context"
	"net/http"
	"strings"
)

type baseURLKey struct{}

// WithBaseURL returns ctx carrying the public base URL of the current request.
func WithBaseURL(ctx context.Context, u string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, u)
}

// BaseURL is the public base URL (scheme://host) under which the current
// request arrived, or "" outside a request. Connect URLs use it when no
// OPENAGG_PUBLIC_URL is configured: in AWS the template cannot pass the HTTP
// API's own URL to its functions (that would be a circular reference), so
// the execute-api or custom domain host of the request is used.
func BaseURL(ctx context.Context) string {
	u, _ := ctx.Value(baseURLKey{}).(string)
	return u
}

// BaseURLMiddleware records the request's public base URL in the context.
// API Gateway terminates TLS and sets X-Forwarded-Proto.
func BaseURLMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if host == "" || strings.ContainsAny(host, "/\\ @") {
			next.ServeHTTP(w, r)
			return
		}
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		next.ServeHTTP(w, r.WithContext(WithBaseURL(r.Context(), scheme+"://"+host)))
	})
}
