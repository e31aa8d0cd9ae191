package reconcile

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook body:
// "sha256=<hex>", as GitHub and StackStorm receivers check it.
const SignatureHeader = "X-Tana-Signature"

// Webhook posts reports as JSON to a URL, signed and retried with
// exponential backoff on network errors, 5xx and 429.
type Webhook struct {
	URL     string
	Secret  []byte
	Client  *http.Client
	Retries int           // attempts after the first; default 4
	Backoff time.Duration // first wait, doubled each retry; default 1s
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header value in constant time.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Post sends body, retrying until it is accepted, the retries are used up
// or ctx ends.
func (w *Webhook) Post(ctx context.Context, body []byte) error {
	client, retries, wait := w.Client, w.Retries, w.Backoff
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if retries == 0 {
		retries = 4
	}
	if wait == 0 {
		wait = time.Second
	}
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("webhook %s: %w (last error: %v)", w.URL, ctx.Err(), last)
			case <-time.After(wait):
			}
			wait *= 2
		}
		retry, err := w.post(ctx, client, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("webhook %s: %w", w.URL, last)
}

func (w *Webhook) post(ctx context.Context, client *http.Client, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tana")
	req.Header.Set("X-Tana-Event", "drift-report")
	if len(w.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	// Read so the connection can be reused; the status is the answer.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return retry, fmt.Errorf("status %s", resp.Status)
}
