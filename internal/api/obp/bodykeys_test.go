package obp_test

import (
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/api/obperr"
	"github.com/openagg/openagg/internal/holdings"
)

// A body key must be the field's JSON name exactly and appear once per
// object: encoding/json alone would take "NAME" for "name" and keep the
// last of two "name"s. Refused as OBP-10001, with nothing written.
func TestBodyKeysExact(t *testing.T) {
	onBolt(t, func(t *testing.T, e *env) {
		views := base + acc1 + "/views"
		tx := base + acc1 + "/full/transactions/tx2/metadata/"
		oa := base + acc1 + "/full/other_accounts/" + holdings.CounterpartyID("Shop One", "DE02120300000000202051") + "/metadata/"
		for _, c := range []struct{ name, method, path, user, body string }{
			{"view name in another case", "POST", views, alice, `{"NAME":"crew"}`},
			{"view field in another case", "POST", views, alice, `{"name":"crew","Description":"x"}`},
			{"repeated view field", "POST", views, alice, `{"name":"crew","name":"other"}`},
			{"is_public in another case", "PUT", views + "/team", alice, `{"IS_PUBLIC":true}`},
			{"narrative in another case", "POST", tx + "narrative", bob, `{"Narrative":"x"}`},
			{"repeated tag value", "POST", tx + "tags", bob, `{"value":"a","value":"b"}`},
			{"repeated url", "POST", oa + "url", bob, `{"URL":"https://a.test","URL":"https://b.test"}`},
			{"nested location field in another case", "POST", oa + "corporate_location", bob, `{"corporate_location":{"Latitude":1,"longitude":2}}`},
			{"repeated nested location field", "POST", oa + "physical_location", bob, `{"physical_location":{"latitude":1,"longitude":2,"latitude":3}}`},
		} {
			t.Run(c.name, func(t *testing.T) { e.refused(t, c.method, c.path, c.user, c.body, 400, obperr.CodeInvalidJSON) })
		}
		r := e.do("POST", views, alice, `{"name":"crew","NAME":"other"}`)
		if want := `OBP-10001: Incorrect json format. unknown field \"NAME\" at offset 15`; !strings.Contains(string(r.body), want) {
			t.Errorf("message %s, want %s", r.body, want)
		}
	})
}
