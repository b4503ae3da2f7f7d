package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/openagg/openagg/internal/authn"
	"github.com/openagg/openagg/internal/bank"
	"github.com/openagg/openagg/internal/bankconn"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/platform/mototest"
	"github.com/openagg/openagg/internal/store"
)

// TestFinAPIPINsSealedByKMS: with OPENAGG_KMS_KEY_ID the finAPI group
// seals stored PINs by KMS envelope encryption (moto's KMS here) and opens
// them for an update; no local credentials key exists.
func TestFinAPIPINsSealedByKMS(t *testing.T) {
	endpoint := mototest.Endpoint(t)
	t.Setenv("AWS_ENDPOINT_URL_KMS", endpoint)
	ctx := context.Background()
	c, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := kms.NewFromConfig(c).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("finapi app test")})
	if err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, "OPENAGG_KMS_KEY_ID", aws.ToString(key.KeyMetadata.KeyId), "AWS_REGION", "us-east-1")
	if a.CredentialsKey != nil {
		t.Fatal("a local credentials key with KMS configured")
	}
	keys, err := a.Keyring()
	if _, ok := keys.(*credential.KMS); !ok || err != nil {
		t.Fatalf("keyring %T %v", keys, err)
	}
	h, err := a.HandlerFor(GroupNames())
	if err != nil {
		t.Fatal(err)
	}
	h = checked(t, h)
	admin := token(t, a, authn.Claims{Sub: "admin", Roles: []string{bank.RoleManageDirectory}})
	if code, body := serve(h, http.MethodGet, "/system/banks", admin, "", ""); code != http.StatusAccepted {
		t.Fatalf("load directory: %d %s", code, body)
	}
	drain(t, a)
	alice := token(t, a, authn.Claims{Sub: "alice"})
	code, body := serve(h, http.MethodGet, "/api/v1/banks?isSupported=true&search=Sandbox%20Bank%20UK", alice, "", "")
	id, _, _ := strings.Cut(strings.TrimPrefix(body, `{"banks":[{"id":`), ",")
	if code != http.StatusOK || id == "" {
		t.Fatalf("bank: %d %s", code, body)
	}
	code, body = serve(h, http.MethodPost, "/api/v1/bankConnections/import", alice, "application/json",
		fmt.Sprintf(`{"bankId":%s,"bankingUserId":"max","bankingPin":"secret","storePin":true}`, id))
	if code != http.StatusCreated || !strings.Contains(body, `"bankingPin":"XXXXXX"`) {
		t.Fatalf("import: %d %s", code, body)
	}
	drain(t, a)
	page, err := a.Store.Query(ctx, store.Query{PK: holdings.PartyPK(bankconn.PartyID("alice")), SKPrefix: "FINAPI#CONN#"})
	if err != nil || len(page.Items) != 1 || !strings.Contains(string(page.Items[0].Data), `"pin":{"scheme":"kms"`) {
		t.Fatalf("stored record: %v %+v", err, page.Items)
	}
	// The update logs in with the stored PIN: KMS opens it.
	if code, body := serve(h, http.MethodPost, "/api/v1/bankConnections/update", alice, "application/json", `{"bankConnectionId":1}`); code != http.StatusOK {
		t.Fatalf("update with the stored PIN: %d %s", code, body)
	}
	drain(t, a)
}
