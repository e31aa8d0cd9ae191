package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tana-cmdb/tana/inventory"
)

// Retry says how a failed delivery is tried again: after Initial, then
// twice as long each time up to Max, with jitter (each wait is drawn
// between half and all of it), until For after the event (or its
// redelivery by hand); then the delivery is failed.
type Retry struct {
	Initial time.Duration
	Max     time.Duration
	For     time.Duration
}

// Defaults of the worker.
const (
	DefaultInitial   = time.Second
	DefaultMax       = 10 * time.Minute
	DefaultRetryFor  = 24 * time.Hour
	DefaultPoll      = 250 * time.Millisecond
	DefaultRetention = 7 * 24 * time.Hour
	routeBatch       = 5000
	pruneEvery       = time.Hour
)

// Options configure a Worker. Zero values are the defaults.
type Options struct {
	Store *inventory.Store
	// Subscriptions are tana.yaml's; those stored through the API are
	// read from the store as the worker runs.
	Subscriptions []Subscription
	Source        string // CloudEvents source; DefaultSource when empty
	Retry         Retry
	// Poll is how often an idle worker looks for new events.
	Poll time.Duration
	// Retention is how long events and their delivery log are kept once
	// every delivery is over.
	Retention time.Duration
	// Lease is how long a claimed batch is kept from other replicas; by
	// default long enough for the batch to time out request by request.
	Lease  time.Duration
	Client *http.Client // default: TLS verified, no redirects followed
	Logger *slog.Logger
	// Getenv reads the secrets' variables (os.Getenv by default).
	Getenv func(string) string
}

// Worker routes the outbox's events to subscriptions and delivers them.
// Several workers (replicas) may share one PostgreSQL store: each
// delivery is sent by one of them.
type Worker struct {
	o       Options
	log     *slog.Logger
	claimer string
	client  *http.Client
}

// New checks the subscriptions and makes a worker.
func New(o Options) (*Worker, error) {
	if o.Store == nil {
		return nil, errors.New("events: no store")
	}
	var errs []error
	for i, s := range o.Subscriptions {
		errs = append(errs, s.Check(fmt.Sprintf("events.subscriptions[%d]", i))...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.Retry.Initial = orDefault(o.Retry.Initial, DefaultInitial)
	o.Retry.Max = max(orDefault(o.Retry.Max, DefaultMax), o.Retry.Initial)
	o.Retry.For = orDefault(o.Retry.For, DefaultRetryFor)
	o.Poll = orDefault(o.Poll, DefaultPoll)
	o.Retention = orDefault(o.Retention, DefaultRetention)
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := o.Client
	if client == nil {
		client = &http.Client{
			Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
				TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true},
			// A receiver that redirects is misconfigured: following it
			// could downgrade to plain HTTP or leave the signed host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Worker{o: o, log: log, claimer: claimerID(), client: client}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// claimerID names this worker on its claims: host, pid and a random part.
func claimerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Run routes and delivers until ctx ends, then lets the requests in
// flight finish (each within its timeout), records them, and returns.
// Errors of the store are logged and retried: a worker never stops on
// its own.
func (w *Worker) Run(ctx context.Context) error {
	senders := map[string]*sender{}
	var wg sync.WaitGroup
	defer func() {
		for _, s := range senders {
			s.stop()
		}
		wg.Wait()
	}()
	lastPrune := time.Time{}
	for {
		subs := w.subscriptions(ctx)
		w.reconcileSenders(ctx, subs, senders, &wg)
		w.route(ctx, subs)
		if time.Since(lastPrune) > pruneEvery {
			lastPrune = time.Now()
			if n, err := w.o.Store.PruneEvents(ctx, time.Now().Add(-w.o.Retention)); err != nil {
				w.log.Warn("prune events", "err", err)
			} else if n > 0 {
				w.log.Info("events pruned", "events", n, "older_than", w.o.Retention)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.o.Poll):
		}
	}
}

// subscriptions are tana.yaml's and the store's; a stored one named as
// one of tana.yaml's is ignored (the file wins).
func (w *Worker) subscriptions(ctx context.Context) []Subscription {
	subs := slices.Clone(w.o.Subscriptions)
	stored, err := w.o.Store.Subscriptions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("read stored subscriptions", "err", err)
		}
		return subs
	}
	for _, st := range stored {
		var s Subscription
		if err := json.Unmarshal([]byte(st.Spec), &s); err != nil {
			w.log.Warn("stored subscription unreadable", "subscription", st.Name, "err", err)
			continue
		}
		s.Name = st.Name
		if slices.ContainsFunc(subs, func(c Subscription) bool { return c.Name == s.Name }) {
			continue
		}
		if errs := s.Check("subscription " + s.Name); len(errs) > 0 {
			w.log.Warn("stored subscription not usable", "subscription", s.Name, "err", errors.Join(errs...))
			continue
		}
		subs = append(subs, s)
	}
	return subs
}

// route records the deliveries of the events not yet routed.
func (w *Worker) route(ctx context.Context, subs []Subscription) {
	for ctx.Err() == nil {
		n, err := w.o.Store.RouteEvents(ctx, routeBatch, func(evs []inventory.Event) []inventory.Route {
			var out []inventory.Route
			for _, e := range evs {
				for _, s := range subs {
					if s.Matches(e) {
						out = append(out, inventory.Route{EventID: e.ID, Subscription: s.Name, Subject: e.Subject})
					}
				}
			}
			return out
		})
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("route events", "err", err)
			}
			return
		}
		if n < routeBatch {
			return
		}
	}
}

// reconcileSenders runs one sender per subscription, restarting one whose
// settings changed and stopping one that went away.
func (w *Worker) reconcileSenders(ctx context.Context, subs []Subscription, senders map[string]*sender, wg *sync.WaitGroup) {
	want := map[string]Subscription{}
	for _, s := range subs {
		want[s.Name] = s
	}
	for name, s := range senders {
		if ws, ok := want[name]; !ok || !equalSub(ws, s.spec) {
			s.stop()
			delete(senders, name)
		}
	}
	for name, sub := range want {
		if _, ok := senders[name]; ok {
			continue
		}
		s, err := w.newSender(sub)
		if err != nil {
			w.log.Warn("subscription not usable", "subscription", name, "err", err)
			continue
		}
		senders[name] = s
		sctx, cancel := context.WithCancel(ctx)
		s.cancel = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(sctx)
		}()
	}
}

func equalSub(a, b Subscription) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
