package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openagg/openagg/internal/app"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/provider/sandbox"
)

// TestGroupJourneys walks a representative journey of each API group the
// Aggregation journey does not (health, OBP 1.2, the OBP 2.x customers
// group, the transaction sync and webhook endpoints, finAPI), over real HTTP through `openagg serve`, on the embedded default
// and on the AWS drivers as `openagg setup` configures them on moto
// (DynamoDB, and SQS queues the server polls): what passes on bolt passes
// on the AWS configuration too, nothing hidden behind the embedded queue.
func TestGroupJourneys(t *testing.T) {
	for _, kind := range []string{"bolt", "aws"} {
		t.Run(kind, func(t *testing.T) {
			vars := map[string]string{"OPENAGG_SUPERADMINS": "root"}
			if kind == "aws" {
				maps.Copy(vars, setupStage(t, mototest.Endpoint(t), "g"+platform.RandomHex(4), t.TempDir()))
				dynamoJourneyStore(t, vars) // drops the table when the test ends
			} else {
				vars["OPENAGG_DATA_DIR"] = t.TempDir()
			}
			s := serveInProcess(t, vars, app.Options{})
			c := &client{t: t, bases: s.bases, http: &http.Client{Timeout: 30 * time.Second}}
			alice := s.token(t, "--sub", "alice", "--name", "Alice")
			ops := s.token(t, "--sub", "ops", "--roles", "CanManageBankDirectory")
			c.expect("GET", "/system/banks", ops, "", 202)
			waitFor(t, "the bank directory", func() (bool, string) {
				code, body := c.do("GET", "/system/banks/"+sandbox.BankDefault+"/provider/sandbox", alice, "", "")
				return code == 200, body
			})

			t.Run("health", func(t *testing.T) {
				c.t = t
				c.expect("GET", "/health", "", "", 200, `"status":"ok"`)
				c.expect("GET", "/whoami", alice, "", 200, `"sub":"alice"`, `"name":"Alice"`)
				c.expect("GET", "/whoami", "", "", 401)
				c.expect("GET", "/whoami", "x.y.z", "", 401)
			})
			t.Run("obp", func(t *testing.T) { c.t = t; obpJourney(t, c, s, alice, ops) })
			t.Run("customers", func(t *testing.T) { c.t = t; customersJourney(t, c, s, alice) })
			t.Run("sync and webhooks", func(t *testing.T) { c.t = t; syncJourney(t, c, s, alice, "obp-001") })
			t.Run("finapi", func(t *testing.T) { c.t = t; finapiJourney(t, c, alice) })
		})
	}
}

