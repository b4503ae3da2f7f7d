package platform

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Representative request bodies: the party group's create-connection body
// and an OBP create-view body (the write paths that decode per request).
type benchConnection struct {
	Data *struct {
		CustomerID string `json:"customer_id"`
		Consent    *struct {
			FromDate   string   `json:"from_date"`
			PeriodDays string   `json:"period_days"`
			Scope      []string `json:"scope"`
		} `json:"consent"`
		Attempt *struct {
			FromDate   string   `json:"from_date"`
			PeriodDays string   `json:"period_days"`
			FetchScope []string `json:"fetch_scope"`
		} `json:"attempt"`
		JavascriptCallbackType string `json:"javascript_callback_type,omitempty"`
		Device                 string `json:"device,omitempty"`
	} `json:"data"`
}

const benchConnectionBody = `{"data":{"customer_id":"GB0010001-100100",` +
	`"consent":{"from_date":"10-02-2025","period_days":"90","scope":["account_details","transactions_details"]},` +
	`"attempt":{"from_date":"10-02-2025","period_days":"90","fetch_scope":["accounts","transactions"]},` +
	`"javascript_callback_type":"post_message","device":"iPad"}}`

type benchView struct {
	Name                    *string  `json:"name"`
	Description             *string  `json:"description"`
	IsPublicRequest         *bool    `json:"is_Public"`
	IsPublic                *bool    `json:"is_public"`
	WhichAliasToUse         *string  `json:"which_alias_to_use"`
	HideMetadataIfAliasUsed *bool    `json:"hide_metadata_if_alias_used"`
	AllowedActions          []string `json:"allowed_actions"`
}

var benchViewBody = `{"name":"_test","description":"This view is for family","is_public":true,"which_alias_to_use":"family",` +
	`"hide_metadata_if_alias_used":false,"allowed_actions":["can_see_transaction_this_bank_account","can_see_transaction_other_bank_account",` +
	`"can_see_transaction_metadata","can_see_transaction_label","can_see_transaction_amount","can_see_transaction_type",` +
	`"can_see_transaction_currency","can_see_transaction_start_date","can_see_transaction_finish_date","can_see_transaction_balance",` +
	`"can_see_comments","can_see_narrative","can_see_tags","can_see_images","can_see_bank_account_owners","can_see_bank_account_type",` +
	`"can_see_bank_account_balance","can_see_bank_account_currency","can_see_bank_account_label","can_see_bank_account_national_identifier",` +
	`"can_see_bank_account_swift_bic","can_see_bank_account_iban","can_see_bank_account_number","can_see_bank_account_bank_name",` +
	`"can_see_other_account_national_identifier","can_see_other_account_swift_bic","can_see_other_account_iban","can_see_other_account_bank_name",` +
	`"can_see_other_account_number","can_see_other_account_metadata","can_see_other_account_kind","can_see_more_info","can_see_url",` +
	`"can_see_image_url","can_see_open_corporates_url","can_see_corporate_location","can_see_physical_location","can_see_public_alias",` +
	`"can_see_private_alias","can_add_more_info","can_add_url","can_add_image_url","can_add_open_corporates_url","can_add_corporate_location",` +
	`"can_add_physical_location","can_add_public_alias","can_add_private_alias","can_delete_corporate_location","can_delete_physical_location",` +
	`"can_edit_narrative","can_add_comment","can_delete_comment","can_add_tag","can_delete_tag","can_add_image","can_delete_image",` +
	`"can_add_where_tag","can_see_where_tag","can_delete_where_tag"]}`

func BenchmarkDecodeJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		body string
		dst  func() any
	}{
		{"connection", benchConnectionBody, func() any { return new(benchConnection) }},
		{"view", benchViewBody, func() any { return new(benchView) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(bc.body))
				if err := DecodeJSON(w, r, bc.dst()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/bytes", func(b *testing.B) {
			body := []byte(bc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := DecodeJSONBytes(body, bc.dst()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckJSONKeys is the key check alone: the cost DecodeJSON adds
// to encoding/json's decoding (compare with BenchmarkDecodeJSON/*/bytes).
func BenchmarkCheckJSONKeys(b *testing.B) {
	for _, bc := range []struct {
		name string
		body string
		dst  any
	}{
		{"connection", benchConnectionBody, new(benchConnection)},
		{"view", benchViewBody, new(benchView)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := []byte(bc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkJSONKeys(body, bc.dst, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
