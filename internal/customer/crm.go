package customer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/store"
)

// Event is a CRM event of a customer: something that happened between the
// customer's linked user and the bank, recorded from the activity the
// connection and holdings domains report (Record).
type Event struct {
	ID             string    `json:"id"`
	BankID         string    `json:"bankId"`
	CustomerID     string    `json:"customerId"`
	CustomerName   string    `json:"customerName"`
	CustomerNumber string    `json:"customerNumber"`
	Category       string    `json:"category"`
	Detail         string    `json:"detail"`
	Channel        string    `json:"channel"`
	Result         string    `json:"result"`
	Scheduled      time.Time `json:"scheduledDate"`
	Actual         time.Time `json:"actualDate"`
	// Kind, UserID and PartyID say which activity the event came from.
	Kind    string `json:"kind"`
	UserID  string `json:"userId"`
	PartyID string `json:"partyId,omitempty"`
}

// Categories of CRM events, by activity kind (the CRM's words for them).
var categories = map[activity.Kind]string{
	activity.ConnectionCreated:   "Connection created",
	activity.ConnectionActivated: "Connection activated",
	activity.ConnectionFailed:    "Connection failed",
	activity.ConnectionRefreshed: "Connection refreshed",
	activity.ConnectionRemoved:   "Connection removed",
	activity.ImportCompleted:     "Import completed",
	activity.ImportFailed:        "Import failed",
	activity.ConsentExpiring:     "Consent expiring",
}

// Category is the CRM category of an activity kind.
func Category(k activity.Kind) string {
	if c, ok := categories[k]; ok {
		return c
	}
	return string(k)
}

// maxEventsPerRecord bounds the customers one activity is recorded for
// (a transaction holds 100 writes, one is the user record).
const maxEventsPerRecord = store.MaxTransactItems - 1

// Record is the activity sink: it records e as a CRM event of every
// customer linked to e's user at e's bank, and notes that OpenAgg has seen
// the user (their user record, written once). Store calls: one BatchGet
// (the user's record and link list at the bank), one write (a Put, or a
// transaction for several customers) when there is something to write.
// The event's key makes a repeated report one event. Transaction change
// notices (activity.TransactionsChanged) are not recorded.
func (s *Service) Record(ctx context.Context, e activity.Event) error {
	if !auth.ValidUserID(e.UserID) || e.BankCode == "" || len(e.BankCode) > 255 {
		return nil
	}
	if e.Kind == activity.TransactionsChanged {
		// Bookkeeping of the transaction change log (for webhooks), not
		// something that happened between the customer and the bank.
		return nil
	}
	at := e.At.UTC()
	if at.IsZero() {
		at = s.now()
	}
	scheduled := e.Scheduled.UTC()
	if scheduled.IsZero() {
		scheduled = at
	}
	key := e.Key
	if key == "" {
		key = platform.NewID()
	}
	for range maxAttempts {
		items, err := s.store.BatchGet(ctx, []store.Key{UserKey(e.UserID), LinkSetKey(e.UserID, e.BankCode)})
		if err != nil {
			return fmt.Errorf("record %s of %s at %s: %w", e.Kind, e.UserID, e.BankCode, err)
		}
		r := read{items: map[store.Key]store.Item{}}
		for _, it := range items {
			r.items[it.Key()] = it
		}
		set, err := r.linkSet(e.UserID, e.BankCode)
		if err != nil {
			return err
		}
		var ops []store.TxOp
		for i, l := range set.Customers {
			if i == maxEventsPerRecord {
				s.log().WarnContext(ctx, "activity recorded for the first customers only", "user", e.UserID, "bank", e.BankCode, "customers", len(set.Customers))
				break
			}
			ev := Event{
				ID: platform.DeterministicID("crm", key, l.CustomerID), BankID: e.BankCode, CustomerID: l.CustomerID,
				CustomerName: l.LegalName, CustomerNumber: l.Number,
				Category: Category(e.Kind), Detail: e.Detail, Channel: e.Channel, Result: e.Result,
				Scheduled: scheduled, Actual: at, Kind: string(e.Kind), UserID: e.UserID, PartyID: e.PartyID,
			}
			it, err := encode(EventKey(l.CustomerID, at, ev.ID), ev)
			if err != nil {
				return err
			}
			it.GSI1PK, it.GSI1SK = EventGSI1PK(e.BankCode), EventGSI1SK(at, ev.ID)
			ops = append(ops, store.TxPut(it, store.Condition{}))
		}
		if !r.has(UserKey(e.UserID)) {
			uit, err := encode(UserKey(e.UserID), userRecord{UserID: e.UserID, Since: at, Via: string(e.Kind)})
			if err != nil {
				return err
			}
			ops = append(ops, store.TxPut(uit, store.IfNotExists()))
		}
		switch len(ops) {
		case 0:
			return nil
		case 1:
			err = s.store.Put(ctx, *ops[0].Put, ops[0].Cond)
		default:
			err = s.store.Transact(ctx, ops)
		}
		if errors.Is(err, store.ErrConditionFailed) {
			continue // the user record was written meanwhile
		}
		if err != nil {
			return fmt.Errorf("record %s of %s at %s: %w", e.Kind, e.UserID, e.BankCode, err)
		}
		return nil
	}
	return fmt.Errorf("record %s of %s at %s: the user's record changed %d times", e.Kind, e.UserID, e.BankCode, maxAttempts)
}

