package events

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tana-cmdb/tana/inventory"
)

// batchRounds is how many requests per concurrent slot one claim takes.
const batchRounds = 16

// sender delivers one subscription's events: a slow or dead receiver
// holds up its own deliveries only.
type sender struct {
	w      *Worker
	spec   Subscription // as configured, to notice a change
	sub    Subscription // with the defaults filled in
	signer *Signer      // nil: unsigned
	apiKey string
	batch  int
	lease  time.Duration
	cancel context.CancelFunc
}

func (w *Worker) newSender(sub Subscription) (*sender, error) {
	s := &sender{w: w, spec: sub, sub: sub}
	s.sub.Timeout = orDefault(sub.Timeout, DefaultTimeout)
	if s.sub.Concurrency <= 0 {
		s.sub.Concurrency = DefaultConcurrency
	}
	if sub.SecretEnv != "" {
		signer, err := NewSigner(sub.SecretEnv, w.o.Getenv(sub.SecretEnv))
		if err != nil {
			return nil, err
		}
		s.signer = signer
	}
	if sub.APIKeyEnv != "" {
		s.apiKey = w.o.Getenv(sub.APIKeyEnv)
	}
	s.batch = s.sub.Concurrency * batchRounds
	// A batch whose every request times out, one round of Concurrency
	// after another, still ends inside its lease; a replica killed while
	// sending leaves its claims to the others this long after.
	s.lease = w.o.Lease
	if s.lease <= 0 {
		s.lease = s.sub.Timeout*(batchRounds+1) + 5*time.Second
	}
	return s, nil
}

// stop ends the sender after the requests in flight.
func (s *sender) stop() {
	if s.cancel != nil {
		s.cancel()
	}
}

// run claims and sends batches until ctx ends.
func (s *sender) run(ctx context.Context) {
	for ctx.Err() == nil {
		ds, err := s.w.o.Store.ClaimDeliveries(ctx, s.sub.Name, s.w.claimer, s.lease, s.batch)
		if err != nil && ctx.Err() == nil {
			s.w.log.Warn("claim deliveries", "subscription", s.sub.Name, "err", err)
		}
		if len(ds) > 0 {
			as := s.sendAll(ctx, ds)
			if err := s.w.o.Store.FinishDeliveries(ctx, s.w.claimer, as); err != nil {
				// The claims run out and the deliveries go again: at least
				// once, never lost.
				s.w.log.Warn("record deliveries", "subscription", s.sub.Name, "deliveries", len(as), "err", err)
			}
			continue // a subject's next event may be due now
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.w.o.Poll):
		}
	}
}

// sendAll sends a batch, Concurrency requests at once. Once ctx ends the
// requests not yet started are given back unsent; those in flight finish
// within their timeout.
func (s *sender) sendAll(ctx context.Context, ds []inventory.Delivery) []inventory.Attempt {
	out := make([]inventory.Attempt, len(ds))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.sub.Concurrency, len(ds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = s.attempt(context.WithoutCancel(ctx), ds[i])
			}
		}()
	}
	for i := range ds {
		if ctx.Err() != nil {
			out[i] = inventory.Attempt{ID: ds[i].ID, Status: inventory.DeliveryPending, Unsent: true}
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// attempt sends one delivery and says how it went, and when to try again.
func (s *sender) attempt(ctx context.Context, d inventory.Delivery) inventory.Attempt {
	code, err := s.post(ctx, d)
	now := time.Now()
	a := inventory.Attempt{ID: d.ID, Code: code, Status: inventory.DeliveryDelivered}
	if err == nil {
		return a
	}
	a.Error = err.Error()
	a.NextAt = now.Add(s.w.backoff(d.Attempts))
	a.Status = inventory.DeliveryPending
	if a.NextAt.Sub(d.Since) > s.w.o.Retry.For {
		a.Status = inventory.DeliveryFailed
		s.w.log.Warn("delivery failed for good", "subscription", s.sub.Name, "delivery", d.ID, "event", d.Event.UID,
			"attempts", d.Attempts+1, "err", err)
	}
	return a
}

// backoff is the wait after the attempts-th failure (0 for the first):
// Initial doubled per failure up to Max, drawn between half and all of it.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.o.Retry.Initial
	for i := 0; i < attempts && d < w.o.Retry.Max; i++ {
		d *= 2
	}
	d = min(d, w.o.Retry.Max)
	return d/2 + rand.N(d/2+1)
}

// post sends one delivery's request and returns the response's status
// code; anything but 2xx is an error.
func (s *sender) post(ctx context.Context, d inventory.Delivery) (int, error) {
	ce, err := Envelope(s.w.o.Source, d.Event)
	if err != nil {
		return 0, err
	}
	b, ctype, err := body(s.sub.Preset, ce)
	if err != nil {
		return 0, fmt.Errorf("make the %s body: %w", s.sub.Preset, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.sub.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.sub.URL, bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("request to %s: %w", s.sub.URL, err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "tana-events")
	if s.signer != nil {
		for k, v := range s.signer.Headers(ce.ID, time.Now(), b) {
			req.Header.Set(k, v)
		}
	} else {
		req.Header.Set(HeaderID, ce.ID)
	}
	if s.apiKey != "" {
		req.Header.Set("St2-Api-Key", s.apiKey)
	}
	resp, err := s.w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post to %s: %w", s.sub.Name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // keep the connection reusable
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	}
	return resp.StatusCode, nil
}
