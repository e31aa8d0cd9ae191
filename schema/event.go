package schema

// The event types: the store writes them into its outbox, each in the
// transaction of the change it describes; package events turns them into
// CloudEvents (dev.tana.<type>) and delivers them; subscriptions in
// tana.yaml name them.
const (
	EventEntryCreated         = "entry.created"
	EventEntryUpdated         = "entry.updated"
	EventEntryDeleted         = "entry.deleted"
	EventEntryRestored        = "entry.restored"
	EventDriftDetected        = "drift.detected"
	EventDriftResolved        = "drift.resolved"
	EventPlanCreated          = "plan.created"
	EventPlanApplied          = "plan.applied"
	EventPlanFailed           = "plan.failed"
	EventCollectionFailed     = "collection.failed"
	EventCollectionIncomplete = "collection.incomplete"
	EventAllocationGranted    = "allocation.granted"
	EventAllocationReleased   = "allocation.released"
	EventSafetyLimitHit       = "safety_limit.hit"
)

// EventTypes lists every event type, for validation and help texts.
var EventTypes = []string{
	EventEntryCreated, EventEntryUpdated, EventEntryDeleted, EventEntryRestored,
	EventDriftDetected, EventDriftResolved,
	EventPlanCreated, EventPlanApplied, EventPlanFailed,
	EventCollectionFailed, EventCollectionIncomplete,
	EventAllocationGranted, EventAllocationReleased,
	EventSafetyLimitHit,
}

// IsEventType reports whether s names an event type, or a family of them
// ("drift.*"), or every one ("*").
func IsEventType(s string) bool {
	for _, t := range EventTypes {
		if s == t || s == "*" || (len(s) > 2 && s[len(s)-2:] == ".*" && len(t) > len(s)-1 && t[:len(s)-1] == s[:len(s)-1]) {
			return true
		}
	}
	return false
}
