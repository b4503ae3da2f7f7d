package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// NewLogger returns the service's JSON logger at level. A record logged
// with a request's context (log.InfoContext(r.Context(), ...)) carries that
// request's id as "requestId", so every line a request causes can be found
// from the id its response header and error body show.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// requestIDKeyAttr is the log attribute holding the request id.
const requestIDKeyAttr = "requestId"

// requestIDHandler adds the context's request id to each record that does
// not already name one.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == requestIDKeyAttr
			return !has
		})
		if !has {
			// Clone: the record's attribute storage may be shared.
			r = r.Clone()
			r.AddAttrs(slog.String(requestIDKeyAttr, id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// RequestID returns the id of the request being served, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID returns ctx carrying id (workers use it to correlate a job
// with the request that queued it).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// saneRequestID accepts a caller's id only if it is short and made of
// characters that are safe in logs and headers.
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
}

// RequestIDMiddleware reuses a sane incoming X-Request-Id, else API
// Gateway's request id (in Lambda), else makes one; it echoes the id in the
// response and puts it in the context.
func RequestIDMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = ""
			if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && saneRequestID(rc.RequestID) {
				id = rc.RequestID
			}
		}
		if id == "" {
			id = NewID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// routeInfo is filled in by Mux so that the access log (which runs outside
// the mux) can log the matched pattern instead of the raw path, which may
// hold ids.
type routeInfo struct{ pattern string }

type routeInfoKey struct{}

func setPattern(r *http.Request, pattern string) {
	if ri, ok := r.Context().Value(routeInfoKey{}).(*routeInfo); ok {
		ri.pattern = pattern
	}
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AccessLog logs one line per request: method, route pattern, status,
// duration, request id. Never headers (Authorization) nor bodies.
func AccessLog(log *slog.Logger, group string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ri := &routeInfo{}
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeInfoKey{}, ri)))
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			pattern := ri.pattern
			if pattern == "" {
				pattern = "unmatched"
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(r.Context(), level, "request",
				slog.String("group", group),
				slog.String("method", r.Method),
				slog.String("route", pattern),
				slog.Int("status", status),
				slog.Int("bytes", sw.bytes),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
				slog.String("requestId", RequestID(r.Context())),
			)
		})
	}
}

// Recover turns a panic in a handler into a 500 in the group's dialect
// (render) with no detail for the caller; the stack goes to the log.
func Recover(log *slog.Logger, render ErrorRenderer) func(http.Handler) http.Handler {
	if render == nil {
		render = RenderError
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw, ok := w.(*statusWriter)
			if !ok {
				sw = &statusWriter{ResponseWriter: w}
			}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic serving request",
					"method", r.Method, "requestId", RequestID(r.Context()),
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					render(sw, r, &Error{Status: http.StatusInternalServerError, Code: "INTERNAL", Message: "internal error"})
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// NoStore marks every response private and not to be cached, and not to be
// sniffed as another content type: API answers carry account data, tokens
// and secrets, which a shared cache (a proxy, a CDN) or a browser's disk
// cache must never keep. A handler may still set its own Cache-Control
// (public documents).
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// Chain applies middlewares so that the first one is the outermost.
func Chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
