package obp

import (
	"time"

	"github.com/openagg/openagg/internal/holdings"
	"github.com/openagg/openagg/internal/metadata"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/view"
)

// Moderation: the one place where a view turns stored data into OBP JSON.
// Every can_see_* flag maps to a field that is the value or null; the one
// exception is a holder, which always carries a name (the real one or an
// alias, per which_alias_to_use) with is_alias saying which
// (OBP 1.2, "How views work").

// str is s as a JSON string, or null when empty.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// shown is s when the view may see it, else null.
func shown(can bool, s string) *string {
	if !can {
		return nil
	}
	return str(s)
}

// obpTime renders a time the way OBP 1.2 does: UTC with milliseconds.
func obpTime(t time.Time) string { return holdings.SortTime(t) }

func shownTime(can bool, t time.Time) *string {
	if !can || t.IsZero() {
		return nil
	}
	s := obpTime(t)
	return &s
}

func location(l *metadata.Location) *locationJSON {
	if l == nil {
		return nil
	}
	return &locationJSON{Latitude: l.Latitude, Longitude: l.Longitude, Date: obpTime(l.Date), User: l.User}
}

// moderateAccount is GET .../VIEW_ID/account.
func moderateAccount(v view.View, acc holdings.Account, acl view.ACL, available []view.View) accountJSON {
	out := accountJSON{
		ID:             acc.ID,
		Label:          shown(v.CanSeeBankAccountLabel, acc.Name),
		Number:         shown(v.CanSeeBankAccountNumber, acc.Number),
		Type:           shown(v.CanSeeBankAccountType, acc.Nature),
		IBAN:           shown(v.CanSeeBankAccountIBAN, acc.IBAN),
		ViewsAvailable: nonNilViews(available),
		BankID:         acc.BankCode,
	}
	if v.CanSeeBankAccountOwners {
		out.Owners = append([]view.User{}, acl.Owners()...)
	}
	if v.CanSeeBankAccountBalance || v.CanSeeBankAccountCurrency {
		out.Balance = &amountJSON{
			Currency: shown(v.CanSeeBankAccountCurrency, acc.Currency),
			Amount:   shown(v.CanSeeBankAccountBalance, holdings.Amount(acc.Balance, acc.Currency)),
		}
	}
	return out
}

func nonNilViews(vs []view.View) []view.View {
	if vs == nil {
		return []view.View{}
	}
	return vs
}

// holder picks the name a view shows for an other account: its public or
// private alias when the view uses one and it is set, else the real name.
func holder(v view.View, real string, meta metadata.Resolved) (h holderJSON, aliasUsed bool) {
	switch v.WhichAliasToUse {
	case view.AliasPublic:
		if meta.PublicAlias != "" {
			return holderJSON{Name: meta.PublicAlias, IsAlias: true}, true
		}
	case view.AliasPrivate:
		// The page's note says "private: to use the public alias" — a
		// copy-paste slip; OBP-API uses the private alias.
		if meta.PrivateAlias != "" {
			return holderJSON{Name: meta.PrivateAlias, IsAlias: true}, true
		}
	}
	return holderJSON{Name: real}, false
}

// moderateOtherAccountMetadata is the metadata object of an other account,
// null when the view may not see other-account metadata.
func moderateOtherAccountMetadata(v view.View, m metadata.Resolved) *otherAccountMetadataJSON {
	if !v.CanSeeOtherAccountMetadata {
		return nil
	}
	out := &otherAccountMetadataJSON{
		PublicAlias:       shown(v.CanSeePublicAlias, m.PublicAlias),
		PrivateAlias:      shown(v.CanSeePrivateAlias, m.PrivateAlias),
		MoreInfo:          shown(v.CanSeeMoreInfo, m.MoreInfo),
		URL:               shown(v.CanSeeURL, m.URL),
		ImageURL:          shown(v.CanSeeImageURL, m.ImageURL),
		OpenCorporatesURL: shown(v.CanSeeOpenCorporatesURL, m.OpenCorporatesURL),
	}
	if v.CanSeeCorporateLocation {
		out.CorporateLocation = location(m.CorporateLocation)
	}
	if v.CanSeePhysicalLocation {
		out.PhysicalLocation = location(m.PhysicalLocation)
	}
	return out
}

// moderateOtherAccount is an other account as a view shows it.
func moderateOtherAccount(v view.View, o metadata.OtherAccount, m metadata.Resolved) otherAccountJSON {
	h, aliasUsed := holder(v, o.Name, m)
	out := otherAccountJSON{
		ID:     o.ID,
		Holder: h,
		Number: nil, // the providers give no counterparty account number
		Kind:   nil, // nor its kind
		IBAN:   shown(v.CanSeeOtherAccountIBAN, o.IBAN),
	}
	if v.CanSeeOtherAccountNationalIdentifier || v.CanSeeOtherAccountBankName {
		out.Bank = &bankRefJSON{} // the counterparty's bank is not known
	}
	if !(aliasUsed && v.HideMetadataIfAliasUsed) {
		out.Metadata = moderateOtherAccountMetadata(v, m)
	}
	return out
}

