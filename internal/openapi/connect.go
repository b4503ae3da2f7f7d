package openapi

import "net/http"

// The hosted connect page (sandbox banks) and the provider callbacks.

func connectDoc() *Doc {
	d := &Doc{
		Title:   "OpenAgg connect page and provider callbacks",
		Version: "1.0",
		Description: "The hosted page where the end user logs in at a sandbox bank (HTML forms that also answer JSON with " +
			"`Accept: application/json`), and the signed Salt Edge callbacks. Every route is public: the page is gated by the " +
			"connect session's one-time token, the callbacks by their RSA signature. Each step allows 3 tries on the same link; " +
			"a link is spent by success, by running out of tries, by cancel or by expiry. Routing errors and the callbacks' " +
			"errors are the Aggregation error body. See docs/api.md, \"The connect page\".",
		Tags: []Tag{
			{Name: "Connect page", Desc: "The end user's page: login, challenge, cancel."},
			{Name: "Callbacks", Desc: "Provider callbacks (Salt Edge API v6, signed)."},
		},
		ErrorSchemas: []string{"Error"},
	}
	d.Schema("Error", Obj(R("error", Obj(R("code", Str()), R("message", Str()), O("requestId", Str())))))
	d.Schema("ConnectPage", Desc(Obj(
		R("stage", Enum("login", "challenge", "done", "failed", "cancelled", "expired", "used", "invalid", "error")),
		O("message", Str()),
		R("application", Desc(Str(), "The application the user connects their bank to (OPENAGG_APP_NAME).")),
		O("bankCode", Str()), O("bankName", Str()), O("interactive", Bool()),
		O("challenge", Desc(Str(), "The bank's question at stage challenge.")),
		O("connectionId", Str()),
		O("error", Desc(Str(), "What went wrong, in words.")),
		O("errorClass", Desc(Enum("InvalidCredentials", "InvalidInteractiveCredentials", "ProviderError", "ProviderDisabled",
			"CustomerNotFound", "ConnectionCancelled"), "The machine-readable class of the error (Salt Edge's).")),
		O("attemptsLeft", Desc(With(Int(), "minimum", 1, "maximum", 3), "Tries the current step still allows.")),
		O("expiresAt", RFC3339()),
		O("consent", Obj(R("scopes", Arr(Enum("account_details", "holder_information", "transactions_details"))),
			O("fromDate", Pat(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)), O("periodDays", Int()))),
		O("returnTo", Desc(Str(), "Once the session is over: the connection request's return_to with stage, connection_id and error_class.")),
	), "The page's facts (the JSON form of the HTML page; the token is never echoed)."))

	page := func(desc string) Resp {
		return Resp{Desc: desc, Content: map[string]S{
			"text/html":        Desc(Str(), "The page; `<main data-stage=\"...\">` carries the stage."),
			"application/json": Ref("ConnectPage"),
		}}
	}
	pages := func(statuses map[int]string) map[int]Resp {
		out := map[int]Resp{}
		for st, desc := range statuses {
			out[st] = page(desc)
		}
		return out
	}
	form := func(fields ...Field) *Body {
		s := Open(fields...) // a form may carry other fields: they are ignored
		return &Body{Required: true, Content: map[string]S{"application/x-www-form-urlencoded": s, "multipart/form-data": s}}
	}
	token := O("token", Desc(Str(), "The connect session's one-time token (64 hex digits)."))
	submitAnswers := map[int]string{
		200: "The page of the session's next stage (or the same step again after a failed try, with the error).",
		400: "An incomplete form (no try), no token, or a session that is over (stage used).",
		404: "Unknown token (stage invalid).",
		409: "The session waits for another step: the page of its current stage with the error.",
		410: "The link expired.",
		413: "A form over 1 MiB.",
		500: "Something failed on OpenAgg's side.",
	}
	tags := []string{"Connect page"}
	d.Add(
		Op{Method: http.MethodGet, Path: "/connect/sessions", Tags: tags, Public: true, Summary: "The page of a connect session",
			Params: []Param{Query("token", Str(), "The one-time token of the connect URL."),
				Header("Accept", Str(), "application/json for the page's facts as JSON.")},
			Responses: pages(map[int]string{200: "The form of the session's stage.", 400: "No token, or the session is over (stage used).",
				404: "Unknown token.", 410: "The link expired.", 500: "Something failed on OpenAgg's side."})},
		Op{Method: http.MethodPost, Path: "/connect/sessions", Tags: tags, Public: true, Summary: "Submit the login (username and password)",
			Body:      form(token, O("username", Str()), O("password", Str())),
			Responses: pages(submitAnswers)},
		Op{Method: http.MethodPost, Path: "/connect/sessions/challenge", Tags: tags, Public: true, Summary: "Answer the bank's challenge",
			Body:      form(token, O("answer", Str())),
			Responses: pages(submitAnswers)},
		Op{Method: http.MethodPost, Path: "/connect/sessions/cancel", Tags: tags, Public: true, Summary: "Cancel the session (the link is spent)",
			Body: form(token),
			Responses: pages(map[int]string{200: "Stage cancelled.", 400: "No token, or the session is over (stage used).",
				404: "Unknown token.", 410: "The link expired.", 413: "A form over 1 MiB.", 500: "Something failed on OpenAgg's side."})},
	)
	callbackErr := func(statuses ...int) map[int]Resp {
		out := map[int]Resp{}
		for _, st := range withBusy(statuses) {
			out[st] = JSONResp(http.StatusText(st), Ref("Error"))
		}
		return out
	}
	d.Add(Op{Method: http.MethodPost, Path: "/callbacks/saltedge/{kind}", Tags: []string{"Callbacks"}, Public: true,
		Summary: "A Salt Edge callback (API v6)",
		Desc: "The `Signature` header must be Salt Edge's base64 RSA-SHA256 over `<base URL><path>|<body>`, checked before the body " +
			"is read (401 SIGNATURE_MISSING, SIGNATURE_INVALID, CALLBACK_NOT_CONFIGURED); `meta.version` must be 6 (400 CALLBACK_VERSION) " +
			"and `meta.time` within the last hour (400 CALLBACK_TIME, 401 CALLBACK_EXPIRED). Unknown fields are ignored.",
		Params: []Param{Path("kind", Enum("success", "fail", "notify", "destroy", "service"), "The callback's kind (another: 404)."),
			Header("Signature", Str(), "Salt Edge's signature of the callback.")},
		Body: JSONBody(Open(
			O("data", Open(O("connection_id", Str()), O("customer_id", Str()), O("stage", Str()), O("error_class", Str()),
				O("error_message", Str()), O("custom_fields", S{"type": "object"}))),
			O("meta", Open(O("version", Str()), O("time", Str())))), true, "Salt Edge's callback body."),
		Responses: merge(ok(200, "Queued (a connection sync of the customer), or ignored (no customer named).",
			Obj(R("status", Enum("queued", "ignored")))), callbackErr(400, 401, 404, 413, 500)),
	})
	return d
}
