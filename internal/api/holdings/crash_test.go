package holdings_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/provider/sandbox"
	"github.com/openagg/openagg/internal/store"
)

// crashingStore is the store of a holdings-importer that dies (a kill -9,
// out of memory, a Lambda timeout) at the same point of an import on every
// delivery, while armed: writing the transactions of the import's first
// step, after the step's claim. The panic fails the delivery without
// anything recorded, as a crash does.
type crashingStore struct {
	partytest.Store
	armed   atomic.Bool
	crashes atomic.Int32
}

func (s *crashingStore) BatchWrite(ctx context.Context, puts []store.Item, deletes []store.Key) error {
	if s.armed.Load() {
		for _, it := range puts {
			if strings.HasPrefix(it.SK, holdings.TxSKPrefix) {
				s.crashes.Add(1)
				panic("simulated holdings-importer crash")
			}
		}
	}
	return s.Store.BatchWrite(ctx, puts, deletes)
}

// An import whose worker dies in the same step on every delivery (issue
// 12, finding 1) ends visibly failed with the reason, nothing waits in the
// dead-letter queue (Drain fails the test on a dead letter), and the next
// import request runs to done with every transaction once.
func TestCrashedImportShowsFailedAndRunsAgain(t *testing.T) {
	st := &crashingStore{Store: partytest.Bolt().Open(t)}
	e := withAPI(partytest.New(t, partytest.Options{Store: st}))
	tok := e.Token(alice)
	e.CreateProfile(tok, partyA)
	st.armed.Store(true)
	e.Connected(tok, partyA, sandbox.BankDefault)

	details := func() holdings.ImportProgress {
		t.Helper()
		r := e.do(http.MethodGet, "/party/profiles/"+partyA+"/connectionDetails", tok, "")
		if r.status != http.StatusOK {
			t.Fatalf("details: %d %s", r.status, r.body)
		}
		var b struct {
			Connections []struct {
				BankCode string                  `json:"bankCode"`
				Import   holdings.ImportProgress `json:"import"`
			} `json:"connections"`
		}
		if err := json.Unmarshal([]byte(r.body), &b); err != nil {
			t.Fatalf("details %s: %v", r.body, err)
		}
		if len(b.Connections) != 1 || b.Connections[0].BankCode != sandbox.BankDefault {
			t.Fatalf("details: %s", r.body)
		}
		return b.Connections[0].Import
	}
	p := details()
	if p.State != holdings.StateFailed || !strings.Contains(p.LastError, "import step 0 was tried 3 times without finishing") {
		t.Fatalf("import after the crashes: %+v", p)
	}
	if n := st.crashes.Load(); n != 3 {
		t.Fatalf("%d crashes, want 3 (the fourth delivery records the failure)", n)
	}

	st.armed.Store(false)
	if r := e.do(http.MethodPost, importPath(partyA, sandbox.BankDefault), tok, ""); r.status != http.StatusAccepted {
		t.Fatalf("import request: %d %s", r.status, r.body)
	}
	e.Drain()
	p = details()
	if p.State != holdings.StateDone || p.LastError != "" || p.Transactions == 0 {
		t.Fatalf("import after the new request: %+v", p)
	}
	s := &syncer{e: e, party: partyA, token: tok, state: map[[2]string]wireSyncTx{}}
	if added, _, _ := s.follow(t, holdings.MaxSyncCount); int64(added) != p.Transactions {
		t.Fatalf("the change log announced %d transactions, the import %d", added, p.Transactions)
	}
	s.matches(t)
}
