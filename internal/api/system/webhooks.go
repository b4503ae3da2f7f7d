package system

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/openagg/openagg/internal/auth"
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/webhook"
)

// Webhooks is what the group needs from the webhook domain
// (*webhook.Service).
type Webhooks interface {
	Put(ctx context.Context, createdBy, name string, r webhook.Registration) (webhook.Endpoint, bool, string, error)
	Get(ctx context.Context, name string) (webhook.Endpoint, error)
	List(ctx context.Context) ([]webhook.Endpoint, error)
	Delete(ctx context.Context, name string) error
	Attempts(ctx context.Context, name string, limit int) ([]webhook.Attempt, error)
}

// WebhookRequest is the body of PUT /system/webhooks/{name}.
type WebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// Webhook is the wire form of an endpoint. Secret is set once: in the
// answer that created it.
type Webhook struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Secret    string   `json:"secret,omitempty"`
	CreatedBy string   `json:"createdBy,omitempty"`
	CreatedAt string   `json:"createdAt"`
	UpdatedAt string   `json:"updatedAt"`
}

// WebhooksBody is the answer of GET /system/webhooks.
type WebhooksBody struct {
	Webhooks []Webhook `json:"webhooks"`
}

// Delivery is the wire form of a delivery attempt.
type Delivery struct {
	ID            string  `json:"id"` // the webhook-id header
	Type          string  `json:"type"`
	PartyID       string  `json:"partyId,omitempty"`
	Attempt       int     `json:"attempt"`
	At            string  `json:"at"`
	Status        int     `json:"status,omitempty"`
	Outcome       string  `json:"outcome"`
	Error         string  `json:"error,omitempty"`
	DurationMs    int64   `json:"durationMs"`
	NextAttemptAt *string `json:"nextAttemptAt,omitempty"`
}

// DeliveriesBody is the answer of GET /system/webhooks/{name}/deliveries.
type DeliveriesBody struct {
	Deliveries []Delivery `json:"deliveries"`
}

func webhookToWire(e webhook.Endpoint, secret string) Webhook {
	return Webhook{Name: e.Name, URL: e.URL, Events: e.Events, Secret: secret, CreatedBy: e.CreatedBy, CreatedAt: rfc3339(e.CreatedAt), UpdatedAt: rfc3339(e.UpdatedAt)}
}

func rfc3339(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// requireWebhooks returns the caller if it holds CanManageWebhooks.
func (a *API) requireWebhooks(ctx context.Context) (auth.Principal, error) {
	return a.requireRole(ctx, webhook.RoleManage)
}

// PUT /system/webhooks/{name}: 201 with the secret when it creates the
// endpoint, 200 without when it replaces its url and events. Store calls:
// a Get and a conditional Put (+1 Get for a stored role).
func (a *API) putWebhook(w http.ResponseWriter, r *http.Request) error {
	p, err := a.requireWebhooks(r.Context())
	if err != nil {
		return err
	}
	var req WebhookRequest
	if err := platform.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	ep, created, secret, err := a.webhooks.Put(r.Context(), p.Subject, r.PathValue("name"), webhook.Registration{URL: req.URL, Events: req.Events})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		a.log.InfoContext(r.Context(), "webhook endpoint created", "by", p.Subject, "name", ep.Name, "events", ep.Events)
	}
	platform.WriteJSON(w, status, webhookToWire(ep, secret))
	return nil
}

// GET /system/webhooks: every endpoint, by name (one query).
func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.requireWebhooks(r.Context()); err != nil {
		return err
	}
	eps, err := a.webhooks.List(r.Context())
	if err != nil {
		return err
	}
	out := WebhooksBody{Webhooks: make([]Webhook, 0, len(eps))}
	for _, e := range eps {
		out.Webhooks = append(out.Webhooks, webhookToWire(e, ""))
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}

// GET /system/webhooks/{name} (one Get).
func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.requireWebhooks(r.Context()); err != nil {
		return err
	}
	ep, err := a.webhooks.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	platform.WriteJSON(w, http.StatusOK, webhookToWire(ep, ""))
	return nil
}

// DELETE /system/webhooks/{name}: 204 (one conditional Delete).
func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	p, err := a.requireWebhooks(r.Context())
	if err != nil {
		return err
	}
	// Like the other Aggregation removals: no body, or {} (a body that is
	// anything else is refused before anything is deleted).
	if _, err := platform.DecodeOptionalJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := a.webhooks.Delete(r.Context(), name); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "webhook endpoint deleted", "by", p.Subject, "name", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /system/webhooks/{name}/deliveries?limit=: the most recent delivery
// attempts, newest first (a Get and a query).
func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.requireWebhooks(r.Context()); err != nil {
		return err
	}
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > webhook.MaxAttemptsLimit {
			return fault.Errorf(webhook.ErrInvalidLimit, "limit must be an integer from 1 to %d, got %q", webhook.MaxAttemptsLimit, s)
		}
		limit = n
	}
	list, err := a.webhooks.Attempts(r.Context(), r.PathValue("name"), limit)
	if err != nil {
		return err
	}
	out := DeliveriesBody{Deliveries: make([]Delivery, 0, len(list))}
	for _, at := range list {
		d := Delivery{ID: at.MessageID, Type: at.Type, PartyID: at.PartyID, Attempt: at.Attempt, At: at.At.UTC().Format(time.RFC3339Nano),
			Status: at.Status, Outcome: at.Outcome, Error: at.Error, DurationMs: at.DurationMs}
		if at.NextAttemptAt != nil {
			s := rfc3339(*at.NextAttemptAt)
			d.NextAttemptAt = &s
		}
		out.Deliveries = append(out.Deliveries, d)
	}
	platform.WriteJSON(w, http.StatusOK, out)
	return nil
}
