package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

type KeyEmbedded struct {
	Shared string `json:"shared"`
	Inner  string // untagged: named "Inner"
}

type KeyEmbeddedPtr struct {
	Promoted string `json:"promoted"`
}

// keyOpaque decodes itself from any JSON value.
type keyOpaque struct{ raw []byte }

func (o *keyOpaque) UnmarshalJSON(b []byte) error {
	o.raw = append(o.raw[:0], b...)
	return nil
}

type keyInner struct {
	Code string `json:"code"`
}

type keyTarget struct {
	KeyEmbedded
	*KeyEmbeddedPtr
	Name     string              `json:"name"`
	Skip     string              `json:"-"`
	Opt      string              `json:"opt,omitempty"`
	Ptr      *keyInner           `json:"ptr"`
	List     []keyInner          `json:"list"`
	Map      map[string]keyInner `json:"map"`
	Free     map[string]any      `json:"free"`
	Raw      json.RawMessage     `json:"raw"`
	Any      any                 `json:"any"`
	Amount   decimal.Decimal     `json:"amount"`
	Opaque   keyOpaque           `json:"opaque"`
	Untagged string
	Self     *keyTarget `json:"self"`
	hidden   string

	//lint:ignore SA5008 `json:"-,"` is encoding/json's documented way to name a field "-"
	Dash string `json:"-,"`
}

// Two embedded structs with a field of the same name at the same depth:
// encoding/json decodes neither, so the name is unknown.
type KeyAmbiguousA struct{ X string }
type KeyAmbiguousB struct{ X string }
type KeyUntaggedX struct{ X string }
type keyAmbiguous struct {
	KeyAmbiguousA
	KeyAmbiguousB
	Y string `json:"y"`
}

// A tagged field beats an untagged one of the same name at the same depth.
type KeyTaggedX struct {
	Other string `json:"X"`
}
type keyDominant struct {
	KeyUntaggedX
	KeyTaggedX
}

// The system group's body, the case that started this.
type keySetAccess struct {
	SetAccess string `json:"setAccess"`
}

