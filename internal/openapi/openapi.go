// Package openapi holds the OpenAPI 3.0.3 documents of OpenAgg's public
// APIs, one per dialect: the Aggregation API (with the platform routes),
// OBP 1.2, OBP 1.4.0 / 2.0.0 / 2.1.0, finAPI v1, and the connect page with
// the provider callbacks. They are served at GET /openapi/<name>.json and
// every handler test validates its requests and answers against them
// (internal/openapi/openapitest), so a change of the wire fails a test
// until the document says it.
//
// The documents are written by hand in a small builder (this file), one
// file per dialect, independent of the Go types that render the wire: a
// document that followed the code could not catch the code changing the
// wire. Where the original API has a published specification (finAPI's
// models, OBP's resource docs) the schemas keep its names and types.
//
// Adding a route: one op(...) line in its dialect's file, with its
// parameters, body and every status it answers (the handler tests fail on
// an undocumented status, and TestRoutesAgree in internal/app on a route
// that is served but not documented).
package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Version is the OpenAPI version of the documents.
const Version = "3.0.3"

// Names lists the documents, served at /openapi/<name>.json.
func Names() []string {
	return []string{"aggregation", "obp-v1.2", "obp-v2", "finapi", "connect"}
}

// Build builds the document name. (A switch, not a map of builders: a
// package-level map would link every document into every binary that
// imports the package.)
func Build(name string) (*Doc, error) {
	switch name {
	case "aggregation":
		return aggregationDoc(), nil
	case "obp-v1.2":
		return obp12Doc(), nil
	case "obp-v2":
		return obp2Doc(), nil
	case "finapi":
		return finapiDoc(), nil
	case "connect":
		return connectDoc(), nil
	}
	return nil, fmt.Errorf("openapi: no document %q (known: %s)", name, strings.Join(Names(), ", "))
}

// JSON is the document name as served.
func JSON(name string) ([]byte, error) {
	d, err := Build(name)
	if err != nil {
		return nil, err
	}
	return d.JSON()
}

// Handler serves the document name (public JSON; like every answer of the
// service it is not cached: platform.NoStore). The document is rendered on
// the first request and kept.
func Handler(name string) http.HandlerFunc {
	var (
		once sync.Once
		body []byte
		err  error
	)
	return func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { body, err = JSON(name) })
		if err != nil { // a document that does not render: a bug the tests catch
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"code":"INTERNAL","message":"internal error"}` + "\n"))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Access-Control-Allow-Origin", "*") // API explorers fetch it from elsewhere
		h.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// S is a schema object (marshalled as is).
type S map[string]any

// Field is one property of an object schema.
type Field struct {
	Name     string
	Schema   S
	Required bool
}

// R is a required property (always present), O an optional one (left out
// when unknown).
func R(name string, s S) Field { return Field{Name: name, Schema: s, Required: true} }
func O(name string, s S) Field { return Field{Name: name, Schema: s} }

// Obj is an object with exactly these properties: anything else in an
// answer is a change of the wire, anything else in a request is refused.
func Obj(fields ...Field) S {
	props := S{}
	var req []string
	for _, f := range fields {
		props[f.Name] = f.Schema
		if f.Required {
			req = append(req, f.Name)
		}
	}
	s := S{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}

// Open is an object whose properties are documented but others are
// accepted (a body decoded leniently).
func Open(fields ...Field) S {
	s := Obj(fields...)
	delete(s, "additionalProperties")
	return s
}

// Basic schemas.
func Str() S                { return S{"type": "string"} }
func Int() S                { return S{"type": "integer", "format": "int64"} }
func Int32() S              { return S{"type": "integer", "format": "int32"} }
func Num() S                { return S{"type": "number"} }
func Bool() S               { return S{"type": "boolean"} }
func Arr(items S) S         { return S{"type": "array", "items": items} }
func Enum(vals ...string) S { return S{"type": "string", "enum": vals} }

// Ref refers to a schema of the document's components.
func Ref(name string) S { return S{"$ref": "#/components/schemas/" + name} }

// Null makes s nullable (OpenAPI 3.0: a reference is wrapped in allOf, as
// siblings of $ref are ignored).
func Null(s S) S {
	if _, ok := s["$ref"]; ok {
		return S{"nullable": true, "allOf": []S{s}}
	}
	c := maps.Clone(s)
	c["nullable"] = true
	if e, ok := c["enum"].([]string); ok {
		// An enum lists every allowed value: null too.
		vals := make([]any, 0, len(e)+1)
		for _, v := range e {
			vals = append(vals, v)
		}
		c["enum"] = append(vals, nil)
	}
	return c
}

// With returns s with more keywords (description, pattern, format, min...).
func With(s S, kv ...any) S {
	c := maps.Clone(s)
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// Desc adds a description.
func Desc(s S, text string) S { return With(s, "description", text) }

// Pat is a string matching pattern.
func Pat(pattern string) S { return S{"type": "string", "pattern": pattern} }

// Common string shapes.
const (
	// rfc3339Pattern is an RFC 3339 UTC time with whole seconds.
	rfc3339Pattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`
	// decimalPattern is money as a decimal string ("-95.53").
	decimalPattern = `^-?[0-9]+(\.[0-9]+)?$`
)

