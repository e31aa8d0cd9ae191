package events

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Subscription says where events go: the receiver's URL, which events
// (types and filters), in which body (preset), signed with the secret in
// the environment variable SecretEnv.
type Subscription struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Types  []string `json:"types,omitempty"` // event types, "drift.*" families; empty: every type
	Filter Filter   `json:"filter,omitzero"`
	Preset string   `json:"preset,omitempty"` // cloudevents (default), slack, teams, stackstorm
	// SecretEnv names the variable holding the Standard Webhooks secret
	// (whsec_…); empty sends unsigned requests.
	SecretEnv string `json:"secret_env,omitempty"`
	// APIKeyEnv names the variable holding StackStorm's API key, sent as
	// St2-Api-Key (preset stackstorm).
	APIKeyEnv   string        `json:"api_key_env,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`     // per request; default DefaultTimeout
	Concurrency int           `json:"concurrency,omitempty"` // requests at once; default DefaultConcurrency
}

// Filter narrows a subscription to some events; an empty list matches
// everything. Scope matches a prefix ending in "*" too (vsphere:*).
type Filter struct {
	EntityType []string `json:"entity_type,omitempty"`
	Scope      []string `json:"scope,omitempty"`
	Kind       []string `json:"kind,omitempty"`
	Owner      []string `json:"owner,omitempty"`
}

// Defaults of a subscription.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 8
)

// Presets are the body presets a subscription may name.
var Presets = []string{"cloudevents", "slack", "teams", "stackstorm"}

// Check returns what is wrong with s, each problem naming its field
// under prefix (e.g. "events.subscriptions[0]"). It reads the secrets'
// environment variables (CheckSecrets), so it runs where tana runs.
func (s Subscription) Check(prefix string) []error {
	var out []error
	bad := func(field, format string, args ...any) {
		out = append(out, schema.FieldErrorf(schema.EINVALID, prefix+"."+field, format, args...))
	}
	if s.Name == "" || strings.ContainsAny(s.Name, " \t\n/") {
		bad("name", "want a name without spaces or slashes, got %q", s.Name)
	}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "want an http:// or https:// URL, got %q", s.URL)
	}
	for i, t := range s.Types {
		if !schema.IsEventType(t) {
			bad(fmt.Sprintf("types[%d]", i), "unknown event type %q (want one of %s, a family such as drift.*, or *)", t, strings.Join(schema.EventTypes, ", "))
		}
	}
	if s.Preset != "" && !slices.Contains(Presets, s.Preset) {
		bad("preset", "unknown preset %q (want one of %s)", s.Preset, strings.Join(Presets, ", "))
	}
	out = append(out, s.CheckSecrets(prefix)...)
	if s.Preset == "stackstorm" && s.APIKeyEnv == "" {
		bad("api_key_env", "preset stackstorm needs api_key_env: the variable holding the St2-Api-Key")
	}
	if s.Timeout < 0 {
		bad("timeout", "want a positive duration, got %v", s.Timeout)
	}
	if s.Concurrency < 0 || s.Concurrency > 256 {
		bad("concurrency", "want 1 to 256 requests at once, got %d", s.Concurrency)
	}
	return out
}

// CheckSecrets returns what is wrong with the secrets' environment
// variables: each is set, and the webhook secret is one.
func (s Subscription) CheckSecrets(prefix string) []error {
	var out []error
	if s.SecretEnv != "" {
		if v, ok := os.LookupEnv(s.SecretEnv); !ok {
			out = append(out, schema.FieldErrorf(schema.EINVALID, prefix+".secret_env", "environment variable %s is not set", s.SecretEnv))
		} else if _, err := NewSigner(prefix+".secret_env", v); err != nil {
			out = append(out, schema.FieldErrorf(schema.EINVALID, prefix+".secret_env",
				"%s holds no Standard Webhooks secret: want whsec_ and the base64 of at least 16 bytes", s.SecretEnv))
		}
	}
	if s.APIKeyEnv != "" && os.Getenv(s.APIKeyEnv) == "" {
		out = append(out, schema.FieldErrorf(schema.EINVALID, prefix+".api_key_env", "environment variable %s is not set", s.APIKeyEnv))
	}
	return out
}

// Matches reports whether an event goes to s.
func (s Subscription) Matches(e inventory.Event) bool {
	if len(s.Types) > 0 && !slices.ContainsFunc(s.Types, func(t string) bool { return typeMatches(t, e.Type) }) {
		return false
	}
	f := s.Filter
	return in(f.EntityType, e.EntityType) && in(f.Kind, e.Kind) && in(f.Owner, e.Owner) &&
		(len(f.Scope) == 0 || slices.ContainsFunc(f.Scope, func(p string) bool { return scopeMatches(p, e.Scope) }))
}

func typeMatches(pattern, typ string) bool {
	if pattern == "*" || pattern == typ {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasPrefix(typ, prefix)
}

func scopeMatches(pattern, scope string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(scope, prefix)
	}
	return pattern == scope
}

func in(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
