package web

import (
	"net/http"
	"net/url"
)

// delivery is one line of the delivery log.
type delivery struct {
	ID           string
	Subscription string
	Subject      string
	Status       string
	Attempts     int
	NextAt       string
	LastError    string
	ResponseCode int
	UpdatedAt    string
	Event        struct{ Type, At, Actor string }
}

type subscription struct {
	Name, URL, Preset, Origin, SecretEnv string
	Types                                []string
}

type eventsView struct {
	Status, Subscription string
	Deliveries           []delivery
	Subscriptions        []subscription
	Next                 string
}

// eventsPage is how many deliveries the events page lists.
const eventsPage = 100

func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	qs := r.URL.Query()
	ev := eventsView{Status: qs.Get("status"), Subscription: qs.Get("subscription")}
	vars := map[string]any{"status": ev.Status, "subscription": ev.Subscription, "first": eventsPage}
	if b := qs.Get("before"); b != "" {
		vars["before"] = b
	}
	var data struct {
		EventDeliveries    []delivery
		EventSubscriptions []subscription
	}
	err := u.query(r.Context(), `query($status: String, $subscription: String, $before: ID, $first: Int) {
		eventDeliveries(status: $status, subscription: $subscription, before: $before, first: $first) {
			id subscription subject status attempts nextAt lastError responseCode updatedAt event { type at actor } }
		eventSubscriptions { name url preset origin secretEnv types } }`, vars, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	ev.Deliveries, ev.Subscriptions = data.EventDeliveries, data.EventSubscriptions
	if n := len(ev.Deliveries); n == eventsPage {
		q := url.Values{"before": {ev.Deliveries[n-1].ID}}
		for _, k := range []string{"status", "subscription"} {
			if v := qs.Get(k); v != "" {
				q.Set(k, v)
			}
		}
		ev.Next = "/events?" + q.Encode()
	}
	u.render(w, r, http.StatusOK, "events", "Events", ev)
}

func (u *UI) redeliver(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	var data struct{ Redeliver delivery }
	err := u.query(r.Context(), `mutation($id: ID!) { redeliver(id: $id) { id status } }`, map[string]any{"id": r.PathValue("id")}, &data)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	redirect(w, r, "/events", "delivery "+data.Redeliver.ID+" will be sent again")
}
