package finapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// field is one field of a model as the contract (shared/contracts/finapi.md)
// and the generated client of API v1.42.1 declare it: its JSON kind
// ("int", "number", "string", "bool", "array", or a model name for an
// object), the element kind of an array, whether it is required (a
// generated client rejects a response where it is missing or null) and
// the values an enum allows.
type field struct {
	kind     string
	elem     string
	required bool
	enum     []string
}

func req(kind string, enum ...string) field { return field{kind: kind, required: true, enum: enum} }
func opt(kind string, enum ...string) field { return field{kind: kind, enum: enum} }
func reqList(elem string, enum ...string) field {
	return field{kind: "array", elem: elem, required: true, enum: enum}
}
func optList(elem string) field { return field{kind: "array", elem: elem} }

// errorCodes are the codes ErrorDetails.code allows in the generated client.
var errorCodes = []string{"MISSING_FIELD", "UNKNOWN_ENTITY", "METHOD_NOT_ALLOWED", "ENTITY_EXISTS", "ILLEGAL_ENTITY_STATE",
	"UNEXPECTED_ERROR", "ILLEGAL_FIELD_VALUE", "UNAUTHORIZED_ACCESS", "BAD_REQUEST", "UNSUPPORTED_ORDER", "ILLEGAL_PAGE_SIZE",
	"INVALID_FILTER_OPTIONS", "TOO_MANY_IDS", "BANK_SERVER_REJECTION", "IBAN_ONLY_MONEY_TRANSFER_NOT_SUPPORTED",
	"IBAN_ONLY_DIRECT_DEBIT_NOT_SUPPORTED", "COLLECTIVE_MONEY_TRANSFER_NOT_SUPPORTED", "INVALID_TWO_STEP_PROCEDURE",
	"MISSING_TWO_STEP_PROCEDURE", "UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_BANK", "USER_NOT_VERIFIED", "USER_ALREADY_VERIFIED",
	"INVALID_TOKEN", "LOCKED", "NO_ACCOUNTS_FOR_TYPE_LIST", "FORBIDDEN", "NO_EXISTING_CHALLENGE", "ADDITIONAL_AUTHENTICATION_REQUIRED"}

