package metadata_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/shopspring/decimal"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/view"
)

func newService(t *testing.T) (*metadata.Service, store.Store) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return metadata.New(metadata.Deps{Store: s, Clock: clocktest.New(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))}), s
}

func TestDefaultPublicAlias(t *testing.T) {
	a := metadata.DefaultPublicAlias("acc", "cp")
	if a != metadata.DefaultPublicAlias("acc", "cp") || len(a) != 12 || a[:6] != "ALIAS_" {
		t.Errorf("alias %q", a)
	}
	if a == metadata.DefaultPublicAlias("acc", "cp2") || a == metadata.DefaultPublicAlias("acc2", "cp") {
		t.Error("aliases of different other accounts collide")
	}
	d := metadata.OADoc{AccountID: "acc"}
	if d.Of("cp").PublicAlias != a {
		t.Error("the generated alias is not the default")
	}
}

// TestUpdateTxRetries: a change made on stale metadata is re-applied on
// the stored version, not lost and not overwriting the other writer.
func TestUpdateTxRetries(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	tx := holdings.Transaction{ID: "t1", AccountID: "a1", MadeOn: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Amount: decimal.NewFromInt(1)}
	add := func(v string) metadata.Change {
		return func(m *metadata.TxMeta, now time.Time) error {
			m.Comments = append(m.Comments, metadata.Comment{ID: v, Value: v, Date: now})
			return nil
		}
	}
	stale := metadata.TxMeta{}
	if _, err := svc.UpdateTx(ctx, tx, "owner", stale, add("first")); err != nil {
		t.Fatal(err)
	}
	m, err := svc.UpdateTx(ctx, tx, "owner", stale, add("second"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Comments) != 2 || m.Version != 2 {
		t.Fatalf("metadata %+v", m)
	}
	it, err := st.Get(ctx, metadata.TxMetaKey("a1", "t1", "owner"))
	if err != nil {
		t.Fatal(err)
	}
	if it.GSI1PK != holdings.TxByDateGSI1PK("a1") || it.GSI1SK != holdings.TxByDateGSI1SK(tx)+"#M#owner" {
		t.Errorf("index keys %s %s", it.GSI1PK, it.GSI1SK)
	}
	// An aborting change writes nothing.
	stored, _ := metadata.DecodeTxMeta(it)
	wantErr := errors.New("no")
	if _, err := svc.UpdateTx(ctx, tx, "owner", stored, func(*metadata.TxMeta, time.Time) error { return wantErr }); !errors.Is(err, wantErr) {
		t.Fatalf("err %v", err)
	}
	// Emptied metadata is deleted.
	if _, err := svc.UpdateTx(ctx, tx, "owner", stored, func(m *metadata.TxMeta, _ time.Time) error { m.Comments = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, metadata.TxMetaKey("a1", "t1", "owner")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty metadata still stored: %v", err)
	}
}

func TestSetOtherAccountRetries(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	stale := metadata.OADoc{AccountID: "a1"}
	if err := svc.SetOtherAccount(ctx, stale, "cp", metadata.MoreInfo, metadata.Value{Text: "info"}); err != nil {
		t.Fatal(err)
	}
	loc := &metadata.Location{Latitude: 1, Longitude: 2, User: view.User{ID: "u"}}
	if err := svc.SetOtherAccount(ctx, stale, "cp", metadata.PhysicalLocation, metadata.Value{Location: loc}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.LoadOADoc(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	r := d.Of("cp")
	if r.MoreInfo != "info" || r.PhysicalLocation == nil || r.PhysicalLocation.Date.IsZero() || d.Version != 2 {
		t.Errorf("doc %+v", d)
	}
	if err := svc.SetOtherAccount(ctx, d, "cp", metadata.PublicAlias, metadata.Value{}); err != nil {
		t.Fatal(err)
	}
	if d, _ = svc.LoadOADoc(ctx, "a1"); d.Of("cp").PublicAlias != "" {
		t.Errorf("deleted alias %q", d.Of("cp").PublicAlias)
	}
}

func TestValidCoordinates(t *testing.T) {
	for _, c := range []struct {
		lat, lon float64
		ok       bool
	}{{0, 0, true}, {90, 180, true}, {-90, -180, true}, {90.1, 0, false}, {0, -180.5, false}} {
		if err := metadata.ValidCoordinates(c.lat, c.lon); (err == nil) != c.ok {
			t.Errorf("%v,%v: %v", c.lat, c.lon, err)
		}
	}
}