func TestDecodeJSONKeys(t *testing.T) {
	manyKeys := func(dup string) string {
		var b strings.Builder
		b.WriteString(`{"free":{`)
		for i := range 40 {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(`"` + dup + `":0}}`)
		return b.String()
	}
	tests := []struct {
		name string
		dst  func() any
		body string
		want string // "" for success, else a substring of the 400 message
	}{
		// Valid bodies decode as before.
		{"exact names", newKeyTarget, `{"name":"a","opt":"o","ptr":{"code":"c"},"list":[{"code":"1"},{"code":"2"}],"map":{"k":{"code":"m"}},` +
			`"free":{"a":{"b":[1,{"c":null}]},"A":2},"raw":{"x":[{"y":1}]},"any":[{"x":1},{"x":2}],"amount":"1.50","Untagged":"u",` +
			`"shared":"s","Inner":"i","promoted":"p","-":"dash","self":{"name":"b","self":{"name":"c"}}}`, ""},
		{"empty object", newKeyTarget, `{}`, ""},
		{"null body refused (it would pass for {})", newKeyTarget, `null`, `the body is null`},
		{"nulls for objects", newKeyTarget, `{"ptr":null,"map":null,"raw":null,"self":null}`, ""},
		{"escaped key equal to a name", newKeyTarget, `{"n\u0061me":"a"}`, ""},
		{"strings that look like JSON", newKeyTarget, `{"name":"a\"}{,\\","opt":"\\\"name\":","free":{"\"":1,"\\":2,"\\\"":3}}`, ""},
		{"whitespace everywhere", newKeyTarget, " {\n\t\"name\" : \"a\" ,\r\n \"list\" : [ { \"code\" : \"c\" } , { } ] } ", ""},
		{"keys of different case in a map", newKeyTarget, `{"free":{"key":1,"KEY":2,"Key":3}}`, ""},
		{"many map keys", newKeyTarget, manyKeys("k40"), ""},
		{"both OBP spellings", newKeyTarget, `{"name":"a","Untagged":"b"}`, ""},
		{"tagged dominates", func() any { return new(keyDominant) }, `{"X":"x"}`, ""},

		// A key must be a field's JSON name exactly.
		{"wrong case", newKeyTarget, `{"NAME":"a"}`, `unknown field "NAME" at offset 1 (field names are case-sensitive: did you mean "name"?)`},
		{"wrong case after valid keys", newKeyTarget, `{"name":"a","Opt":"b"}`, `unknown field "Opt" at offset 12 (field names are case-sensitive: did you mean "opt"?)`},
		{"wrong case nested", newKeyTarget, `{"ptr":{"Code":"c"}}`, `unknown field "ptr.Code" at offset 8`},
		{"wrong case in an array element", newKeyTarget, `{"list":[{"code":"1"},{"CODE":"2"}]}`, `unknown field "list[1].CODE" at offset 23`},
		{"wrong case in a map value", newKeyTarget, `{"map":{"k":{"cOde":"m"}}}`, `unknown field "map.k.cOde"`},
		{"wrong case of an untagged field", newKeyTarget, `{"untagged":"u"}`, `did you mean "Untagged"?`},
		{"wrong case of an embedded field", newKeyTarget, `{"Shared":"s"}`, `unknown field "Shared"`},
		{"wrong case of an embedded pointer field", newKeyTarget, `{"PROMOTED":"p"}`, `unknown field "PROMOTED"`},
		{"wrong case in a recursive type", newKeyTarget, `{"self":{"self":{"Name":"c"}}}`, `unknown field "self.self.Name"`},
		{"wrong case via an escape", newKeyTarget, `{"N\u0061me":"a"}`, `unknown field "Name"`},
		{"wrong case at the top of an array", func() any { return new([]keyInner) }, `[{"code":"a"},{"Code":"b"}]`, `unknown field "[1].Code"`},
		{"wrong case in a map of structs", func() any { return new(map[string]keyInner) }, `{"a":{"CODE":"b"}}`, `unknown field "a.CODE"`},
		{"the setAccess case", func() any { return new(keySetAccess) }, `{"setAccess":"Yes","setaccess":"No"}`, `unknown field "setaccess" at offset 19 (field names are case-sensitive: did you mean "setAccess"?)`},

		// Unknown fields, json:"-", ambiguous and unexported fields.
		{"unknown field", newKeyTarget, `{"name":"a","colour":"red"}`, `unknown field "colour" at offset 12`},
		{"unknown nested field", newKeyTarget, `{"list":[{"code":"1","x":1}]}`, `unknown field "list[0].x"`},
		{"json dash field", newKeyTarget, `{"Skip":"s"}`, `unknown field "Skip"`},
		{"unexported field", newKeyTarget, `{"hidden":"h"}`, `unknown field "hidden"`},
		{"ambiguous embedded field", func() any { return new(keyAmbiguous) }, `{"y":"y","X":"x"}`, `unknown field "X"`},

		// A key repeated in one object.
		{"duplicate", newKeyTarget, `{"name":"a","name":"b"}`, `duplicate field "name" at offset 12`},
		{"duplicate via an escape", newKeyTarget, `{"name":"a","n\u0061me":"b"}`, `duplicate field "name" at offset 12`},
		{"duplicate nested", newKeyTarget, `{"ptr":{"code":"a","code":"b"}}`, `duplicate field "ptr.code"`},
		{"duplicate in an array element", newKeyTarget, `{"list":[{},{"code":"a","code":"b"}]}`, `duplicate field "list[1].code"`},
		{"duplicate embedded field", newKeyTarget, `{"shared":"a","promoted":"p","shared":"b"}`, `duplicate field "shared"`},
		{"duplicate map key", newKeyTarget, `{"map":{"k":{},"j":{},"k":{}}}`, `duplicate field "map.k" at offset 22`},
		{"duplicate in a free map", newKeyTarget, `{"free":{"a":{"b":1,"b":2}}}`, `duplicate field "free.a.b"`},
		{"duplicate among many map keys", newKeyTarget, manyKeys("k3"), `duplicate field "free.k3"`},
		{"duplicate invalid UTF-8 map keys", newKeyTarget, "{\"free\":{\"\xff\":1,\"\xfe\":2}}", `duplicate field "free.` + "\uFFFD" + `"`},
		{"duplicate empty key", newKeyTarget, `{"list":[{}],"free":{"":1,"":2}}`, `duplicate field "free." at offset 26`},
		{"duplicate in RawMessage", newKeyTarget, `{"raw":{"x":1,"x":2}}`, `duplicate field "raw.x"`},
		{"duplicate deep in RawMessage", newKeyTarget, `{"raw":[{"x":{"y":1,"y":1}}]}`, `duplicate field "raw[0].x.y"`},
		{"duplicate in interface", newKeyTarget, `{"any":[{"x":1},{"x":1,"x":2}]}`, `duplicate field "any[1].x"`},
		{"duplicate in a json.Unmarshaler", newKeyTarget, `{"opaque":{"a":1,"a":2}}`, `duplicate field "opaque.a"`},
		{"any key in a json.Unmarshaler", newKeyTarget, `{"opaque":{"A":1,"a":2,"name":{"Name":3}}}`, ""},
		{"duplicate at the top of a map", func() any { return new(map[string]int) }, `{"a":1,"a":2}`, `duplicate field "a"`},
		{"duplicate into any", func() any { return new(any) }, `{"a":{"b":1},"a":2}`, `duplicate field "a"`},
		{"duplicate into RawMessage", func() any { return new(json.RawMessage) }, `{"a":1,"a":2}`, `duplicate field "a"`},
		{"duplicate in a recursive type", newKeyTarget, `{"self":{"self":{"name":"a","name":"b"}}}`, `duplicate field "self.self.name"`},

		// What the decoder itself refuses keeps its message.
		{"wrong type", newKeyTarget, `{"name":1}`, `wrong type for field "name"`},
		{"syntax error", newKeyTarget, `{"name":"a",}`, `malformed JSON at offset 13`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := DecodeJSONBytes([]byte(tc.body), tc.dst())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			e := AsError(err)
			if err == nil || e.Status != 400 || e.Code != CodeMalformedJSON {
				t.Fatalf("got %v, want 400 %s", err, CodeMalformedJSON)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not contain %q", e.Message, tc.want)
			}
		})
	}
}

