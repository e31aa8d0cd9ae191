package schema

import "maps"

// The one rule for secret attributes: their values leave tana only when
// the caller asked for them (--show-secrets, --include-secrets, ansible's
// include_secrets) or holds an admin token. Every output path — get,
// export, history, import results, GraphQL, the Ansible inventory — asks
// the entity type through these methods instead of reading
// Attribute.Secret itself.

// Masked stands in for a secret value where output keeps the key.
const Masked = "(secret)"

// Redaction is how one output treats secret values.
type Redaction int

const (
	// Mask replaces a secret value with Masked (get, history).
	Mask Redaction = iota
	// Drop leaves a secret attribute out (export, Ansible, GraphQL attrs).
	Drop
	// Reveal shows secret values: the caller asked, or is an admin.
	Reveal
)

// RevealIf returns Reveal when show is set, otherwise hidden (Mask or
// Drop): the flags --show-secrets and include_secrets map through it.
func RevealIf(show bool, hidden Redaction) Redaction {
	if show {
		return Reveal
	}
	return hidden
}

// Hides reports whether output under r must not show the value of
// attribute name. Names the type does not define were never declared
// secret and are not hidden.
func (t *EntityType) Hides(name string, r Redaction) bool {
	if r == Reveal {
		return false
	}
	a := t.Attr(name)
	return a != nil && a.Secret
}

// Redact returns attrs as output under r may show them, and how many
// values it hid. attrs is never modified: when something is hidden the
// result is a copy.
func (t *EntityType) Redact(attrs map[string]any, r Redaction) (map[string]any, int) {
	var out map[string]any
	n := 0
	for k := range attrs {
		if !t.Hides(k, r) {
			continue
		}
		if out == nil {
			out = maps.Clone(attrs)
		}
		if r == Drop {
			delete(out, k)
		} else {
			out[k] = Masked
		}
		n++
	}
	if out == nil {
		return attrs, 0
	}
	return out, n
}

// RedactValue returns the value output under r shows for attribute name:
// v itself, or Masked. It is for values outside an attribute map, such as
// the old and new value of a change in history.
func (t *EntityType) RedactValue(name string, v any, r Redaction) any {
	if v == nil || !t.Hides(name, r) {
		return v
	}
	return Masked
}
