package openapi

import (
	"net/http"
	"strings"
)

// Open Bank Project 1.2 (shared/reference/obp-api-v1.2.txt): the JSON
// names of OBP's resource docs and of OBP-API's JSONFactory 1.2.1 case
// classes (BankJSON, ModeratedAccountJSON, ViewJSON, ...). A field a view
// does not allow to see is null, never left out.

// viewFlags are the can_* flags of a view, in the order of the OBP page.
func viewFlags() []string {
	return []string{
		"can_see_transaction_this_bank_account", "can_see_transaction_other_bank_account", "can_see_transaction_metadata",
		"can_see_transaction_label", "can_see_transaction_amount", "can_see_transaction_type", "can_see_transaction_currency",
		"can_see_transaction_start_date", "can_see_transaction_finish_date", "can_see_transaction_balance", "can_see_comments",
		"can_see_narrative", "can_see_tags", "can_see_images", "can_see_bank_account_owners", "can_see_bank_account_type",
		"can_see_bank_account_balance", "can_see_bank_account_currency", "can_see_bank_account_label",
		"can_see_bank_account_national_identifier", "can_see_bank_account_swift_bic", "can_see_bank_account_iban",
		"can_see_bank_account_number", "can_see_bank_account_bank_name", "can_see_other_account_national_identifier",
		"can_see_other_account_swift_bic", "can_see_other_account_iban", "can_see_other_account_bank_name",
		"can_see_other_account_number", "can_see_other_account_metadata", "can_see_other_account_kind", "can_see_more_info",
		"can_see_url", "can_see_image_url", "can_see_open_corporates_url", "can_see_corporate_location",
		"can_see_physical_location", "can_see_public_alias", "can_see_private_alias", "can_add_more_info", "can_add_url",
		"can_add_image_url", "can_add_open_corporates_url", "can_add_corporate_location", "can_add_physical_location",
		"can_add_public_alias", "can_add_private_alias", "can_delete_corporate_location", "can_delete_physical_location",
		"can_edit_narrative", "can_add_comment", "can_delete_comment", "can_add_tag", "can_delete_tag", "can_add_image",
		"can_delete_image", "can_add_where_tag", "can_see_where_tag", "can_delete_where_tag",
	}
}

// obpErrors are OBP error answers ({"code": <status>, "message": "OBP-xxxxx: text"}).
func obpErrors(statuses ...int) map[int]Resp {
	out := map[int]Resp{}
	for _, st := range withBusy(statuses) {
		out[st] = JSONResp(http.StatusText(st)+": OBP's error body", Ref("ErrorMessage"))
	}
	return out
}

// obpErrorSchema is OBP's error body.
func obpErrorSchema() S {
	return Desc(Obj(R("code", Desc(Int32(), "The HTTP status.")), R("message", Desc(Str(), "OBP-xxxxx: text"))),
		"OBP's error body: the status and the OBP error code with its text (docs/api.md lists them).")
}

