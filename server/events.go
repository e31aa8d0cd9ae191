package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// eventFields are the delivery log and the subscriptions made through the
// API, for admins: eventDeliveries, eventSubscriptions, and the
// redeliver, saveEventSubscription and deleteEventSubscription
// mutations. tana.yaml's subscriptions (Options.EventSubscriptions) are
// listed, and changed in the file.
func (b *builder) eventFields(configured []events.Subscription) (queries, mutations graphql.Fields) {
	s, i, j := graphql.String, graphql.Int, b.json
	event := jsonObject("Event", "An event as the outbox keeps it; data is its CloudEvents data.", map[string]field{
		"id": {"id", graphql.ID}, "uid": {"uid", s}, "type": {"type", s}, "subject": {"subject", s}, "at": {"at", s},
		"actor": {"actor", s}, "source": {"source", s}, "reason": {"reason", s}, "data": {"data", j},
	})
	delivery := jsonObject("EventDelivery", "One event on its way to one subscription, with its log.", map[string]field{
		"id": {"id", graphql.ID}, "subscription": {"subscription", s}, "subject": {"subject", s}, "status": {"status", s},
		"attempts": {"attempts", i}, "nextAt": {"next_at", s}, "lastError": {"last_error", s}, "responseCode": {"response_code", i},
		"createdAt": {"created_at", s}, "updatedAt": {"updated_at", s}, "event": {"event", event},
	})
	subscription := jsonObject("EventSubscription", "Where events go. Secrets are named by environment variable, never shown.", map[string]field{
		"name": {"name", s}, "url": {"url", s}, "types": {"types", graphql.NewList(s)}, "filter": {"filter", j},
		"preset": {"preset", s}, "secretEnv": {"secret_env", s}, "apiKeyEnv": {"api_key_env", s},
		"origin": {"origin", s}, "createdBy": {"created_by", s},
	})
	admin := func(fn argsFunc) graphql.FieldResolveFn { return jsonResolver(needRole(inventory.RoleAdmin, fn)) }
	queries = graphql.Fields{
		"eventDeliveries": {Type: graphql.NewList(delivery), Description: "The delivery log, newest first (admins only).",
			Args: graphql.FieldConfigArgument{
				"subscription": {Type: s}, "status": {Type: s, Description: "pending, delivered or failed"},
				"type": {Type: s, Description: "event type, e.g. drift.detected"}, "subject": {Type: s},
				"before": {Type: graphql.ID, Description: "only deliveries older than this id (the next page)"},
				"first":  {Type: i, Description: fmt.Sprintf("at most this many (default and most %d)", inventory.MaxDeliveryPage)},
			},
			Resolve: admin(func(ctx context.Context, a map[string]any) (any, error) {
				f := inventory.DeliveryFilter{}
				f.Subscription, _ = a["subscription"].(string)
				f.Status, _ = a["status"].(string)
				f.Type, _ = a["type"].(string)
				f.Subject, _ = a["subject"].(string)
				if n, ok := a["first"].(int); ok {
					if n < 1 || n > inventory.MaxDeliveryPage {
						return nil, schema.FieldErrorf(schema.EINVALID, "first", "first must be between 1 and %d", inventory.MaxDeliveryPage)
					}
					f.Limit = n
				}
				if v, ok := a["before"].(string); ok && v != "" {
					id, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return nil, schema.FieldErrorf(schema.EINVALID, "before", "%q is not a delivery id", v)
					}
					f.Before = id
				}
				ds, err := b.store.Deliveries(ctx, f)
				return deliveryViews(ds), err
			})},
		"eventSubscriptions": {Type: graphql.NewList(subscription), Description: "tana.yaml's subscriptions and those made here (admins only).",
			Resolve: admin(func(ctx context.Context, _ map[string]any) (any, error) {
				return b.subscriptions(ctx, configured)
			})},
	}
	mutations = graphql.Fields{
		"redeliver": {Type: delivery, Description: "Send a delivery again now, its retries counted afresh (admins only).",
			Args: graphql.FieldConfigArgument{"id": {Type: graphql.NewNonNull(graphql.ID)}, "reason": {Type: s}},
			Resolve: admin(func(ctx context.Context, a map[string]any) (any, error) {
				id, err := strconv.ParseInt(fmt.Sprint(a["id"]), 10, 64)
				if err != nil {
					return nil, schema.FieldErrorf(schema.EINVALID, "id", "%q is not a delivery id", a["id"])
				}
				d, err := b.store.Redeliver(ctx, id, b.by(ctx))
				if err != nil {
					return nil, err
				}
				return deliveryViews([]inventory.Delivery{*d})[0], nil
			})},
		"saveEventSubscription": {Type: subscription, Description: "Make or replace a subscription (admins only). Its secrets are names of environment variables of the servers.",
			Args: graphql.FieldConfigArgument{"subscription": {Type: graphql.NewNonNull(j), Description: `{"name", "url", "types", "filter": {"entity_type", "scope", "kind", "owner"}, "preset", "secret_env", "api_key_env"}`}},
			Resolve: admin(func(ctx context.Context, a map[string]any) (any, error) {
				return b.saveSubscription(ctx, a["subscription"], configured)
			})},
		"deleteEventSubscription": {Type: graphql.Boolean, Description: "Remove a subscription made here (admins only).",
			Args: graphql.FieldConfigArgument{"name": {Type: graphql.NewNonNull(s)}},
			Resolve: admin(func(ctx context.Context, a map[string]any) (any, error) {
				return true, b.store.DeleteSubscription(ctx, a["name"].(string), b.by(ctx))
			})},
	}
	return queries, mutations
}

