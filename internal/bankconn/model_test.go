package bankconn

import (
	"testing"
	"time"

	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/holdings"
)

func TestPartyID(t *testing.T) {
	a, b := PartyID("alice"), PartyID("bob")
	if a == b || !IsPartyID(a) || len(a) != len("finapi-")+32 || PartyID("alice") != a {
		t.Errorf("party ids %q %q", a, b)
	}
	for _, bad := range []string{"finapi-", "finapi-XYZ", "party-1", a + "0", "finapi-" + "ABCDEF0123456789abcdef0123456789"} {
		if IsPartyID(bad) {
			t.Errorf("%q taken for a finAPI party", bad)
		}
	}
}

func TestTransactionIDs(t *testing.T) {
	cases := []struct{ account, seq int64 }{{1, 0}, {1, maxSeq}, {MaxAccountID, 0}, {MaxAccountID, maxSeq}, {42, 12345}}
	seen := map[int64]bool{}
	for _, tc := range cases {
		id := TransactionID(tc.account, tc.seq)
		if id <= 0 || id > MaxID || seen[id] {
			t.Errorf("TransactionID(%d, %d) = %d", tc.account, tc.seq, id)
		}
		seen[id] = true
		if a, s := splitTransactionID(id); a != tc.account || s != tc.seq {
			t.Errorf("split %d = %d, %d", id, a, s)
		}
	}
	if TransactionID(1, maxSeq) >= TransactionID(2, 0) {
		t.Error("ids do not sort by account, then sequence")
	}
}

// TestStatuses: the download's state comes first, then the
// categorization job's; the busy rule follows from both.
func TestStatuses(t *testing.T) {
	d := func(state string) connection.Detail {
		return connection.Detail{Import: holdings.ImportProgress{State: state}}
	}
	cat := func(state string) *catRecord { return &catRecord{State: state, RunID: "r", UpdatedAt: time.Now()} }
	cases := []struct {
		name   string
		detail connection.Detail
		cat    *catRecord
		update UpdateStatus
		categ  CategorizationStatus
		busy   bool
	}{
		{"queued", d(holdings.StateQueued), nil, UpdateInProgress, CategorizationPending, true},
		{"running, old categorization done", d(holdings.StateRunning), cat(catDone), UpdateInProgress, CategorizationPending, true},
		{"downloaded, categorization queued", d(holdings.StateDone), cat(catPending), UpdateReady, CategorizationPending, true},
		{"categorizing", d(holdings.StateDone), cat(catRunning), UpdateReady, CategorizationInProgress, true},
		{"categorized", d(holdings.StateDone), cat(catDone), UpdateReady, CategorizationReady, false},
		{"categorization given up", d(holdings.StateDone), cat(catFailed), UpdateReady, CategorizationReady, false},
		{"download failed", d(holdings.StateFailed), cat(catDone), UpdateReady, CategorizationReady, false},
		{"never imported", d("none"), nil, UpdateReady, CategorizationReady, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, c := statuses(tc.detail, tc.cat)
			busy := Connection{UpdateStatus: u, CategorizationStatus: c}.Busy()
			if u != tc.update || c != tc.categ || busy != tc.busy {
				t.Errorf("got %s/%s busy %v, want %s/%s busy %v", u, c, busy, tc.update, tc.categ, tc.busy)
			}
		})
	}
}
