package openapi

import "net/http"

// finAPI v1 (shared/contracts/finapi.md, the generated client of API
// v1.42.1): finAPI's model names and types. A field the client declares
// optional is always present here and null when unknown; a required one is
// never null.

func finapiDoc() *Doc {
	const prefix = "/api/v1"
	d := &Doc{
		Title:   "OpenAgg finAPI v1 API",
		Version: "v1.42.1",
		Description: "finAPI v1 bank connections, banks, accounts, transactions and categories over OpenAgg's data (a finAPI " +
			"bank connection is a connection of the user's party). Models and names of finAPI's generated client v1.42.1. Times " +
			"are `yyyy-MM-dd HH:mm:ss.SSS` UTC, amounts JSON numbers written from the exact decimal. A bank asking a challenge " +
			"answers the import with HTTP 510. Errors are finAPI's ErrorMessage. See docs/api.md.",
		Tags:         []Tag{{Name: "Bank Connections"}, {Name: "Banks"}, {Name: "Accounts"}, {Name: "Transactions"}, {Name: "Categories"}},
		ErrorSchemas: []string{"ErrorMessage"},
	}
	ts := Desc(Pat(`^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$`), "yyyy-MM-dd HH:mm:ss.SSS (UTC)")
	nts := Null(ts)
	ns := Null(Str())
	id := With(Int(), "minimum", 0)
	money := Desc(Num(), "An amount written from the exact decimal (at most the currency's minor units).")
	errorCodes := []string{"MISSING_FIELD", "UNKNOWN_ENTITY", "METHOD_NOT_ALLOWED", "ENTITY_EXISTS", "ILLEGAL_ENTITY_STATE",
		"UNEXPECTED_ERROR", "ILLEGAL_FIELD_VALUE", "UNAUTHORIZED_ACCESS", "BAD_REQUEST", "UNSUPPORTED_ORDER", "ILLEGAL_PAGE_SIZE",
		"INVALID_FILTER_OPTIONS", "TOO_MANY_IDS", "BANK_SERVER_REJECTION", "IBAN_ONLY_MONEY_TRANSFER_NOT_SUPPORTED",
		"IBAN_ONLY_DIRECT_DEBIT_NOT_SUPPORTED", "COLLECTIVE_MONEY_TRANSFER_NOT_SUPPORTED", "INVALID_TWO_STEP_PROCEDURE",
		"MISSING_TWO_STEP_PROCEDURE", "UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_BANK", "USER_NOT_VERIFIED", "USER_ALREADY_VERIFIED",
		"INVALID_TOKEN", "LOCKED", "NO_ACCOUNTS_FOR_TYPE_LIST", "FORBIDDEN", "NO_EXISTING_CHALLENGE", "ADDITIONAL_AUTHENTICATION_REQUIRED"}
	d.Schema("ErrorDetails", Obj(R("message", Str()), R("code", Enum(errorCodes...)), R("type", Enum("BUSINESS", "TECHNICAL"))))
	d.Schema("ErrorMessage", Obj(R("errors", Arr(Ref("ErrorDetails"))), R("date", ts),
		R("requestId", Desc(Str(), "The X-REQUEST-ID header's value, or a generated one."))))
	d.Schema("Bank", Obj(
		R("id", id), R("name", Str()), R("loginHint", ns), R("bic", ns), R("blz", Str()), R("blzs", Arr(Str())),
		R("loginFieldUserId", ns), R("loginFieldCustomerId", ns), R("loginFieldPin", ns), R("isSupported", Bool()),
		R("supportedDataSources", Arr(Enum("WEB_SCRAPER", "FINTS_SERVER"))), R("pinsAreVolatile", Bool()),
		R("location", Null(Desc(Str(), "ISO 3166 country code."))), R("city", ns), R("isTestBank", Bool()),
		R("popularity", Int32()), R("health", With(Int32(), "minimum", 0, "maximum", 100)),
		R("lastCommunicationAttempt", nts), R("lastSuccessfulCommunication", nts)))
	d.Schema("UpdateResult", Obj(R("result", Enum("OK", "BANK_SERVER_REJECTION", "INTERNAL_SERVER_ERROR")),
		R("errorMessage", ns), R("errorType", Null(Enum("BUSINESS", "TECHNICAL"))), R("timestamp", ts)))
	d.Schema("TwoStepProcedure", Obj(R("procedureId", Str()), R("procedureName", Str()),
		R("procedureChallengeType", Null(Enum("TEXT", "PHOTO", "FLICKER_CODE"))), R("implicitExecute", Bool())))
	d.Schema("BankConnection", Obj(
		R("id", id), R("bankId", Desc(id, "Deprecated copy of bank.id.")), R("bank", Ref("Bank")), R("name", ns),
		R("bankingUserId", ns), R("bankingCustomerId", ns), R("bankingPin", Null(Desc(Str(), "The stored PIN masked: one X per character."))),
		R("type", Enum("ONLINE", "DEMO")), R("updateStatus", Enum("IN_PROGRESS", "READY")),
		R("categorizationStatus", Enum("IN_PROGRESS", "PENDING", "READY")),
		R("lastManualUpdate", Null(Ref("UpdateResult"))), R("lastAutoUpdate", Null(Ref("UpdateResult"))),
		R("twoStepProcedures", Null(Arr(Ref("TwoStepProcedure")))),
		R("ibanOnlyMoneyTransferSupported", Bool()), R("ibanOnlyDirectDebitSupported", Bool()), R("collectiveMoneyTransferSupported", Bool()),
		R("defaultTwoStepProcedureId", ns), R("accountIds", Arr(id))))
	d.Schema("BankConnectionList", Obj(R("connections", Arr(Ref("BankConnection")))))
	d.Schema("IdentifierList", Obj(R("identifiers", Arr(id))))
	d.Schema("Paging", Obj(R("page", Int32()), R("perPage", Int32()), R("pageCount", Int32()), R("totalCount", Int32())))
	d.Schema("PageableBankList", Obj(R("banks", Arr(Ref("Bank"))), R("paging", Ref("Paging"))))
	d.Schema("BankList", Obj(R("banks", Arr(Ref("Bank")))))
	d.Schema("Account", Obj(
		R("id", id), R("bankConnectionId", id), R("accountName", ns), R("accountNumber", Str()), R("subAccountNumber", ns),
		R("iban", ns), R("accountHolderName", ns), R("accountHolderId", ns), R("accountCurrency", ns),
		R("accountTypeId", With(Int(), "minimum", 1, "maximum", 8)), R("accountTypeName", Str()),
		R("balance", Null(money)), R("overdraft", Null(money)), R("overdraftLimit", Null(money)), R("availableFunds", Null(money)),
		R("lastSuccessfulUpdate", nts), R("lastUpdateAttempt", nts), R("isNew", Bool()),
		R("status", Enum("UPDATED", "UPDATED_FIXED", "DOWNLOAD_IN_PROGRESS", "DOWNLOAD_FAILED", "DEPRECATED")),
		R("supportedOrders", Arr(Str()))))
	d.Schema("AccountList", Obj(R("accounts", Arr(Ref("Account")))))
	d.Schema("Category", Obj(R("id", id), R("name", Str()), R("parentId", Null(id)), R("parentName", ns), R("isCustom", Bool()),
		R("children", Null(Arr(id)))))
	d.Schema("CategoryList", Obj(R("categories", Arr(Ref("Category")))))
	d.Schema("PageableCategoryList", Obj(R("categories", Arr(Ref("Category"))), R("paging", Ref("Paging"))))
	d.Schema("Label", Obj(R("id", id), R("name", Str())))
	d.Schema("Transaction", Obj(
		R("id", id), R("parentId", Null(id)), R("accountId", id), R("valueDate", ts), R("bankBookingDate", ts), R("finapiBookingDate", ts),
		R("amount", money), R("purpose", ns), R("counterpartName", ns), R("counterpartAccountNumber", ns), R("counterpartIban", ns),
		R("counterpartBlz", ns), R("counterpartBic", ns), R("counterpartBankName", ns), R("type", ns),
		R("category", Null(Ref("Category"))), R("labels", Null(Arr(Ref("Label")))), R("isPotentialDuplicate", Bool()),
		R("isAdjustingEntry", Bool()), R("isNew", Bool()), R("importDate", ts), R("children", Null(Arr(id)))))
	d.Schema("TransactionList", Obj(R("transactions", Arr(Ref("Transaction")))))
	d.Schema("PageableTransactionList", Obj(R("transactions", Arr(Ref("Transaction"))), R("paging", Ref("Paging")),
		R("income", money), R("spending", money), R("balance", money)))
	// Request bodies: every field optional on the wire (the handler says
	// which are required: MISSING_FIELD); decoded strictly.
	d.Schema("ImportBankConnectionParams", Obj(
		O("bankId", Int()), O("bankingUserId", Str()), O("bankingCustomerId", Str()), O("bankingPin", Str()), O("storePin", Bool()),
		O("name", Str()), O("skipPositionsDownload", Bool()), O("maxDaysForDownload", Int32()), O("accountTypeIds", Arr(Int32())),
		O("challengeResponse", Str())))
	d.Schema("UpdateBankConnectionParams", Obj(O("bankConnectionId", Int()), O("bankingPin", Str()), O("importNewAccounts", Bool()),
		O("skipPositionsDownload", Bool()), O("challengeResponse", Str())))
	d.Schema("EditBankConnectionParams", Obj(O("bankingUserId", Str()), O("bankingCustomerId", Str()), O("bankingPin", Str()),
		O("defaultTwoStepProcedureId", Str()), O("name", Str())))

	fin := func(statuses ...int) map[int]Resp {
		out := map[int]Resp{}
		for _, st := range withBusy(statuses) {
			out[st] = JSONResp(http.StatusText(st)+": finAPI's ErrorMessage", Ref("ErrorMessage"))
		}
		return out
	}
	no := false
	ids := func(desc string) Param {
		return Param{Name: "ids", In: "query", Schema: Arr(Int()), Style: "form", Explode: &no,
			Desc: desc + " A comma-separated list (ids=1,2,3; ids=1&ids=2 works too); at most 1000."}
	}
	intList := func(name, desc string) Param {
		return Param{Name: name, In: "query", Schema: Arr(Int()), Style: "form", Explode: &no, Desc: desc}
	}
	page := []Param{
		Query("page", Int32(), "The page, from 1."),
		Query("perPage", Int32(), "Items per page, at most 500 (default 20)."),
		Query("order", Arr(Str()), "field,asc or field,desc; repeatable."),
	}
	oneOrList := func(one, list string) S {
		return S{"oneOf": []S{Ref(one), Ref(list)}}
	}
	idPath := Path("id", Str(), "An id; a comma-separated list is the deprecated \"get multiple\" (its answer is the list model).")
	read := fin(400, 401, 403, 404, 500)
	write := fin(400, 401, 403, 404, 413, 422, 500)
	bc, bk, ac, tx, ca := []string{"Bank Connections"}, []string{"Banks"}, []string{"Accounts"}, []string{"Transactions"}, []string{"Categories"}
	d.Add(
		Op{Method: http.MethodPost, Path: prefix + "/bankConnections/import", Tags: bc, ID: "importBankConnection", Summary: "Import a new bank connection",
			Body: JSONBody(Ref("ImportBankConnectionParams"), true, ""),
			Responses: merge(map[int]Resp{201: JSONResp("The connection; its download follows (updateStatus IN_PROGRESS).", Ref("BankConnection")),
				510: JSONResp("The bank asks a challenge: the message is the question; repeat the import with challengeResponse.", Ref("ErrorMessage"))}, write)},
		Op{Method: http.MethodPost, Path: prefix + "/bankConnections/update", Tags: bc, ID: "updateBankConnection", Summary: "Update a bank connection",
			Body: JSONBody(Ref("UpdateBankConnectionParams"), true, ""),
			Responses: merge(ok(200, "The connection; its download follows.", Ref("BankConnection")),
				map[int]Resp{510: JSONResp("The bank asks a challenge: repeat the update with challengeResponse.", Ref("ErrorMessage"))}, write)},
		Op{Method: http.MethodPatch, Path: prefix + "/bankConnections/{id}", Tags: bc, ID: "editBankConnection", Summary: "Edit a bank connection",
			Params: []Param{Path("id", Int(), "")}, Body: JSONBody(Ref("EditBankConnectionParams"), true, ""),
			Responses: merge(ok(200, "", Ref("BankConnection")), write)},
		Op{Method: http.MethodGet, Path: prefix + "/bankConnections/{id}", Tags: bc, ID: "getBankConnection", Summary: "Get a bank connection",
			Params: []Param{idPath}, Responses: merge(ok(200, "", oneOrList("BankConnection", "BankConnectionList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/bankConnections", Tags: bc, ID: "getAllBankConnections", Summary: "Get all bank connections",
			Params: []Param{ids("Only these connections.")}, Responses: merge(ok(200, "By id.", Ref("BankConnectionList")), read)},
		Op{Method: http.MethodDelete, Path: prefix + "/bankConnections/{id}", Tags: bc, ID: "deleteBankConnection", Summary: "Delete a bank connection",
			Params: []Param{Path("id", Int(), "")}, Responses: merge(map[int]Resp{200: Empty("Deleted, with its accounts and transactions.")}, write)},
		Op{Method: http.MethodDelete, Path: prefix + "/bankConnections", Tags: bc, ID: "deleteAllBankConnections", Summary: "Delete all bank connections",
			Responses: merge(ok(200, "The deleted ids, ascending (none when any connection is busy).", Ref("IdentifierList")), write)},
		Op{Method: http.MethodGet, Path: prefix + "/banks", Tags: bk, ID: "getAndSearchAllBanks", Summary: "Get and search all banks",
			Params: append([]Param{ids("Only these banks."), Query("search", Str(), "Name, BLZ, BIC or city contains it."),
				Query("isSupported", Bool(), ""), Query("pinsAreVolatile", Bool(), ""),
				Param{Name: "supportedDataSources", In: "query", Schema: Arr(Enum("WEB_SCRAPER", "FINTS_SERVER")), Style: "form", Explode: &no},
				Param{Name: "location", In: "query", Schema: Arr(Str()), Style: "form", Explode: &no, Desc: "ISO country codes."},
				Query("isTestBank", Bool(), "")}, page...),
			Responses: merge(ok(200, "", Ref("PageableBankList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/banks/{id}", Tags: bk, ID: "getBank", Summary: "Get a bank",
			Params: []Param{idPath}, Responses: merge(ok(200, "", oneOrList("Bank", "BankList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/accounts", Tags: ac, ID: "getAndSearchAllAccounts", Summary: "Get and search all accounts",
			Params: []Param{ids("Only these accounts."), Query("search", Str(), ""), intList("accountTypeIds", "1–8."),
				intList("bankConnectionIds", ""), Query("minLastSuccessfulUpdate", Str(), "YYYY-MM-DD"),
				Query("maxLastSuccessfulUpdate", Str(), "YYYY-MM-DD"), Query("minBalance", Num(), ""), Query("maxBalance", Num(), "")},
			Responses: merge(ok(200, "By id.", Ref("AccountList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/accounts/{id}", Tags: ac, ID: "getAccount", Summary: "Get an account",
			Params: []Param{idPath}, Responses: merge(ok(200, "", oneOrList("Account", "AccountList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/transactions", Tags: tx, ID: "getAndSearchAllTransactions", Summary: "Get and search all transactions",
			Params: append([]Param{
				{Name: "view", In: "query", Required: true, Schema: Enum("bankView", "userView")},
				ids("Only these transactions."), Query("search", Str(), "Purpose, counterpart or IBAN contains it."),
				Query("counterpart", Str(), ""), Query("purpose", Str(), ""), intList("accountIds", ""),
				Query("minBankBookingDate", Str(), "YYYY-MM-DD"), Query("maxBankBookingDate", Str(), "YYYY-MM-DD"),
				Query("minFinapiBookingDate", Str(), "YYYY-MM-DD"), Query("maxFinapiBookingDate", Str(), "YYYY-MM-DD"),
				Query("minImportDate", Str(), "YYYY-MM-DD"), Query("maxImportDate", Str(), "YYYY-MM-DD"),
				Query("minAmount", Num(), ""), Query("maxAmount", Num(), ""), Query("direction", Enum("all", "income", "spending"), ""),
				intList("labelIds", ""), intList("categoryIds", "0 = no category."), Query("includeChildCategories", Bool(), "Default true."),
				Query("isNew", Bool(), ""), Query("isPotentialDuplicate", Bool(), ""), Query("isAdjustingEntry", Bool(), ""),
			}, page...),
			Responses: merge(ok(200, "income, spending and balance sum every transaction the query selects.", Ref("PageableTransactionList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/transactions/{id}", Tags: tx, ID: "getTransaction", Summary: "Get a transaction",
			Params: []Param{idPath}, Responses: merge(ok(200, "", oneOrList("Transaction", "TransactionList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/categories", Tags: ca, ID: "getAndSearchAllCategories", Summary: "Get and search all categories",
			Params:    append([]Param{ids("Only these categories."), Query("search", Str(), ""), Query("isCustom", Bool(), "")}, page...),
			Responses: merge(ok(200, "", Ref("PageableCategoryList")), read)},
		Op{Method: http.MethodGet, Path: prefix + "/categories/{id}", Tags: ca, ID: "getCategory", Summary: "Get a category",
			Params: []Param{idPath}, Responses: merge(ok(200, "", oneOrList("Category", "CategoryList")), read)},
	)
	return d
}