// moderateTransaction is a transaction as a view shows it; txm is the
// transaction's metadata on that view (nil: none). Lists serve it from
// renderings cached by their inputs (txrender.go): whatever it reads must
// come from these arguments, and a new input must join the cache's key.
func moderateTransaction(v view.View, acc holdings.Account, tx holdings.Transaction, oa metadata.OADoc, txm *metadata.TxMeta) transactionJSON {
	out := transactionJSON{UUID: txUUID(acc.ID, tx.ID), ID: tx.ID}
	if v.CanSeeTransactionThisBankAccount {
		holderName := acc.HolderName
		if holderName == "" {
			holderName = acc.Name
		}
		this := &thisAccountJSON{
			ID:      acc.ID,
			Holders: []holderJSON{{Name: holderName}},
			Number:  shown(v.CanSeeBankAccountNumber, acc.Number),
			Kind:    shown(v.CanSeeBankAccountType, acc.Nature),
			IBAN:    shown(v.CanSeeBankAccountIBAN, acc.IBAN),
		}
		if v.CanSeeBankAccountNationalIdentifier || v.CanSeeBankAccountBankName {
			this.Bank = &bankRefJSON{
				NationalIdentifier: shown(v.CanSeeBankAccountNationalIdentifier, acc.BankCode),
				Name:               shown(v.CanSeeBankAccountBankName, acc.BankName),
			}
		}
		out.ThisAccount = this
	}
	if o, ok := metadata.OtherAccountOf(tx); ok && v.CanSeeTransactionOtherBankAccount {
		other := moderateOtherAccount(v, o, oa.Of(o.ID))
		out.OtherAccount = &other
	}
	out.Details = moderateDetails(v, tx)
	out.Metadata = moderateTxMetadata(v, txm)
	return out
}

func moderateDetails(v view.View, tx holdings.Transaction) *detailsJSON {
	kind := tx.Mode
	if kind == "" {
		kind = tx.Category
	}
	d := &detailsJSON{
		Type:      shown(v.CanSeeTransactionType, kind),
		Label:     shown(v.CanSeeTransactionLabel, tx.Description),
		Posted:    shownTime(v.CanSeeTransactionStartDate, tx.MadeOn),
		Completed: shownTime(v.CanSeeTransactionFinishDate, tx.Completed()),
	}
	if v.CanSeeTransactionAmount || v.CanSeeTransactionCurrency {
		d.Value = &amountJSON{
			Currency: shown(v.CanSeeTransactionCurrency, tx.Currency),
			Amount:   shown(v.CanSeeTransactionAmount, holdings.Amount(tx.Amount, tx.Currency)),
		}
	}
	// new_balance: the balance after the transaction for a view that may
	// see balances; a view that sees amounts but not balances sees only the
	// balance's sign ("+"/"-", OBP 1.2: "depending on the view, this might
	// show the balance or only +/-").
	if tx.BalanceAfter != nil && (v.CanSeeTransactionBalance || v.CanSeeTransactionAmount || v.CanSeeTransactionCurrency) {
		nb := &amountJSON{Currency: shown(v.CanSeeTransactionCurrency, tx.Currency)}
		switch {
		case v.CanSeeTransactionBalance:
			nb.Amount = str(holdings.Amount(*tx.BalanceAfter, tx.Currency))
		case v.CanSeeTransactionAmount:
			sign := "+"
			if tx.BalanceAfter.IsNegative() {
				sign = "-"
			}
			nb.Amount = &sign
		}
		d.NewBalance = nb
	}
	return d
}

func moderateTxMetadata(v view.View, m *metadata.TxMeta) *txMetadataJSON {
	if !v.CanSeeTransactionMetadata {
		return nil
	}
	if m == nil {
		m = &metadata.TxMeta{}
	}
	out := &txMetadataJSON{}
	if v.CanSeeNarrative {
		out.Narrative = str(m.Narrative)
	}
	if v.CanSeeComments {
		out.Comments = comments(m.Comments)
	}
	if v.CanSeeTags {
		out.Tags = tags(m.Tags)
	}
	if v.CanSeeImages {
		out.Images = images(m.Images)
	}
	if v.CanSeeWhereTag {
		out.Where = location(m.Where)
	}
	return out
}

func comments(cs []metadata.Comment) []commentJSON {
	out := make([]commentJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, commentJSON{ID: c.ID, Value: c.Value, Date: obpTime(c.Date), User: c.User})
	}
	return out
}

func tags(ts []metadata.Tag) []tagJSON {
	out := make([]tagJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, tagJSON{ID: t.ID, Value: t.Value, Date: obpTime(t.Date), User: t.User})
	}
	return out
}

func images(is []metadata.Image) []imageJSON {
	out := make([]imageJSON, 0, len(is))
	for _, i := range is {
		out = append(out, imageJSON{ID: i.ID, Label: i.Label, URL: i.URL, Date: obpTime(i.Date), User: i.User})
	}
	return out
}

// txUUID is OBP's "uuid": a stable UUID-shaped id of the transaction.
func txUUID(accountID, txID string) string {
	h := platform.DeterministicID("obp-tx", accountID, txID)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