// schema is every response model of the group.
var schema = map[string]map[string]field{
	"BankConnection": {
		"id": req("int"), "bankId": req("int"), "bank": req("Bank"), "name": opt("string"),
		"bankingUserId": opt("string"), "bankingCustomerId": opt("string"), "bankingPin": opt("string"),
		"type": req("string", "ONLINE", "DEMO"), "updateStatus": req("string", "IN_PROGRESS", "READY"),
		"categorizationStatus": req("string", "IN_PROGRESS", "PENDING", "READY"),
		"lastManualUpdate":     opt("UpdateResult"), "lastAutoUpdate": opt("UpdateResult"),
		"twoStepProcedures":              optList("TwoStepProcedure"),
		"ibanOnlyMoneyTransferSupported": req("bool"), "ibanOnlyDirectDebitSupported": req("bool"),
		"collectiveMoneyTransferSupported": req("bool"), "defaultTwoStepProcedureId": opt("string"),
		"accountIds": reqList("int"),
	},
	"Bank": {
		"id": req("int"), "name": req("string"), "loginHint": opt("string"), "bic": opt("string"), "blz": req("string"),
		"blzs": reqList("string"), "loginFieldUserId": opt("string"), "loginFieldCustomerId": opt("string"),
		"loginFieldPin": opt("string"), "isSupported": req("bool"),
		"supportedDataSources": reqList("string", "WEB_SCRAPER", "FINTS_SERVER"), "pinsAreVolatile": req("bool"),
		"location": opt("string"), "city": opt("string"), "isTestBank": req("bool"), "popularity": req("int"),
		"health": req("int"), "lastCommunicationAttempt": opt("string"), "lastSuccessfulCommunication": opt("string"),
	},
	"UpdateResult": {
		"result":       req("string", "OK", "BANK_SERVER_REJECTION", "INTERNAL_SERVER_ERROR"),
		"errorMessage": opt("string"), "errorType": opt("string", "BUSINESS", "TECHNICAL"), "timestamp": req("string"),
	},
	"TwoStepProcedure": {
		"procedureId": req("string"), "procedureName": req("string"),
		"procedureChallengeType": opt("string", "TEXT", "PHOTO", "FLICKER_CODE"), "implicitExecute": req("bool"),
	},
	"BankConnectionList": {"connections": reqList("BankConnection")},
	"IdentifierList":     {"identifiers": optList("int")},
	"Paging":             {"page": req("int"), "perPage": req("int"), "pageCount": req("int"), "totalCount": req("int")},
	"PageableBankList":   {"banks": reqList("Bank"), "paging": req("Paging")},
	"BankList":           {"banks": reqList("Bank")},
	"CategoryList":       {"categories": reqList("Category")},
	"Account": {
		"id": req("int"), "bankConnectionId": req("int"), "accountName": opt("string"), "accountNumber": req("string"),
		"subAccountNumber": opt("string"), "iban": opt("string"), "accountHolderName": opt("string"),
		"accountHolderId": opt("string"), "accountCurrency": opt("string"), "accountTypeId": req("int"),
		"accountTypeName": req("string"), "balance": opt("number"), "overdraft": opt("number"),
		"overdraftLimit": opt("number"), "availableFunds": opt("number"), "lastSuccessfulUpdate": opt("string"),
		"lastUpdateAttempt": opt("string"), "isNew": req("bool"),
		"status":          req("string", "UPDATED", "UPDATED_FIXED", "DOWNLOAD_IN_PROGRESS", "DOWNLOAD_FAILED", "DEPRECATED"),
		"supportedOrders": reqList("string"),
	},
	"AccountList": {"accounts": optList("Account")},
	"Transaction": {
		"id": req("int"), "parentId": opt("int"), "accountId": req("int"), "valueDate": req("string"),
		"bankBookingDate": req("string"), "finapiBookingDate": req("string"), "amount": req("number"),
		"purpose": opt("string"), "counterpartName": opt("string"), "counterpartAccountNumber": opt("string"),
		"counterpartIban": opt("string"), "counterpartBlz": opt("string"), "counterpartBic": opt("string"),
		"counterpartBankName": opt("string"), "type": opt("string"), "category": opt("Category"),
		"labels": optList("Label"), "isPotentialDuplicate": req("bool"), "isAdjustingEntry": req("bool"),
		"isNew": req("bool"), "importDate": req("string"), "children": optList("int"),
	},
	"Label":           {"id": req("int"), "name": req("string")},
	"TransactionList": {"transactions": reqList("Transaction")},
	"PageableTransactionList": {
		"transactions": reqList("Transaction"), "paging": req("Paging"), "income": req("number"),
		"spending": req("number"), "balance": req("number"),
	},
	"Category": {
		"id": req("int"), "name": req("string"), "parentId": opt("int"), "parentName": opt("string"),
		"isCustom": req("bool"), "children": optList("int"),
	},
	"PageableCategoryList": {"categories": optList("Category"), "paging": opt("Paging")},
	"ErrorMessage":         {"errors": optList("ErrorDetails"), "date": req("string"), "requestId": opt("string")},
	"ErrorDetails": {
		"message": opt("string"), "code": opt("string", errorCodes...), "type": opt("string", "BUSINESS", "TECHNICAL"),
	},
}

// timeFields are the string fields in finAPI's yyyy-MM-dd HH:mm:ss.SSS form.
var timeFields = []string{"timestamp", "lastCommunicationAttempt", "lastSuccessfulCommunication", "lastSuccessfulUpdate",
	"lastUpdateAttempt", "valueDate", "bankBookingDate", "finapiBookingDate", "importDate", "date"}

// conform checks a JSON document against model: every required field
// present and not null, every field of the right kind and enum, no field
// the model does not have, timestamps in finAPI's format, amounts with at
// most two decimals. It returns every violation.
func conform(model string, doc []byte) []string {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{fmt.Sprintf("%s: not JSON: %v", model, err)}
	}
	var errs []string
	checkValue(model, model, v, &errs)
	return errs
}

func checkValue(path, kind string, v any, errs *[]string) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if m, ok := schema[kind]; ok {
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a %s object, got %T", kind, v)
			return
		}
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			f := m[name]
			fv, present := obj[name]
			if !present || fv == nil {
				if f.required {
					bad("required field %q is missing or null", name)
				}
				continue
			}
			checkField(path+"."+name, name, f, fv, errs)
		}
		for name := range obj {
			if _, ok := m[name]; !ok {
				bad("field %q is not in the model", name)
			}
		}
		return
	}
	checkScalar(path, kind, "", nil, v, errs)
}

