package openapi

import (
	"net/http"
	"slices"
)

// Open Bank Project 1.4.0 / 2.0.0 / 2.1.0 customers
// (shared/reference/obp-v2.1.0-customers.txt): OBP-API's JSON names
// (CustomerJSONV210, UserCustomerLinkJSON, SocialMediaJSON, CrmEventJSON,
// EntitlementJSON). An operation is served under the version that
// introduced it and every newer one, as OBP-API does.

func obp2Doc() *Doc {
	d := &Doc{
		Title:   "OpenAgg Open Bank Project 1.4.0 / 2.0.0 / 2.1.0 customers API",
		Version: "2.1.0",
		Description: "Customers, user–customer links, social media handles, CRM events recorded from each connection's life, " +
			"and roles (entitlements). An operation answers under the version that introduced it and every newer one. Every " +
			"route needs a bearer token; USER_ID is a token's sub. Dates are `2013-01-21T23:08:00Z`; amounts are decimal " +
			"strings. Errors are `{\"code\": <status>, \"message\": \"OBP-xxxxx: text\"}`. See docs/api.md.",
		Tags:         []Tag{{Name: "Customers"}, {Name: "User customer links"}, {Name: "Social media handles"}, {Name: "CRM events"}, {Name: "Roles"}},
		ErrorSchemas: []string{"ErrorMessage"},
	}
	d.Schema("ErrorMessage", obpErrorSchema())
	date := Desc(Pat(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`), "UTC with seconds: 2013-01-21T23:08:00Z")
	d.Schema("CustomerFaceImageJson", Obj(R("url", Str()), R("date", date)))
	d.Schema("CustomerCreditRatingJSON", Obj(R("rating", Str()), R("source", Str())))
	d.Schema("AmountOfMoneyJsonV121", Obj(R("currency", Str()), R("amount", Decimal())))
	d.Schema("CustomerJsonV210", Obj(
		R("bank_id", Str()), R("customer_id", Str()), R("customer_number", Str()), R("legal_name", Str()),
		R("mobile_phone_number", Str()), R("email", Str()), R("face_image", Ref("CustomerFaceImageJson")),
		R("date_of_birth", date), R("relationship_status", Str()), R("dependants", Int32()), R("dob_of_dependants", Arr(date)),
		R("credit_rating", Ref("CustomerCreditRatingJSON")), R("credit_limit", Ref("AmountOfMoneyJsonV121")),
		R("highest_education_attained", Str()), R("employment_status", Str()), R("kyc_status", Bool()), R("last_ok_date", date)))
	d.Schema("CustomerJSONs", Obj(R("customers", Arr(Ref("CustomerJsonV210")))))
	d.Schema("PostCustomerJsonV210", Desc(Obj(
		O("user_id", Str()), O("customer_number", Str()), O("legal_name", Str()), O("mobile_phone_number", Str()), O("email", Str()),
		O("face_image", Obj(O("url", Str()), O("date", Str()))), O("date_of_birth", Str()), O("relationship_status", Str()),
		O("dependants", Int32()), O("dob_of_dependants", Arr(Str())), O("credit_rating", Obj(O("rating", Str()), O("source", Str()))),
		O("credit_limit", Obj(O("currency", Str()), O("amount", Str()))), O("highest_education_attained", Str()),
		O("employment_status", Str()), O("kyc_status", Bool()), O("last_ok_date", Str())),
		"Every field is required (a missing or null one is OBP-10001); user_id may be \"\" (the caller)."))
	d.Schema("CreateUserCustomerLinkJson", Obj(O("user_id", Str()), O("customer_id", Str())))
	d.Schema("UserCustomerLinkJson", Obj(R("user_customer_link_id", Str()), R("customer_id", Str()), R("user_id", Str()),
		R("date_inserted", date), R("is_active", Bool())))
	d.Schema("SocialMediaJSON", Obj(R("customer_number", Str()), R("type", Str()), R("handle", Str()),
		R("date_added", date), R("date_activated", date)))
	d.Schema("PostSocialMediaJSON", Obj(O("customer_number", Str()), O("type", Str()), O("handle", Str()),
		O("date_added", Str()), O("date_activated", Str())))
	d.Schema("SocialMediasJSON", Desc(Obj(R("checks", Arr(Ref("SocialMediaJSON")))), "The key really is checks."))
	d.Schema("SuccessMessage", Obj(R("success", Str())))
	d.Schema("CrmEventJson", Obj(R("id", Str()), R("bank_id", Str()), R("customer_name", Str()), R("customer_number", Str()),
		R("category", Str()), R("detail", Str()), R("channel", Str()), R("scheduled_date", date), R("actual_date", date), R("result", Str())))
	d.Schema("CrmEventsJson", Obj(R("crm_events", Arr(Ref("CrmEventJson")))))
	d.Schema("EntitlementJSON", Obj(R("entitlement_id", Str()), R("role_name", Str()), R("bank_id", Str())))
	d.Schema("EntitlementJSONs", Obj(R("list", Arr(Ref("EntitlementJSON")))))
	d.Schema("CreateEntitlementJSON", Obj(O("bank_id", Str()), O("role_name", Str())))

	bank := Path("BANK_ID", Str(), "A directory bank's code with access enabled.")
	user := Path("USER_ID", Str(), "A user id (a token's sub).")
	cust := Path("CUSTOMER_ID", Str(), "The customer's id (a UUID).")
	read := obpErrors(400, 401, 403, 404, 500)
	write := obpErrors(400, 401, 403, 404, 409, 413, 500)
	type operation struct {
		version, method, path, summary, tag string
		params                              []Param
		body                                S
		answers                             map[int]Resp
	}
	ops := []operation{
		{"2.0.0", http.MethodPost, "/users/{USER_ID}/entitlements", "Grant a role", "Roles", []Param{user}, Ref("CreateEntitlementJSON"),
			merge(ok(201, "The entitlement.", Ref("EntitlementJSON")), write)},
		{"2.0.0", http.MethodGet, "/users/{USER_ID}/entitlements", "A user's roles", "Roles", []Param{user}, nil,
			merge(ok(200, "Stored entitlements by role then bank.", Ref("EntitlementJSONs")), read)},
		{"2.0.0", http.MethodDelete, "/users/{USER_ID}/entitlement/{ENTITLEMENT_ID}", "Revoke a role", "Roles",
			[]Param{user, Path("ENTITLEMENT_ID", Str(), "")}, nil, merge(map[int]Resp{204: Empty("Revoked.")}, write)},
		{"1.4.0", http.MethodGet, "/banks/{BANK_ID}/crm-events", "CRM events at a bank, newest first", "CRM events",
			[]Param{bank, Header("obp_limit", With(Int(), "minimum", 1, "maximum", 500), "Page size (default 50)."),
				Header("obp_offset", With(Int(), "minimum", 0, "maximum", 10000), "Items to skip.")}, nil,
			merge(ok(200, "", Ref("CrmEventsJson")), read)},
		{"2.0.0", http.MethodPost, "/banks/{BANK_ID}/user_customer_links", "Link a user to a customer", "User customer links",
			[]Param{bank}, Ref("CreateUserCustomerLinkJson"), merge(ok(200, "The link (200, as OBP-API answers).", Ref("UserCustomerLinkJson")), write)},
		{"2.0.0", http.MethodPost, "/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles", "Add a social media handle",
			"Social media handles", []Param{bank, cust}, Ref("PostSocialMediaJSON"), merge(ok(201, "", Ref("SuccessMessage")), write)},
		{"2.0.0", http.MethodGet, "/banks/{BANK_ID}/customers/{CUSTOMER_ID}/social_media_handles", "A customer's social media handles",
			"Social media handles", []Param{bank, cust}, nil, merge(ok(200, "By date added.", Ref("SocialMediasJSON")), read)},
		{"2.1.0", http.MethodPost, "/banks/{BANK_ID}/customers", "Create a customer (linked to a user)", "Customers",
			[]Param{bank}, Ref("PostCustomerJsonV210"), merge(ok(201, "The customer.", Ref("CustomerJsonV210")), write)},
		{"2.1.0", http.MethodGet, "/users/current/customers", "The caller's customers at every bank", "Customers", nil, nil,
			merge(ok(200, "", Ref("CustomerJSONs")), read)},
		{"2.1.0", http.MethodGet, "/banks/{BANK_ID}/customers", "The caller's customers at a bank", "Customers", []Param{bank}, nil,
			merge(ok(200, "", Ref("CustomerJSONs")), read)},
	}
	versions := []string{"1.4.0", "2.0.0", "2.1.0"}
	for _, o := range ops {
		from := slices.Index(versions, o.version)
		for _, v := range versions[from:] {
			op := Op{Method: o.method, Path: "/obp/v" + v + o.path, Summary: o.summary, Tags: []string{o.tag}, Params: o.params,
				Responses: o.answers, Desc: "OBP " + o.version + " (served under every newer version too)."}
			if o.body != nil {
				op.Body = JSONBody(o.body, true, "")
			}
			d.Add(op)
		}
	}
	return d
}
