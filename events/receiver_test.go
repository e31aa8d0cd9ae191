package events_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// verifyStandardWebhook checks a request the way the Standard Webhooks
// specification says a receiver must, written from the spec and not from
// tana's signer: the secret is "whsec_" and base64; the signed content is
// "msg_id.timestamp.body"; the signature HMAC-SHA256, base64, after
// "v1,"; the header may hold several space-separated signatures; a
// timestamp outside the tolerance is refused.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp outside the tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// received is one request a receiver took.
type received struct {
	Header http.Header
	Body   []byte
	Event  struct {
		SpecVersion string          `json:"specversion"`
		ID          string          `json:"id"`
		Source      string          `json:"source"`
		Type        string          `json:"type"`
		Subject     string          `json:"subject"`
		Time        time.Time       `json:"time"`
		Data        json.RawMessage `json:"data"`
	}
	Status int // what the receiver answered
}

// receiver is a real HTTP server on loopback that records what it gets.
// fail, when set, decides per request to answer 500.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	fail func(r received, n int) bool // n: requests so far with this event id
	seen map[string]int
}

func newReceiver(t *testing.T, fail func(r received, n int) bool) *receiver {
	rc := &receiver{fail: fail, seen: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got := received{Header: r.Header.Clone(), Body: b, Status: http.StatusNoContent}
		_ = json.Unmarshal(b, &got.Event)
		rc.mu.Lock()
		rc.seen[got.Header.Get("webhook-id")]++
		if rc.fail != nil && rc.fail(got, rc.seen[got.Header.Get("webhook-id")]) {
			got.Status = http.StatusInternalServerError
		}
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		w.WriteHeader(got.Status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// accepted returns the requests answered 2xx, in arrival order.
func (rc *receiver) accepted() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, g := range rc.got {
		if g.Status < 300 {
			out = append(out, g)
		}
	}
	return out
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}
