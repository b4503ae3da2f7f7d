package view

import (
	"reflect"
	"slices"
	"strings"

	"github.com/openagg/openagg/internal/fault"
)

// Permissions are the can_* flags of an OBP 1.2 view, with OBP's JSON names
// (shared/reference/obp-api-v1.2.txt, "views_available"). Each flag either
// shows a field (can_see_*: otherwise the field is null) or allows a write
// (can_add_*, can_edit_*, can_delete_*).
type Permissions struct {
	CanSeeTransactionThisBankAccount     bool `json:"can_see_transaction_this_bank_account"`
	CanSeeTransactionOtherBankAccount    bool `json:"can_see_transaction_other_bank_account"`
	CanSeeTransactionMetadata            bool `json:"can_see_transaction_metadata"`
	CanSeeTransactionLabel               bool `json:"can_see_transaction_label"`
	CanSeeTransactionAmount              bool `json:"can_see_transaction_amount"`
	CanSeeTransactionType                bool `json:"can_see_transaction_type"`
	CanSeeTransactionCurrency            bool `json:"can_see_transaction_currency"`
	CanSeeTransactionStartDate           bool `json:"can_see_transaction_start_date"`
	CanSeeTransactionFinishDate          bool `json:"can_see_transaction_finish_date"`
	CanSeeTransactionBalance             bool `json:"can_see_transaction_balance"`
	CanSeeComments                       bool `json:"can_see_comments"`
	CanSeeNarrative                      bool `json:"can_see_narrative"`
	CanSeeTags                           bool `json:"can_see_tags"`
	CanSeeImages                         bool `json:"can_see_images"`
	CanSeeBankAccountOwners              bool `json:"can_see_bank_account_owners"`
	CanSeeBankAccountType                bool `json:"can_see_bank_account_type"`
	CanSeeBankAccountBalance             bool `json:"can_see_bank_account_balance"`
	CanSeeBankAccountCurrency            bool `json:"can_see_bank_account_currency"`
	CanSeeBankAccountLabel               bool `json:"can_see_bank_account_label"`
	CanSeeBankAccountNationalIdentifier  bool `json:"can_see_bank_account_national_identifier"`
	CanSeeBankAccountSwiftBic            bool `json:"can_see_bank_account_swift_bic"`
	CanSeeBankAccountIBAN                bool `json:"can_see_bank_account_iban"`
	CanSeeBankAccountNumber              bool `json:"can_see_bank_account_number"`
	CanSeeBankAccountBankName            bool `json:"can_see_bank_account_bank_name"`
	CanSeeOtherAccountNationalIdentifier bool `json:"can_see_other_account_national_identifier"`
	CanSeeOtherAccountSwiftBic           bool `json:"can_see_other_account_swift_bic"`
	CanSeeOtherAccountIBAN               bool `json:"can_see_other_account_iban"`
	CanSeeOtherAccountBankName           bool `json:"can_see_other_account_bank_name"`
	CanSeeOtherAccountNumber             bool `json:"can_see_other_account_number"`
	CanSeeOtherAccountMetadata           bool `json:"can_see_other_account_metadata"`
	CanSeeOtherAccountKind               bool `json:"can_see_other_account_kind"`
	CanSeeMoreInfo                       bool `json:"can_see_more_info"`
	CanSeeURL                            bool `json:"can_see_url"`
	CanSeeImageURL                       bool `json:"can_see_image_url"`
	CanSeeOpenCorporatesURL              bool `json:"can_see_open_corporates_url"`
	CanSeeCorporateLocation              bool `json:"can_see_corporate_location"`
	CanSeePhysicalLocation               bool `json:"can_see_physical_location"`
	CanSeePublicAlias                    bool `json:"can_see_public_alias"`
	CanSeePrivateAlias                   bool `json:"can_see_private_alias"`
	CanAddMoreInfo                       bool `json:"can_add_more_info"`
	CanAddURL                            bool `json:"can_add_url"`
	CanAddImageURL                       bool `json:"can_add_image_url"`
	CanAddOpenCorporatesURL              bool `json:"can_add_open_corporates_url"`
	CanAddCorporateLocation              bool `json:"can_add_corporate_location"`
	CanAddPhysicalLocation               bool `json:"can_add_physical_location"`
	CanAddPublicAlias                    bool `json:"can_add_public_alias"`
	CanAddPrivateAlias                   bool `json:"can_add_private_alias"`
	CanDeleteCorporateLocation           bool `json:"can_delete_corporate_location"`
	CanDeletePhysicalLocation            bool `json:"can_delete_physical_location"`
	CanEditNarrative                     bool `json:"can_edit_narrative"`
	CanAddComment                        bool `json:"can_add_comment"`
	CanDeleteComment                     bool `json:"can_delete_comment"`
	CanAddTag                            bool `json:"can_add_tag"`
	CanDeleteTag                         bool `json:"can_delete_tag"`
	CanAddImage                          bool `json:"can_add_image"`
	CanDeleteImage                       bool `json:"can_delete_image"`
	CanAddWhereTag                       bool `json:"can_add_where_tag"`
	CanSeeWhereTag                       bool `json:"can_see_where_tag"`
	CanDeleteWhereTag                    bool `json:"can_delete_where_tag"`
}

