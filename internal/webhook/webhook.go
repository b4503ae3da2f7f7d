// Package webhook is the endpoints a client registers to be told what
// happens (Standard Webhooks: signed, at least once), and their delivery.
//
// An endpoint is system configuration: a name, an https URL of a public
// address, the event types it wants and a signing secret (returned once, at
// creation; kept sealed with the credentials keyring, as finAPI PINs are).
// Events come from the activity the connection and holdings domains report
// (internal/activity): the activity-recorder worker hands each to Dispatch,
// which queues one delivery per subscribed endpoint on queue.Webhooks; the
// webhooks worker (HandleJob) posts it, records the attempt, and on a
// failure queues the next attempt with exponential backoff for at least
// RetryFor. The message id (webhook-id) derives from the activity's key and
// the endpoint, so a redelivered activity or delivery job sends the same
// id: receivers recognise duplicates.
//
// Storage (docs/data-model.md, "Webhooks"):
//
//	endpoint  PK=WEBHOOKS            SK=EP#<name>                         versioned
//	attempt   PK=WHDLV#<endpointId>  SK=<at>#<messageId>#<attempt, 2 digits>   TTL 30 days
//
// This package knows nothing of HTTP: the Transport port checks URLs and
// posts (internal/webhook/outbound is the guarded HTTP client).
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openagg/openagg/internal/activity"
	"github.com/openagg/openagg/internal/credential"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/queue"
	"github.com/openagg/openagg/internal/store"
)

// RoleManage lets a user register, read and remove webhook endpoints.
const RoleManage = "CanManageWebhooks"

// Limits of an endpoint's name and URL.
const (
	MaxNameLength = 64
	MaxURLLength  = 2048
)

// JobDeliver is the queue.Webhooks job: one attempt of one delivery.
const JobDeliver = "webhook.deliver"

// Delivery attempts: the wait after failed attempt n (1-based) is
// FirstRetry·3^(n-1), at most MaxRetryWait; attempts go on while less than
// RetryFor has passed since the first, so the last one comes at least
// RetryFor after it (1 min, 3, 9, 27, 81, 243 min, then every 8 h: ten
// attempts over about 30 hours).
const (
	FirstRetry   = time.Minute
	MaxRetryWait = 8 * time.Hour
	RetryFor     = 24 * time.Hour
	// attemptTTL keeps the record of an attempt this long.
	attemptTTL = 30 * 24 * time.Hour
)

// RetryWait is the wait after failed attempt n.
func RetryWait(n int) time.Duration {
	d := FirstRetry
	for i := 1; i < n && d < MaxRetryWait; i++ {
		d *= 3
	}
	return min(d, MaxRetryWait)
}

// Outcomes of an attempt.
const (
	OutcomeDelivered = "delivered" // the receiver answered 2xx
	OutcomeRetrying  = "retrying"  // failed; the next attempt is queued
	OutcomeFailed    = "failed"    // failed; no attempt follows
)

// Transport checks receiver URLs and posts deliveries
// (internal/webhook/outbound).
type Transport interface {
	// Check refuses a URL the outbound policy does not allow (its error
	// says why, in words safe to show).
	Check(ctx context.Context, rawURL string) error
	// Post sends body with the headers and returns the receiver's status;
	// an error when no answer came (or the policy refused the address).
	Post(ctx context.Context, rawURL string, header map[string]string, body []byte) (int, error)
}

// Endpoint is a registered receiver.
type Endpoint struct {
	Name string `json:"name"`
	// ID is the endpoint's identity for its life: deliveries queued for an
	// endpoint that was deleted and created again under its name are not
	// sent to the new one.
	ID     string            `json:"id"`
	URL    string            `json:"url"`
	Events []string          `json:"events"`
	Secret credential.Sealed `json:"secret"`
	// CreatedBy is the user who created it.
	CreatedBy string    `json:"createdBy,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"-"`
}

// Subscribed reports whether the endpoint wants events of type typ.
func (e Endpoint) Subscribed(typ string) bool { return slices.Contains(e.Events, typ) }