// RFC3339 is a UTC time with whole seconds ("2020-04-03T14:42:31Z").
func RFC3339() S { return With(Pat(rfc3339Pattern), "format", "date-time") }

// Decimal is an exact amount as a decimal string.
func Decimal() S {
	return Desc(Pat(decimalPattern), "An exact decimal amount as a string (never a JSON number).")
}

// Param is a parameter of an operation.
type Param struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required,omitempty"`
	Desc     string `json:"description,omitempty"`
	Schema   S      `json:"schema"`
	// Explode false: a list as one comma-separated value (finAPI ids=1,2).
	Explode *bool  `json:"explode,omitempty"`
	Style   string `json:"style,omitempty"`
}

// Path is a path parameter (always required).
func Path(name string, s S, desc string) Param {
	return Param{Name: name, In: "path", Required: true, Schema: s, Desc: desc}
}

// Query is an optional query parameter.
func Query(name string, s S, desc string) Param {
	return Param{Name: name, In: "query", Schema: s, Desc: desc}
}

// Header is an optional request header.
func Header(name string, s S, desc string) Param {
	return Param{Name: name, In: "header", Schema: s, Desc: desc}
}

// Body is a request body: content type → schema.
type Body struct {
	Required bool
	Content  map[string]S
	Desc     string
}

// JSONBody is a JSON request body.
func JSONBody(s S, required bool, desc string) *Body {
	return &Body{Required: required, Content: map[string]S{"application/json": s}, Desc: desc}
}

// Resp is one answer of an operation.
type Resp struct {
	Desc    string
	Content map[string]S // none: an empty body
	Headers map[string]S
}

// JSONResp is an answer with a JSON body.
func JSONResp(desc string, s S) Resp {
	return Resp{Desc: desc, Content: map[string]S{"application/json": s}}
}

// Empty is an answer without a body.
func Empty(desc string) Resp { return Resp{Desc: desc} }

// Op is one operation.
type Op struct {
	Method, Path string
	ID           string // operationId
	Summary      string
	Desc         string
	Tags         []string
	// Public: no token needed (one may be sent); else a bearer token is
	// required.
	Public     bool
	Params     []Param
	Body       *Body
	Responses  map[int]Resp
	Deprecated bool
}

// Doc is one OpenAPI document being built.
type Doc struct {
	Title, Version, Description string
	Tags                        []Tag
	Ops                         []Op
	Schemas                     map[string]S
	// ErrorSchemas name the schemas of the dialect's error bodies: what a
	// request no operation matches (404, 405) is answered with.
	ErrorSchemas []string
}

// Tag groups operations.
type Tag struct {
	Name string `json:"name"`
	Desc string `json:"description,omitempty"`
}

// Add adds operations.
func (d *Doc) Add(ops ...Op) { d.Ops = append(d.Ops, ops...) }

// Schema adds a named schema to the components.
func (d *Doc) Schema(name string, s S) {
	if d.Schemas == nil {
		d.Schemas = map[string]S{}
	}
	if _, dup := d.Schemas[name]; dup {
		panic("openapi: schema " + name + " defined twice")
	}
	d.Schemas[name] = s
}

// wire types of the document.

type document struct {
	OpenAPI    string                          `json:"openapi"`
	Info       info                            `json:"info"`
	Servers    []server                        `json:"servers"`
	Tags       []Tag                           `json:"tags,omitempty"`
	Paths      map[string]map[string]operation `json:"paths"`
	Components components                      `json:"components"`
	Extensions map[string]any                  `json:"-"`
}

type info struct {
	Title       string  `json:"title"`
	Version     string  `json:"version"`
	Description string  `json:"description,omitempty"`
	License     license `json:"license"`
}