// Page selects a page of a list: Limit items after the first Offset.
type Page struct {
	Limit  int
	Offset int
}

// MaxRead bounds the events one request reads (Offset + Limit).
const MaxRead = 10_500

// Events lists the CRM events at bankID the caller may see, newest first:
// every customer's for a holder of CanGetCustomersAtOneBank (at that bank)
// or CanGetCustomersAtAnyBank, else those of the customers linked to the
// caller there. Store calls: one BatchGet (the bank and the caller's link
// list there) and, when the token lacks the roles, the stored roles (one
// query, concurrently: one round trip for both); then one query of the
// bank's events index, or of each linked customer's events (one per
// 1,000 events of offset + limit).
func (s *Service) Events(ctx context.Context, p auth.Principal, bankID string, pg Page) ([]Event, error) {
	if pg.Limit <= 0 || pg.Offset < 0 || pg.Offset+pg.Limit > MaxRead {
		return nil, fault.Errorf(ErrInvalid, "a page of events is 1 or more after an offset of 0 or more, at most %d in all", MaxRead)
	}
	type rolesAnswer struct {
		all bool
		err error
	}
	var roles chan rolesAnswer
	all := meets(p, nil, bankID, allEventsRoles)
	if !all {
		roles = make(chan rolesAnswer, 1)
		go func() {
			ok, err := s.holds(ctx, p, bankID, allEventsRoles)
			roles <- rolesAnswer{ok, err}
		}()
	}
	r, rerr := s.read(ctx, bankID, LinkSetKey(p.Subject, bankID))
	if roles != nil {
		ans := <-roles
		if ans.err != nil && rerr == nil {
			rerr = ans.err
		}
		all = ans.all
	}
	if rerr != nil {
		return nil, rerr
	}
	if err := r.bankErr(bankID); err != nil {
		return nil, err
	}
	n := pg.Offset + pg.Limit
	var evs []Event
	if all {
		var err error
		evs, err = s.newest(ctx, store.Query{Index: store.IndexGSI1, PK: EventGSI1PK(bankID), Desc: true}, n)
		if err != nil {
			return nil, err
		}
	} else {
		set, err := r.linkSet(p.Subject, bankID)
		if err != nil {
			return nil, err
		}
		for _, l := range set.Customers {
			got, err := s.newest(ctx, store.Query{PK: CustomerPK(l.CustomerID), SKPrefix: eventSKPrefix, Desc: true}, n)
			if err != nil {
				return nil, err
			}
			evs = append(evs, got...)
		}
		if len(set.Customers) > 1 {
			sortEvents(evs)
		}
	}
	if pg.Offset >= len(evs) {
		return []Event{}, nil
	}
	return evs[pg.Offset:min(len(evs), n)], nil
}

// newest reads up to n events of a query, in its order.
func (s *Service) newest(ctx context.Context, q store.Query, n int) ([]Event, error) {
	out := make([]Event, 0, min(n, 1000))
	for len(out) < n {
		q.Limit = min(n-len(out), 1000)
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list CRM events %s: %w", strings.TrimSpace(q.Index+" "+q.PK), err)
		}
		for _, it := range page.Items {
			ev, err := decode[Event](it)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}
	return out, nil
}
