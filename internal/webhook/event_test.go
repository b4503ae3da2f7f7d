package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/activity"
)

// Each activity becomes the webhook its kind maps to, or none.
func TestPayloadOf(t *testing.T) {
	at := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	end := at.AddDate(0, 0, 5)
	base := activity.Event{Key: "k", UserID: "alice", PartyID: "100100", BankCode: "b", BankName: "Bank", Provider: "sandbox", Channel: "Aggregation API", At: at}
	with := func(f func(e *activity.Event)) activity.Event {
		e := base
		f(&e)
		return e
	}
	for _, tc := range []struct {
		name string
		e    activity.Event
		typ  string // "" : no webhook
		data string
	}{
		{"created", with(func(e *activity.Event) {
			e.Kind, e.Result, e.Detail = activity.ConnectionCreated, "pending", "Started."
		}), EventConnectionStatus,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","status":"pending","detail":"Started.","channel":"Aggregation API"}`},
		{"activated", with(func(e *activity.Event) { e.Kind, e.Result = activity.ConnectionActivated, "active" }), EventConnectionStatus,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","status":"active","channel":"Aggregation API"}`},
		{"failed", with(func(e *activity.Event) { e.Kind, e.Result = activity.ConnectionFailed, "inactive" }), EventConnectionStatus,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","status":"inactive","channel":"Aggregation API"}`},
		{"removed", with(func(e *activity.Event) { e.Kind, e.Result = activity.ConnectionRemoved, "removed" }), EventConnectionStatus,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","status":"removed","channel":"Aggregation API"}`},
		{"refreshed", with(func(e *activity.Event) { e.Kind, e.Result = activity.ConnectionRefreshed, "active" }), "", ""},
		{"import completed", with(func(e *activity.Event) {
			e.Kind, e.Counts = activity.ImportCompleted, &activity.Counts{Accounts: 2, Transactions: 40, Added: 3, Modified: 1, Removed: 2}
		}), EventImportCompleted,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","counts":{"accounts":2,"transactions":40,"added":3,"modified":1,"removed":2},"channel":"Aggregation API"}`},
		{"import failed", with(func(e *activity.Event) { e.Kind, e.Detail = activity.ImportFailed, "The import failed: timeout" }), EventImportFailed,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","error":"The import failed: timeout","channel":"Aggregation API"}`},
		{"sync", with(func(e *activity.Event) { e.Kind, e.AccountIDs = activity.TransactionsChanged, []string{"a1"} }), EventSyncAvailable,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","accountIds":["a1"],"channel":"Aggregation API"}`},
		{"consent", with(func(e *activity.Event) { e.Kind, e.Scheduled, e.Detail = activity.ConsentExpiring, end, "Ends soon." }), EventConsentExpiring,
			`{"partyId":"100100","userId":"alice","bankCode":"b","bankName":"Bank","provider":"sandbox","detail":"Ends soon.","expiresAt":"2026-03-06T11:00:00Z","channel":"Aggregation API"}`},
		{"no party", with(func(e *activity.Event) { e.Kind, e.PartyID = activity.ImportCompleted, "" }), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, body, ok, err := payloadOf(tc.e)
			if err != nil || ok != (tc.typ != "") || typ != tc.typ {
				t.Fatalf("payloadOf: %q %v %v, want %q", typ, ok, err, tc.typ)
			}
			if !ok {
				return
			}
			var p struct {
				Type      string          `json:"type"`
				Timestamp time.Time       `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(body, &p); err != nil || p.Type != tc.typ || !p.Timestamp.Equal(at) || string(p.Data) != tc.data {
				t.Fatalf("body %s, want data %s", body, tc.data)
			}
		})
	}
}