func obp12Doc() *Doc {
	const prefix = "/obp/v1.2"
	d := &Doc{
		Title:   "OpenAgg Open Bank Project 1.2 API",
		Version: "1.2",
		Description: "All 65 baseline and optional endpoints of Open Bank Project 1.2 over OpenAgg's imported accounts: banks, " +
			"accounts, views and permissions, other accounts and their metadata, transactions and their metadata. JSON names " +
			"and types are OBP's; a field the view does not allow is null. Public routes work without a token (a public view); " +
			"a token that is sent must verify. Errors are `{\"code\": <status>, \"message\": \"OBP-xxxxx: text\"}`. See docs/api.md.",
		Tags: []Tag{
			{Name: "Banks and accounts"}, {Name: "Views and permissions"}, {Name: "Other accounts"},
			{Name: "Transactions"}, {Name: "Transaction metadata"},
		},
		ErrorSchemas: []string{"ErrorMessage"},
	}
	d.Schema("ErrorMessage", obpErrorSchema())
	ns := Null(Str())
	d.Schema("UserJSON", Obj(R("id", Str()), R("provider", Str()), R("display_name", Str())))
	flags := []Field{
		R("id", Str()), R("short_name", Str()), R("description", Str()), R("is_public", Bool()),
		R("which_alias_to_use", Enum("public", "private", "none")), R("hide_metadata_if_alias_used", Bool()),
	}
	for _, f := range viewFlags() {
		flags = append(flags, R(f, Bool()))
	}
	d.Schema("ViewJSON", Obj(flags...))
	d.Schema("ViewsJSON", Obj(R("views", Arr(Ref("ViewJSON")))))
	d.Schema("HostedBy", Obj(R("organisation", ns), R("email", ns), R("phone", ns)))
	d.Schema("APIInfoJSON", Obj(R("version", Enum("1.2")), R("git_commit", Str()), R("hosted_by", Ref("HostedBy"))))
	d.Schema("BankJSON", Obj(R("id", Str()), R("short_name", ns), R("full_name", ns), R("logo", ns), R("website", ns)))
	d.Schema("BanksJSON", Obj(R("banks", Arr(Ref("BankJSON")))))
	d.Schema("AccountJSON", Obj(R("id", Str()), R("label", ns), R("views_available", Arr(Ref("ViewJSON"))), R("bank_id", Str())))
	d.Schema("AccountsJSON", Obj(R("accounts", Arr(Ref("AccountJSON")))))
	amount := Null(Obj(R("currency", ns), R("amount", Null(Desc(Str(), "A decimal string; for new_balance on a view that sees amounts but not balances only its sign (\"+\" or \"-\").")))))
	d.Schema("AmountOfMoneyJSON", amount)
	d.Schema("ModeratedAccountJSON", Obj(R("id", Str()), R("label", ns), R("number", ns), R("owners", Null(Arr(Ref("UserJSON")))),
		R("type", ns), R("balance", Ref("AmountOfMoneyJSON")), R("IBAN", ns), R("views_available", Arr(Ref("ViewJSON"))), R("bank_id", Str())))
	d.Schema("PermissionJSON", Obj(R("user", Ref("UserJSON")), R("views", Arr(Ref("ViewJSON")))))
	d.Schema("PermissionsJSON", Obj(R("permissions", Arr(Ref("PermissionJSON")))))
	d.Schema("AccountHolderJSON", Obj(R("name", Str()), R("is_alias", Bool())))
	d.Schema("MinimalBankJSON", Null(Obj(R("national_identifier", ns), R("name", ns))))
	d.Schema("LocationJSON", Null(Obj(R("latitude", Num()), R("longitude", Num()), R("date", Str()), R("user", Ref("UserJSON")))))
	d.Schema("OtherAccountMetadataJSON", Null(Obj(R("public_alias", ns), R("private_alias", ns), R("more_info", ns), R("URL", ns),
		R("image_URL", ns), R("open_corporates_URL", ns), R("corporate_location", Ref("LocationJSON")), R("physical_location", Ref("LocationJSON")))))
	d.Schema("OtherAccountJSON", Obj(R("id", Str()), R("holder", Ref("AccountHolderJSON")), R("number", ns), R("kind", ns), R("IBAN", ns),
		R("bank", Ref("MinimalBankJSON")), R("metadata", Ref("OtherAccountMetadataJSON"))))
	d.Schema("OtherAccountsJSON", Obj(R("other_accounts", Arr(Ref("OtherAccountJSON")))))
	d.Schema("ThisAccountJSON", Obj(R("id", Str()), R("holders", Null(Arr(Ref("AccountHolderJSON")))), R("number", ns), R("kind", ns),
		R("IBAN", ns), R("bank", Ref("MinimalBankJSON"))))
	d.Schema("TransactionDetailsJSON", Obj(R("type", ns), R("label", ns), R("posted", ns), R("completed", ns),
		R("new_balance", Ref("AmountOfMoneyJSON")), R("value", Ref("AmountOfMoneyJSON"))))
	d.Schema("TransactionCommentJSON", Obj(R("id", Str()), R("value", Str()), R("date", Str()), R("user", Ref("UserJSON"))))
	d.Schema("TransactionTagJSON", Obj(R("id", Str()), R("value", Str()), R("date", Str()), R("user", Ref("UserJSON"))))
	d.Schema("TransactionImageJSON", Obj(R("id", Str()), R("label", Str()), R("URL", Str()), R("date", Str()), R("user", Ref("UserJSON"))))
	d.Schema("TransactionMetadataJSON", Obj(R("narrative", ns), R("comments", Null(Arr(Ref("TransactionCommentJSON")))),
		R("tags", Null(Arr(Ref("TransactionTagJSON")))), R("images", Null(Arr(Ref("TransactionImageJSON")))), R("where", Ref("LocationJSON"))))
	d.Schema("TransactionJSON", Obj(R("uuid", Str()), R("id", Str()),
		R("this_account", Null(Ref("ThisAccountJSON"))), R("other_account", Null(Ref("OtherAccountJSON"))),
		R("details", Null(Ref("TransactionDetailsJSON"))), R("metadata", Null(Ref("TransactionMetadataJSON")))))
	d.Schema("TransactionsJSON", Obj(R("transactions", Arr(Ref("TransactionJSON")))))
	d.Schema("TransactionNarrativeJSON", Obj(R("narrative", ns)))
	d.Schema("TransactionCommentsJSON", Obj(R("comments", Arr(Ref("TransactionCommentJSON")))))
	d.Schema("TransactionTagsJSON", Obj(R("tags", Arr(Ref("TransactionTagJSON")))))
	d.Schema("TransactionImagesJSON", Obj(R("images", Arr(Ref("TransactionImageJSON")))))
	d.Schema("TransactionWhereJSON", Obj(R("where", Ref("LocationJSON"))))
	d.Schema("AliasJSON", Obj(R("alias", ns)))
	d.Schema("SuccessMessage", Obj(R("success", Str())))
	// Request bodies (decoded strictly: an unknown field is OBP-10001).
	geo := Obj(O("latitude", Num()), O("longitude", Num()))
	actions := Arr(Str())
	view := Obj(O("name", Str()), O("description", Str()), O("is_Public", Bool()), O("is_public", Bool()),
		O("which_alias_to_use", Str()), O("hide_metadata_if_alias_used", Bool()), O("allowed_actions", actions))
	d.Schema("CreateViewJSON", Desc(view, "OBP 1.2 writes is_Public in requests (is_public is accepted too); allowed_actions are the can_* flag names."))
	d.Schema("UpdateViewJSON", Desc(view, "A field left out keeps its value; allowed_actions replaces every flag; name is not editable."))
	d.Schema("ViewIdsJson", Obj(O("views", Arr(Str()))))
	d.Schema("PostTransactionCommentJSON", Obj(O("value", Str())))
	d.Schema("PostTransactionTagJSON", Obj(O("value", Str())))
	d.Schema("PostTransactionImageJSON", Obj(O("label", Str()), O("URL", Str()), O("image", Obj(O("label", Str()), O("URL", Str())))))
	d.Schema("PostTransactionWhereJSON", Obj(O("where", geo)))
	d.Schema("TransactionNarrativeBody", Obj(O("narrative", Str())))

	bank := Path("BANK_ID", Str(), "The bank's id (its code).")
	acc := Path("ACCOUNT_ID", Str(), "The account's id.")
	vw := Path("VIEW_ID", Str(), "A view id: owner, public or a custom view.")
	user := Path("USER_ID", Str(), "A user id (a token's sub).")
	other := Path("OTHER_ACCOUNT_ID", Str(), "The other account's id.")
	tx := Path("TRANSACTION_ID", Str(), "The transaction's id.")
	paging := []Param{
		Header("obp_limit", With(Int(), "minimum", 1, "maximum", 500), "Page size (default 50)."),
		Header("obp_offset", With(Int(), "minimum", 0, "maximum", 10000), "Items to skip."),
	}
	read := obpErrors(400, 401, 403, 404, 500)
	write := obpErrors(400, 401, 403, 404, 409, 413, 500)
	get := func(path, summary, tag string, params []Param, s S) Op {
		return Op{Method: http.MethodGet, Path: prefix + path, Summary: summary, Tags: []string{tag}, Public: true, Params: params,
			Responses: merge(ok(200, "", s), read)}
	}
	bodyOp := func(method, path, summary, tag string, public bool, params []Param, body S, status int, s S) Op {
		return Op{Method: method, Path: prefix + path, Summary: summary, Tags: []string{tag}, Public: public, Params: params,
			Body: JSONBody(body, true, ""), Responses: merge(ok(status, "", s), write)}
	}
	del := func(path, summary, tag string, public bool, params []Param) Op {
		return Op{Method: http.MethodDelete, Path: prefix + path, Summary: summary, Tags: []string{tag}, Public: public, Params: params,
			Responses: merge(map[int]Resp{204: Empty("Deleted.")}, write)}
	}
	const banks, views, others, txs, meta = "Banks and accounts", "Views and permissions", "Other accounts", "Transactions", "Transaction metadata"
	bp, ap, vp := "/banks/{BANK_ID}", "/banks/{BANK_ID}/accounts/{ACCOUNT_ID}", "/banks/{BANK_ID}/accounts/{ACCOUNT_ID}/{VIEW_ID}"
	op, tp := vp+"/other_accounts/{OTHER_ACCOUNT_ID}", vp+"/transactions/{TRANSACTION_ID}"
	bankP, accP, viewP := []Param{bank}, []Param{bank, acc}, []Param{bank, acc, vw}
	otherP, txP := []Param{bank, acc, vw, other}, []Param{bank, acc, vw, tx}
	private := get(bp+"/accounts/private", "The accounts the caller holds views on", banks, bankP, Ref("AccountsJSON"))
	private.Public = false
	d.Add(
		get("/", "API information", banks, nil, Ref("APIInfoJSON")),
		get("/banks", "The banks", banks, nil, Ref("BanksJSON")),
		get(bp, "A bank", banks, bankP, Ref("BankJSON")),
		get(bp+"/accounts", "The public accounts at the bank, and the caller's", banks, bankP, Ref("AccountsJSON")),
		get(bp+"/accounts/public", "The public accounts at the bank", banks, bankP, Ref("AccountsJSON")),
		private,
		get(vp+"/account", "An account as a view shows it", banks, viewP, Ref("ModeratedAccountJSON")),
	)
	owner := func(o Op) Op { o.Public = false; return o }
	d.Add(
		owner(get(ap+"/views", "The account's views (owner)", views, accP, Ref("ViewsJSON"))),
		bodyOp(http.MethodPost, ap+"/views", "Create a view (owner)", views, false, accP, Ref("CreateViewJSON"), 201, Ref("ViewJSON")),
		bodyOp(http.MethodPut, ap+"/views/{VIEW_ID}", "Update a view (owner)", views, false, viewP, Ref("UpdateViewJSON"), 200, Ref("ViewJSON")),
		owner(get(ap+"/permissions", "Who holds which views (owner)", views, accP, Ref("PermissionsJSON"))),
		owner(get(ap+"/permissions/{USER_ID}", "A user's views on the account (owner)", views, []Param{bank, acc, user}, Ref("ViewsJSON"))),
		Op{Method: http.MethodPost, Path: prefix + ap + "/permissions/{USER_ID}/views/{VIEW_ID}", Summary: "Grant a view (owner)",
			Tags: []string{views}, Params: []Param{bank, acc, user, vw}, Responses: merge(ok(201, "", Ref("ViewJSON")), write)},
		bodyOp(http.MethodPost, ap+"/permissions/{USER_ID}/views", "Grant several views (owner)", views, false, []Param{bank, acc, user},
			Ref("ViewIdsJson"), 201, Ref("ViewsJSON")),
		del(ap+"/permissions/{USER_ID}/views/{VIEW_ID}", "Revoke a view (owner)", views, false, []Param{bank, acc, user, vw}),
		del(ap+"/permissions/{USER_ID}/views", "Revoke every view (owner)", views, false, []Param{bank, acc, user}),
	)
	otherList := get(vp+"/other_accounts", "The account's other accounts", others, append(viewP[:3:3], paging...), Ref("OtherAccountsJSON"))
	d.Add(
		otherList,
		get(op, "An other account", others, otherP, Ref("OtherAccountJSON")),
		get(op+"/metadata", "An other account's metadata", others, otherP, Ref("OtherAccountMetadataJSON")),
	)
	// The other-account metadata fields: a GET for the aliases, then POST,
	// PUT and DELETE for each.
	for _, f := range []struct {
		path, key      string
		location, read bool
	}{
		{"public_alias", "alias", false, true}, {"private_alias", "alias", false, true},
		{"metadata/more_info", "more_info", false, false}, {"metadata/url", "URL", false, false},
		{"metadata/image_url", "image_URL", false, false}, {"metadata/open_corporates_url", "open_corporates_URL", false, false},
		{"metadata/corporate_location", "corporate_location", true, false}, {"metadata/physical_location", "physical_location", true, false},
	} {
		value := Str()
		if f.location {
			value = geo
		}
		body := Obj(O(f.key, value))
		name := strings.ReplaceAll(strings.TrimPrefix(f.path, "metadata/"), "_", " ")
		if f.read {
			d.Add(get(op+"/"+f.path, "The other account's "+name, others, otherP, Ref("AliasJSON")))
		}
		d.Add(
			bodyOp(http.MethodPost, op+"/"+f.path, "Add the other account's "+name, others, true, otherP, body, 201, Ref("SuccessMessage")),
			bodyOp(http.MethodPut, op+"/"+f.path, "Update the other account's "+name, others, true, otherP, body, 200, Ref("SuccessMessage")),
			del(op+"/"+f.path, "Delete the other account's "+name, others, true, otherP),
		)
	}
	txList := get(vp+"/transactions", "The account's transactions as a view shows them", txs, append(viewP[:3:3], append(paging,
		Header("obp_sort_direction", Str(), "ASC or DESC (default DESC)."),
		Header("obp_sort_by", Str(), "completed (the only sort)."),
		Header("obp_from_date", Str(), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z', inclusive."),
		Header("obp_to_date", Str(), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z', inclusive."))...), Ref("TransactionsJSON"))
	d.Add(
		txList,
		get(tp+"/transaction", "A transaction as a view shows it", txs, txP, Ref("TransactionJSON")),
		get(tp+"/other_account", "A transaction's other account", txs, txP, Ref("OtherAccountJSON")),
	)
	mp := tp + "/metadata"
	d.Add(
		get(mp+"/narrative", "The transaction's narrative", meta, txP, Ref("TransactionNarrativeJSON")),
		bodyOp(http.MethodPost, mp+"/narrative", "Add the narrative", meta, true, txP, Ref("TransactionNarrativeBody"), 201, Ref("SuccessMessage")),
		bodyOp(http.MethodPut, mp+"/narrative", "Update the narrative", meta, true, txP, Ref("TransactionNarrativeBody"), 200, Ref("SuccessMessage")),
		del(mp+"/narrative", "Delete the narrative", meta, true, txP),
		get(mp+"/comments", "The transaction's comments", meta, txP, Ref("TransactionCommentsJSON")),
		bodyOp(http.MethodPost, mp+"/comments", "Add a comment", meta, true, txP, Ref("PostTransactionCommentJSON"), 201, Ref("TransactionCommentJSON")),
		del(mp+"/comments/{COMMENT_ID}", "Delete a comment", meta, true, append(txP[:4:4], Path("COMMENT_ID", Str(), ""))),
		get(mp+"/tags", "The transaction's tags", meta, txP, Ref("TransactionTagsJSON")),
		bodyOp(http.MethodPost, mp+"/tags", "Add a tag", meta, true, txP, Ref("PostTransactionTagJSON"), 201, Ref("TransactionTagJSON")),
		del(mp+"/tags/{TAG_ID}", "Delete a tag", meta, true, append(txP[:4:4], Path("TAG_ID", Str(), ""))),
		get(mp+"/images", "The transaction's images", meta, txP, Ref("TransactionImagesJSON")),
		bodyOp(http.MethodPost, mp+"/images", "Add an image", meta, true, txP, Ref("PostTransactionImageJSON"), 201, Ref("TransactionImageJSON")),
		del(mp+"/images/{IMAGE_ID}", "Delete an image", meta, true, append(txP[:4:4], Path("IMAGE_ID", Str(), ""))),
		get(mp+"/where", "The transaction's where tag", meta, txP, Ref("TransactionWhereJSON")),
		bodyOp(http.MethodPost, mp+"/where", "Add the where tag", meta, true, txP, Ref("PostTransactionWhereJSON"), 201, Ref("SuccessMessage")),
		// The page answers 201 to the update too.
		bodyOp(http.MethodPut, mp+"/where", "Update the where tag", meta, true, txP, Ref("PostTransactionWhereJSON"), 201, Ref("SuccessMessage")),
		del(mp+"/where", "Delete the where tag", meta, true, txP),
	)
	return d
}
