package obp

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openagg/openagg/internal/view"
)

// TestGoldenDecode decodes the example bodies of the OBP 1.2 page
// (testdata/golden, made valid JSON: "true/false" → true, trailing commas
// removed) into our wire types, refusing unknown fields: a renamed or
// missing field fails here.
func TestGoldenDecode(t *testing.T) {
	cases := map[string]any{
		"root":                   &rootJSON{},
		"banks":                  &banksJSON{},
		"bank":                   &bankJSON{},
		"accounts":               &accountsJSON{},
		"accounts_public":        &accountsJSON{},
		"accounts_private":       &accountsJSON{},
		"account":                &accountJSON{},
		"views":                  &viewsJSON{},
		"view_updated":           &view.View{},
		"view_granted":           &view.View{},
		"views_granted":          &viewsJSON{},
		"permissions":            &permissionsJSON{},
		"permission_views":       &viewsJSON{},
		"other_accounts":         &otherAccountsJSON{},
		"other_account":          &otherAccountJSON{},
		"other_account_metadata": &otherAccountMetadataJSON{},
		"tx_other_account":       &otherAccountJSON{},
		"alias":                  &aliasJSON{},
		"success":                &successJSON{},
		"transactions":           &transactionsJSON{},
		"transaction":            &transactionJSON{},
		"narrative":              &narrativeJSON{},
		"comments":               &commentsJSON{},
		"comment":                &commentJSON{},
		"tags":                   &tagsJSON{},
		"tag":                    &tagJSON{},
		"images":                 &imagesJSON{},
		"image":                  &imageJSON{},
		"where":                  &whereJSON{},
		// Requests.
		"req_create_view":   &viewBody{},
		"req_update_view":   &viewBody{},
		"req_grant_views":   &grantBody{},
		"req_narrative":     &narrativeBody{},
		"req_comment":       &valueBody{},
		"req_tag":           &valueBody{},
		"req_image_wrapped": &imageBody{},
		"req_where":         &whereBody{},
	}
	for name, dst := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(dst); err != nil {
				t.Fatalf("decode the page's %s example: %v", name, err)
			}
		})
	}
	// Every flag of the page's view object is a Permissions field.
	var v map[string]any
	b, _ := os.ReadFile(filepath.Join("testdata", "golden", "view_granted.json"))
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	n := 0
	for k := range v {
		if len(k) > 4 && k[:4] == "can_" {
			n++
			if !slices.Contains(view.ActionNames(), k) {
				t.Errorf("page flag %s is not an action", k)
			}
		}
	}
	if n != len(view.ActionNames()) {
		t.Errorf("page has %d flags, Permissions %d", n, len(view.ActionNames()))
	}
}
