package events

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// body is what one preset makes of an event: the request body and its
// content type.
func body(preset string, ce CloudEvent) ([]byte, string, error) {
	switch preset {
	case "", "cloudevents":
		b, err := json.Marshal(ce)
		return b, "application/cloudevents+json", err
	case "stackstorm":
		// An st2 webhook (POST /api/v1/webhooks/NAME) fires
		// core.st2.webhook with the JSON body as trigger.body.
		b, err := json.Marshal(ce)
		return b, "application/json", err
	case "slack":
		b, err := json.Marshal(map[string]any{"text": Summary(ce)})
		return b, "application/json", err
	case "teams":
		// A Teams workflow ("post to a channel when a webhook request is
		// received") takes an Adaptive Card in a message.
		card := map[string]any{"type": "message", "attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
				"body": []any{
					map[string]any{"type": "TextBlock", "text": ce.Type, "weight": "Bolder", "wrap": true},
					map[string]any{"type": "TextBlock", "text": Summary(ce), "wrap": true},
				}},
		}}}
		b, err := json.Marshal(card)
		return b, "application/json", err
	}
	return nil, "", fmt.Errorf("unknown preset %q", preset)
}

// Summary is one line about an event for people (Slack, Teams): its type,
// subject, and what the data says most briefly.
func Summary(ce CloudEvent) string {
	var d map[string]any
	_ = json.Unmarshal(ce.Data, &d) // a summary of what it could read
	parts := []string{"tana " + strings.TrimPrefix(ce.Type, TypePrefix) + ": " + ce.Subject}
	for _, k := range []string{"kind", "scope", "attr", "status", "actor", "source", "limit"} {
		if v, ok := d[k].(string); ok && v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if ch, ok := d["changes"].(map[string]any); ok && len(ch) > 0 {
		keys := make([]string, 0, len(ch))
		for k := range ch {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts = append(parts, "changed "+strings.Join(keys, ", "))
	}
	return strings.Join(parts, " · ")
}
