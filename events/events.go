// Package events sends what changed in tana to the outside: each event the
// store wrote into its outbox (inventory.Event) is routed to the
// subscriptions it matches and delivered as a CloudEvent (or a Slack,
// Teams or StackStorm body), signed with the Standard Webhooks scheme,
// retried with exponential backoff and jitter, and logged.
package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tana-cmdb/tana/inventory"
)

// TypePrefix turns a store event type (drift.detected) into a CloudEvents
// type (dev.tana.drift.detected).
const TypePrefix = "dev.tana."

// DefaultSource is the CloudEvents source when tana.yaml names none.
const DefaultSource = "tana"

// CloudEvent is a CloudEvents 1.0 event in structured JSON mode.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// Envelope makes the CloudEvent of a stored event. An entry event's data
// gets its change set's actor, source and reason.
func Envelope(source string, e inventory.Event) (CloudEvent, error) {
	data := json.RawMessage(e.Data)
	if e.ChangeSetID != nil {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return CloudEvent{}, fmt.Errorf("event %s: data: %w", e.UID, err)
		}
		m["actor"], m["source"], m["reason"], m["changeset_id"] = e.Actor, e.Source, e.Reason, *e.ChangeSetID
		b, err := json.Marshal(m)
		if err != nil {
			return CloudEvent{}, fmt.Errorf("event %s: data: %w", e.UID, err)
		}
		data = b
	}
	if source == "" {
		source = DefaultSource
	}
	return CloudEvent{SpecVersion: "1.0", ID: e.UID, Source: source, Type: TypePrefix + e.Type, Subject: e.Subject,
		Time: e.At.UTC(), DataContentType: "application/json", Data: data}, nil
}
