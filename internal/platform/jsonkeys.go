package platform

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// encoding/json matches an object key to a struct field case-insensitively
// when no field has the exact name, and lets a repeated key overwrite the
// first: {"setAccess":"Yes","setaccess":"No"} would decode as "No". The
// key check below runs over a body that json.Decoder has already accepted
// and refuses what the decoder let through: a key that is not exactly a
// field's JSON name, and a key repeated in one object (structs, maps and
// free-form values such as json.RawMessage or interface{} alike). It walks
// the bytes once beside a per-type description of the destination, without
// allocating for keys in the common case (no escapes, valid UTF-8).

// jsonKind is how the key check treats an object decoded into a Go type.
type jsonKind uint8

const (
	// jsonFree: any key is accepted (interface{}, json.Unmarshaler such as
	// json.RawMessage, scalars); repeated keys are still refused, at every
	// depth.
	jsonFree jsonKind = iota
	jsonStruct
	jsonMap
	jsonList
)

// jsonType describes a destination type for the key check.
type jsonType struct {
	kind   jsonKind
	elem   *jsonType      // map values, slice and array elements
	names  []string       // struct: the JSON names encoding/json decodes into
	types  []*jsonType    // struct: the type under names[i]
	byName map[string]int // struct: names[i] → i
}

// freeType is the description of every type whose objects are free-form.
var freeType = &jsonType{kind: jsonFree}

// jsonTypes caches *jsonType by reflect.Type: a type's description never
// changes, so computing it once per type is only a cache.
var jsonTypes sync.Map

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// jsonTypeOf describes t (the type a pointer passed to Decode points to).
func jsonTypeOf(t reflect.Type) *jsonType {
	if jt, ok := jsonTypes.Load(t); ok {
		return jt.(*jsonType)
	}
	building := map[reflect.Type]*jsonType{}
	jt := buildJSONType(t, building)
	// Store the whole graph so nested types are found directly too; a
	// concurrent builder may store an equal graph first, which is as good.
	for bt, bjt := range building {
		jsonTypes.LoadOrStore(bt, bjt)
	}
	jsonTypes.LoadOrStore(t, jt) // t is mostly *T, described as T
	return jt
}

// buildJSONType describes t, following encoding/json's decoding rules;
// building holds the types being described (recursive types refer back).
func buildJSONType(t reflect.Type, building map[reflect.Type]*jsonType) *jsonType {
	for t.Kind() == reflect.Pointer && !t.Implements(jsonUnmarshalerType) {
		t = t.Elem()
	}
	if jt, ok := building[t]; ok {
		return jt
	}
	if jt, ok := jsonTypes.Load(t); ok {
		return jt.(*jsonType)
	}
	// A type that decodes itself sees its keys first: only repeats are
	// refused inside it. A TextUnmarshaler refuses objects outright.
	if t.Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(jsonUnmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return freeType
	}
	switch t.Kind() {
	case reflect.Struct:
		jt := &jsonType{kind: jsonStruct}
		building[t] = jt
		fields := jsonFields(t)
		jt.names = make([]string, len(fields))
		jt.types = make([]*jsonType, len(fields))
		jt.byName = make(map[string]int, len(fields))
		for i, f := range fields {
			jt.names[i] = f.name
			jt.byName[f.name] = i
		}
		for i, f := range fields {
			jt.types[i] = buildJSONType(f.typ, building)
		}
		return jt
	case reflect.Map:
		jt := &jsonType{kind: jsonMap}
		building[t] = jt
		jt.elem = buildJSONType(t.Elem(), building)
		return jt
	case reflect.Slice, reflect.Array:
		jt := &jsonType{kind: jsonList}
		building[t] = jt
		jt.elem = buildJSONType(t.Elem(), building)
		return jt
	}
	return freeType
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name   string
	index  []int
	tagged bool
	typ    reflect.Type
}

