package finapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkListTransactions is the handler alone (the whole middleware
// stack of `openagg serve`, no network): a page of 100 transactions of an
// imported sandbox bank, beside a bare handler writing the same bytes.
// The load figure over HTTP is cmd/openagg's BenchmarkFinAPITransactionsLoad.
func BenchmarkListTransactions(b *testing.B) {
	e := newEnv(b)
	tok := e.token("bench")
	var c connection
	e.do("POST", "/api/v1/bankConnections/import", tok, fmt.Sprintf(`{"bankId":%d,"bankingUserId":"b","bankingPin":"secret"}`, e.bankID(tok, "Sandbox Bank UK"))).json(b, 201, &c)
	e.drain()
	const path = "/api/v1/transactions?view=bankView&perPage=100"
	want := e.do("GET", path, tok, "")
	if want.code != 200 || want.reads != 2 {
		b.Fatalf("%d (%d reads) %.300s", want.code, want.reads, want.body)
	}
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.Run("finapi", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != 200 || rec.Body.Len() != len(want.body) {
				b.Fatalf("%d %d", rec.Code, rec.Body.Len())
			}
		}
	})
	body := []byte(want.body)
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			bare.ServeHTTP(rec, req)
		}
	})
}
