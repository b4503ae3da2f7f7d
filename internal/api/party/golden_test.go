package party_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	partyapi "github.com/openagg/openagg/internal/api/party"
	"github.com/openagg/openagg/internal/connection"
)

// TestReferenceExamples decodes every request and response example of the
// Aggregation reference document (testdata/, copied from
// shared/reference/aggregation-microservice-api.txt) strictly into the
// group's wire types and encodes them back to the same JSON.
func TestReferenceExamples(t *testing.T) {
	for _, tc := range []struct {
		file string
		v    any
	}{
		{"create_profile_response.json", &partyapi.ProfileResponse{}},
		{"create_connection_request.json", &partyapi.ConnectionRequest{}},
		{"create_connection_response.json", &partyapi.ConnectResponse{}},
		{"get_connections_response.json", &partyapi.StatusBody{}},
		{"refresh_response.json", &partyapi.RefreshResponse{}},
		{"remove_response.json", &partyapi.RefreshResponse{}},
		{"connection_details_response.json", &partyapi.DetailsResponse{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("round trip differs:\nwant %s\ngot  %s", raw, out)
			}
		})
	}
}

// TestReferenceRequestSyntax: the reference's create-connection request
// passes the wire checks; only its placeholder consent scope "string" is
// refused later, against the list of Salt Edge scopes.
func TestReferenceRequestSyntax(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "create_connection_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req partyapi.ConnectionRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	p, err := req.Params()
	if err != nil {
		t.Fatal(err)
	}
	want := connection.ConnectParams{
		CustomerID: "GB0010001-100100", ConsentScopes: []string{"string"}, ConsentFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		ConsentPeriodDays: 90, FetchScopes: []string{"accounts"}, AttemptFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		AttemptPeriodDays: 90, JavascriptCallbackType: "post_message", Device: "iPad",
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("params %+v", p)
	}
}