// jsonFields lists the fields encoding/json decodes into for struct type
// t, by the rules of its typeFields: exported fields and fields promoted
// from embedded structs, named by their json tag (`-` skips), the
// shallowest (then tagged) field winning a name and equally good fields
// cancelling each other out.
func jsonFields(t reflect.Type) []jsonField {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var current []queued
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []jsonField
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validJSONTag(name) {
					name = ""
				}
				index := append(slices.Clip(f.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, jsonField{name: name, index: index, tagged: tagged, typ: sf.Type})
					if count[f.typ] > 1 {
						// The same struct embedded twice at this depth:
						// its fields cancel out, as in encoding/json.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		n := 1
		for i+n < len(fields) && fields[i+n].name == fields[i].name {
			n++
		}
		if n == 1 || len(fields[i].index) != len(fields[i+1].index) || fields[i].tagged != fields[i+1].tagged {
			out = append(out, fields[i])
		}
		i += n
	}
	// Field order, for the "did you mean" hint (the first field wins a
	// case-insensitive match in encoding/json).
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out
}

// validJSONTag is encoding/json's isValidTag.
func validJSONTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// keyError is a refused key; path is filled in on the way out.
type keyError struct {
	what   string // "unknown field", "duplicate field"
	offset int    // of the key's opening quote
	hint   string // appended to the message
	path   []pathStep
}

// pathStep is an object key or an array index (key == "" and index >= 0;
// a key may be "" too, with index -1).
type pathStep struct {
	key   string
	index int
}

func keyStep(key []byte) pathStep { return pathStep{key: string(key), index: -1} }

func (e *keyError) field() string {
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		switch p := e.path[i]; {
		case p.index >= 0:
			fmt.Fprintf(&b, "[%d]", p.index)
		case b.Len() > 0:
			b.WriteByte('.')
			fallthrough
		default:
			b.WriteString(p.key)
		}
	}
	return b.String()
}

func (e *keyError) platformError() *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
		Message: fmt.Sprintf("%s %q at offset %d%s", e.what, e.field(), e.offset, e.hint)}
}

// keyScanner walks one JSON value that json.Decoder accepted.
type keyScanner struct {
	data []byte
	pos  int
	// allowUnknown ignores keys that match no field in any case.
	allowUnknown bool
	// keys are the keys seen so far in the open map and free-form objects
	// (each object uses keys[base:]), for the repeat check. They are slices
	// of data but for keys with escapes.
	keys [][]byte
}

// checkJSONKeys checks the keys of the JSON value at the start of data
// against dst's type.
func checkJSONKeys(data []byte, dst any, allowUnknown bool) *Error {
	t := reflect.TypeOf(dst)
	if t == nil {
		return nil
	}
	s := keyScanner{data: data, allowUnknown: allowUnknown}
	switch ke := s.value(jsonTypeOf(t)); ke {
	case nil:
		return nil
	case errScan:
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: fmt.Sprintf("malformed JSON at offset %d", s.pos)}
	default:
		return ke.platformError()
	}
}

// errScan is returned where the bytes are not a JSON value. The scanner
// runs on what json.Decoder accepted, so this only shows if both disagree.
var errScan = &keyError{what: "malformed JSON"}

func (s *keyScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

func (s *keyScanner) value(t *jsonType) *keyError {
	s.space()
	if s.pos >= len(s.data) {
		return errScan
	}
	switch s.data[s.pos] {
	case '{':
		return s.object(t)
	case '[':
		return s.array(t)
	case '"':
		return s.skipString()
	}
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return nil
		}
		s.pos++
	}
	return nil
}

// skipString moves past the string at s.pos.
func (s *keyScanner) skipString() *keyError {
	i := s.pos + 1
	for {
		j := bytes.IndexByte(s.data[i:], '"')
		if j < 0 {
			return errScan
		}
		i += j
		// An odd run of backslashes escapes the quote.
		k := i - 1
		for k > s.pos && s.data[k] == '\\' {
			k--
		}
		i++
		if (i-2-k)%2 == 0 {
			s.pos = i
			return nil
		}
	}
}

// key reads the object key at s.pos: the decoded name, as a slice of the
// body unless it has escapes or invalid UTF-8 (which the decoder rewrites).
func (s *keyScanner) key() ([]byte, *keyError) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, errScan
	}
	start := s.pos
	plain := true
	i := start + 1
	for ; i < len(s.data); i++ {
		c := s.data[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			i++
		} else if c >= utf8.RuneSelf {
			plain = false
		}
	}
	if i >= len(s.data) {
		return nil, errScan
	}
	s.pos = i + 1
	raw := s.data[start+1 : i]
	if plain || utf8.Valid(raw) && bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	var name string
	if err := json.Unmarshal(s.data[start:s.pos], &name); err != nil {
		return nil, errScan
	}
	return []byte(name), nil
}

