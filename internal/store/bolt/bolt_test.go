package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/openagg/openagg/internal/store"
	"github.com/openagg/openagg/internal/store/bolt"
	"github.com/openagg/openagg/internal/store/storetest"
)

func open(tb testing.TB) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "store.db"), bolt.Options{TokenSecret: []byte("storetest-secret-0123456789")})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return open(b) })
}
