package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/schema"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// ReplayWindow is how far a receiver should accept webhook-timestamp from
// its own clock, either way (the Standard Webhooks default): a captured
// request replayed later is refused. tana stamps every attempt afresh, so
// a retry is never outside it.
const ReplayWindow = 5 * time.Minute

// secretPrefix starts a Standard Webhooks secret; the rest is base64.
const secretPrefix = "whsec_"

// Signer signs webhook requests with a Standard Webhooks secret.
type Signer struct{ key []byte }

// NewSigner reads a secret "whsec_<base64>" (the prefix is optional, as
// in the reference libraries). field names the setting it came from, for
// errors.
func NewSigner(field, secret string) (*Signer, error) {
	raw := strings.TrimPrefix(secret, secretPrefix)
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 16 {
		return nil, schema.FieldErrorf(schema.EINVALID, field, "want a Standard Webhooks secret: whsec_ and at least 16 bytes in base64 (e.g. whsec_$(head -c 32 /dev/urandom | base64))")
	}
	return &Signer{key: key}, nil
}

// Sign returns the webhook-signature of a message: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body".
func (s *Signer) Sign(id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Headers returns the three Standard Webhooks headers of a message.
func (s *Signer) Headers(id string, at time.Time, body []byte) map[string]string {
	return map[string]string{HeaderID: id, HeaderTimestamp: strconv.FormatInt(at.Unix(), 10), HeaderSignature: s.Sign(id, at, body)}
}