// obpJourney: a sandbox connection imported through the party, connect
// and holdings-importer path is readable through OBP 1.2 by its owner
// (granted the owner view by the import), metadata written there reads
// back, errors answer in OBP's format, and a bank whose access is
// disabled leaves the API.
func obpJourney(t *testing.T, c *client, s journeyStack, alice, ops string) {
	const party = "obp-001"
	c.expect("POST", "/party/profiles/"+party, alice, "{}", 200)
	from := s.now().AddDate(0, 0, -30).Format("02-01-2006")
	body := `{"data":{"customer_id":"GB0010001-` + party + `",` +
		`"consent":{"from_date":"` + from + `","period_days":"90","scope":["account_details","transactions_details"]},` +
		`"attempt":{"from_date":"` + from + `","period_days":"90","fetch_scope":["accounts","transactions"]}}}`
	var conn struct {
		Data struct {
			ConnectURL string `json:"connect_url"`
		} `json:"data"`
	}
	c.json("POST", "/party/profiles/"+party+"/banks/"+sandbox.BankDefault+"/connections", alice, body, 200, &conn)
	u, err := url.Parse(conn.Data.ConnectURL)
	if err != nil {
		t.Fatal(err)
	}
	c.form("/connect/sessions", url.Values{"token": {u.Query().Get("token")}, "username": {"alice"}, "password": {sandbox.Password}}, 200, `data-stage="done"`)
	c.waitImport("/party/profiles/"+party, alice, sandbox.BankDefault, time.Time{})

	bank := "/obp/v1.2/banks/" + sandbox.BankDefault
	c.expect("GET", bank, "", "", 200, `"id":"`+sandbox.BankDefault+`"`)
	var accounts struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	c.json("GET", bank+"/accounts/private", alice, "", 200, &accounts)
	if len(accounts.Accounts) == 0 {
		t.Fatal("no private accounts")
	}
	acc := bank + "/accounts/" + accounts.Accounts[0].ID
	var txs struct {
		Transactions []struct {
			ID string `json:"id"`
		} `json:"transactions"`
	}
	c.json("GET", acc+"/owner/transactions", alice, "", 200, &txs)
	if len(txs.Transactions) == 0 {
		t.Fatal("no transactions")
	}
	meta := acc + "/owner/transactions/" + url.PathEscape(txs.Transactions[0].ID) + "/metadata"
	c.expect("POST", meta+"/tags", alice, `{"value":"journey"}`, 201)
	c.expect("GET", meta+"/tags", alice, "", 200, `"value":"journey"`)
	c.expect("POST", meta+"/narrative", alice, `{"narrative":"lunch"}`, 201)
	c.expect("GET", meta+"/narrative", alice, "", 200, `"narrative":"lunch"`)
	var others struct {
		OtherAccounts []struct {
			ID string `json:"id"`
		} `json:"other_accounts"`
	}
	c.json("GET", acc+"/owner/other_accounts", alice, "", 200, &others)
	if len(others.OtherAccounts) == 0 {
		t.Fatal("no other accounts")
	}
	c.expect("GET", acc+"/owner/other_accounts/"+others.OtherAccounts[0].ID, alice, "", 200)
	c.expect("GET", acc+"/permissions/alice", alice, "", 200, `"id":"owner"`)
	c.expect("GET", acc+"/owner/account", "", "", 401, `"message":"OBP-20001: `)
	c.expect("GET", "/obp/v1.2/nothing/here", "", "", 404, `"message":"OBP-10404: `)
	access := "/system/bank/" + sandbox.BankDefault + "/access"
	c.expect("PUT", access, ops, `{"setAccess":"No"}`, 200)
	c.expect("GET", acc+"/owner/account", alice, "", 404, `"message":"OBP-30001: `)
	c.expect("PUT", access, ops, `{"setAccess":"Yes"}`, 200)
	c.expect("GET", acc+"/owner/account", alice, "", 200)
}