func newKeyTarget() any { return new(keyTarget) }

// The values land where encoding/json puts them: the check refuses, never
// changes, a decoding.
func TestDecodeJSONKeysValues(t *testing.T) {
	var got keyTarget
	body := `{"name":"a","Untagged":"u","shared":"s","Inner":"i","promoted":"p","-":"d","ptr":{"code":"c"},"self":{"name":"b"}}`
	if err := DecodeJSONBytes([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	var want keyTarget
	if err := json.Unmarshal([]byte(body), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || got.Name != "a" || got.Shared != "s" || got.Promoted != "p" || got.Dash != "d" || got.Self.Name != "b" || got.hidden != "" {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// Structs with more than 64 fields track seen fields beyond the bitmask.
func TestDecodeJSONKeysWideStruct(t *testing.T) {
	var fields []reflect.StructField
	for i := range 70 {
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: reflect.TypeFor[int](), Tag: reflect.StructTag(fmt.Sprintf(`json:"f%d"`, i))})
	}
	typ := reflect.StructOf(fields)
	for body, want := range map[string]string{
		`{"f0":1,"f69":2,"f64":3}`: "",
		`{"f69":1,"f0":2,"f69":3}`: `duplicate field "f69"`,
		`{"F68":1}`:                `did you mean "f68"?`,
	} {
		err := DecodeJSONBytes([]byte(body), reflect.New(typ).Interface())
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}

func TestDecodeJSONBytesAllowUnknown(t *testing.T) {
	type callback struct {
		Data struct {
			CustomerID string `json:"customer_id"`
		} `json:"data"`
	}
	for body, want := range map[string]string{
		`{"data":{"customer_id":"c","login_id":"l","extra":{"x":1}},"meta":{"version":"5"}}`: "",
		`{"data":{"Customer_ID":"c"}}`:                         `unknown field "data.Customer_ID"`,
		`{"data":{"customer_id":"c","customer_id":"d"}}`:       `duplicate field "data.customer_id"`,
		`{"data":{"customer_id":"c"},"meta":{"t":1,"t":2}}`:    `duplicate field "meta.t"`,
		`{"data":{"customer_id":"c"}} {}`:                      `unexpected data after the JSON value`,
		`{"data":{"customer_id":1}}`:                           `wrong type for field "data.customer_id"`,
		`{"data":{"customer_id":"c","other":"o","other":"p"}}`: `duplicate field "data.other"`,
	} {
		var dst callback
		err := DecodeJSONBytesAllowUnknown([]byte(body), &dst)
		switch {
		case want == "" && (err != nil || dst.Data.CustomerID != "c"):
			t.Errorf("%s: %v %+v", body, err, dst)
		case want != "" && (err == nil || AsError(err).Status != 400 || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}

// The check allocates nothing per key on a valid body once the type is
// described.
func TestCheckJSONKeysAllocations(t *testing.T) {
	for _, bc := range []struct {
		body   string
		dst    any
		allocs float64
	}{
		{benchConnectionBody, new(benchConnection), 0},
		{benchViewBody, new(benchView), 0},
		// Map and free-form objects remember their keys in one slice.
		{`{"free":{"a":1,"b":{"c":[1,2]}},"raw":{"x":1},"map":{"k":{}}}`, new(keyTarget), 1},
	} {
		body := []byte(bc.body)
		if e := checkJSONKeys(body, bc.dst, false); e != nil {
			t.Fatal(e)
		}
		if n := testing.AllocsPerRun(100, func() { _ = checkJSONKeys(body, bc.dst, false) }); n > bc.allocs {
			t.Errorf("%.40s: %.0f allocations", bc.body, n)
		}
	}
}

// FuzzCheckJSONKeys compares the key check on free-form values with a walk
// of json.Decoder tokens: the same bodies have a repeated key, and a body
// the decoder accepts is never malformed to the scanner.
func FuzzCheckJSONKeys(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `"s"`, `1.5e3`, `null`, `{"a":1,"b":[{"a":1},{"a":2,"a":3}]}`, `{"a":{"b":{}},"c":"\"}"}`,
		`{"\u0061":1,"a":2}`, "{\"\xff\":1,\"\xfe\":2}", `{"a\\":1,"a\\\\":2}`, ` { "a" : [ 1 , { } ] } `,
		`[{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":0,"k11":1,"k12":2,"k13":3,"k14":4,"k15":5,"k16":6,"k3":0}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		if dec.Decode(&v) != nil {
			return
		}
		want := tokenDuplicate(data)
		e := checkJSONKeys(data, &v, false)
		if got := e != nil && strings.HasPrefix(e.Message, "duplicate field"); got != want || e != nil && !got {
			t.Fatalf("%q: check %v, token walk says duplicate=%v", data, e, want)
		}
	})
}

// tokenDuplicate reports a key repeated in one object of the first JSON
// value in data, by json.Decoder's tokens.
func tokenDuplicate(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct {
		keys   map[string]bool
		object bool
		key    bool // the next string token is a key
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.key {
			if top.keys[s] {
				return true
			}
			top.keys[s] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{keys: map[string]bool{}, object: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return false
		}
		if top := stack[len(stack)-1]; top.object {
			top.key = true // a value ended: a key or '}' follows
		}
	}
}