func checkField(path, name string, f field, v any, errs *[]string) {
	if f.kind != "array" {
		checkScalar(path, f.kind, name, f.enum, v, errs)
		return
	}
	list, ok := v.([]any)
	if !ok {
		*errs = append(*errs, fmt.Sprintf("%s: want an array, got %T", path, v))
		return
	}
	for i, e := range list {
		checkScalar(fmt.Sprintf("%s[%d]", path, i), f.elem, name, f.enum, e, errs)
	}
}

func checkScalar(path, kind, name string, enum []string, v any, errs *[]string) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if _, ok := schema[kind]; ok {
		checkValue(path, kind, v, errs)
		return
	}
	switch kind {
	case "int":
		n, ok := v.(json.Number)
		if !ok {
			bad("want an integer, got %T", v)
			return
		}
		i, err := n.Int64()
		if err != nil || i < 0 || i >= 1<<53 {
			bad("want an integer below 2^53, got %s", n)
		}
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a number, got %T", v)
			return
		}
		if _, frac, found := strings.Cut(n.String(), "."); found && len(frac) > 2 {
			bad("amount %s has more than two decimals", n)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want a string, got %T", v)
			return
		}
		if len(enum) > 0 && !slices.Contains(enum, s) {
			bad("%q is not one of %v", s, enum)
		}
		if slices.Contains(timeFields, name) && !timeRE(s) {
			bad("%q is not yyyy-MM-dd HH:mm:ss.SSS", s)
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T", v)
		}
	default:
		bad("unknown kind %q", kind)
	}
}

// timeRE matches yyyy-MM-dd HH:mm:ss.SSS.
func timeRE(s string) bool {
	if len(s) != len(TimeLayout) {
		return false
	}
	for i, c := range s {
		want := TimeLayout[i]
		if want >= '0' && want <= '9' {
			if c < '0' || c > '9' {
				return false
			}
		} else if byte(c) != want {
			return false
		}
	}
	return true
}

// mustConform fails t with every violation of doc against model.
func mustConform(t *testing.T, model string, doc []byte) {
	t.Helper()
	for _, e := range conform(model, doc) {
		t.Errorf("%s (in %.300s)", e, doc)
	}
}

// TestSchemaCatchesViolations proves the checker: each broken document is
// refused for the reason given.
func TestSchemaCatchesViolations(t *testing.T) {
	paging := `{"page":1,"perPage":20,"pageCount":1,"totalCount":0}`
	cases := []struct {
		name, model, doc, want string
	}{
		{"missing required", "Paging", `{"page":1,"perPage":20,"pageCount":1}`, `"totalCount" is missing`},
		{"null required", "Paging", `{"page":1,"perPage":20,"pageCount":1,"totalCount":null}`, `"totalCount" is missing or null`},
		{"string for int", "Paging", `{"page":"1","perPage":20,"pageCount":1,"totalCount":0}`, "want an integer"},
		{"float for int", "Paging", `{"page":1.5,"perPage":20,"pageCount":1,"totalCount":0}`, "below 2^53"},
		{"int too big", "Label", `{"id":9007199254740992,"name":"x"}`, "below 2^53"},
		{"unknown field", "Label", `{"id":1,"name":"x","color":"red"}`, `"color" is not in the model`},
		{"bad enum", "UpdateResult", `{"result":"FAILED","timestamp":"2026-03-01 12:00:00.000"}`, "is not one of"},
		{"bad time", "UpdateResult", `{"result":"OK","timestamp":"2026-03-01T12:00:00Z"}`, "yyyy-MM-dd"},
		{"three decimals", "PageableTransactionList", `{"transactions":[],"paging":` + paging + `,"income":1.234,"spending":0,"balance":0}`, "more than two decimals"},
		{"nested", "PageableBankList", `{"banks":[{"id":1}],"paging":` + paging + `}`, `banks[0]: required field "name"`},
		{"error code", "ErrorMessage", `{"errors":[{"message":"m","code":"NOT_FOUND","type":"BUSINESS"}],"date":"2026-03-01 12:00:00.000"}`, "is not one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := conform(tc.model, []byte(tc.doc))
			if len(errs) == 0 || !strings.Contains(strings.Join(errs, "; "), tc.want) {
				t.Errorf("violations %v, want one with %q", errs, tc.want)
			}
		})
	}
}
