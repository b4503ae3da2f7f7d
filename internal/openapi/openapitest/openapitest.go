// Package openapitest checks requests and answers against OpenAgg's
// OpenAPI documents (internal/openapi) with kin-openapi's openapi3filter.
// The handler-test harnesses wrap the handler they test (Wrap), so every
// request of every handler test is checked, error answers included: a
// change of the wire fails a test until the document says it.
//
// The rules, per request:
//   - A request that no operation of the documents matches (path, method)
//     must be answered 401, 404 or 405 with one of the dialect's error
//     bodies (Doc.ErrorSchemas).
//   - A request the document refuses (a bad parameter or body) must be
//     answered with a 4xx the operation documents.
//   - Every answer's status must be one the operation documents, with the
//     documented content type and a body that validates against its schema;
//     an answer documented without a body must have none.
//
// The documents are loaded and validated once per test binary.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/openagg/openagg/internal/openapi"
)

// Spec is one loaded document.
type Spec struct {
	Name   string
	T      *openapi3.T
	Errors []*openapi3.SchemaRef // the dialect's error bodies
	paths  []path
}

type path struct {
	template string
	segs     []string // "{x}" for a parameter
	item     *openapi3.PathItem
}

// maxBody is the platform's body limit (platform.MaxBodyBytes).
const maxBody = 1 << 20

var loaded struct {
	once  sync.Once
	specs map[string]*Spec
	err   error
}

func init() {
	// The connect page answers HTML: its body is validated as a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// Specs loads (once) and returns every document by name.
func Specs() (map[string]*Spec, error) {
	loaded.once.Do(func() { loaded.specs, loaded.err = load() })
	return loaded.specs, loaded.err
}

func load() (map[string]*Spec, error) {
	out := map[string]*Spec{}
	for _, name := range openapi.Names() {
		d, err := openapi.Build(name)
		if err != nil {
			return nil, err
		}
		b, err := d.JSON()
		if err != nil {
			return nil, err
		}
		t, err := openapi3.NewLoader().LoadFromData(b)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		if err := t.Validate(context.Background()); err != nil {
			return nil, fmt.Errorf("document %s is not valid OpenAPI: %w", name, err)
		}
		s := &Spec{Name: name, T: t}
		for _, e := range d.ErrorSchemas {
			ref := t.Components.Schemas[e]
			if ref == nil {
				return nil, fmt.Errorf("document %s: no error schema %s", name, e)
			}
			s.Errors = append(s.Errors, ref)
		}
		for tmpl, item := range t.Paths.Map() {
			s.paths = append(s.paths, path{template: tmpl, segs: strings.Split(tmpl, "/"), item: item})
		}
		out[name] = s
	}
	return out, nil
}

// DocFor names the document of a request path.
func DocFor(p string) string {
	switch {
	case strings.HasPrefix(p, "/obp/v1.2/") || p == "/obp/v1.2":
		return "obp-v1.2"
	case strings.HasPrefix(p, "/obp/"):
		return "obp-v2"
	case strings.HasPrefix(p, "/api/v1/") || p == "/api/v1":
		return "finapi"
	case strings.HasPrefix(p, "/connect/") || strings.HasPrefix(p, "/callbacks/") || p == "/connect" || p == "/callbacks":
		return "connect"
	}
	return "aggregation"
}

// match finds the path template of an escaped request path, as API Gateway
// routes: the segments must agree, and at the first segment where two
// templates differ a literal beats a parameter. It returns the template
// and the (unescaped) path parameters. A path with "." or ".." segments,
// repeated slashes or bytes that are not UTF-8 once decoded names no route
// (the platform answers 404: docs/api.md, "Error formats").
func (s *Spec) match(escaped string) (*path, map[string]string) {
	segs := strings.Split(escaped, "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil || v == "." || v == ".." || !utf8.ValidString(v) || (seg == "" && i > 0 && i < len(segs)-1) {
			return nil, nil
		}
	}
	var best *path
	for i := range s.paths {
		p := &s.paths[i]
		if len(p.segs) != len(segs) || !fits(p.segs, segs) {
			continue
		}
		if best == nil || moreLiteral(p.segs, best.segs) {
			best = p
		}
	}
	if best == nil {
		return nil, nil
	}
	params := map[string]string{}
	for i, seg := range best.segs {
		if isParam(seg) {
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				v = segs[i]
			}
			params[seg[1:len(seg)-1]] = v
		}
	}
	return best, params
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