// customersJourney: a super admin grants roles through the OBP 2.0.0
// entitlements, a stored role counts on the next request (the system
// group's check), a customer is created and linked to its user with bank
// roles (one customer per user at a bank), the user lists it, and a
// deleted entitlement takes the role away.
func customersJourney(t *testing.T, c *client, s journeyStack, alice string) {
	root := s.token(t, "--sub", "root")
	access := "/system/bank/" + sandbox.BankDefault + "/access"
	c.expect("PUT", access, alice, `{"setAccess":"Yes"}`, 403)
	grant := `{"bank_id":"","role_name":"CanManageBankDirectory"}`
	c.expect("POST", "/obp/v2.0.0/users/alice/entitlements", alice, grant, 403, "OBP-20006")
	var ent struct {
		ID string `json:"entitlement_id"`
	}
	c.json("POST", "/obp/v2.0.0/users/alice/entitlements", root, grant, 201, &ent)
	c.expect("PUT", access, alice, `{"setAccess":"Yes"}`, 200)
	for _, role := range []string{"CanCreateCustomer", "CanCreateUserCustomerLink"} {
		c.expect("POST", "/obp/v2.1.0/users/alice/entitlements", root, `{"bank_id":"`+sandbox.BankDefault+`","role_name":"`+role+`"}`, 201)
	}
	c.expect("POST", "/obp/v2.1.0/users/alice/entitlements", root, `{"bank_id":"no_such_bank","role_name":"CanCreateCustomer"}`, 404, "OBP-30001")
	list := c.expect("GET", "/obp/v2.0.0/users/alice/entitlements", alice, "", 200)
	if n := strings.Count(list, "entitlement_id"); n != 3 {
		t.Fatalf("%d entitlements listed: %s", n, list)
	}

	customer := `{"user_id":"","customer_number":"journey-1","legal_name":"Alice Journey","mobile_phone_number":"+44 7000 000000",` +
		`"email":"alice@example.com","face_image":{"url":"https://example.com/a.png","date":"2026-01-02T03:04:05Z"},` +
		`"date_of_birth":"1990-01-02T00:00:00Z","relationship_status":"single","dependants":0,"dob_of_dependants":[],` +
		`"credit_rating":{"rating":"A","source":"journey"},"credit_limit":{"currency":"GBP","amount":"1000.00"},` +
		`"highest_education_attained":"Master","employment_status":"worker","kyc_status":true,"last_ok_date":"2026-01-02T03:04:05Z"}`
	customers := "/obp/v2.1.0/banks/" + sandbox.BankDefault + "/customers"
	var created struct {
		ID string `json:"customer_id"`
	}
	c.json("POST", customers, alice, customer, 201, &created)
	if code, body := c.do("POST", customers, alice, "application/json", customer); code < 400 || !strings.Contains(body, "OBP-") {
		t.Fatalf("a second customer with the same number: %d %s", code, body)
	}
	// Created without a user id, the customer is linked to its creator;
	// one user, one customer at a bank (a conditional write).
	c.expect("POST", "/obp/v2.1.0/banks/"+sandbox.BankDefault+"/user_customer_links", alice, `{"user_id":"alice","customer_id":"`+created.ID+`"}`, 400, "OBP-30007")
	c.expect("GET", "/obp/v2.1.0/users/current/customers", alice, "", 200, created.ID, `"customer_number":"journey-1"`)

	c.expect("DELETE", "/obp/v2.0.0/users/alice/entitlement/"+ent.ID, root, "", 204)
	c.expect("PUT", access, alice, `{"setAccess":"Yes"}`, 403)
	c.expect("GET", "/obp/v2.1.0/nope", alice, "", 404, `"message":"OBP-10404: `)
}

// syncJourney: the transaction sync of the party obpJourney imported reads
// every transaction once over its cursor, a cursor at the end reads
// nothing new, and a webhook endpoint is registered (its secret shown
// once), listed and removed.
func syncJourney(t *testing.T, c *client, s journeyStack, alice, party string) {
	type page struct {
		Added      []struct{ ID, AccountID string } `json:"added"`
		Modified   []json.RawMessage                `json:"modified"`
		Removed    []json.RawMessage                `json:"removed"`
		NextCursor string                           `json:"next_cursor"`
		HasMore    bool                             `json:"has_more"`
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var p page
		c.json("GET", "/holdings/profiles/"+party+"/transactions/sync?count=40&cursor="+url.QueryEscape(cursor), alice, "", 200, &p)
		for _, a := range p.Added {
			if seen[a.AccountID+"/"+a.ID] {
				t.Fatalf("transaction %s added twice", a.ID)
			}
			seen[a.AccountID+"/"+a.ID] = true
		}
		cursor = p.NextCursor
		if !p.HasMore {
			break
		}
		if pages > 100 {
			t.Fatal("the sync does not end")
		}
	}
	if len(seen) == 0 {
		t.Fatal("the sync added nothing")
	}
	var last page
	c.json("GET", "/holdings/profiles/"+party+"/transactions/sync?cursor="+url.QueryEscape(cursor), alice, "", 200, &last)
	if len(last.Added)+len(last.Modified)+len(last.Removed) != 0 || last.HasMore {
		t.Fatalf("a cursor at the end read more: %+v", last)
	}
	c.expect("GET", "/holdings/profiles/"+party+"/transactions/sync?count=501", alice, "", 400)
	c.expect("GET", "/holdings/profiles/"+party+"/transactions/sync", s.token(t, "--sub", "mallory"), "", 403)

	hooks := s.token(t, "--sub", "hooks", "--roles", "CanManageWebhooks")
	c.expect("PUT", "/system/webhooks/journey", hooks, `{"url":"https://93.184.215.14/openagg","events":["import.completed"]}`, 201, `"secret":"whsec_`)
	if body := c.expect("GET", "/system/webhooks/journey", hooks, "", 200, `"url":"https://93.184.215.14/openagg"`); strings.Contains(body, "whsec_") {
		t.Fatalf("the secret is shown again: %s", body)
	}
	c.expect("GET", "/system/webhooks", hooks, "", 200, `"journey"`)
	c.expect("PUT", "/system/webhooks/journey", alice, `{"url":"https://93.184.215.14/x","events":["import.completed"]}`, 403)
	c.expect("DELETE", "/system/webhooks/journey", hooks, "", 204)
	c.expect("GET", "/system/webhooks/journey", hooks, "", 404)
}