// Attempt is the record of one delivery attempt.
type Attempt struct {
	MessageID string    `json:"id"`
	Type      string    `json:"type"`
	PartyID   string    `json:"partyId,omitempty"`
	Attempt   int       `json:"attempt"`
	At        time.Time `json:"at"`
	// Status is the receiver's HTTP status (0: no answer).
	Status     int    `json:"status,omitempty"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
	DurationMs int64  `json:"durationMs"`
	// NextAttemptAt is when the next attempt is due (outcome retrying).
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
}

// Key functions: the only place these strings are built.

const (
	endpointsPK      = "WEBHOOKS"
	endpointSKPrefix = "EP#"
)

// EndpointKey is the key of an endpoint.
func EndpointKey(name string) store.Key {
	return store.Key{PK: endpointsPK, SK: endpointSKPrefix + name}
}

// AttemptsPK is the partition of an endpoint's delivery attempts.
func AttemptsPK(endpointID string) string { return "WHDLV#" + endpointID }

func attemptSK(at time.Time, messageID string, n int) string {
	return fmt.Sprintf("%s#%s#%02d", at.UTC().Format("2006-01-02T15:04:05.000000Z"), messageID, n)
}

// Deps are the Service's dependencies.
type Deps struct {
	Store     store.Store
	Queue     queue.Sender
	Keys      credential.Keyring
	Transport Transport
	Clock     platform.Clock // default SystemClock
	Log       *slog.Logger   // default slog.Default()
}

// Service registers endpoints and delivers events to them.
type Service struct {
	store     store.Store
	queue     queue.Sender
	keys      credential.Keyring
	transport Transport
	clock     platform.Clock
	log       *slog.Logger

	mu      sync.Mutex
	secrets map[string][]byte // opened signing keys by endpoint id
}

// New builds a Service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, queue: d.Queue, keys: d.Keys, transport: d.Transport, clock: d.Clock, log: d.Log, secrets: map[string][]byte{}}
	if s.clock == nil {
		s.clock = platform.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// ValidateName checks an endpoint name: 1–64 of [A-Za-z0-9_.-].
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return fault.Errorf(ErrInvalidName, "the endpoint name must be 1 to %d characters long", MaxNameLength)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fault.Errorf(ErrInvalidName, "the endpoint name %q may only contain letters, digits, '_', '.' and '-'", platform.Truncate(name, 80))
		}
	}
	return nil
}

// Registration is what a client asks for.
type Registration struct {
	URL    string
	Events []string
}

// checkRegistration validates the URL (the outbound policy: https, a
// public address) and the event types (sorted, each once).
func (s *Service) checkRegistration(ctx context.Context, r Registration) ([]string, error) {
	if r.URL == "" || len(r.URL) > MaxURLLength {
		return nil, fault.Errorf(ErrInvalidURL, "the url must be 1 to %d characters long", MaxURLLength)
	}
	if err := s.transport.Check(ctx, r.URL); err != nil {
		return nil, fault.Wrap(ErrInvalidURL, err, "the url is not allowed: %s", err.Error())
	}
	if len(r.Events) == 0 {
		return nil, fault.Errorf(ErrInvalidEvents, "events must name at least one of %s", strings.Join(EventTypes(), ", "))
	}
	events := make([]string, 0, len(r.Events))
	for _, e := range r.Events {
		if !slices.Contains(EventTypes(), e) {
			return nil, fault.Errorf(ErrInvalidEvents, "unknown event %q; known events: %s", platform.Truncate(e, 80), strings.Join(EventTypes(), ", "))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	slices.Sort(events)
	return events, nil
}

// Put creates the endpoint name (created true, with its signing secret in
// wire form, which is never shown again) or replaces its URL and events
// (the secret stays). Store calls: one Get, one conditional Put.
func (s *Service) Put(ctx context.Context, createdBy, name string, r Registration) (ep Endpoint, created bool, secret string, err error) {
	if err := ValidateName(name); err != nil {
		return Endpoint{}, false, "", err
	}
	events, err := s.checkRegistration(ctx, r)
	if err != nil {
		return Endpoint{}, false, "", err
	}
	for range 3 {
		old, err := s.Get(ctx, name)
		now := s.clock.Now().UTC()
		cond := store.IfVersion(old.Version)
		switch {
		case errors.Is(err, ErrNotFound):
			created = true
			secret = NewSecret()
			old = Endpoint{Name: name, ID: platform.NewID(), CreatedBy: createdBy, CreatedAt: now}
			if old.Secret, err = s.keys.Seal(ctx, []byte(secret), secretAAD(old)); err != nil {
				return Endpoint{}, false, "", fmt.Errorf("seal the secret of endpoint %s: %w", name, err)
			}
			cond = store.IfNotExists()
		case err != nil:
			return Endpoint{}, false, "", err
		default:
			created, secret = false, ""
		}
		old.URL, old.Events, old.UpdatedAt = r.URL, events, now
		it, err := endpointItem(old, old.Version+1)
		if err != nil {
			return Endpoint{}, false, "", err
		}
		err = s.store.Put(ctx, it, cond)
		if errors.Is(err, store.ErrConditionFailed) {
			continue // created, changed or deleted meanwhile
		}
		if err != nil {
			return Endpoint{}, false, "", fmt.Errorf("save endpoint %s: %w", name, err)
		}
		old.Version = it.Version
		return old, created, secret, nil
	}
	return Endpoint{}, false, "", fault.Errorf(ErrConflict, "the endpoint %q changed during the request; try again", name)
}

// secretAAD binds a sealed secret to its endpoint.
func secretAAD(e Endpoint) string { return "openagg webhook secret\x00" + e.Name + "\x00" + e.ID }

func endpointItem(e Endpoint, version int64) (store.Item, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode endpoint %s: %w", e.Name, err)
	}
	k := EndpointKey(e.Name)
	return store.Item{PK: k.PK, SK: k.SK, Version: version, Data: data}, nil
}

func decodeEndpoint(it store.Item) (Endpoint, error) {
	var e Endpoint
	if err := json.Unmarshal(it.Data, &e); err != nil {
		return Endpoint{}, fmt.Errorf("decode endpoint %s: %w", it.SK, err)
	}
	e.Version = it.Version
	return e, nil
}

// Get reads one endpoint (one Get).
func (s *Service) Get(ctx context.Context, name string) (Endpoint, error) {
	if err := ValidateName(name); err != nil {
		return Endpoint{}, err
	}
	it, err := s.store.Get(ctx, EndpointKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, fault.Wrap(ErrNotFound, err, "no webhook endpoint %q", name)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("load endpoint %s: %w", name, err)
	}
	return decodeEndpoint(it)
}

// List reads every endpoint, by name (one query per 1,000).
func (s *Service) List(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	q := store.Query{PK: endpointsPK, SKPrefix: endpointSKPrefix}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list webhook endpoints: %w", err)
		}
		for _, it := range page.Items {
			e, err := decodeEndpoint(it)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// Delete removes an endpoint (one conditional Delete): deliveries queued
// for it are dropped; its attempt records expire.
func (s *Service) Delete(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	err := s.store.Delete(ctx, EndpointKey(name), store.IfExists())
	if errors.Is(err, store.ErrConditionFailed) {
		return fault.Wrap(ErrNotFound, err, "no webhook endpoint %q", name)
	}
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", name, err)
	}
	return nil
}

// Limits of Attempts.
const (
	MaxAttemptsLimit     = 100
	DefaultAttemptsLimit = 20
)

// Attempts lists an endpoint's most recent delivery attempts, newest
// first: one Get and one query.
func (s *Service) Attempts(ctx context.Context, name string, limit int) ([]Attempt, error) {
	if limit == 0 {
		limit = DefaultAttemptsLimit
	}
	if limit < 1 || limit > MaxAttemptsLimit {
		return nil, fault.Errorf(ErrInvalidLimit, "limit must be between 1 and %d", MaxAttemptsLimit)
	}
	ep, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	page, err := s.store.Query(ctx, store.Query{PK: AttemptsPK(ep.ID), Desc: true, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list delivery attempts of endpoint %s: %w", name, err)
	}
	out := make([]Attempt, 0, len(page.Items))
	for _, it := range page.Items {
		var a Attempt
		if err := json.Unmarshal(it.Data, &a); err != nil {
			return nil, fmt.Errorf("decode delivery attempt %s: %w", it.SK, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// delivery is the payload of a JobDeliver job.
type delivery struct {
	Endpoint   string          `json:"endpoint"`
	EndpointID string          `json:"endpointId"`
	MessageID  string          `json:"id"`
	Type       string          `json:"type"`
	PartyID    string          `json:"partyId,omitempty"`
	Body       json.RawMessage `json:"body"`
	// Attempt is the number of this attempt (1 for the first).
	Attempt int `json:"attempt"`
	// FirstAt is when the first attempt was made (zero before it).
	FirstAt time.Time `json:"firstAt,omitzero"`
	// NotBefore: an attempt due later than the queue can delay a message
	// is re-queued until then.
	NotBefore time.Time `json:"notBefore,omitzero"`
}

// MessageID is the webhook-id of an activity's delivery to an endpoint.
func MessageID(activityKey, endpointID string) string {
	return "msg_" + platform.DeterministicID("webhook", activityKey, endpointID)
}

// Record is the activity sink of the webhooks: it queues a delivery of
// the event to every endpoint subscribed to its type (one query of the
// endpoints, one message each). Activities no webhook tells are ignored.
func (s *Service) Record(ctx context.Context, e activity.Event) error {
	typ, body, ok, err := payloadOf(e)
	if err != nil || !ok {
		return err
	}
	eps, err := s.List(ctx)
	if err != nil {
		return err
	}
	key := e.Key
	if key == "" {
		// Queued events always have one; a direct report gets a fresh one.
		key = platform.NewID()
	}
	for _, ep := range eps {
		if !ep.Subscribed(typ) {
			continue
		}
		d := delivery{Endpoint: ep.Name, EndpointID: ep.ID, MessageID: MessageID(key, ep.ID), Type: typ, PartyID: e.PartyID, Body: body, Attempt: 1}
		if err := s.send(ctx, d, 0); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) send(ctx context.Context, d delivery, delay time.Duration) error {
	job, err := queue.NewJob(JobDeliver, fmt.Sprintf("%s#%d", d.MessageID, d.Attempt), d)
	if err != nil {
		return err
	}
	if err := s.queue.Send(ctx, queue.Webhooks, job, min(delay, queue.MaxDelay)); err != nil {
		return fmt.Errorf("queue delivery %s (attempt %d) to %s: %w", d.MessageID, d.Attempt, d.Endpoint, err)
	}
	return nil
}

// HandleJob is the webhooks worker: one attempt of one delivery. The
// endpoint is read again (one Get): a delivery for an endpoint deleted, or
// no longer subscribed to the type, is dropped. The attempt is recorded
// (one Put) and, when it failed within RetryFor of the first, the next one
// queued. A nil error acknowledges the message; an error (the record or
// the next attempt could not be written) makes the queue deliver it again,
// so the receiver may see the message twice, with the same webhook-id.
func (s *Service) HandleJob(ctx context.Context, job queue.Job) error {
	if job.Type != JobDeliver {
		return fmt.Errorf("%w: webhooks worker cannot handle job type %q", queue.ErrPoison, job.Type)
	}
	var d delivery
	if err := json.Unmarshal(job.Payload, &d); err != nil || d.Endpoint == "" || d.MessageID == "" || d.Attempt < 1 || len(d.Body) == 0 {
		return fmt.Errorf("%w: delivery job %s: %v", queue.ErrPoison, job.Key, err)
	}
	now := s.clock.Now()
	if wait := d.NotBefore.Sub(now); wait > 0 {
		return s.send(ctx, d, wait) // still waiting for its time
	}
	log := s.log.With("endpoint", d.Endpoint, "webhookId", d.MessageID, "type", d.Type, "attempt", d.Attempt)
	ep, err := s.Get(ctx, d.Endpoint)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidName):
		log.InfoContext(ctx, "delivery dropped: the endpoint was deleted")
		return nil
	case err != nil:
		return err
	case ep.ID != d.EndpointID:
		log.InfoContext(ctx, "delivery dropped: the endpoint was deleted and created again")
		return nil
	case !ep.Subscribed(d.Type):
		log.InfoContext(ctx, "delivery dropped: the endpoint no longer subscribes to the event")
		return nil
	}
	key, err := s.signingKey(ctx, ep)
	if err != nil {
		return err
	}
	if d.FirstAt.IsZero() {
		d.FirstAt = now
	}
	header := map[string]string{
		HeaderID:        d.MessageID,
		HeaderTimestamp: fmt.Sprint(now.Unix()),
		HeaderSignature: Sign(key, d.MessageID, now, d.Body),
		"content-type":  "application/json",
		"user-agent":    "OpenAgg-Webhooks/1 (+" + platform.Version + ")",
	}
	started := time.Now()
	status, perr := s.transport.Post(ctx, ep.URL, header, d.Body)
	a := Attempt{MessageID: d.MessageID, Type: d.Type, PartyID: d.PartyID, Attempt: d.Attempt, At: now.UTC(), Status: status, DurationMs: time.Since(started).Milliseconds()}
	switch {
	case perr == nil && status >= 200 && status < 300:
		a.Outcome = OutcomeDelivered
	case perr != nil:
		a.Error = platform.Truncate(perr.Error(), 300)
	default:
		a.Error = fmt.Sprintf("the receiver answered HTTP %d", status)
	}
	var next *delivery
	if a.Outcome == "" {
		a.Outcome = OutcomeFailed
		if now.Sub(d.FirstAt) < RetryFor {
			at := now.Add(RetryWait(d.Attempt)).UTC()
			a.Outcome, a.NextAttemptAt = OutcomeRetrying, &at
			n := d
			n.Attempt, n.NotBefore = d.Attempt+1, at
			next = &n
		}
	}
	if err := s.record(ctx, ep, a); err != nil {
		return err
	}
	if next != nil {
		if err := s.send(ctx, *next, next.NotBefore.Sub(now)); err != nil {
			return err
		}
	}
	log.InfoContext(ctx, "webhook delivery attempt", "outcome", a.Outcome, "status", status, "err", a.Error)
	return nil
}

// record stores an attempt in the endpoint's partition.
func (s *Service) record(ctx context.Context, ep Endpoint, a Attempt) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode delivery attempt: %w", err)
	}
	it := store.Item{PK: AttemptsPK(ep.ID), SK: attemptSK(a.At, a.MessageID, a.Attempt), TTL: a.At.Add(attemptTTL).Unix(), Data: data}
	if err := s.store.Put(ctx, it, store.Condition{}); err != nil {
		return fmt.Errorf("record delivery attempt %s of %s: %w", a.MessageID, ep.Name, err)
	}
	return nil
}

// signingKey opens an endpoint's secret (once per endpoint and process).
func (s *Service) signingKey(ctx context.Context, ep Endpoint) ([]byte, error) {
	s.mu.Lock()
	key, ok := s.secrets[ep.ID]
	s.mu.Unlock()
	if ok {
		return key, nil
	}
	secret, err := s.keys.Open(ctx, ep.Secret, secretAAD(ep))
	if err != nil {
		return nil, fmt.Errorf("open the secret of endpoint %s: %w", ep.Name, err)
	}
	key, err = SecretKey(string(secret))
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", ep.Name, err)
	}
	s.mu.Lock()
	s.secrets[ep.ID] = key
	s.mu.Unlock()
	return key, nil
}
