package obp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/api/obp"
	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/view"
)

// BenchmarkListTransactions is GET .../owner/transactions (limit 50, every
// transaction with a narrative, a comment, a tag and a where tag) through
// the auth middleware and the OBP handler on bolt, without the network:
// the handler's own cost per request (cmd/openagg's
// BenchmarkOBPTransactionsLoad measures it over HTTP).
func BenchmarkListTransactions(b *testing.B) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(b.TempDir(), "obp.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	acc := holdings.Account{ID: "benchacc", PartyID: "p1", OwnerSub: alice, BankCode: bankID, BankName: "Test Bank", Provider: "sandbox",
		Name: "Main account", Nature: "account", Currency: "EUR", IBAN: "DE89370400440532013000", Number: "0532013000",
		HolderName: "Alice Example", Balance: dec("1234.56")}
	put := func(it store.Item) {
		if err := s.Put(ctx, it, store.Condition{}); err != nil {
			b.Fatal(err)
		}
	}
	put(store.Item{PK: holdings.AccountPK(acc.ID), SK: holdings.AccountSK, Data: mustJSON(b, acc)})
	vs := view.New(view.Deps{Store: s, Provider: issuer})
	if err := vs.AccountsImported(ctx, []holdings.Account{acc}); err != nil {
		b.Fatal(err)
	}
	ms := metadata.New(metadata.Deps{Store: s})
	user := view.User{ID: alice, Provider: issuer, DisplayName: "Alice"}
	for i := range 300 {
		bal := dec("1000").Add(decimal.NewFromInt(int64(i)))
		name := fmt.Sprintf("Shop %d", i%40)
		tx := holdings.Transaction{ID: fmt.Sprintf("tx%06d", i), AccountID: acc.ID, Status: "posted",
			MadeOn: t0.Add(time.Duration(i) * time.Hour), PostedAt: t0.Add(time.Duration(i)*time.Hour + time.Minute),
			Amount: dec("-12.34"), Currency: "EUR", Description: fmt.Sprintf("card payment %d", i), Mode: "normal",
			CounterpartyID: holdings.CounterpartyID(name, ""), CounterpartyName: name, BalanceAfter: &bal}
		put(store.Item{PK: holdings.AccountPK(acc.ID), SK: holdings.TxSK(tx.ID), GSI1PK: holdings.TxByDateGSI1PK(acc.ID),
			GSI1SK: holdings.TxByDateGSI1SK(tx), Data: mustJSON(b, tx)})
		if i < 250 {
			continue
		}
		_, err := ms.UpdateTx(ctx, tx, view.Owner, metadata.TxMeta{}, func(m *metadata.TxMeta, now time.Time) error {
			m.Narrative = fmt.Sprintf("invoice %d settled", i)
			m.Comments = append(m.Comments, metadata.Comment{ID: fmt.Sprintf("c%d", i), Value: "checked against the ledger", Date: now, User: user})
			m.Tags = append(m.Tags, metadata.Tag{ID: fmt.Sprintf("t%d", i), Value: "reconciled", Date: now, User: user})
			m.Where = &metadata.Location{Latitude: 51.5, Longitude: -0.12, Date: now, User: user}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	api := obp.New(obp.Deps{Accounts: accounts(b, s, directory(b, s)), Views: vs, Metadata: ms})
	h, err := obp.Router(api.Routes(), api.Render)
	if err != nil {
		b.Fatal(err)
	}
	authn, err := authn.New(authn.Options{Issuer: issuer, Audiences: []string{audience}, HMACKey: jwtKey})
	if err != nil {
		b.Fatal(err)
	}
	h = authn.Middleware(h)
	req := httptest.NewRequest(http.MethodGet, base+acc.ID+"/owner/transactions", nil)
	req.Header.Set("Authorization", "Bearer "+token(b, alice))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.Clone(ctx))
	if rec.Code != http.StatusOK {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want := rec.Body.Len()
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{header: http.Header{}}
		h.ServeHTTP(w, req.Clone(ctx))
		if w.status != http.StatusOK || w.n != want {
			b.Fatalf("status %d, %d bytes, want 200 and %d", w.status, w.n, want)
		}
	}
	b.ReportMetric(float64(want)/1024, "resp-KB")
}

// discardWriter counts what it is sent: the benchmark measures the handler,
// not a recorder's buffer.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}
func (d *discardWriter) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	d.n += len(p)
	return len(p), nil
}