type license struct {
	Name string `json:"name"`
}

type server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

type operation struct {
	OperationID string              `json:"operationId"`
	Summary     string              `json:"summary,omitempty"`
	Description string              `json:"description,omitempty"`
	Tags        []string            `json:"tags,omitempty"`
	Parameters  []Param             `json:"parameters,omitempty"`
	RequestBody *requestBody        `json:"requestBody,omitempty"`
	Responses   map[string]response `json:"responses"`
	Security    []map[string][]any  `json:"security"`
	Deprecated  bool                `json:"deprecated,omitempty"`
}

type requestBody struct {
	Description string               `json:"description,omitempty"`
	Required    bool                 `json:"required"`
	Content     map[string]mediaType `json:"content"`
}

type mediaType struct {
	Schema S `json:"schema"`
}

type response struct {
	Description string               `json:"description"`
	Headers     map[string]header    `json:"headers,omitempty"`
	Content     map[string]mediaType `json:"content,omitempty"`
}

type header struct {
	Schema S `json:"schema"`
}

type components struct {
	Schemas         map[string]S              `json:"schemas"`
	SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
}

type securityScheme struct {
	Type         string `json:"type"`
	Scheme       string `json:"scheme"`
	BearerFormat string `json:"bearerFormat"`
	Description  string `json:"description"`
}

// JSON renders the document (indented, keys sorted: the same bytes for the
// same document).
func (d *Doc) JSON() ([]byte, error) {
	out := document{
		OpenAPI: Version,
		Info:    info{Title: d.Title, Version: d.Version, Description: d.Description, License: license{Name: "Apache-2.0"}},
		Servers: []server{{URL: "/", Description: "the OpenAgg deployment serving this document"}},
		Tags:    d.Tags,
		Paths:   map[string]map[string]operation{},
		Components: components{Schemas: d.Schemas, SecuritySchemes: map[string]securityScheme{
			"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
				Description: "A bearer JWT of the configured issuer (OPENAGG_JWT_ISSUER / JWKS); `openagg token` mints local ones."},
		}},
	}
	if out.Components.Schemas == nil {
		out.Components.Schemas = map[string]S{}
	}
	seen := map[string]bool{}
	for _, o := range d.Ops {
		key := o.Method + " " + o.Path
		if seen[key] {
			return nil, fmt.Errorf("openapi %s: %s documented twice", d.Title, key)
		}
		seen[key] = true
		if len(o.Responses) == 0 {
			return nil, fmt.Errorf("openapi %s: %s has no responses", d.Title, key)
		}
		op := operation{OperationID: o.ID, Summary: o.Summary, Description: o.Desc, Tags: o.Tags, Parameters: o.Params,
			Responses: map[string]response{}, Deprecated: o.Deprecated}
		if op.OperationID == "" {
			op.OperationID = operationID(o.Method, o.Path)
		}
		if o.Public {
			op.Security = []map[string][]any{{}, {"bearer": {}}} // a token is optional
		} else {
			op.Security = []map[string][]any{{"bearer": {}}}
		}
		if o.Body != nil {
			rb := &requestBody{Description: o.Body.Desc, Required: o.Body.Required, Content: map[string]mediaType{}}
			for ct, s := range o.Body.Content {
				rb.Content[ct] = mediaType{Schema: s}
			}
			op.RequestBody = rb
		}
		for status, r := range o.Responses {
			resp := response{Description: r.Desc}
			if resp.Description == "" {
				resp.Description = http.StatusText(status)
			}
			if len(r.Content) > 0 {
				resp.Content = map[string]mediaType{}
				for ct, s := range r.Content {
					resp.Content[ct] = mediaType{Schema: s}
				}
			}
			for name, s := range r.Headers {
				if resp.Headers == nil {
					resp.Headers = map[string]header{}
				}
				resp.Headers[name] = header{Schema: s}
			}
			op.Responses[fmt.Sprint(status)] = resp
		}
		item := out.Paths[o.Path]
		if item == nil {
			item = map[string]operation{}
			out.Paths[o.Path] = item
		}
		item[strings.ToLower(o.Method)] = op
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi %s: %w", d.Title, err)
	}
	return append(b, '\n'), nil
}

// operationID derives an id from the method and path
// ("GET /party/profiles/{partyid}/connections" → getPartyProfilesPartyidConnections).
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '-' || r == '.' || r == '_' }) {
		b.WriteString(strings.ToUpper(seg[:1]) + seg[1:])
	}
	return b.String()
}
