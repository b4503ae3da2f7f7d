package openapi

import (
	"net/http"
	"slices"
)

// The Aggregation microservice API (party, system, holdings) and the
// platform routes (health, whoami, these documents); prose in docs/api.md.

// aggErrors are the error answers of the Aggregation groups.
func aggErrors(statuses ...int) map[int]Resp {
	out := map[int]Resp{}
	for _, st := range withBusy(statuses) {
		out[st] = JSONResp(http.StatusText(st)+": the Aggregation error body", Ref("Error"))
	}
	return out
}

// withBusy adds 503 to the answers of an operation that can answer 500:
// an operation that reaches the database answers 503, with Retry-After,
// when the database refuses for load past its retries.
func withBusy(statuses []int) []int {
	if slices.Contains(statuses, http.StatusInternalServerError) && !slices.Contains(statuses, http.StatusServiceUnavailable) {
		return append(slices.Clone(statuses), http.StatusServiceUnavailable)
	}
	return statuses
}

// merge joins answers.
func merge(ms ...map[int]Resp) map[int]Resp {
	out := map[int]Resp{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func ok(status int, desc string, s S) map[int]Resp { return map[int]Resp{status: JSONResp(desc, s)} }

// emptyBody is the optional "{}" body of the calls that take none: any
// field is refused.
func emptyBody() *Body {
	return JSONBody(Obj(), false, "Optional: `{}` or nothing. Any field is refused (400 MALFORMED_JSON).")
}

func aggregationDoc() *Doc {
	d := &Doc{
		Title:   "OpenAgg Aggregation API",
		Version: "1.0",
		Description: "The Aggregation microservice API: customer profiles and bank connections (party), the bank directory " +
			"(system), accounts and transactions (holdings), and the platform routes (health, whoami, these documents). " +
			"Every error is `{\"error\":{\"code\",\"message\",\"requestId\"}}` but the platform's own (`{\"code\",\"message\"}`). " +
			"Times are RFC 3339 UTC with whole seconds; money is a decimal string. See docs/api.md.",
		Tags: []Tag{
			{Name: "Platform", Desc: "Health, the caller's identity and the API documents."},
			{Name: "System", Desc: "The bank directory."},
			{Name: "Party", Desc: "Customer profiles and their bank connections."},
			{Name: "Holdings", Desc: "Accounts and transactions of a party."},
		},
		ErrorSchemas: []string{"Error", "PlatformError"},
	}
	partyParam := Path("partyid", With(Str(), "pattern", `^[A-Za-z0-9_.-]{1,64}$`), "The party id (1–64 characters of `[A-Za-z0-9_.-]`; 400 INVALID_PARTY_ID otherwise).")
	bankParam := Path("bankcode", Str(), "The bank code (a provider code such as `sandbox_bank_oauth_client_gb_xf`; 400 INVALID_BANK_CODE when malformed).")
	d.Schema("Error", Obj(R("error", Obj(
		R("code", Desc(Str(), "A stable error code, e.g. BANK_NOT_FOUND.")),
		R("message", Str()),
		O("requestId", Desc(Str(), "The request id (also the X-Request-Id header).")),
		O("nextRefreshAt", Desc(With(Str(), "format", "date-time"), "With 409 REFRESH_TOO_EARLY: when the provider allows the next refresh (also a Retry-After HTTP date)."))))))
	d.Schema("PlatformError", Desc(Obj(R("code", Str()), R("message", Str())),
		"The platform's error body: /health, /whoami and paths outside every API group."))
	d.Schema("Status", Obj(R("Status", Str())))
	d.Schema("LowerStatus", Obj(R("status", Str())))
	str := Arr(Str())
	d.Schema("Bank", Obj(
		R("bankCode", Str()), R("bankName", Str()), R("internalBankId", Pat(`^BD[0-9]{10}$`)),
		R("homeUrl", Str()), R("loginUrl", Str()), R("logoUrl", Str()), R("timeZone", Str()),
		R("providerStatus", Enum("active", "inactive", "disabled")), R("isActive", Enum("active", "inactive")),
		R("countryCode", Str()), R("provider", Str()), R("mode", Str()),
		R("supportedAccountNaturess", str), R("supportedFetchScopess", str), R("supportedAccountTypess", str)))
	d.Schema("ProfileResponse", Obj(R("data", Obj(
		R("id", Desc(Str(), "The provider's customer id.")),
		R("identifier", Desc(Str(), "`<company id>-<party id>`.")),
		R("secret", Desc(Str(), "Returned once, never stored."))))))
	date := Desc(Pat(`^[0-9]{2}-[0-9]{2}-[0-9]{4}$`), "DD-MM-YYYY")
	days := Desc(Pat(`^[0-9]+$`), "A number of days as a string of digits, e.g. \"90\".")
	d.Schema("ConnectionRequest", Obj(R("data", Obj(
		R("customer_id", Desc(Str(), "The profile's identifier.")),
		R("consent", Obj(R("from_date", date), R("period_days", days),
			R("scope", Arr(Enum("account_details", "holder_information", "transactions_details"))))),
		R("attempt", Obj(R("from_date", date), R("period_days", days),
			R("fetch_scope", Arr(Enum("accounts", "holder_info", "transactions"))),
			O("return_to", Desc(With(Str(), "maxLength", 2040), "Where the connect page sends the user back once the session is over, "+
				"with stage, connection_id and error_class added to the query (an absolute http(s) URL).")))),
		O("javascript_callback_type", Enum("post_message", "iframe", "external_saltbridge", "external_notify")),
		O("device", Str())))))
	d.Schema("ConnectResponse", Obj(R("data", Obj(R("expires_at", RFC3339()),
		R("connect_url", Desc(Str(), "The page where the user logs in at the bank (sandbox banks: OpenAgg's /connect/sessions?token=...)."))))))
	d.Schema("RefreshResponse", Obj(R("daily_refresh", Enum("true", "false")),
		R("next_refresh_at", Desc(Pat(`^$|`+rfc3339Pattern), "RFC 3339, or empty when there is none.")), R("message", Str())))
	rfcOrEmpty := Pat(`^$|` + rfc3339Pattern)
	d.Schema("ConnectionDetail", Obj(
		R("DigitalProfileID", Str()), R("provider", Str()), R("bankCode", Str()), R("bankName", Str()),
		R("NextRefresh", Desc(rfcOrEmpty, "Empty while the connection is not active.")), R("CreatedAt", RFC3339()),
		R("status", Enum("pending", "active", "failed", "inactive", "removed", "removing")),
		R("providerConnectionStatus", Desc(Enum("", "active", "inactive", "disabled"), "Empty before the first login.")),
		R("CountryCode", Str()),
		O("statusReason", Enum("consent_expired", "consent_revoked")),
		O("lastError", Str()),
		O("import", Obj(R("state", Enum("none", "queued", "running", "done", "failed")), R("accounts", Int()), R("transactions", Int()),
			O("lastImportAt", RFC3339()), O("lastError", Str())))))
	d.Schema("ConnectionDetails", Obj(R("connections", Arr(Ref("ConnectionDetail")))))
	d.Schema("Account", Obj(
		R("id", Str()), R("bankCode", Str()), R("bankName", Str()), R("name", Str()), R("nature", Str()), R("currency", Str()),
		O("iban", Str()), O("number", Str()), O("holderName", Str()),
		R("balance", Decimal()), R("available", Decimal()), R("updatedAt", RFC3339())))
	d.Schema("Accounts", Obj(R("accounts", Arr(Ref("Account")))))
	d.Schema("Transaction", Obj(
		R("id", Str()), R("status", Enum("posted", "pending")), R("madeOn", Pat(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)),
		O("postedAt", RFC3339()), R("amount", Decimal()), R("currency", Str()), R("description", Str()),
		O("category", Str()), O("counterparty", Obj(O("name", Str()), O("iban", Str()))), O("balanceAfter", Decimal())))
	d.Schema("TransactionPage", Obj(R("transactions", Arr(Ref("Transaction"))),
		O("nextPageToken", Desc(Str(), "The next (older) page's token; absent on the last page."))))
	d.Schema("SyncTransaction", Obj(
		R("accountId", Str()), R("id", Str()), R("status", Enum("posted", "pending")), R("madeOn", Pat(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)),
		O("postedAt", RFC3339()), R("amount", Decimal()), R("currency", Str()), R("description", Str()),
		O("category", Str()), O("counterparty", Obj(O("name", Str()), O("iban", Str()))), O("balanceAfter", Decimal())))
	d.Schema("SyncPage", Obj(
		R("added", Arr(Ref("SyncTransaction"))), R("modified", Arr(Ref("SyncTransaction"))),
		R("removed", Arr(Obj(R("id", Str()), R("accountId", Str())))),
		R("next_cursor", Desc(Str(), "Where the next call starts: opaque, encrypted, bound to the party.")),
		R("has_more", Desc(Bool(), "More changes wait: call again with next_cursor now."))))
	webhookEvents := Arr(Enum("connection.status_changed", "consent.expiring", "import.completed", "import.failed", "transactions.sync_available"))
	d.Schema("Webhook", Obj(
		R("name", Str()), R("url", Str()), R("events", webhookEvents),
		O("secret", Desc(Pat(`^whsec_[A-Za-z0-9+/=]+$`), "The signing secret: only in the answer that created the endpoint.")),
		O("createdBy", Str()), R("createdAt", RFC3339()), R("updatedAt", RFC3339())))
	d.Schema("Delivery", Obj(
		R("id", Desc(Str(), "The webhook-id header of the message (the same on each attempt).")), R("type", Str()), O("partyId", Str()),
		R("attempt", Int()), R("at", Desc(Pat(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`), "When the attempt was made (RFC 3339 UTC, with the fraction of a second).")), O("status", Desc(Int(), "The receiver's HTTP status; absent when no answer came.")),
		R("outcome", Enum("delivered", "retrying", "failed")), O("error", Str()), R("durationMs", Int()), O("nextAttemptAt", RFC3339())))

	platform := func(statuses ...int) map[int]Resp {
		out := map[int]Resp{}
		for _, st := range statuses {
			out[st] = JSONResp(http.StatusText(st), Ref("PlatformError"))
		}
		return out
	}
	d.Add(
		Op{Method: http.MethodGet, Path: "/health", Tags: []string{"Platform"}, Public: true, Summary: "Liveness, with one store round trip",
			Responses: merge(ok(200, "The service and its store answer.", Obj(R("status", Enum("ok")), R("version", Str()))),
				map[int]Resp{503: JSONResp("The store does not answer.", Obj(R("status", Enum("unavailable")), R("version", Str())))})},
		Op{Method: http.MethodGet, Path: "/whoami", Tags: []string{"Platform"}, Summary: "The principal the service sees",
			Responses: merge(ok(200, "The caller (token roles only, not stored entitlements).",
				Obj(R("sub", Str()), R("name", Str()), R("provider", Str()), R("roles", Arr(Str())))), platform(401, 500))},
	)
	for _, name := range Names() {
		d.Add(Op{Method: http.MethodGet, Path: "/openapi/" + name + ".json", Tags: []string{"Platform"}, Public: true,
			Summary: "The OpenAPI document " + name,
			Responses: ok(200, "An OpenAPI 3.0.3 document.", Open(R("openapi", Enum(Version)), R("info", S{"type": "object"}),
				R("paths", S{"type": "object"}), R("components", S{"type": "object"})))})
	}

	system := []string{"System"}
	bankPath := Path("bank", Str(), "")
	d.Add(
		Op{Method: http.MethodGet, Path: "/system/banks", Tags: system, Summary: "Load the bank directory of every provider (async)",
			Desc:      "Needs the role CanManageBankDirectory.",
			Responses: merge(ok(202, "Load started.", Ref("Status")), aggErrors(401, 403, 500))},
		Op{Method: http.MethodGet, Path: "/system/banks/{bank}/provider/{providername}", Tags: system, Summary: "A bank by code and provider",
			Params:    []Param{paramDesc(bankPath, "The bank code."), Path("providername", Str(), "sandbox or saltedge.")},
			Responses: merge(ok(200, "The bank.", Ref("Bank")), aggErrors(400, 401, 404, 500))},
		Op{Method: http.MethodGet, Path: "/system/banks/{bank}", Tags: system, Summary: "A bank by internal id",
			Params:    []Param{paramDesc(bankPath, "The internal id: BD and 10 digits.")},
			Responses: merge(ok(200, "The bank.", Ref("Bank")), aggErrors(400, 401, 404, 500))},
		Op{Method: http.MethodGet, Path: "/system/countries/{countrycode}/banks", Tags: system, Summary: "The banks of a country, by name",
			Params:    []Param{Path("countrycode", Str(), "Two letters, any case.")},
			Responses: merge(ok(200, "Every bank of the country (`[]` for none).", Arr(Ref("Bank"))), aggErrors(400, 401, 500))},
		Op{Method: http.MethodPut, Path: "/system/bank/{bankcode}/access", Tags: system, Summary: "Enable or disable access to a bank",
			Desc:   "Needs the role CanManageBankDirectory.",
			Params: []Param{Path("bankcode", Str(), "The bank code.")},
			Body:   JSONBody(Obj(R("setAccess", Enum("Yes", "No"))), true, ""),
			Responses: merge(ok(200, "Changed.", Ref("Status")),
				aggErrors(400, 401, 403, 404, 409, 413, 500))},
	)

	party := []string{"Party"}
	d.Add(
		Op{Method: http.MethodPost, Path: "/party/profiles/{partyid}", Tags: party, Summary: "Create the party's customer profile",
			Params: []Param{partyParam}, Body: emptyBody(),
			Responses: merge(ok(200, "The provider's customer; the caller owns the party.", Ref("ProfileResponse")),
				aggErrors(400, 401, 409, 413, 500, 502))},
		Op{Method: http.MethodPost, Path: "/party/profiles/{partyid}/banks/{bankcode}/connections", Tags: party,
			Summary: "Start a connection to a bank (consent and connect URL)",
			Params:  []Param{partyParam, bankParam}, Body: JSONBody(Ref("ConnectionRequest"), true, ""),
			Responses: merge(ok(200, "The connect session.", Ref("ConnectResponse")),
				aggErrors(400, 401, 403, 404, 409, 413, 500, 502))},
		Op{Method: http.MethodGet, Path: "/party/profiles/{partyid}/connections", Tags: party, Summary: "Load the party's connections from the providers (async)",
			Params:    []Param{partyParam},
			Responses: merge(ok(202, "Queued.", Ref("LowerStatus")), aggErrors(400, 401, 403, 404, 500))},
		Op{Method: http.MethodPut, Path: "/party/profiles/{partyid}/banks/{bankcode}/refreshConnections", Tags: party, Summary: "Refresh a connection",
			Params: []Param{partyParam, bankParam}, Body: emptyBody(),
			Responses: merge(ok(200, "Refresh queued.", Ref("RefreshResponse")), aggErrors(400, 401, 403, 404, 409, 413, 500, 502))},
		Op{Method: http.MethodDelete, Path: "/party/profiles/{partyid}/banks/{bankcode}/removeConnections", Tags: party,
			Summary: "Remove a connection with everything imported through it",
			Params:  []Param{partyParam, bankParam}, Body: emptyBody(),
			Responses: merge(ok(200, "Removed.", Ref("RefreshResponse")), aggErrors(400, 401, 403, 404, 409, 413, 500, 502))},
		Op{Method: http.MethodGet, Path: "/party/profiles/{partyid}/connectionDetails", Tags: party, Summary: "The party's connections with their import progress",
			Params:    []Param{partyParam},
			Responses: merge(ok(200, "The connections (`[]` for none).", Ref("ConnectionDetails")), aggErrors(400, 401, 403, 404, 500))},
	)

	holdings := []string{"Holdings"}
	d.Add(
		Op{Method: http.MethodPost, Path: "/holdings/profiles/{partyid}/banks/{bankcode}/accountwithtransactions", Tags: holdings,
			Summary: "Import the accounts, balances and transactions of a connection (async)",
			Params:  []Param{partyParam, bankParam}, Body: emptyBody(),
			Responses: merge(ok(202, "Queued.", Ref("LowerStatus")), aggErrors(400, 401, 403, 404, 409, 413, 500))},
		Op{Method: http.MethodGet, Path: "/holdings/profiles/{partyid}/accounts", Tags: holdings, Summary: "Every imported account of the party",
			Params:    []Param{partyParam},
			Responses: merge(ok(200, "The accounts, by bank (`[]` before the first import).", Ref("Accounts")), aggErrors(400, 401, 403, 404, 500))},
		Op{Method: http.MethodGet, Path: "/holdings/profiles/{partyid}/accounts/{accountId}/transactions", Tags: holdings,
			Summary: "An account's transactions, newest first, paged",
			Params: []Param{partyParam, Path("accountId", Str(), "The account id."),
				Query("from", Pat(`^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$`), "First booking date, inclusive (YYYY-MM-DD; empty: none)."),
				Query("to", Pat(`^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$`), "Last booking date, inclusive (YYYY-MM-DD; empty: none)."),
				Query("limit", With(Int(), "minimum", 1, "maximum", 1000), "Page size, default 100."),
				Query("pageToken", Str(), "The previous page's nextPageToken for the same query.")},
			Responses: merge(ok(200, "One page.", Ref("TransactionPage")), aggErrors(400, 401, 403, 404, 500))},
		Op{Method: http.MethodGet, Path: "/holdings/profiles/{partyid}/transactions/sync", Tags: holdings,
			Summary: "The changes to the party's transactions since a cursor, over every connection",
			Desc:    "Each change an import or a removal makes shows up once for a client that follows next_cursor (see docs/api.md, Transaction sync).",
			Params: []Param{partyParam,
				Query("cursor", Str(), "A next_cursor of this party's (none: from the beginning)."),
				Query("count", With(Int(), "minimum", 1, "maximum", 500), "Changes per page, default 100.")},
			Responses: merge(ok(200, "One page of changes.", Ref("SyncPage")), aggErrors(400, 401, 403, 404, 500))},
	)

	nameParam := Path("name", With(Str(), "pattern", `^[A-Za-z0-9_.-]{1,64}$`), "The endpoint's name (400 INVALID_WEBHOOK_NAME otherwise).")
	d.Add(
		Op{Method: http.MethodPut, Path: "/system/webhooks/{name}", Tags: system, Summary: "Register or replace a webhook endpoint",
			Desc:   "Needs the role CanManageWebhooks. Creating answers the signing secret once; replacing keeps it.",
			Params: []Param{nameParam},
			Body:   JSONBody(Obj(R("url", Str()), R("events", webhookEvents)), true, ""),
			Responses: merge(ok(200, "Replaced (no secret).", Ref("Webhook")), ok(201, "Created, with its secret.", Ref("Webhook")),
				aggErrors(400, 401, 403, 409, 413, 500))},
		Op{Method: http.MethodGet, Path: "/system/webhooks", Tags: system, Summary: "Every webhook endpoint",
			Desc:      "Needs the role CanManageWebhooks.",
			Responses: merge(ok(200, "The endpoints by name (`[]` for none).", Obj(R("webhooks", Arr(Ref("Webhook"))))), aggErrors(401, 403, 500))},
		Op{Method: http.MethodGet, Path: "/system/webhooks/{name}", Tags: system, Summary: "A webhook endpoint",
			Desc: "Needs the role CanManageWebhooks.", Params: []Param{nameParam},
			Responses: merge(ok(200, "The endpoint (no secret).", Ref("Webhook")), aggErrors(400, 401, 403, 404, 500))},
		Op{Method: http.MethodDelete, Path: "/system/webhooks/{name}", Tags: system, Summary: "Remove a webhook endpoint",
			Desc: "Needs the role CanManageWebhooks.", Params: []Param{nameParam}, Body: emptyBody(),
			Responses: merge(map[int]Resp{204: {Desc: "Removed."}}, aggErrors(400, 401, 403, 404, 413, 500))},
		Op{Method: http.MethodGet, Path: "/system/webhooks/{name}/deliveries", Tags: system, Summary: "The endpoint's recent delivery attempts",
			Desc:      "Needs the role CanManageWebhooks. Newest first.",
			Params:    []Param{nameParam, Query("limit", With(Int(), "minimum", 1, "maximum", 100), "Attempts, default 20.")},
			Responses: merge(ok(200, "The attempts.", Obj(R("deliveries", Arr(Ref("Delivery"))))), aggErrors(400, 401, 403, 404, 500))},
	)
	return d
}

// paramDesc is p with a description.
func paramDesc(p Param, desc string) Param {
	p.Desc = desc
	return p
}