// deliveryView is a delivery whose event's data reads as JSON, not as
// the string the outbox keeps.
type deliveryView struct {
	inventory.Delivery
	Event eventView `json:"event"`
}

type eventView struct {
	inventory.Event
	Data json.RawMessage `json:"data"`
}

func deliveryViews(ds []inventory.Delivery) []deliveryView {
	out := make([]deliveryView, len(ds))
	for i, d := range ds {
		out[i] = deliveryView{Delivery: d, Event: eventView{Event: d.Event, Data: json.RawMessage(d.Event.Data)}}
		if !json.Valid(out[i].Event.Data) {
			out[i].Event.Data = nil
		}
	}
	return out
}

// subscriptionView is a subscription with where it was made.
type subscriptionView struct {
	events.Subscription
	Origin    string `json:"origin"` // tana.yaml or api
	CreatedBy string `json:"created_by,omitempty"`
}

func (b *builder) subscriptions(ctx context.Context, configured []events.Subscription) ([]subscriptionView, error) {
	out := make([]subscriptionView, 0, len(configured))
	for _, s := range configured {
		s.URL = maskURL(s.URL)
		out = append(out, subscriptionView{Subscription: s, Origin: "tana.yaml"})
	}
	stored, err := b.store.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range stored {
		var s events.Subscription
		if err := json.Unmarshal([]byte(st.Spec), &s); err != nil {
			return nil, fmt.Errorf("subscription %q: %w", st.Name, err)
		}
		s.Name, s.URL = st.Name, maskURL(s.URL)
		out = append(out, subscriptionView{Subscription: s, Origin: "api", CreatedBy: st.CreatedBy})
	}
	return out, nil
}

// saveSubscription checks a subscription as tana.yaml's are checked, each
// problem naming its field, and stores it.
func (b *builder) saveSubscription(ctx context.Context, raw any, configured []events.Subscription) (*subscriptionView, error) {
	spec, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var s events.Subscription
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, schema.FieldErrorf(schema.EINVALID, "subscription", "%v", err)
	}
	for _, c := range configured {
		if c.Name == s.Name {
			return nil, schema.FieldErrorf(schema.ECONFLICT, "subscription.name", "%q is a subscription of tana.yaml: change it there", s.Name)
		}
	}
	if errs := s.Check("subscription"); len(errs) > 0 {
		return nil, errs[0] // it names its field; the next save finds the next
	}
	if err := b.store.SaveSubscription(ctx, inventory.StoredSubscription{Name: s.Name, Spec: string(spec)}, b.by(ctx)); err != nil {
		return nil, err
	}
	s.URL = maskURL(s.URL)
	return &subscriptionView{Subscription: s, Origin: "api", CreatedBy: b.by(ctx).Actor}, nil
}

// maskURL shows a receiver's scheme and host only: Slack's and Teams'
// webhook URLs are secrets in their paths.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	masked := u.Scheme + "://" + u.Host + "/"
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		masked += "…"
	}
	return masked
}

// by is who makes a change, for the audit log.
func (b *builder) by(ctx context.Context) inventory.By {
	name, _ := Principal(ctx)
	return inventory.By{Actor: name, RemoteAddr: RemoteAddr(ctx)}
}