func fits(tmpl, segs []string) bool {
	for i, t := range tmpl {
		if isParam(t) {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if t != segs[i] {
			return false
		}
	}
	return true
}

// moreLiteral: at the first segment where a and b differ in kind, a has
// the literal.
func moreLiteral(a, b []string) bool {
	for i := range a {
		pa, pb := isParam(a[i]), isParam(b[i])
		if pa != pb {
			return !pa
		}
	}
	return false
}

// Check validates one exchange: the request (with its body), the status,
// header and body of the answer. It returns what is wrong, nil when the
// exchange agrees with the documents.
func Check(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	specs, err := Specs()
	if err != nil {
		return err
	}
	if r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return nil
	}
	spec := specs[DocFor(r.URL.Path)]
	p, params := spec.match(r.URL.EscapedPath())
	var op *openapi3.Operation
	if p != nil {
		op = p.item.GetOperation(r.Method)
	}
	if op == nil {
		return spec.checkUnrouted(status, header, body)
	}
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	req.ContentLength = int64(len(reqBody))
	if len(reqBody) > 0 && req.Header.Get("Content-Type") == "" {
		// The JSON APIs decode a body whatever its declared type.
		req.Header.Set("Content-Type", "application/json")
	}
	route := &routers.Route{Spec: spec.T, Path: p.template, PathItem: p.item, Method: r.Method, Operation: op}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	if len(reqBody) > maxBody {
		opts.ExcludeRequestBody = true // a body the operation does not take is not read
	}
	if len(reqBody) > maxBody && op.RequestBody != nil {
		// Every operation that reads a body refuses one over 1 MiB (413);
		// decoding it here would only cost time.
		if status != http.StatusRequestEntityTooLarge {
			return fmt.Errorf("%s %s: a body of %d bytes was answered %d, not 413", spec.Name, p.template, len(reqBody), status)
		}
		opts.ExcludeRequestBody = true
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && (status < 400 || status >= 500) {
		return fmt.Errorf("%s %s: the document refuses the request (%v) but it was answered %d", spec.Name, p.template, short(reqErr), status)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s %s: the answer %d does not match the document: %v", spec.Name, r.Method, p.template, status, short(err))
	}
	if rr := op.Responses.Status(status); rr != nil && rr.Value != nil && len(rr.Value.Content) == 0 && len(bytes.TrimSpace(body)) > 0 {
		return fmt.Errorf("%s %s %s: the answer %d has a body, the document none", spec.Name, r.Method, p.template, status)
	}
	return nil
}

// checkUnrouted checks the answer to a request no operation matches.
func (s *Spec) checkUnrouted(status int, header http.Header, body []byte) error {
	if !slices.Contains([]int{http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed}, status) {
		return fmt.Errorf("%s: a request no operation matches was answered %d (want 401, 404 or 405)", s.Name, status)
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("%s: the %d of an unknown route is %q, not JSON", s.Name, status, header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: the %d of an unknown route is not JSON: %w", s.Name, status, err)
	}
	var errs []string
	for _, e := range s.Errors {
		if err := e.Value.VisitJSON(v); err == nil {
			return nil
		} else {
			errs = append(errs, short(err))
		}
	}
	return fmt.Errorf("%s: the %d of an unknown route is none of the dialect's error bodies: %s", s.Name, status, strings.Join(errs, "; "))
}

// short keeps an error message readable (schema errors quote the whole
// schema and value).
func short(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i > 0 {
		msg = msg[:i]
	}
	if len(msg) > 600 {
		msg = msg[:600] + "…"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}

// recorder passes an answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Wrap returns h with every exchange checked against the documents; a
// mismatch is a test error (t.Errorf, so the test goes on and reports
// every mismatch).
func Wrap(t testing.TB, h http.Handler) http.Handler {
	if _, err := Specs(); err != nil {
		t.Fatalf("openapi documents: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			var err error
			if reqBody, err = io.ReadAll(r.Body); err != nil {
				t.Errorf("openapi: read the request body: %v", err)
			}
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := &recorder{ResponseWriter: w}
		orig := r.Clone(r.Context())
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if err := Check(orig, reqBody, rec.status, rec.Header(), rec.body.Bytes()); err != nil {
			t.Errorf("openapi: %s %s: %v\n  request body: %.300s\n  answer: %.500s", orig.Method, orig.URL.RequestURI(), err, reqBody, rec.body.Bytes())
		}
	})
}
