package connect_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/platform/clocktest"

	"github.com/openagg/openagg/internal/api/aggregation"
	"github.com/openagg/openagg/internal/api/connect"
	"github.com/openagg/openagg/internal/api/party/partytest"
	"github.com/openagg/openagg/internal/connection"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/provider/saltedge"
	"github.com/openagg/openagg/internal/queue"
)

var (
	keysOnce       sync.Once
	saltEdgeKey    *rsa.PrivateKey // plays Salt Edge's signing key
	otherKey       *rsa.PrivateKey
	saltEdgePubPEM string
)

func keys(t *testing.T) {
	keysOnce.Do(func() {
		var err error
		if saltEdgeKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&saltEdgeKey.PublicKey)
		if err != nil {
			panic(err)
		}
		saltEdgePubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	})
}

// sign is what Salt Edge does: base64 RSA-SHA256 over "callback_url|body".
func sign(t *testing.T, key *rsa.PrivateKey, url, body string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(url + "|" + body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func errCode(t *testing.T, r partytest.Response) string {
	t.Helper()
	var b aggregation.ErrorBody
	if err := json.Unmarshal([]byte(r.Body), &b); err != nil || b.Error.Code == "" {
		t.Fatalf("not an error: %d %s", r.Status, r.Body)
	}
	return b.Error.Code
}

func TestSaltEdgeCallbacks(t *testing.T) {
	keys(t)
	e := partytest.New(t, partytest.Options{CallbackPublicKey: saltEdgePubPEM})
	const path = "/callbacks/saltedge/success"
	url := partytest.PublicURL + path
	// Sent at the test clock's now (partytest.Start).
	body := `{"data":{"connection_id":"111111111111111111","customer_id":"222222222222222222","custom_fields":{}},"meta":{"version":"6","time":"2025-03-10T12:00:00Z"}}`
	v5Body := strings.Replace(body, `"version":"6"`, `"version":"5"`, 1)
	staleBody := strings.Replace(body, "2025-03-10T12:00:00Z", "2025-03-10T10:59:59Z", 1)
	futureBody := strings.Replace(body, "2025-03-10T12:00:00Z", "2025-03-10T12:05:01Z", 1)
	untimedBody := strings.Replace(body, "2025-03-10T12:00:00Z", "yesterday", 1)
	// Unknown fields (custom_fields above) are ignored; repeated keys and
	// known names in another case are not.
	dupBody := strings.Replace(body, `"custom_fields"`, `"customer_id":"333333333333333333","custom_fields"`, 1)
	caseBody := strings.Replace(body, `"customer_id"`, `"Customer_ID"`, 1)

	for _, tc := range []struct {
		name   string
		path   string
		body   string
		sig    string
		status int
		code   string
	}{
		{"unsigned", path, body, "", 401, "SIGNATURE_MISSING"},
		{"signed by another key", path, body, sign(t, otherKey, url, body), 401, "SIGNATURE_INVALID"},
		{"signature of another body", path, body, sign(t, saltEdgeKey, url, strings.Replace(body, "2222", "3333", 1)), 401, "SIGNATURE_INVALID"},
		{"signature of another URL", path, body, sign(t, saltEdgeKey, partytest.PublicURL+"/callbacks/saltedge/fail", body), 401, "SIGNATURE_INVALID"},
		{"not base64", path, body, "%%%", 401, "SIGNATURE_INVALID"},
		{"unknown kind", "/callbacks/saltedge/other", body, sign(t, saltEdgeKey, partytest.PublicURL+"/callbacks/saltedge/other", body), 404, "NOT_FOUND"},
		{"signed garbage", path, "{", sign(t, saltEdgeKey, url, "{"), 400, "MALFORMED_JSON"},
		{"signed repeated key", path, dupBody, sign(t, saltEdgeKey, url, dupBody), 400, "MALFORMED_JSON"},
		{"signed key in another case", path, caseBody, sign(t, saltEdgeKey, url, caseBody), 400, "MALFORMED_JSON"},
		{"v5 callback", path, v5Body, sign(t, saltEdgeKey, url, v5Body), 400, "CALLBACK_VERSION"},
		{"older than the window (a replay)", path, staleBody, sign(t, saltEdgeKey, url, staleBody), 401, "CALLBACK_EXPIRED"},
		{"from the future", path, futureBody, sign(t, saltEdgeKey, url, futureBody), 401, "CALLBACK_EXPIRED"},
		{"no time", path, untimedBody, sign(t, saltEdgeKey, url, untimedBody), 400, "CALLBACK_TIME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.sig != "" {
				hdr = append(hdr, "Signature", tc.sig)
			}
			r := e.Do(http.MethodPost, tc.path, "", tc.body, hdr...)
			if r.Status != tc.status || errCode(t, r) != tc.code {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if e.Depth(queue.Connections) != 0 {
				t.Fatal("job queued")
			}
		})
	}

	for _, kind := range []string{"success", "fail", "notify", "destroy"} {
		p := "/callbacks/saltedge/" + kind
		r := e.Do(http.MethodPost, p, "", body, "Signature", sign(t, saltEdgeKey, partytest.PublicURL+p, body))
		if r.Status != 200 || r.Body != "{\"status\":\"queued\"}\n" {
			t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
		}
	}
	if n := e.Depth(queue.Connections); n != 4 {
		t.Fatalf("%d jobs", n)
	}
	// The customer is not one of ours: the sync finds nothing to do and
	// does not retry.
	e.Drain()

	// A service callback without a customer is acknowledged, not queued.
	svc := `{"data":{"reason":"maintenance"},"meta":{"version":"6","time":"2025-03-10T12:00:00Z"}}`
	r := e.Do(http.MethodPost, "/callbacks/saltedge/service", "", svc, "Signature", sign(t, saltEdgeKey, partytest.PublicURL+"/callbacks/saltedge/service", svc))
	if r.Status != 200 || e.Depth(queue.Connections) != 0 {
		t.Fatalf("service: %d %s", r.Status, r.Body)
	}
}

func TestCallbacksWithoutKeyAreRefused(t *testing.T) {
	keys(t)
	e := partytest.New(t, partytest.Options{})
	const path = "/callbacks/saltedge/success"
	body := `{"data":{"connection_id":"1","customer_id":"2"}}`
	r := e.Do(http.MethodPost, path, "", body, "Signature", sign(t, saltEdgeKey, partytest.PublicURL+path, body))
	if r.Status != 401 || errCode(t, r) != "CALLBACK_NOT_CONFIGURED" || e.Depth(queue.Connections) != 0 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

// A callback names a provider customer; the sync it queues finds the party
// through the customer index and reconciles its connections.
func TestCallbackSyncFindsTheParty(t *testing.T) {
	e, tok := setup(t, partytest.Bolt())
	e.Connected(tok, partyID, "sandbox_bank_oauth_client_de_xf")
	c := conn(t, e, "sandbox_bank_oauth_client_de_xf")
	if err := e.Sandbox.DeleteConnection(e.Ctx, c.ProviderConnectionID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // delivered twice: same outcome
		if err := e.Conns.QueueCallback(e.Ctx, connection.Callback{Provider: "sandbox", Kind: "destroy", CustomerID: c.CustomerID,
			ConnectionID: c.ProviderConnectionID, SentAt: e.Clock.Now(), Key: "destroy/1"}); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		if got := conn(t, e, "sandbox_bank_oauth_client_de_xf"); got.Status != "removed" || got.Version != c.Version+1 {
			t.Fatalf("after destroy callback: %s v%d", got.Status, got.Version)
		}
	}
}

// recorder is the connect group's Connections that records the callbacks
// it is given.
type recorder struct{ got []connection.Callback }

func (r *recorder) WatchConnect(context.Context, connection.Outcome) error { return nil }

func (r *recorder) CompleteConnect(context.Context, connection.Outcome) (connection.Connection, error) {
	return connection.Connection{}, nil
}

func (r *recorder) FailConnect(context.Context, connection.Outcome, string) (connection.Connection, error) {
	return connection.Connection{}, nil
}

func (r *recorder) QueueCallback(_ context.Context, cb connection.Callback) error {
	r.got = append(r.got, cb)
	return nil
}

// What a v6 callback asks of the connection domain: a success callback of
// the final stage (or of none, or of a stage not known to be intermediate)
// imports; an ended consent in a fail or notify callback stops the
// connection; everything else only syncs.
func TestCallbackClassification(t *testing.T) {
	keys(t)
	clock := clocktest.New(partytest.Start)
	rec := &recorder{}
	api := connect.New(connect.Deps{Connections: rec, Verify: saltedge.VerifyCallback, CallbackPublicKey: saltEdgePubPEM,
		PublicURL: partytest.PublicURL, Clock: clock})
	h, err := platform.Mux(api.Routes(), func(w http.ResponseWriter, r *http.Request, err error) {
		aggregation.WriteError(w, r, slog.New(slog.DiscardHandler), err)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind, stage, errorClass string
		final                   bool
		stop                    string
	}{
		{"success", connect.FinalStage, "", true, ""},
		{"success", "", "", true, ""},
		{"success", "some_new_stage", "", true, ""},
		{"success", "fetch_accounts", "", false, ""},
		{"success", "fetch_recent", "", false, ""},
		{"success", "start", "", false, ""},
		{"notify", "start", "", false, ""},
		{"notify", "fetch_full", "ConsentRevoked", false, provider.StopConsentRevoked},
		{"fail", "", "ConsentExpired", false, provider.StopConsentExpired},
		{"fail", "", "InvalidCredentials", false, ""},
		{"destroy", "", "", false, ""},
	} {
		t.Run(tc.kind+"/"+tc.stage+"/"+tc.errorClass, func(t *testing.T) {
			data := map[string]any{"connection_id": "111", "customer_id": "222", "custom_fields": map[string]any{}, "stage": tc.stage}
			if tc.errorClass != "" {
				data["error_class"], data["error_message"] = tc.errorClass, "m"
			}
			body, err := json.Marshal(map[string]any{"data": data, "meta": map[string]string{"version": "6", "time": clock.Now().Format(time.RFC3339)}})
			if err != nil {
				t.Fatal(err)
			}
			path := "/callbacks/saltedge/" + tc.kind
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
			req.Header.Set("Signature", sign(t, saltEdgeKey, partytest.PublicURL+path, string(body)))
			w := httptest.NewRecorder()
			rec.got = nil
			h.ServeHTTP(w, req)
			if w.Code != 200 || len(rec.got) != 1 {
				t.Fatalf("%d %s, %d callbacks", w.Code, w.Body, len(rec.got))
			}
			cb := rec.got[0]
			if cb.Provider != saltedge.Name || cb.Kind != tc.kind || cb.CustomerID != "222" || cb.ConnectionID != "111" || cb.Stage != tc.stage ||
				cb.Final != tc.final || cb.StopReason != tc.stop || !cb.SentAt.Equal(clock.Now()) || cb.Key == "" ||
				(tc.errorClass != "" && cb.Error != tc.errorClass+": m") {
				t.Errorf("callback %+v", cb)
			}
		})
	}
}
