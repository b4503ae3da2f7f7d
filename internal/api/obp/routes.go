package obp

import (
	"net/http"

	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
)

// Path prefixes of the route table.
const (
	bankPath    = Prefix + "/banks/{BANK_ID}"
	accountPath = bankPath + "/accounts/{ACCOUNT_ID}"
	viewPath    = accountPath + "/{VIEW_ID}"
	otherPath   = viewPath + "/other_accounts/{OTHER_ACCOUNT_ID}"
	txPath      = viewPath + "/transactions/{TRANSACTION_ID}"
	txMetaPath  = txPath + "/metadata"
)

// Routes lists the 65 endpoints of OBP 1.2 with their exact paths.
// Public routes work without a token: root, banks, accounts lists, and
// every VIEW_ID route (a public view needs no token; the handler decides).
// The table is not ServeMux-compatible (see Router).
func (a *API) Routes() []platform.Route {
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	rt := func(method, path string, public bool, h func(http.ResponseWriter, *http.Request) error) platform.Route {
		return platform.Route{Method: method, Path: path, Public: public, Handler: a.handle(h)}
	}
	routes := []platform.Route{
		rt(get, Prefix+"/", true, a.root),
		rt(get, Prefix+"/banks", true, a.listBanks),
		rt(get, bankPath, true, a.getBank),
		rt(get, bankPath+"/accounts", true, a.listAccounts),
		rt(get, bankPath+"/accounts/public", true, a.publicAccounts),
		rt(get, bankPath+"/accounts/private", false, a.privateAccounts),
		rt(get, viewPath+"/account", true, a.getAccount),

		rt(get, accountPath+"/views", false, a.listViews),
		rt(post, accountPath+"/views", false, a.createView),
		rt(put, accountPath+"/views/{VIEW_ID}", false, a.updateView),

		rt(get, accountPath+"/permissions", false, a.listPermissions),
		rt(get, accountPath+"/permissions/{USER_ID}", false, a.userPermissions),
		rt(post, accountPath+"/permissions/{USER_ID}/views/{VIEW_ID}", false, a.grantOne),
		rt(post, accountPath+"/permissions/{USER_ID}/views", false, a.grantSeveral),
		rt(del, accountPath+"/permissions/{USER_ID}/views/{VIEW_ID}", false, a.revokeOne),
		rt(del, accountPath+"/permissions/{USER_ID}/views", false, a.revokeAll),

		rt(get, viewPath+"/other_accounts", true, a.listOtherAccounts),
		rt(get, otherPath, true, a.getOtherAccount),
		rt(get, otherPath+"/metadata", true, a.getOtherAccountMetadata),

		rt(get, viewPath+"/transactions", true, a.listTransactions),
		rt(get, txPath+"/transaction", true, a.getTransaction),
		rt(get, txPath+"/other_account", true, a.getTransactionOtherAccount),

		rt(get, txMetaPath+"/narrative", true, a.getNarrative),
		rt(post, txMetaPath+"/narrative", true, a.setNarrative(http.StatusCreated, "narrative added")),
		rt(put, txMetaPath+"/narrative", true, a.setNarrative(http.StatusOK, "narrative updated")),
		rt(del, txMetaPath+"/narrative", true, a.deleteNarrative),
		rt(get, txMetaPath+"/comments", true, a.getComments),
		rt(post, txMetaPath+"/comments", true, a.addComment),
		rt(del, txMetaPath+"/comments/{COMMENT_ID}", true, a.deleteComment),
		rt(get, txMetaPath+"/tags", true, a.getTags),
		rt(post, txMetaPath+"/tags", true, a.addTag),
		rt(del, txMetaPath+"/tags/{TAG_ID}", true, a.deleteTag),
		rt(get, txMetaPath+"/images", true, a.getImages),
		rt(post, txMetaPath+"/images", true, a.addImage),
		rt(del, txMetaPath+"/images/{IMAGE_ID}", true, a.deleteImage),
		rt(get, txMetaPath+"/where", true, a.getWhere),
		rt(post, txMetaPath+"/where", true, a.setWhere("where tag added")),
		// The page answers 201 to the update too (shared/contracts/obp.md).
		rt(put, txMetaPath+"/where", true, a.setWhere("where tag updated")),
		rt(del, txMetaPath+"/where", true, a.deleteWhere),
	}
	for _, f := range otherAccountFields {
		path := otherPath + "/" + f.path
		if f.get {
			routes = append(routes, rt(get, path, true, a.getOtherAccountField(f)))
		}
		routes = append(routes,
			rt(post, path, true, a.setOtherAccountField(f, http.StatusCreated, f.added)),
			rt(put, path, true, a.setOtherAccountField(f, http.StatusOK, f.updated)),
			rt(del, path, true, a.deleteOtherAccountField(f)),
		)
	}
	return routes
}

// otherAccountField describes one of the other-account metadata endpoints.
type otherAccountField struct {
	path     string // after .../other_accounts/OTHER_ACCOUNT_ID/
	field    metadata.Field
	bodyKey  string // the request body's one key
	location bool   // the value is {latitude, longitude}
	get      bool   // has a GET of its own (the aliases)
	// anonymous: a public view may write it without a token (the aliases:
	// "OAuth authentication is required if the view is not public"); the
	// other fields always need a user.
	anonymous      bool
	see, add, del  string // the view actions that gate read, write, delete
	added, updated string // success messages as the page prints them
}

var otherAccountFields = []otherAccountField{
	{path: "public_alias", field: metadata.PublicAlias, bodyKey: "alias", get: true, anonymous: true,
		see: "can_see_public_alias", add: "can_add_public_alias", del: "can_add_public_alias",
		added: "public alias added", updated: "public alias updated"},
	// The page prints "private alias added" for the update as well.
	{path: "private_alias", field: metadata.PrivateAlias, bodyKey: "alias", get: true, anonymous: true,
		see: "can_see_private_alias", add: "can_add_private_alias", del: "can_add_private_alias",
		added: "private alias added", updated: "private alias added"},
	{path: "metadata/more_info", field: metadata.MoreInfo, bodyKey: "more_info",
		see: "can_see_more_info", add: "can_add_more_info", del: "can_add_more_info",
		added: "more info added", updated: "more info updated"},
	{path: "metadata/url", field: metadata.URL, bodyKey: "URL",
		see: "can_see_url", add: "can_add_url", del: "can_add_url",
		added: "url added", updated: "url updated"},
	{path: "metadata/image_url", field: metadata.ImageURL, bodyKey: "image_URL",
		see: "can_see_image_url", add: "can_add_image_url", del: "can_add_image_url",
		added: "image url added", updated: "image url updated"},
	{path: "metadata/open_corporates_url", field: metadata.OpenCorporatesURL, bodyKey: "open_corporates_URL",
		see: "can_see_open_corporates_url", add: "can_add_open_corporates_url", del: "can_add_open_corporates_url",
		added: "open corporate url added", updated: "open corporate url updated"},
	{path: "metadata/corporate_location", field: metadata.CorporateLocation, bodyKey: "corporate_location", location: true,
		see: "can_see_corporate_location", add: "can_add_corporate_location", del: "can_delete_corporate_location",
		added: "corporate location added", updated: "corporate location updated"},
	{path: "metadata/physical_location", field: metadata.PhysicalLocation, bodyKey: "physical_location", location: true,
		see: "can_see_physical_location", add: "can_add_physical_location", del: "can_delete_physical_location",
		added: "physical location added", updated: "physical location updated"},
}
