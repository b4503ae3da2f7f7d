package platform

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeJSONBytes: the strict request decoder never panics; what it
// accepts is valid JSON holding one object, and what it refuses is a 400 or
// 413 *Error with a message (never an internal error).
func FuzzDecodeJSONBytes(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `[]`, `{"name":"a","count":2,"ok":true,"tags":["x"],"amount":"1.50","inner":{"code":"c"}}`,
		`{"name":"a","name":"b"}`, `{"Name":"a"}`, `{"inner":{"x":1}}`, `{"count":"2"}`, `{"amount":"1e400"}`, "{\"name\":\"\xff\"}", `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst decodeTarget
		err := DecodeJSONBytes(body, &dst)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted invalid JSON %q", body)
			}
			return
		}
		e, ok := err.(*Error)
		if !ok || (e.Status != 400 && e.Status != 413) || e.Message == "" {
			t.Fatalf("refusal %T %v for %q", err, err, body)
		}
	})
}