// Actions that are transaction metadata: a view listing any of them must
// also list can_see_transaction_metadata (OBP 1.2, "Create a view", notes).
var transactionMetadataActions = []string{
	"can_see_narrative", "can_edit_narrative",
	"can_see_comments", "can_add_comment", "can_delete_comment",
	"can_see_tags", "can_add_tag", "can_delete_tag",
	"can_see_images", "can_add_image", "can_delete_image",
	"can_see_where_tag", "can_add_where_tag", "can_delete_where_tag",
}

// Actions that are other-account metadata: they require
// can_see_other_account_metadata.
var otherAccountMetadataActions = []string{
	"can_see_more_info", "can_see_url", "can_see_image_url", "can_see_open_corporates_url",
	"can_see_corporate_location", "can_see_physical_location",
	"can_see_public_alias", "can_see_private_alias",
	"can_add_more_info", "can_add_url", "can_add_image_url", "can_add_open_corporates_url",
	"can_add_corporate_location", "can_add_physical_location",
	"can_add_public_alias", "can_add_private_alias",
	"can_delete_corporate_location", "can_delete_physical_location",
}

// typoNationalIdentifier is how the OBP 1.2 page misprints the two
// national-identifier actions in its allowed_actions list; a client that
// copied it means both (shared/contracts/obp.md, "Views").
const typoNationalIdentifier = "can_see_bank_acother_account_national_identifier"

// flagIndex maps each action name (the JSON name) to its struct field. It is
// computed once from the struct tags and never written afterwards.
var flagIndex = func() map[string]int {
	t := reflect.TypeOf(Permissions{})
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

// ActionNames lists every action name in the order of the OBP page.
func ActionNames() []string {
	t := reflect.TypeOf(Permissions{})
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// Allows reports the flag named action.
func (p Permissions) Allows(action string) bool {
	i, ok := flagIndex[action]
	return ok && reflect.ValueOf(p).Field(i).Bool()
}

// Require checks the flag named action: ErrNoPermission, whose message is
// the action's name, when it is not set.
func (p Permissions) Require(action string) error {
	if !p.Allows(action) {
		return fault.Errorf(ErrNoPermission, "%s", action)
	}
	return nil
}

// Actions lists the names of the flags that are set, in the order of the
// OBP page (the allowed_actions that rebuild p).
func (p Permissions) Actions() []string {
	v := reflect.ValueOf(p)
	var out []string
	for i, name := range ActionNames() {
		if v.Field(i).Bool() {
			out = append(out, name)
		}
	}
	return out
}

// AllPermissions has every flag set (the owner view).
func AllPermissions() Permissions {
	var p Permissions
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		v.Field(i).SetBool(true)
	}
	return p
}

// PermissionsFromActions sets exactly the listed actions. Unknown names and
// metadata actions without their can_see_*_metadata gate are errors
// (OBP 1.2 "Create a view", notes).
func PermissionsFromActions(actions []string) (Permissions, error) {
	var p Permissions
	v := reflect.ValueOf(&p).Elem()
	var unknown []string
	for _, a := range actions {
		if a == typoNationalIdentifier {
			p.CanSeeBankAccountNationalIdentifier = true
			p.CanSeeOtherAccountNationalIdentifier = true
			continue
		}
		i, ok := flagIndex[a]
		if !ok {
			unknown = append(unknown, a)
			continue
		}
		v.Field(i).SetBool(true)
	}
	if len(unknown) > 0 {
		return Permissions{}, errUnknownActions(unknown)
	}
	if !p.CanSeeTransactionMetadata {
		if a := firstIn(actions, transactionMetadataActions); a != "" {
			return Permissions{}, errActionNeeds(a, "can_see_transaction_metadata")
		}
	}
	if !p.CanSeeOtherAccountMetadata {
		if a := firstIn(actions, otherAccountMetadataActions); a != "" {
			return Permissions{}, errActionNeeds(a, "can_see_other_account_metadata")
		}
	}
	return p, nil
}

func firstIn(actions, set []string) string {
	for _, a := range actions {
		if slices.Contains(set, a) {
			return a
		}
	}
	return ""
}