// finapiJourney: a finAPI client imports the demo bank; the import answers
// before the download ends, the holdings workers download and categorize
// (on SQS with the AWS drivers), and the connection, its account, its
// transactions and their categories read back; errors answer in finAPI's
// format.
func finapiJourney(t *testing.T, c *client, alice string) {
	var banks struct {
		Banks []struct {
			ID  int64  `json:"id"`
			BLZ string `json:"blz"`
		} `json:"banks"`
	}
	c.json("GET", "/api/v1/banks?search=00000000", alice, "", 200, &banks)
	if len(banks.Banks) != 1 || banks.Banks[0].BLZ != "00000000" {
		t.Fatalf("demo bank: %+v", banks)
	}
	var conn struct {
		ID           int64  `json:"id"`
		UpdateStatus string `json:"updateStatus"`
	}
	c.json("POST", "/api/v1/bankConnections/import", alice, fmt.Sprintf(`{"bankId":%d,"name":"Demo"}`, banks.Banks[0].ID), 201, &conn)
	if conn.UpdateStatus != "IN_PROGRESS" {
		t.Fatalf("the import answered %+v", conn)
	}
	path := fmt.Sprintf("/api/v1/bankConnections/%d", conn.ID)
	waitFor(t, "the demo import and its categorization", func() (bool, string) {
		code, body := c.do("GET", path, alice, "", "")
		return code == 200 && strings.Contains(body, `"updateStatus":"READY"`) && strings.Contains(body, `"categorizationStatus":"READY"`), body
	})
	var accounts struct {
		Accounts []struct {
			ID int64 `json:"id"`
		} `json:"accounts"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/accounts?bankConnectionIds=%d", conn.ID), alice, "", 200, &accounts)
	if len(accounts.Accounts) != 1 {
		t.Fatalf("accounts of the demo connection: %+v", accounts)
	}
	var txs struct {
		Transactions []struct {
			ID       int64 `json:"id"`
			Category *struct {
				ID int64 `json:"id"`
			} `json:"category"`
		} `json:"transactions"`
	}
	c.json("GET", fmt.Sprintf("/api/v1/transactions?view=userView&accountIds=%d&perPage=500", accounts.Accounts[0].ID), alice, "", 200, &txs)
	categorized := 0
	for _, tx := range txs.Transactions {
		if tx.Category != nil {
			categorized++
		}
	}
	if len(txs.Transactions) == 0 || categorized == 0 {
		t.Fatalf("demo transactions: %d, %d categorized", len(txs.Transactions), categorized)
	}
	c.expect("GET", fmt.Sprintf("/api/v1/transactions/%d", txs.Transactions[0].ID), alice, "", 200)
	c.expect("GET", "/api/v1/categories", alice, "", 200, `"paging"`)
	c.expect("GET", "/api/v1/bankConnections/987654321", alice, "", 404, `"code":"UNKNOWN_ENTITY"`)
	c.expect("GET", path, "", "", 401)
	c.expect("DELETE", path, alice, "", 200)
	c.expect("GET", path, alice, "", 404)
}
