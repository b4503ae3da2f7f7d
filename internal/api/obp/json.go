package obp

import (
	"github.com/openagg/openagg/internal/view"
)

// Wire types of OBP 1.2 (shared/reference/obp-api-v1.2.txt). Pointer and
// slice fields without omitempty render JSON null when hidden or missing
// (OBP 1.2: "its value will be null").

type rootJSON struct {
	Version   string       `json:"version"`
	GitCommit string       `json:"git_commit"`
	HostedBy  hostedByJSON `json:"hosted_by"`
}

type hostedByJSON struct {
	Organisation *string `json:"organisation"`
	Email        *string `json:"email"`
	Phone        *string `json:"phone"`
}

type bankJSON struct {
	ID        string  `json:"id"`
	ShortName *string `json:"short_name"`
	FullName  *string `json:"full_name"`
	Logo      *string `json:"logo"`
	Website   *string `json:"website"`
}

type banksJSON struct {
	Banks []bankJSON `json:"banks"`
}

type accountSummaryJSON struct {
	ID             string      `json:"id"`
	Label          *string     `json:"label"`
	ViewsAvailable []view.View `json:"views_available"`
	BankID         string      `json:"bank_id"`
}

type accountsJSON struct {
	Accounts []accountSummaryJSON `json:"accounts"`
}

type amountJSON struct {
	Currency *string `json:"currency"`
	Amount   *string `json:"amount"`
}

type accountJSON struct {
	ID             string      `json:"id"`
	Label          *string     `json:"label"`
	Number         *string     `json:"number"`
	Owners         []view.User `json:"owners"`
	Type           *string     `json:"type"`
	Balance        *amountJSON `json:"balance"`
	IBAN           *string     `json:"IBAN"`
	ViewsAvailable []view.View `json:"views_available"`
	BankID         string      `json:"bank_id"`
}

type viewsJSON struct {
	Views []view.View `json:"views"`
}

type permissionJSON struct {
	User  view.User   `json:"user"`
	Views []view.View `json:"views"`
}

type permissionsJSON struct {
	Permissions []permissionJSON `json:"permissions"`
}

type holderJSON struct {
	Name    string `json:"name"`
	IsAlias bool   `json:"is_alias"`
}

type bankRefJSON struct {
	NationalIdentifier *string `json:"national_identifier"`
	Name               *string `json:"name"`
}

type locationJSON struct {
	Latitude  float64   `json:"latitude"`
	Longitude float64   `json:"longitude"`
	Date      string    `json:"date"`
	User      view.User `json:"user"`
}

type otherAccountMetadataJSON struct {
	PublicAlias       *string       `json:"public_alias"`
	PrivateAlias      *string       `json:"private_alias"`
	MoreInfo          *string       `json:"more_info"`
	URL               *string       `json:"URL"`
	ImageURL          *string       `json:"image_URL"`
	OpenCorporatesURL *string       `json:"open_corporates_URL"`
	CorporateLocation *locationJSON `json:"corporate_location"`
	PhysicalLocation  *locationJSON `json:"physical_location"`
}

type otherAccountJSON struct {
	ID       string                    `json:"id"`
	Holder   holderJSON                `json:"holder"`
	Number   *string                   `json:"number"`
	Kind     *string                   `json:"kind"`
	IBAN     *string                   `json:"IBAN"`
	Bank     *bankRefJSON              `json:"bank"`
	Metadata *otherAccountMetadataJSON `json:"metadata"`
}

type otherAccountsJSON struct {
	OtherAccounts []otherAccountJSON `json:"other_accounts"`
}

type thisAccountJSON struct {
	ID      string       `json:"id"`
	Holders []holderJSON `json:"holders"`
	Number  *string      `json:"number"`
	Kind    *string      `json:"kind"`
	IBAN    *string      `json:"IBAN"`
	Bank    *bankRefJSON `json:"bank"`
}

type detailsJSON struct {
	Type       *string     `json:"type"`
	Label      *string     `json:"label"`
	Posted     *string     `json:"posted"`
	Completed  *string     `json:"completed"`
	NewBalance *amountJSON `json:"new_balance"`
	Value      *amountJSON `json:"value"`
}

type commentJSON struct {
	ID    string    `json:"id"`
	Value string    `json:"value"`
	Date  string    `json:"date"`
	User  view.User `json:"user"`
}

type tagJSON = commentJSON

type imageJSON struct {
	ID    string    `json:"id"`
	Label string    `json:"label"`
	URL   string    `json:"URL"`
	Date  string    `json:"date"`
	User  view.User `json:"user"`
}

type txMetadataJSON struct {
	Narrative *string       `json:"narrative"`
	Comments  []commentJSON `json:"comments"`
	Tags      []tagJSON     `json:"tags"`
	Images    []imageJSON   `json:"images"`
	Where     *locationJSON `json:"where"`
}

type transactionJSON struct {
	UUID         string            `json:"uuid"`
	ID           string            `json:"id"`
	ThisAccount  *thisAccountJSON  `json:"this_account"`
	OtherAccount *otherAccountJSON `json:"other_account"`
	Details      *detailsJSON      `json:"details"`
	Metadata     *txMetadataJSON   `json:"metadata"`
}

type transactionsJSON struct {
	Transactions []transactionJSON `json:"transactions"`
}

// Metadata endpoint bodies.

type narrativeJSON struct {
	Narrative *string `json:"narrative"`
}

type commentsJSON struct {
	Comments []commentJSON `json:"comments"`
}

type tagsJSON struct {
	Tags []tagJSON `json:"tags"`
}

type imagesJSON struct {
	Images []imageJSON `json:"images"`
}

type whereJSON struct {
	Where *locationJSON `json:"where"`
}

type aliasJSON struct {
	Alias *string `json:"alias"`
}

type successJSON struct {
	Success string `json:"success"`
}
