package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// MaxBodyBytes is the request body limit of every API.
const MaxBodyBytes = 1 << 20

// BusyRetryAfter is the Retry-After (seconds) of a 503 answered because
// the database refused for load past its retries (store.ErrBusy): its
// throttling lifts within a second or two.
const BusyRetryAfter = "1"

// ErrorRenderer writes err in an API dialect's error format. Each API group
// has one; platform code (routing, recovery) calls it so that even a 404 or
// a panic answers in the group's dialect.
type ErrorRenderer func(w http.ResponseWriter, r *http.Request, err error)

// RenderError is the default renderer: {"code": "...", "message": "..."}
// with the error's status (and a Bearer challenge on 401). Internal errors
// show no detail.
func RenderError(w http.ResponseWriter, _ *http.Request, err error) {
	e := AsError(err)
	SetErrorHeaders(w.Header(), e.Status)
	WriteJSON(w, e.Status, map[string]string{"code": e.Code, "message": e.Message})
}

// SetErrorHeaders sets the headers every dialect's error answer with that
// status carries: the Bearer challenge of a 401 (RFC 6750) and the
// Retry-After of a 503 (the database busy, BusyRetryAfter).
func SetErrorHeaders(h http.Header, status int) {
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="openagg"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", BusyRetryAfter)
	}
}

// WriteJSON writes v as JSON with status. Encoding errors cannot be reported
// to the client once the header is out, so v must be encodable (our own
// response types are).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"INTERNAL","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Error codes of DecodeJSON.
const (
	CodeMalformedJSON = "MALFORMED_JSON"
	CodeBodyTooLarge  = "BODY_TOO_LARGE"
	CodeEmptyBody     = "EMPTY_BODY"
)

// DecodeJSON decodes the request body into dst strictly: at most
// MaxBodyBytes, no unknown fields, object keys exactly equal to the
// fields' JSON names (encoding/json alone would take "DEVICE" for
// "device"), no key repeated within an object (encoding/json alone would
// keep the last), right types, a single JSON value. Any failure is a *Error (400, or 413 for a body too large) whose message says
// what is wrong and where, for the dialect to render. An empty body is an
// error; use DecodeOptionalJSON where a body may be omitted.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	empty, err := decode(w, r, dst)
	if err != nil {
		return err
	}
	if empty {
		return BadRequest(CodeEmptyBody, "request body is required")
	}
	return nil
}

// DecodeOptionalJSON is DecodeJSON for routes whose body may be absent:
// it reports whether a body was present and leaves dst untouched otherwise.
func DecodeOptionalJSON(w http.ResponseWriter, r *http.Request, dst any) (bool, error) {
	empty, err := decode(w, r, dst)
	return !empty && err == nil, err
}

func decode(w http.ResponseWriter, r *http.Request, dst any) (empty bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return true, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return false, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
				Message: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes), Err: err}
		}
		return false, &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "could not read request body", Err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true, nil
	}
	return false, DecodeJSONBytes(body, dst)
}

// DecodeJSONBytes is the strict decoding of DecodeJSON on a byte slice.
func DecodeJSONBytes(body []byte, dst any) error {
	return decodeBytes(body, dst, false)
}

// DecodeJSONBytesAllowUnknown is DecodeJSONBytes for a body from a
// trusted sender whose format grows (Salt Edge callbacks): keys that match
// no field in any letter case are ignored; a known field's name in another
// case and a key repeated within an object are still refused.
func DecodeJSONBytesAllowUnknown(body []byte, dst any) error {
	return decodeBytes(body, dst, true)
}

func decodeBytes(body []byte, dst any, allowUnknown bool) error {
	// encoding/json decodes a top-level null into anything by doing
	// nothing, so a null body would pass for {} (or for no body at all).
	// No request body of ours is null: refuse it.
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: "malformed JSON: the body is null; send a JSON object (or no body where none is needed)"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		if isUnknownField(err) {
			// The decoder names the key but not where it is; the key check
			// (the body is valid JSON here) names its path and offset.
			if e := checkJSONKeys(body, dst, false); e != nil {
				e.Err = err
				return e
			}
		}
		return jsonError(err, body)
	}
	// A second value (or garbage) after the first is an error, not ignored.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: fmt.Sprintf("malformed JSON: unexpected data after the JSON value at offset %d", dec.InputOffset())}
	}
	if e := checkJSONKeys(body, dst, allowUnknown); e != nil {
		return e
	}
	return nil
}

// isUnknownField reports encoding/json's unknown-field error, which has no
// type of its own.
func isUnknownField(err error) bool {
	return strings.HasPrefix(err.Error(), "json: unknown field ")
}

// jsonError turns an encoding/json error into a clear 400.
func jsonError(err error, body []byte) *Error {
	bad := func(format string, args ...any) *Error {
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: fmt.Sprintf(format, args...), Err: err}
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return bad("malformed JSON at offset %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return bad("wrong type: expected %s, got JSON %s", jsonTypeName(typ.Type.String()), typ.Value)
		}
		return bad("wrong type for field %q: expected %s, got JSON %s", field, jsonTypeName(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return bad("malformed JSON: unexpected end of input at offset %d", len(body))
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return bad("unknown field %s", name)
	}
	return bad("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonTypeName names a Go type the way a JSON client thinks of it.
func jsonTypeName(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "number"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "map["):
		return "object"
	case goType == "decimal.Decimal":
		return "decimal string"
	case goType == "time.Time":
		return "RFC 3339 time string"
	}
	return "object"
}

// Mux builds a handler serving routes with net/http ServeMux patterns.
// Unmatched paths get render(404) and known paths with another method get
// render(405) plus an Allow header, both in the group's dialect. It returns
// an error (instead of ServeMux's panic) when two routes conflict.
func Mux(routes []Route, render ErrorRenderer) (http.Handler, error) {
	if render == nil {
		render = RenderError
	}
	mux := http.NewServeMux()
	paths := http.NewServeMux() // path → allowed methods, for 405
	allowed := map[string][]string{}
	for _, rt := range routes {
		if rt.Handler == nil {
			return nil, fmt.Errorf("route %s has no handler", rt.Pattern())
		}
		if err := Handle(mux, rt.Pattern(), rt.Handler); err != nil {
			return nil, err
		}
		if _, ok := allowed[rt.Path]; !ok {
			path := rt.Path
			// A path-only pattern may overlap another route's where the
			// method patterns did not ("GET /a/{x}" and "POST /{y}/b"): then
			// that path answers 404 instead of 405, never a wrong route.
			_ = Handle(paths, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", strings.Join(allowed[path], ", "))
				render(w, r, Errorf(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method %s is not allowed on %s", r.Method, r.URL.Path))
			}))
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
		if rt.Method == http.MethodGet && !slices.Contains(allowed[rt.Path], http.MethodHead) {
			allowed[rt.Path] = append(allowed[rt.Path], http.MethodHead)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			setPattern(r, pattern)
			// Serve through the mux so r.PathValue works in handlers.
			mux.ServeHTTP(w, r)
			return
		}
		h, pattern := paths.Handler(r)
		if pattern == "" {
			render(w, r, NotFound("NOT_FOUND", "no route for %s %s", r.Method, r.URL.Path))
			return
		}
		setPattern(r, pattern)
		h.ServeHTTP(w, r)
	}), nil
}

// Handle registers h on mux, returning ServeMux's panic on a conflicting
// or malformed pattern as an error.
func Handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("register route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}