// objectMapLimit is the number of keys in one map or free-form object past
// which repeats are found with a map instead of comparing with each key.
const objectMapLimit = 16

func (s *keyScanner) object(t *jsonType) *keyError {
	s.pos++                         // {
	var seen uint64                 // struct fields seen, when there are at most 64
	var seenMany []bool             // or else
	var seenSet map[string]struct{} // map keys, past objectMapLimit
	base := len(s.keys)
	defer func() { s.keys = s.keys[:base] }()
	if t.kind == jsonStruct && len(t.names) > 64 {
		seenMany = make([]bool, len(t.names))
	}
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.space()
		at := s.pos
		key, ke := s.key()
		if ke != nil {
			return ke
		}
		vt := freeType
		switch t.kind {
		case jsonStruct:
			i, ok := t.byName[string(key)]
			if !ok {
				if hint := foldMatch(t.names, key); hint != "" {
					return &keyError{what: "unknown field", offset: at, path: []pathStep{keyStep(key)},
						hint: fmt.Sprintf(" (field names are case-sensitive: did you mean %q?)", hint)}
				}
				if !s.allowUnknown {
					return &keyError{what: "unknown field", offset: at, path: []pathStep{keyStep(key)}}
				}
				// An ignored key may still not repeat.
				if ke := s.repeated(at, key, base, &seenSet); ke != nil {
					return ke
				}
				break
			}
			if seenMany != nil {
				if seenMany[i] {
					return s.duplicate(at, key)
				}
				seenMany[i] = true
			} else {
				if seen&(1<<i) != 0 {
					return s.duplicate(at, key)
				}
				seen |= 1 << i
			}
			vt = t.types[i]
		default:
			if t.kind == jsonMap {
				vt = t.elem
			}
			if ke := s.repeated(at, key, base, &seenSet); ke != nil {
				return ke
			}
		}
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return errScan
		}
		s.pos++
		if ke := s.value(vt); ke != nil {
			if ke != errScan {
				ke.path = append(ke.path, keyStep(key))
			}
			return ke
		}
		s.space()
		if s.pos >= len(s.data) {
			return errScan
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return errScan
		}
	}
}

// repeated records key among the keys of the object whose keys start at
// s.keys[base] (or in *set, for many keys) and refuses a repeat.
func (s *keyScanner) repeated(at int, key []byte, base int, set *map[string]struct{}) *keyError {
	if *set != nil {
		if _, dup := (*set)[string(key)]; dup {
			return s.duplicate(at, key)
		}
		(*set)[string(key)] = struct{}{}
		return nil
	}
	for _, k := range s.keys[base:] {
		if bytes.Equal(k, key) {
			return s.duplicate(at, key)
		}
	}
	if s.keys == nil {
		// One allocation per body, for the first map or free-form object
		// (a stack array would escape: the scanner is passed by pointer).
		s.keys = make([][]byte, 0, 2*objectMapLimit)
	}
	s.keys = append(s.keys, key)
	if len(s.keys)-base > objectMapLimit {
		*set = make(map[string]struct{}, 2*objectMapLimit)
		for _, k := range s.keys[base:] {
			(*set)[string(k)] = struct{}{}
		}
	}
	return nil
}

func (s *keyScanner) duplicate(at int, key []byte) *keyError {
	return &keyError{what: "duplicate field", offset: at, path: []pathStep{keyStep(key)}}
}

func (s *keyScanner) array(t *jsonType) *keyError {
	s.pos++ // [
	et := freeType
	if t.kind == jsonList {
		et = t.elem
	}
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for n := 0; ; n++ {
		if ke := s.value(et); ke != nil {
			if ke != errScan {
				ke.path = append(ke.path, pathStep{index: n})
			}
			return ke
		}
		s.space()
		if s.pos >= len(s.data) {
			return errScan
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return errScan
		}
	}
}

// foldMatch is the first of names equal to key under case folding (the
// field encoding/json would have filled).
func foldMatch(names []string, key []byte) string {
	for _, n := range names {
		if strings.EqualFold(n, string(key)) {
			return n
		}
	}
	return ""
}
