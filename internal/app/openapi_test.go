package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/openagg/openagg/internal/openapi"
)

// The documents are served publicly by the system function (health
// group): the bytes openapi.JSON renders, a valid OpenAPI 3.0.3 document
// each, cacheable and readable from another origin (API explorers).
func TestServesOpenAPIDocuments(t *testing.T) {
	a := newTestApp(t)
	h, err := a.HandlerFor([]string{"health"})
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	for _, name := range openapi.Names() {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi/"+name+".json", nil)) // no token
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			want, err := openapi.JSON(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Body.Bytes(), want) {
				t.Fatal("served bytes differ from openapi.JSON")
			}
			for k, v := range map[string]string{"Content-Type": "application/json; charset=utf-8",
				"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			doc, err := openapi3.NewLoader().LoadFromData(w.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Fatalf("not a valid OpenAPI document: %v", err)
			}
			if doc.OpenAPI != "3.0.3" || doc.Paths.Len() == 0 {
				t.Fatalf("openapi %q with %d paths", doc.OpenAPI, doc.Paths.Len())
			}
		})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi/nope.json", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("unknown document: %d", w.Code)
	}
}
